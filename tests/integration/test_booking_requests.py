"""The booking/hand-off request store on a real SQLite file."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.storage.booking_requests import BookingRequest, BookingRequestStore


@pytest.fixture
def store(tmp_path):
    return BookingRequestStore(f"sqlite:///{tmp_path / 'sub' / 'requests.sqlite'}")


def test_add_and_list_round_trip(store):
    saved = store.add(
        BookingRequest(
            kind="booking",
            sender_id="s1",
            channel="rest",
            name="Aroha",
            phone="021 123 4567",
            appointment_type="acc_treatment",
            acc_details={"injury_date": "2026-03-01", "acc45": "AB12345"},
        )
    )
    assert saved.id and saved.created_at
    [row] = store.list()
    assert row.name == "Aroha" and row.acc_details == {"injury_date": "2026-03-01", "acc45": "AB12345"}
    assert row.created_at.tzinfo is not None


def test_newest_first_and_filters(store):
    store.add(BookingRequest(kind="booking", sender_id="a"))
    store.add(BookingRequest(kind="handoff", sender_id="b"))
    assert [r.kind for r in store.list()] == ["handoff", "booking"]
    assert [r.sender_id for r in store.list(kind="booking")] == ["a"]
    assert [r.kind for r in store.list(sender_id="b")] == ["handoff"]


def test_unknown_kind_is_refused(store):
    with pytest.raises(ValueError):
        store.add(BookingRequest(kind="spam", sender_id="x"))


def test_a_new_store_object_sees_the_same_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    BookingRequestStore(url).add(BookingRequest(kind="handoff", sender_id="z", email="a@b.nz"))
    assert BookingRequestStore(url).list()[0].email == "a@b.nz"


def test_delete_sender_and_retention(store):
    store.add(BookingRequest(kind="booking", sender_id="keep"))
    store.add(BookingRequest(kind="booking", sender_id="forget"))
    assert store.delete_sender("forget") == 1
    assert store.delete_older_than(30, now=datetime.now(timezone.utc) + timedelta(days=31)) == 1
    assert store.list() == []


def test_shared_store_is_one_per_url(tmp_path, monkeypatch):
    from bot.storage.booking_requests import shared_store

    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    assert shared_store(url) is shared_store(url)
    monkeypatch.setenv("BOOKING_REQUESTS_DB_URL", url)
    assert shared_store() is shared_store(url)
