"""The stored aggregates, in the requests' database (bot/storage/booking_requests.py, $BOOKING_REQUESTS_DB_URL).

- `conversation_sessions`: one row per conversation session (bot/analytics/session_facts.py), its counts and the
  state to go on folding it. Counts only: no text, no slot values. `sender_id` links it to the patient's
  conversation for the review list; retention sets it to NULL on old rows (the counts stay, they say nothing about
  anyone), "forget me" deletes the sender's rows.
- `daily_topics`: per New Zealand day (of the session's start), channel and intent, the conversations that asked it.
- `analytics_state`: the id of the last tracker event taken into account (the watermark), and how many times
  events were deleted from the tracker store ("forget me", retention: an update that read before a deletion must
  not write after it, bot/analytics/aggregates.py).

Tables and the state's rows are created when missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

import sqlalchemy as sa

from bot.analytics.session_facts import COUNTERS
from bot.storage.transcripts import events_table

WATERMARK = "events_watermark"
DELETIONS = "events_deletions"

metadata = sa.MetaData()
sessions_table = sa.Table(
    "conversation_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("start_event_id", sa.Integer, nullable=False, unique=True),  # < 0: its events are gone (_events_deleted)
    sa.Column("sender_id", sa.String(255)),  # NULL once older than the retention cut-off
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),  # New Zealand date of the start, "2026-11-29"
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True)),  # the sender's next session started then
    sa.Column("last_event_id", sa.Integer, nullable=False),
    sa.Column("min_confidence", sa.Float),
    *(sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in COUNTERS),
    sa.Column("topics", sa.String(2000), nullable=False, server_default=""),  # intents, space-separated
    sa.Column("open_form", sa.String(64)),
    sa.Column("closing_form", sa.String(64)),
    sa.Column("request_kind", sa.String(32)),
    sa.Column("last_intent", sa.String(255)),
    sa.Index("ix_sessions_started", "started_at"),
    sa.Index("ix_sessions_sender", "sender_id", "ended_at"),
    sa.Index("ix_sessions_day", "day", "channel"),
)
topics_table = sa.Table(
    "daily_topics",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("intent", sa.String(255), primary_key=True),
    sa.Column("conversations", sa.Integer, nullable=False),
)
state_table = sa.Table(
    "analytics_state",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)


@dataclass(frozen=True)
class State:
    watermark: int  # the last tracker event id taken into account
    deletions: int  # times events were deleted from the tracker store ("forget me", retention)


def create_tables(engine: sa.engine.Engine) -> None:
    """The tables and the state's rows, when missing (so a writer's first statement can be an UPDATE: on SQLite
    that takes the write lock before anything is read)."""
    metadata.create_all(engine)
    with engine.connect() as conn:
        present = set(conn.execute(sa.select(state_table.c.name)).scalars())
    for name in {WATERMARK, DELETIONS} - present:
        try:
            with engine.begin() as conn:
                conn.execute(state_table.insert().values(name=name, value=0))
        except sa.exc.IntegrityError:  # another process made it at the same moment
            pass


def read_state(conn: sa.engine.Connection) -> State:
    values = dict(conn.execute(sa.select(state_table.c.name, state_table.c.value)).all())
    return State(int(values.get(WATERMARK, 0)), int(values.get(DELETIONS, 0)))


# ---------- the tracker store (read only)


def tracker_has_events(tracker: sa.engine.Engine) -> bool:
    """True once Rasa has created its events table (a missing SQLite file is not created by looking)."""
    path = tracker.url.database
    if tracker.dialect.name == "sqlite" and path and path != ":memory:" and not Path(path).exists():
        return False
    return sa.inspect(tracker).has_table("events")


def last_event_id(tracker: sa.engine.Engine) -> int:
    """The highest event id in the tracker store (0: none)."""
    if not tracker_has_events(tracker):
        return 0
    with tracker.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(events_table.c.id))).scalar() or 0)


# ---------- forget me, retention


def _events_deleted(conn: sa.engine.Connection, tracker: sa.engine.Engine) -> None:
    """Events were deleted from `tracker`: the first statement of a transaction of the requests' database.

    - The deletions counter goes up, which also takes the state's lock (SQLite: the database's write lock; PostgreSQL:
      the row's), so an update that read the deleted events or the rows about to change, and writes after this,
      fails its compare-and-set and starts again (bot/analytics/aggregates.py).
    - The watermark comes down to the highest id left in the tracker store, if it was above: SQLite (Rasa's table
      has no AUTOINCREMENT) gives a new row max(id) + 1, so new events would reuse the deleted ones' ids, at or
      below the watermark, and never be counted. Every id in between is a deleted event's: the highest id is read
      under the lock, after any update that moved the watermark committed, and no update can move it meanwhile.
    - Sessions that started above that id (all their events are gone; retention keeps their counts) take their
      row's id, negated, as their start, so a new session can start on the same event id (`start_event_id` is
      unique)."""
    state, s = state_table.c, sessions_table.c
    conn.execute(state_table.update().where(state.name == DELETIONS).values(value=state.value + 1))
    highest = last_event_id(tracker)
    conn.execute(state_table.update().where(state.name == WATERMARK, state.value > highest).values(value=highest))
    conn.execute(sessions_table.update().where(s.start_event_id > highest).values(start_event_id=-s.id))


def events_deleted(engine: sa.engine.Engine, tracker: sa.engine.Engine) -> None:
    """Retention deleted old events (the newest ones too, after a quiet spell): see `_events_deleted`."""
    create_tables(engine)
    with engine.begin() as conn:
        _events_deleted(conn, tracker)


def forget_sender(engine: sa.engine.Engine, sender_id: str, tracker: sa.engine.Engine) -> int:
    """ "Forget me", once the sender's events are deleted from `tracker`: the sender's session rows go, and their
    topics leave the daily counts (so the numbers stay those of the conversations still counted); in the same
    transaction, first, `_events_deleted`. Safe to call again (the second pass of actions/privacy.py)."""
    create_tables(engine)
    s, t = sessions_table.c, topics_table.c
    with engine.begin() as conn:
        _events_deleted(conn, tracker)
        rows = conn.execute(sa.select(s.day, s.channel, s.topics).where(s.sender_id == sender_id)).all()
        for row in rows:
            for intent in row.topics.split():
                conn.execute(
                    topics_table.update()
                    .where(t.day == row.day, t.channel == row.channel, t.intent == intent)
                    .values(conversations=t.conversations - 1)
                )
        conn.execute(topics_table.delete().where(t.conversations <= 0))
        return conn.execute(sessions_table.delete().where(s.sender_id == sender_id)).rowcount


def unlink_older_than(engine: sa.engine.Engine, days: int, now: Optional[datetime] = None) -> int:
    """Retention: sessions whose last message is older than the cut-off lose their link to the patient (the
    counts stay: they hold no personal details)."""
    create_tables(engine)
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    s = sessions_table.c
    with engine.begin() as conn:
        query = sessions_table.update().where(s.last_at < cutoff, s.sender_id.is_not(None)).values(sender_id=None)
        return conn.execute(query).rowcount
