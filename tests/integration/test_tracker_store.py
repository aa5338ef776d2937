"""The clinic's tracker store: Rasa's SQL store on SQLite in WAL mode, events round-trip."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.storage.tracker_store import ClinicSQLTrackerStore, resolve_by_type
from bot.storage.tracker_window import StoredUpTo, WorkingTracker


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
        # the index by time the staff console's "live chats" read with (bot/storage/transcripts.py)
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(events)")}
        assert "ix_events_timestamp" in indexes


SLOT_DOMAIN = Domain.from_dict({"slots": {"injury_date": {"type": "text", "mappings": [{"type": "custom"}]}}})


def _turn(n: int) -> list:
    return [
        ActionExecuted("action_listen"),
        UserUttered(f"message {n}", {"name": "faq", "confidence": 1.0}),
        ActionExecuted("utter_faq"),
        SlotSet("injury_date", f"day {n}") if n % 10 == 0 else ActionExecuted("action_listen"),
    ]


async def _add_turn(store: ClinicSQLTrackerStore, sender: str, events: list) -> DialogueStateTracker:
    tracker = await store.get_or_create_tracker(sender)
    for event in events:
        tracker.update(event)
    await store.save(tracker)
    return tracker


def _rows(db, sender: str) -> list:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, type_name FROM events WHERE sender_id = ? ORDER BY id", (sender,)).fetchall()


def test_two_processes_share_a_conversation_and_the_working_tracker_stays_small(tmp_path):
    """Like two `rasa run` processes: each catches up on the other's rows; nothing is lost or reordered."""
    db = str(tmp_path / "shared.sqlite")
    first, second = (ClinicSQLTrackerStore(domain=SLOT_DOMAIN, dialect="sqlite", db=db) for _ in range(2))
    expected = []

    async def talk() -> DialogueStateTracker:
        tracker = None
        for n in range(1, 61):
            store = first if n % 3 else second  # uneven, so each one misses one to several turns
            before = len(_rows(db, "p"))
            tracker = await _add_turn(store, "p", _turn(n))
            expected.extend(e.type_name for e in _turn(n))
            assert len(_rows(db, "p")) == before + 4 + (n == 1)  # only the new ones (+ a new tracker's listen)
        return tracker

    last = asyncio.run(talk())
    assert [t for _, t in _rows(db, "p")][-len(expected) :] == expected
    assert last.get_slot("injury_date") == "day 60"
    plain = asyncio.run(SQLTrackerStore(domain=SLOT_DOMAIN, dialect="sqlite", db=db).retrieve("p"))
    for store in (first, second):
        working = asyncio.run(store.retrieve("p"))
        assert working.current_slot_values() == plain.current_slot_values()
        assert len(working.events) < 60 < len(plain.events)


def test_deleted_rows_are_noticed_and_a_new_session_is_loaded_afresh(tmp_path):
    db = tmp_path / "t.sqlite"
    store = ClinicSQLTrackerStore(domain=SLOT_DOMAIN, dialect="sqlite", db=str(db))
    other = ClinicSQLTrackerStore(domain=SLOT_DOMAIN, dialect="sqlite", db=str(db))

    async def run() -> None:
        for n in range(1, 31):
            await _add_turn(store, "p", _turn(n))
        assert (await store.retrieve("p")).get_slot("injury_date") == "day 30"
        with sqlite3.connect(db) as conn:  # "forget me" in the action server, then a new message elsewhere
            conn.execute("DELETE FROM events WHERE sender_id = 'p'")
        assert await store.retrieve("p") is None
        await _add_turn(other, "p", _turn(1))
        fresh = await store.retrieve("p")
        assert fresh.get_slot("injury_date") is None and len(fresh.events) == 5  # a new tracker: listen + turn
        # a new session written by another process replaces the cached one
        for n in range(2, 25):
            await _add_turn(store, "p", _turn(n))
        await _add_turn(other, "p", [ActionExecuted("action_session_start"), SessionStarted(), *_turn(99)])
        new = await store.retrieve("p")
        plain = await SQLTrackerStore(domain=SLOT_DOMAIN, dialect="sqlite", db=str(db)).retrieve("p")
        assert [e.type_name for e in new.events] == [e.type_name for e in plain.events]
        assert new.events[0].type_name == "session_started" and len(new.events) == 5
        assert new.get_slot("injury_date") is None

    asyncio.run(run())


def test_rows_deleted_while_a_message_is_handled_are_not_kept_in_memory(tmp_path):
    """'Forget me' deletes the conversation in the action server; this process must drop its copy too."""
    db = tmp_path / "t.sqlite"
    store = ClinicSQLTrackerStore(domain=SLOT_DOMAIN, dialect="sqlite", db=str(db))

    async def run() -> None:
        for n in range(1, 21):
            await _add_turn(store, "p", _turn(n))
        assert store.sessions.get("p") is not None
        tracker = await store.retrieve("p")
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM events WHERE sender_id = 'p'")
        for event in _turn(21):
            tracker.update(event)
        await store.save(tracker)
        assert store.sessions.get("p") is None
        assert len(_rows(db, "p")) == 4  # only this turn was written again, not the whole session
        again = await store.retrieve("p")
        assert again.get_slot("injury_date") is None and len(again.events) == 4

    asyncio.run(run())


class _Broker(EventBroker):
    def __init__(self) -> None:
        self.published: list = []

    def publish(self, event: dict) -> None:
        self.published.append(event)


def test_event_broker_gets_each_new_event_once(tmp_path):
    broker = _Broker()
    store = ClinicSQLTrackerStore(
        domain=SLOT_DOMAIN, dialect="sqlite", db=str(tmp_path / "t.sqlite"), event_broker=broker
    )

    async def run() -> None:
        for n in range(1, 21):
            await _add_turn(store, "p", _turn(n))
        published = len(broker.published)
        await _add_turn(store, "p", _turn(21))  # a working tracker
        assert len(broker.published) == published + 4
        replaced = DialogueStateTracker.from_events("p", [*(await SQLTrackerStore.retrieve(store, "p")).events])
        replaced.update(ActionExecuted("action_listen"))  # Rasa's HTTP API: not a working tracker
        await store.save(replaced)
        assert len(broker.published) == published + 5

    asyncio.run(run())


def test_the_store_hands_out_typed_working_trackers_that_know_what_is_stored(tmp_path):
    """Rasa gets a WorkingTracker (typed state, no attribute set on Rasa's tracker); what it adds is written."""
    db = tmp_path / "conversations.sqlite"
    store = ClinicSQLTrackerStore(domain=SLOT_DOMAIN, dialect="sqlite", db=str(db))
    for n in range(12):
        asyncio.run(_add_turn(store, "patient", _turn(n)))
    tracker = asyncio.run(store.retrieve("patient"))
    assert isinstance(tracker, WorkingTracker)
    assert tracker.stored == StoredUpTo(len(tracker.events), _rows(db, "patient")[-1][0])
    assert len(tracker.events) < len(_rows(db, "patient"))  # a window, not the whole session
    tracker.update(UserUttered("one more", {"name": "faq", "confidence": 1.0}))
    asyncio.run(store.save(tracker))
    assert tracker.stored.events == len(tracker.events)
    assert _rows(db, "patient")[-1][1] == "user"
    # the same tracker, copied into Rasa's own type, goes through SQLTrackerStore.save: Rasa's own behaviour
    assert not isinstance(tracker.copy(), WorkingTracker)


@pytest.fixture(scope="module")
def postgres():
    from tests.conftest import free_port
    from tests.support.services import local_postgres

    with local_postgres("tracker-store-pg-", free_port()) as server:
        yield server


def _store_on(database: str, postgres_url: str = "") -> ClinicSQLTrackerStore:
    if not postgres_url:
        return ClinicSQLTrackerStore(domain=SLOT_DOMAIN, dialect="sqlite", db=database)
    url = sa.engine.make_url(postgres_url)
    return ClinicSQLTrackerStore(
        domain=SLOT_DOMAIN, dialect="postgresql", host=url.host, port=url.port, db=url.database,
        username=url.username, password=url.password,
    )  # fmt: skip


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_ids_kept_in_memory_are_the_rows_ids(dialect, tmp_path, request):
    """Rows go in one statement each save; the ids the store keeps must be the table's, with two processes
    writing the same table (two conversations, interleaved)."""
    url = request.getfixturevalue("postgres").new_database("ids") if dialect == "postgresql" else ""
    database = str(tmp_path / "ids.sqlite")
    stores = [_store_on(database, url) for _ in range(2)]
    engine = stores[0].engine

    async def talk() -> None:
        for n in range(1, 41):
            for sender in ("p", "q"):
                await _add_turn(stores[(n + (sender == "q")) % 2], sender, _turn(n))

    asyncio.run(talk())
    with engine.connect() as conn:
        for sender in ("p", "q"):
            query = sa.text("SELECT id, type_name FROM events WHERE sender_id = :s ORDER BY id")
            rows = conn.execute(query, {"s": sender})
            ids, types = zip(*rows)
            assert list(types[-4:]) == [e.type_name for e in _turn(40)]
            for store in stores:
                asyncio.run(store.retrieve(sender))  # catches up on the other process's rows
                cached = store.sessions.get(sender)
                assert (cached.first_id, cached.last_id, cached.rows) == (ids[0], ids[-1], len(ids))
            assert asyncio.run(stores[0].retrieve(sender)).get_slot("injury_date") == "day 40"
