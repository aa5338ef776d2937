"""Conversations as the staff console shows them, read straight from Rasa's tracker store (table `events`).

The web service must not import Rasa (memory), so this reads the rows Rasa's SQLTrackerStore writes
(rasa/core/tracker_store.py: id, sender_id, type_name, timestamp in epoch seconds, intent_name, action_name,
data = the event as JSON) with plain SQLAlchemy. Read-only: SQLite connections are `query_only`, PostgreSQL ones
`default_transaction_read_only`. Before Rasa has stored a conversation there is no table (or no SQLite file):
every read then finds nothing.

What a row becomes (`Entry.who`): `user` -> "patient" (text, intent, confidence; the classifier's intent when
bot/dialogue/context.py reread the message in context; the channel's message id, which patients' ratings are keyed
by); `bot` -> "assistant" (with the response it came from, `utter_action`), or "staff" when its metadata names
a staff member (`{"staff": "Sam"}`, plus `"notice": "joined" | "left"` for the takeover notices); `pause`,
`resume`, `restart`, `session_started` -> "event" with a short note. Actions, slots and loops are not shown.

Indexes: Rasa creates only `ix_events_sender_id` (and the primary key). `entries`, `summary` and `exists` use it.
`active_since` needs rows by time: without an index on `timestamp` the database reads the whole table (2 s for
600,000 rows in SQLite); `create_activity_index` adds one (`ix_events_timestamp`, idempotent; then 30 ms with
the 50 summaries), to be created by a process that may write.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from bot.channels.sender_ids import channel_of
from bot.storage.database_urls import tracker_db_url

# Slots whose values identify the patient (domain/booking.yml, domain/acc_check.yml): masked in the console.
PERSONAL_SLOTS = ("contact_name", "contact_detail", "acc45")
MESSAGES = ("user", "bot")
EVENT_NOTES = {
    "pause": "assistant paused",
    "resume": "assistant resumed",
    "restart": "conversation restarted",
    "session_started": "new session",
}
SHOWN = (*MESSAGES, *EVENT_NOTES)
# Rows after which the assistant answers again (Rasa's tracker: ConversationResumed, or a reset of the tracker).
UNPAUSING = ("resume", "restart", "session_started")
STAFF_NOTICES = {"joined": "{name} joined", "left": "{name} left"}
ACTIVITY_INDEX = "ix_events_timestamp"
CLOCK_SLACK = 86400  # seconds: messages stamped up to a day ahead still count as activity

_metadata = sa.MetaData()
events_table = sa.Table(  # the columns of Rasa's SQLTrackerStore.SQLEvent; created only by bot/analytics/synthetic.py
    "events",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


@dataclass
class Entry:
    """One line of a conversation in the console."""

    id: int  # the row's id: pass the last one as `after_id` to poll for new entries
    at: datetime  # UTC
    who: str  # "patient" | "assistant" | "staff" | "event"
    text: str  # "" for events
    intent: Optional[str] = None  # patient: the intent the assistant acted on
    confidence: Optional[float] = None
    staff_name: Optional[str] = None
    buttons: List[str] = field(default_factory=list)  # titles of the buttons offered
    note: Optional[str] = None  # "assistant paused", "Sam joined", "button", the context rewrite's reason
    original_intent: Optional[str] = None  # patient: the classifier's intent, when the context changed it
    message_id: Optional[str] = None  # patient: the channel's id of the message (ratings are keyed by it)
    utter_action: Optional[str] = None  # assistant: the response it came from ("utter_fallback")


@dataclass
class ConversationSummary:
    """What the console lists about a conversation."""

    sender_id: str
    channel: Optional[str]  # "web", "messenger", "instagram", "rest"; None for an id without a known prefix
    first_at: datetime  # first stored event
    last_at: datetime  # last patient or assistant message (the last event if there is none)
    patient_messages: int
    paused: bool  # the assistant does not answer (paused after the last resume/restart/new session)
    last_patient_at: Optional[datetime]
    personal_values: List[str] = field(default_factory=list)  # values of PERSONAL_SLOTS, for masking


def _utc(timestamp: Optional[float]) -> datetime:
    return datetime.fromtimestamp(float(timestamp or 0), tz=timezone.utc)


def _read_only(dialect: str) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if dialect == "sqlite":
            cursor.execute("PRAGMA query_only = ON")
        elif dialect == "postgresql":
            cursor.execute("SET default_transaction_read_only = on")
            dbapi_connection.commit()
        cursor.close()

    return on_connect


def json_object(data: Optional[str]) -> Dict[str, Any]:
    """An event row's `data` as a dict ({} when it is not a JSON object)."""
    try:
        value = json.loads(data or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _titles(data: Dict[str, Any]) -> Dict[str, str]:
    """payload -> title of the buttons (and quick replies) of a bot utterance's `data`."""
    offered: Dict[str, str] = {}
    for key in ("buttons", "quick_replies"):
        for button in data.get(key) or []:
            if isinstance(button, dict) and button.get("title"):
                offered[str(button.get("payload") or "")] = str(button["title"])
    return offered


class TranscriptReader:
    """Reads conversations from the tracker store's database (`url`, a SQLAlchemy URL); never writes."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, future=True, pool_pre_ping=True)
        sa_event.listen(self.engine, "connect", _read_only(self.engine.dialect.name))
        self._has_table = False

    def _ready(self) -> bool:
        """True once Rasa has created the events table (not looked up again after that)."""
        if not self._has_table:
            path = self.engine.url.database
            if self.engine.dialect.name == "sqlite" and path and path != ":memory:" and not Path(path).exists():
                return False  # connecting would create an empty file
            self._has_table = sa.inspect(self.engine).has_table("events")
        return self._has_table

    def exists(self, sender_id: str) -> bool:
        """True if the tracker store holds any event of the conversation."""
        if not self._ready():
            return False
        query = sa.select(events_table.c.id).where(events_table.c.sender_id == sender_id).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def entries(self, sender_id: str, after_id: int = 0, limit: int = 500) -> List[Entry]:
        """The conversation's entries oldest first: with `after_id`, the first `limit` with a row id above it (a
        page polling for news); without, the newest `limit` (a long conversation shows its end)."""
        if not self._ready():
            return []
        t = events_table.c
        newest = after_id == 0
        query = (
            sa.select(t.id, t.type_name, t.timestamp, t.data)
            .where(t.sender_id == sender_id, t.id > after_id, t.type_name.in_(SHOWN))
            .order_by(t.id.desc() if newest else t.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            rows = rows[::-1] if newest else rows
            before = rows[0].id - 1 if rows else 0
            offered = self._offered_before(conn, sender_id, before) if before > 0 else {}
        out = []
        for row in rows:
            data = json_object(row.data)
            out.append(_entry(row.id, row.type_name, _utc(row.timestamp), data, offered))
            if row.type_name == "user":
                offered = {}
            elif row.type_name == "bot":
                offered.update(_titles(data.get("data") or {}))
        return out

    def patient_entry(self, sender_id: str, event_id: int) -> Optional[Entry]:
        """The patient message with this row id, if it belongs to this conversation (None otherwise).

        A button press comes back with its payload as the text ("/affirm"), not the button's title."""
        if not self._ready():
            return None
        t = events_table.c
        query = sa.select(t.id, t.type_name, t.timestamp, t.data).where(
            t.id == event_id, t.sender_id == sender_id, t.type_name == "user"
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _entry(row.id, row.type_name, _utc(row.timestamp), json_object(row.data), {}) if row else None

    def _offered_before(self, conn: Any, sender_id: str, after_id: int) -> Dict[str, str]:
        """The buttons the assistant offered after the patient's last message up to `after_id`: a click on one
        of them shows its title."""
        t = events_table.c
        last_user = (
            sa.select(sa.func.coalesce(sa.func.max(t.id), 0))
            .where(t.sender_id == sender_id, t.id <= after_id, t.type_name == "user")
            .scalar_subquery()
        )
        query = (
            sa.select(t.data)
            .where(t.sender_id == sender_id, t.id > last_user, t.id <= after_id, t.type_name == "bot")
            .order_by(t.id)
        )
        offered: Dict[str, str] = {}
        for data in conn.execute(query).scalars():
            offered.update(_titles(json_object(data).get("data") or {}))
        return offered

    def summary(self, sender_id: str) -> Optional[ConversationSummary]:
        """The conversation's summary; None if nothing of it is stored."""
        if not self._ready():
            return None
        query = _summaries().where(events_table.c.sender_id == sender_id).group_by(events_table.c.sender_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
            values = _personal_values(conn, [sender_id]) if row else {}
        return _summary(row, values) if row else None

    def active_since(self, since: datetime, limit: int = 50) -> List[ConversationSummary]:
        """Conversations with a patient or assistant message at or after `since` (timezone-aware), latest
        activity first.

        One aggregate query (the active conversations by time, joined to their rows by sender id) and one
        for their personal slot values, whatever `limit` is.
        """
        if since.tzinfo is None:
            raise ValueError("`since` must be timezone-aware (e.g. datetime.now(timezone.utc) - timedelta(hours=1))")
        if not self._ready():
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(active_query(since, limit)).all()
            values = _personal_values(conn, [row.sender_id for row in rows])
        return [_summary(row, values) for row in rows]


def _entry(row_id: int, type_name: str, at: datetime, data: Dict[str, Any], offered: Dict[str, str]) -> Entry:
    if type_name in EVENT_NOTES:
        return Entry(row_id, at, "event", "", note=EVENT_NOTES[type_name])
    text = str(data.get("text") or "")
    if type_name == "user":
        parse_data = data.get("parse_data") or {}
        intent = parse_data.get("intent") or {}
        context = parse_data.get("context") or {}
        confidence = intent.get("confidence")
        entry = Entry(
            row_id,
            at,
            "patient",
            text,
            intent=intent.get("name"),
            confidence=float(confidence) if confidence is not None else None,
            note=context.get("reason"),
            original_intent=context.get("original_intent"),
            message_id=str(data["message_id"]) if data.get("message_id") else None,
        )
        if text.startswith("/") and text in offered:  # a button: Rasa keeps its payload as the text
            entry.text, entry.note = offered[text], entry.note or "button"
        return entry
    metadata = data.get("metadata") or {}
    buttons = list(_titles(data.get("data") or {}).values())
    staff = metadata.get("staff") if isinstance(metadata, dict) else None
    if not staff:
        utter_action = metadata.get("utter_action") if isinstance(metadata, dict) else None
        return Entry(row_id, at, "assistant", text, buttons=buttons, utter_action=utter_action or None)
    notice = STAFF_NOTICES.get(str(metadata.get("notice")))
    note = notice.format(name=staff) if notice else None
    return Entry(row_id, at, "staff", text, staff_name=str(staff), buttons=buttons, note=note)


def active_query(since: datetime, limit: int) -> sa.sql.Select:
    """The summaries' aggregates of the `limit` conversations with the latest messages at or after `since`.

    The time range is closed (up to a day ahead, for clocks a little off): SQLite's planner, without statistics
    on ranges, reads an open range as a quarter of the table and prefers to scan by sender; a closed one it
    reads through the index on `timestamp`.
    """
    t = events_table.c
    last = sa.func.max(t.timestamp).label("active_at")
    active = (
        sa.select(t.sender_id.label("active_id"), last)
        .where(t.timestamp.between(since.timestamp(), time.time() + CLOCK_SLACK), t.type_name.in_(MESSAGES))
        .group_by(t.sender_id)
        .order_by(last.desc(), t.sender_id)
        .limit(limit)
        .subquery("active")
    )
    return (
        _summaries()
        .join(active, t.sender_id == active.c.active_id)
        .group_by(t.sender_id, active.c.active_at)
        .order_by(active.c.active_at.desc(), t.sender_id)
    )


def _summaries() -> sa.sql.Select:
    """Per-conversation aggregates over the events table (add WHERE / JOIN and GROUP BY sender_id)."""
    t = events_table.c
    is_message = t.type_name.in_(MESSAGES)
    is_user = t.type_name == "user"
    return sa.select(
        t.sender_id,
        sa.func.min(t.timestamp).label("first_ts"),
        sa.func.max(t.timestamp).label("last_ts"),
        sa.func.max(sa.case((is_message, t.timestamp))).label("last_message_ts"),
        sa.func.count(sa.case((is_user, t.id))).label("patient_messages"),
        sa.func.max(sa.case((is_user, t.timestamp))).label("last_patient_ts"),
        sa.func.max(sa.case((t.type_name == "pause", t.id))).label("last_pause"),
        sa.func.max(sa.case((t.type_name.in_(UNPAUSING), t.id))).label("last_unpause"),
    )


def _personal_values(conn: Any, sender_ids: Sequence[str]) -> Dict[str, List[str]]:
    """sender id -> distinct values ever set in PERSONAL_SLOTS (SlotSet rows keep the slot name as action_name)."""
    if not sender_ids:
        return {}
    t = events_table.c
    query = (
        sa.select(t.sender_id, t.data)
        .where(t.sender_id.in_(list(sender_ids)), t.type_name == "slot", t.action_name.in_(PERSONAL_SLOTS))
        .order_by(t.id)
    )
    values: Dict[str, List[str]] = {}
    for sender_id, data in conn.execute(query):
        value = json_object(data).get("value")
        found = values.setdefault(sender_id, [])
        for text in _strings(value):
            if text not in found:
                found.append(text)
    return values


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        if value.strip():
            yield value.strip()
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _summary(row: Any, values: Dict[str, List[str]]) -> ConversationSummary:
    last_pause, last_unpause = row.last_pause, row.last_unpause
    return ConversationSummary(
        sender_id=row.sender_id,
        channel=channel_of(row.sender_id),
        first_at=_utc(row.first_ts),
        last_at=_utc(row.last_message_ts if row.last_message_ts is not None else row.last_ts),
        patient_messages=int(row.patient_messages or 0),
        paused=last_pause is not None and (last_unpause is None or last_pause > last_unpause),
        last_patient_at=_utc(row.last_patient_ts) if row.last_patient_ts is not None else None,
        personal_values=list(values.get(row.sender_id, [])),
    )


def create_activity_index(database: Union[str, sa.engine.Engine]) -> None:
    """Create the index on `events.timestamp` that `active_since` reads by (idempotent; needs the table).

    For a process that may write the tracker store's database (a URL or an engine), e.g. ClinicSQLTrackerStore
    at start-up. Two processes creating it at once is fine (PostgreSQL may refuse the second: it is there).
    """
    engine = sa.create_engine(database, future=True) if isinstance(database, str) else database
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {ACTIVITY_INDEX} ON events (timestamp)"))
    except sa.exc.DBAPIError:
        if ACTIVITY_INDEX not in {index["name"] for index in sa.inspect(engine).get_indexes("events")}:
            raise
    finally:
        if isinstance(database, str):
            engine.dispose()


@functools.lru_cache(maxsize=4)
def _reader_at(url: str) -> TranscriptReader:
    return TranscriptReader(url)


def shared_reader(url: Optional[str] = None) -> TranscriptReader:
    """One reader (engine, connection pool) per database URL for the life of the process; default the tracker
    store's database (bot/storage/database_urls.py)."""
    return _reader_at(url or tracker_db_url())
