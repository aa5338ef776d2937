"""Fixtures of the unit tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def store_url(tmp_path, monkeypatch) -> str:
    """A requests store of this test's own (SQLite in tmp_path), where the actions write."""
    url = f"sqlite:///{tmp_path / 'requests.sqlite'}"
    monkeypatch.setenv("BOOKING_REQUESTS_DB_URL", url)
    return url
