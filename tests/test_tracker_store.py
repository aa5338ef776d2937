"""The clinic's tracker store: Rasa's SQL store on SQLite in WAL mode, events round-trip."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import ClinicSQLTrackerStore, resolve_by_type


def test_event_lookup_is_cached_and_unchanged():
    assert resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("slot") is SlotSet
    assert resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError):
        resolve_by_type("no_such_event")


def test_sqlite_store_runs_in_wal_mode_and_keeps_events(tmp_path):
    db = tmp_path / "conversations.sqlite"
    store = ClinicSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db))
    tracker = DialogueStateTracker.from_events(
        "patient", [ActionExecuted("action_listen"), UserUttered("kia ora", {"name": "greet", "confidence": 1.0})]
    )
    asyncio.run(store.save(tracker))
    again = ClinicSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db))
    restored = asyncio.run(again.retrieve("patient"))
    assert [e.type_name for e in restored.events][-2:] == ["action", "user"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
