"""Retention: old conversations and requests are deleted, recent ones stay (SQLite files and PostgreSQL)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from bot.privacy.retention import apply_retention, delete_sender_events, main
from bot.storage.booking_requests import BookingRequest, BookingRequestStore, requests_table
from bot.storage.database_urls import tracker_url_from_endpoints
from bot.storage.transcripts import events_table
from tests.conftest import free_port
from tests.support.services import local_postgres

DAY = 86400
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def postgres():
    with local_postgres("retention-test-pg-", free_port()) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request, tmp_path):
    """(tracker store URL, requests URL): two SQLite files, or two fresh PostgreSQL databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'conversations.sqlite'}", f"sqlite:///{tmp_path / 'requests.sqlite'}"
    server = request.getfixturevalue("postgres")
    return server.new_database(), server.new_database()


def make_events(url: str, rows: list) -> None:
    """An `events` table like Rasa's SQLTrackerStore's, with (sender, type_name, age in days) rows."""
    engine = sa.create_engine(url, future=True)
    events = events_table  # the columns of Rasa's SQLTrackerStore (bot/storage/transcripts.py)
    events.metadata.create_all(engine)
    now = time.time()
    with engine.begin() as conn:
        for sender, type_name, age in rows:
            conn.execute(events.insert().values(sender_id=sender, type_name=type_name, timestamp=now - age * DAY))
    engine.dispose()


def senders_and_types(url: str) -> list:
    engine = sa.create_engine(url, future=True)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT sender_id, type_name FROM events ORDER BY id")).fetchall()
    engine.dispose()
    return [tuple(row) for row in rows]


def add_request(store: BookingRequestStore, sender: str, age_days: float) -> None:
    request = store.add(BookingRequest(kind="booking", sender_id=sender, phone="0211234567"))
    created = datetime.now(timezone.utc) - timedelta(days=age_days)
    with store.engine.begin() as conn:
        conn.execute(requests_table.update().where(requests_table.c.id == request.id).values(created_at=created))


def test_old_rows_go_recent_ones_stay(databases):
    tracker, requests = databases
    make_events(
        tracker,
        [
            ("old", "session_started", 200),
            ("old", "user", 200),
            ("old", "bot", 199),
            # a patient who came back: the old session goes, the current one stays
            ("back", "session_started", 120),
            ("back", "user", 120),
            ("back", "session_started", 1),
            ("back", "user", 1),
            ("new", "session_started", 2),
            ("new", "user", 2),
        ],
    )
    store = BookingRequestStore(requests)
    add_request(store, "old", 100)
    add_request(store, "new", 10)

    result = apply_retention(90, tracker, requests)

    assert (result.events, result.requests) == (5, 1)
    assert senders_and_types(tracker) == [
        ("back", "session_started"),
        ("back", "user"),
        ("new", "session_started"),
        ("new", "user"),
    ]
    assert [r.sender_id for r in store.list()] == ["new"]
    assert apply_retention(90, tracker, requests).events == 0  # nothing more to do


def test_forgetting_one_sender(databases):
    tracker = databases[0]
    make_events(tracker, [("me", "user", 0), ("you", "user", 0), ("me", "bot", 0)])
    assert delete_sender_events(tracker, "me") == 2
    assert senders_and_types(tracker) == [("you", "user")]


def test_command_line(tmp_path, capsys, monkeypatch):
    tracker = f"sqlite:///{tmp_path / 'conversations.sqlite'}"
    make_events(tracker, [("old", "user", 40), ("new", "user", 5)])
    monkeypatch.setenv("BOOKING_REQUESTS_DB_URL", f"sqlite:///{tmp_path / 'requests.sqlite'}")
    assert main(["--days", "30", "--tracker-db-url", tracker]) == 0
    assert "deleted 1 conversation events, 0 requests, 0 staff console records" in capsys.readouterr().out
    assert senders_and_types(tracker) == [("new", "user")]


def test_database_without_conversations_yet(tmp_path):
    result = apply_retention(30, f"sqlite:///{tmp_path / 'empty.sqlite'}", f"sqlite:///{tmp_path / 'r.sqlite'}")
    assert (result.events, result.requests) == (0, 0)


def test_tracker_url_from_endpoints():
    config = yaml.safe_load((ROOT / "endpoints.yml").read_text())
    assert tracker_url_from_endpoints(config) == f"sqlite:///{ROOT / config['tracker_store']['db']}"
    postgres = {"type": "SQL", "dialect": "postgresql", "url": "db.local", "port": 5432, "db": "rasa",
                "username": "rasa", "password": "s3cret"}  # fmt: skip
    assert tracker_url_from_endpoints({"tracker_store": postgres}) == "postgresql://rasa:s3cret@db.local:5432/rasa"


def test_the_staff_consoles_records_follow_the_same_cut_off(databases):
    from bot.staff.audit import VIEWED_REQUEST, AuditLog
    from bot.staff.conversation_refs import ConversationRefs, refs_table

    tracker, requests = databases
    make_events(tracker, [("new", "user", 1)])
    store = BookingRequestStore(requests)
    old_time = datetime.now(timezone.utc) - timedelta(days=100)
    AuditLog(store.engine, clock=lambda: old_time).record("aroha", VIEWED_REQUEST, request_id=1, conversation="old")
    AuditLog(store.engine).record("aroha", VIEWED_REQUEST, request_id=2, conversation="new")
    refs = ConversationRefs(store.engine)
    old_ref, new_ref = refs.ref_for("old"), refs.ref_for("new")
    with store.engine.begin() as conn:
        conn.execute(refs_table.update().where(refs_table.c.ref == old_ref).values(created_at=old_time))

    result = apply_retention(90, tracker, requests)

    assert result.console == 2
    assert [e.conversation for e in AuditLog(store.engine).entries()] == ["new"]
    assert refs.sender_for(old_ref) is None and refs.sender_for(new_ref) == "new"
