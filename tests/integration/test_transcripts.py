"""Conversations for the staff console (bot/storage/transcripts.py), read back from what Rasa's own SQLTrackerStore
wrote: SQLite files and PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List

import pytest
import sqlalchemy as sa
import yaml
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.storage.transcripts import (
    ACTIVITY_INDEX,
    PERSONAL_SLOTS,
    ConversationSummary,
    Entry,
    TranscriptReader,
    active_query,
    create_activity_index,
)
from tests.conftest import free_port
from tests.support.services import local_postgres

ROOT = Path(__file__).resolve().parents[2]
SLOTS = {name: {"type": "text", "mappings": [{"type": "custom"}]} for name in (*PERSONAL_SLOTS, "injury_date")}
DOMAIN = Domain.from_dict({"slots": SLOTS})
WEB = "web:" + "ab" * 16
NOW = time.time()
T0 = NOW - 600  # the conversation started ten minutes ago


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def user(text: str, intent: str, confidence: float, at: float, **parse_data) -> UserUttered:
    data = {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text, **parse_data}
    return UserUttered(text, parse_data=data, timestamp=at)


def first_part() -> List[Event]:
    return [
        ActionExecuted("action_session_start", timestamp=T0),
        SessionStarted(timestamp=T0),
        ActionExecuted("action_listen", timestamp=T0),
        user("kia ora", "greet", 0.93, T0 + 1),
        ActionExecuted("utter_greet", timestamp=T0 + 2),
        BotUttered(
            "Kia ora! How can I help?",
            {"buttons": [{"title": "Book a visit", "payload": "/book"}, {"title": "ACC check", "payload": "/acc"}]},
            {"utter_action": "utter_greet"},
            timestamp=T0 + 2,
        ),
        BotUttered("Or type your question.", {}, {"utter_action": "utter_greet"}, timestamp=T0 + 3),
        ActionExecuted("action_listen", timestamp=T0 + 3),
    ]


def second_part() -> List[Event]:
    context = {"original_intent": "affirm", "reason": "accepts the offer booking"}
    return [
        user("/book", "book", 1.0, T0 + 10),
        ActionExecuted("utter_offer", timestamp=T0 + 11),
        BotUttered("Shall I ask the clinic to call you?", {}, {"utter_action": "utter_offer"}, timestamp=T0 + 11),
        user("yep", "request_callback", 1.0, T0 + 20, context=context),
        ActiveLoop("contact_form", timestamp=T0 + 21),
        SlotSet("contact_name", "Aroha Ngata", timestamp=T0 + 30),
        SlotSet("contact_detail", "0211234567", timestamp=T0 + 31),
        SlotSet("acc45", "AB12345", timestamp=T0 + 32),
        SlotSet("injury_date", "2026-03-05", timestamp=T0 + 33),
        SlotSet("contact_name", "Aroha", timestamp=T0 + 34),  # corrected: both values are kept for masking
        ActiveLoop(None, timestamp=T0 + 35),
        ConversationPaused(timestamp=T0 + 40),
        BotUttered(
            "You are now talking with Sam from the clinic.", {}, {"staff": "Sam", "notice": "joined"}, timestamp=T0 + 41
        ),
        user("thanks Sam, 021 123 4567 is best", "thank", 0.51, T0 + 50),
        BotUttered("Hi Aroha, I'll ring you at 3.", {}, {"staff": "Sam"}, timestamp=T0 + 60),
        BotUttered("Sam has left the chat.", {}, {"staff": "Sam", "notice": "left"}, timestamp=T0 + 70),
        ConversationResumed(timestamp=T0 + 71),
        Restarted(timestamp=T0 + 80),
    ]


async def append(store: SQLTrackerStore, sender_id: str, events: List[Event]) -> None:
    """Add events to a conversation the way Rasa does: retrieve, update, save."""
    tracker = await store.retrieve(sender_id) or DialogueStateTracker(sender_id, DOMAIN.slots)
    for event in events:
        tracker.update(event)
    await store.save(tracker)


def write(store: SQLTrackerStore, sender_id: str, events: List[Event]) -> None:
    asyncio.run(append(store, sender_id, events))


def sqlite_store(path: Path) -> SQLTrackerStore:
    return SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(path))


def ids_of(url: str, sender_id: str) -> List[int]:
    engine = sa.create_engine(url, future=True)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender_id})
        ids = [row.id for row in rows]
    engine.dispose()
    return ids


def check_whole_conversation(reader: TranscriptReader) -> List[Entry]:
    entries = reader.entries(WEB)
    assert [(e.who, e.text, e.note) for e in entries] == [
        ("event", "", "new session"),
        ("patient", "kia ora", None),
        ("assistant", "Kia ora! How can I help?", None),
        ("assistant", "Or type your question.", None),
        ("patient", "Book a visit", "button"),  # the payload "/book" shown as the button's title
        ("assistant", "Shall I ask the clinic to call you?", None),
        ("patient", "yep", "accepts the offer booking"),
        ("event", "", "assistant paused"),
        ("staff", "You are now talking with Sam from the clinic.", "Sam joined"),
        ("patient", "thanks Sam, 021 123 4567 is best", None),
        ("staff", "Hi Aroha, I'll ring you at 3.", None),
        ("staff", "Sam has left the chat.", "Sam left"),
        ("event", "", "assistant resumed"),
        ("event", "", "conversation restarted"),
    ]
    greet, buttons, book, yep, thanks = entries[1], entries[2], entries[4], entries[6], entries[9]
    assert (greet.intent, greet.confidence, greet.original_intent, greet.staff_name) == ("greet", 0.93, None, None)
    assert greet.at == utc(T0 + 1) and greet.at.tzinfo == timezone.utc
    assert buttons.buttons == ["Book a visit", "ACC check"] and buttons.staff_name is None
    assert (book.intent, book.confidence) == ("book", 1.0)
    assert (yep.intent, yep.original_intent) == ("request_callback", "affirm")
    assert (thanks.intent, thanks.confidence, thanks.buttons) == ("thank", 0.51, [])
    assert [e.staff_name for e in entries if e.who == "staff"] == ["Sam", "Sam", "Sam"]
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert [e.id for e in entries] == sorted(e.id for e in entries)
    return entries


def check_summary(summary: ConversationSummary) -> None:
    assert summary.sender_id == WEB and summary.channel == "web"
    assert summary.first_at == utc(T0)
    assert summary.last_at == utc(T0 + 70)  # the last message (the restart after it is no activity)
    assert summary.patient_messages == 4
    assert summary.last_patient_at == utc(T0 + 50)
    assert summary.paused is False  # resumed, then restarted
    assert summary.personal_values == ["Aroha Ngata", "0211234567", "AB12345", "Aroha"]  # not the injury date


def test_a_conversation_reads_back_as_the_console_shows_it(tmp_path):
    db = tmp_path / "conversations.sqlite"
    url = f"sqlite:///{db}"
    store = sqlite_store(db)
    write(store, WEB, first_part())
    reader = TranscriptReader(url)
    before = reader.entries(WEB)
    assert [e.who for e in before] == ["event", "patient", "assistant", "assistant"]

    write(store, WEB, second_part())
    entries = check_whole_conversation(reader)
    assert entries[:4] == before
    check_summary(reader.summary(WEB))
    assert reader.exists(WEB) and not reader.exists("web:" + "cd" * 16)
    assert reader.summary("web:" + "cd" * 16) is None and reader.entries("web:" + "cd" * 16) == []


def test_polling_after_an_id_returns_only_newer_entries(tmp_path):
    db = tmp_path / "conversations.sqlite"
    store = sqlite_store(db)
    write(store, WEB, first_part())
    reader = TranscriptReader(f"sqlite:///{db}")
    last = reader.entries(WEB)[-1].id
    assert reader.entries(WEB, after_id=last) == []

    write(store, WEB, second_part())
    new = reader.entries(WEB, after_id=last)
    assert new[0].id > last and (new[0].text, new[0].note) == ("Book a visit", "button")  # buttons seen before
    assert new == reader.entries(WEB)[4:]
    page = reader.entries(WEB, after_id=last, limit=2)
    assert [e.text for e in page] == ["Book a visit", "Shall I ask the clinic to call you?"]
    assert [e.id for e in reader.entries(WEB, after_id=page[-1].id)] == [e.id for e in new[2:]]
    rows = ids_of(f"sqlite:///{db}", WEB)
    assert len(rows) == 26 > len(reader.entries(WEB)) == 14  # actions, slots and loops are not shown
    assert reader.entries(WEB, after_id=rows[-1]) == []
    # without after_id a long conversation shows its newest entries, oldest first
    assert reader.entries(WEB, limit=3) == reader.entries(WEB)[-3:]
    assert (reader.entries(WEB, limit=10)[0].text, reader.entries(WEB, limit=10)[0].note) == ("Book a visit", "button")


def test_a_payload_shows_as_its_button_only_right_after_the_buttons(tmp_path):
    db = tmp_path / "conversations.sqlite"
    first = [e for e in first_part() if not isinstance(e, ActionExecuted)]
    later = [
        user("hmm", "nlu_fallback", 0.3, T0 + 5),
        user("/acc", "acc", 1.0, T0 + 6),
        user("/book", "book", 1, T0 + 7),
    ]
    write(sqlite_store(db), WEB, [*first, *later])
    reader = TranscriptReader(f"sqlite:///{db}")
    assert [(e.text, e.note) for e in reader.entries(WEB)[-3:]] == [("hmm", None), ("/acc", None), ("/book", None)]


def conversation(start: float, last_message: float, *, paused: bool = False, later: List[Event] = ()) -> List[Event]:
    events: List[Event] = [SessionStarted(timestamp=start), user("hello", "greet", 0.9, start)]
    if paused:
        events.append(ConversationPaused(timestamp=start + 1))
    events.append(BotUttered("Kia ora", {}, {}, timestamp=last_message))
    return [*events, *later]


def test_active_conversations_newest_first_with_the_time_cut_off(tmp_path):
    db = tmp_path / "conversations.sqlite"
    store = sqlite_store(db)
    hour = 3600
    write(store, "messenger:111", conversation(NOW - 5 * hour, NOW - 30 * 60, paused=True))
    write(store, "instagram:222", conversation(NOW - 20 * 60, NOW - 10 * 60))
    write(store, "web:" + "0" * 32, conversation(NOW - 3 * hour, NOW - 2 * hour))  # quiet for two hours
    # only a slot set recently (e.g. by an action): no message in the last hour
    write(store, "rest:tester", conversation(NOW - 3 * hour, NOW - 2 * hour, later=[SlotSet("acc45", "AB12345")]))
    write(
        store,
        "web:" + "1" * 32,
        conversation(NOW - 50 * 60, NOW - 40 * 60, paused=True, later=[SessionStarted(timestamp=NOW - 39 * 60)]),
    )
    reader = TranscriptReader(f"sqlite:///{db}")
    since = datetime.now(timezone.utc) - timedelta(hours=1)

    active = reader.active_since(since)
    assert [s.sender_id for s in active] == ["instagram:222", "messenger:111", "web:" + "1" * 32]
    instagram, messenger, web = active
    assert [s.channel for s in active] == ["instagram", "messenger", "web"]
    assert messenger.first_at == utc(NOW - 5 * hour)  # the whole conversation, not only the last hour
    assert messenger.last_at == utc(NOW - 30 * 60) and messenger.last_patient_at == utc(NOW - 5 * hour)
    assert (messenger.paused, instagram.paused, web.paused) == (True, False, False)  # a new session unpauses
    assert [s.patient_messages for s in active] == [1, 1, 1]
    assert all(s.personal_values == [] for s in active)
    assert [s.sender_id for s in reader.active_since(since, limit=1)] == ["instagram:222"]
    assert reader.active_since(datetime.now(timezone.utc)) == []
    assert len(reader.active_since(since - timedelta(hours=2))) == 5
    assert reader.active_since(since)[1] == reader.summary("messenger:111")
    assert reader.summary("rest:tester").personal_values == ["AB12345"]
    with pytest.raises(ValueError):
        reader.active_since(datetime.now() - timedelta(hours=1))  # naive: which time zone?


def test_no_table_or_no_file_yet_reads_as_empty(tmp_path):
    missing = tmp_path / "not-yet" / "conversations.sqlite"
    for url in (f"sqlite:///{missing}", f"sqlite:///{tmp_path / 'empty.sqlite'}"):
        reader = TranscriptReader(url)
        assert reader.entries(WEB) == [] and reader.summary(WEB) is None and not reader.exists(WEB)
        assert reader.active_since(datetime.now(timezone.utc) - timedelta(hours=1)) == []
    assert not missing.parent.exists()  # the reader did not create the file

    # the same reader sees the conversations once Rasa has created the table
    db = tmp_path / "empty.sqlite"
    write(sqlite_store(db), WEB, first_part())
    assert len(reader.entries(WEB)) == 4 and reader.exists(WEB)


def test_the_reader_cannot_write(tmp_path):
    db = tmp_path / "conversations.sqlite"
    write(sqlite_store(db), WEB, first_part())
    reader = TranscriptReader(f"sqlite:///{db}")
    with pytest.raises(sa.exc.OperationalError, match="readonly"), reader.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM events"))
    assert len(reader.entries(WEB)) == 4


def explain(engine: sa.engine.Engine, query) -> str:
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        return " / ".join(row[-1] for row in conn.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))


def test_queries_use_the_indexes(tmp_path):
    db = tmp_path / "conversations.sqlite"
    url = f"sqlite:///{db}"
    write(sqlite_store(db), WEB, [*first_part(), *second_part()])
    reader = TranscriptReader(url)
    since = datetime.now(timezone.utc) - timedelta(hours=1)
    before = explain(reader.engine, active_query(since, 50))
    assert "SCAN events" in before and ACTIVITY_INDEX not in before  # Rasa's table has no index by time
    create_activity_index(url)
    create_activity_index(reader.engine)  # idempotent
    plan = explain(reader.engine, active_query(since, 50))
    assert f"SEARCH events USING INDEX {ACTIVITY_INDEX} (timestamp>? AND timestamp<?)" in plan
    assert "SEARCH events USING INDEX ix_events_sender_id (sender_id=?)" in plan

    plans = []  # every query the reader runs, as SQLite plans it

    @sa.event.listens_for(reader.engine, "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("SELECT") and "sqlite_master" not in statement:
            explained = conn.connection.cursor().execute("EXPLAIN QUERY PLAN " + statement, parameters)
            plans.append(" / ".join(row[-1] for row in explained.fetchall()))

    assert [s.sender_id for s in reader.active_since(since)] == [WEB]
    assert reader.summary(WEB) and reader.exists(WEB) and reader.entries(WEB, after_id=5)
    assert len(plans) == 7
    for plan in plans:  # each reads by time or by conversation, never the whole table
        assert "SEARCH events USING" in plan and "SCAN events" not in plan, plan


def test_personal_slots_are_the_domains():
    slots = {}
    for path in (ROOT / "domain").glob("*.yml"):
        slots.update((yaml.safe_load(path.read_text()) or {}).get("slots") or {})
    assert set(PERSONAL_SLOTS) <= set(slots)
    assert all(slots[name]["type"] == "text" for name in PERSONAL_SLOTS)


def test_the_web_service_can_use_it_without_loading_rasa():
    code = (
        "import sys, bot.storage.transcripts, bot.staff.masking; "
        "sys.exit(any(m == 'rasa' or m.startswith('rasa.') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0


@pytest.fixture(scope="module")
def postgres():
    with local_postgres("transcripts-test-pg-", free_port()) as server:
        yield server


def test_postgresql(postgres):
    url = postgres.new_database()
    name = url.rsplit("/", 1)[1]
    reader = TranscriptReader(url)
    assert reader.entries(WEB) == [] and reader.summary(WEB) is None  # no table yet

    store = SQLTrackerStore(
        domain=DOMAIN,
        dialect="postgresql",
        host="127.0.0.1",
        port=postgres.port,
        db=name,
        username="rasa",
        password=postgres.password,
    )
    write(store, WEB, first_part())
    last = reader.entries(WEB)[-1].id
    write(store, WEB, second_part())
    write(store, "messenger:111", conversation(NOW - 7200, NOW - 60, paused=True))
    entries = check_whole_conversation(reader)
    assert reader.entries(WEB, after_id=last) == entries[4:]
    check_summary(reader.summary(WEB))
    create_activity_index(url)
    active = reader.active_since(datetime.now(timezone.utc) - timedelta(hours=1))
    assert [(s.sender_id, s.paused) for s in active] == [("messenger:111", True), (WEB, False)]
    with pytest.raises(sa.exc.InternalError, match="read-only"), reader.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM events"))
    reader.engine.dispose()
    store.engine.dispose()
