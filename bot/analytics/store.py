"""The stored aggregates, in the requests' database (bot/storage/booking_requests.py, $BOOKING_REQUESTS_DB_URL).

- `conversation_sessions`: one row per conversation session (bot/analytics/session_facts.py), its counts and the
  state to go on folding it. Counts only: no text, no slot values. `sender_id` links it to the patient's
  conversation for the review list; retention sets it to NULL on old rows (the counts stay, they say nothing about
  anyone), "forget me" deletes the sender's rows.
- `daily_topics`: per New Zealand day (of the session's start), channel and intent, the conversations that asked it.
- `analytics_state`: the id of the last tracker event taken into account (the watermark).

Tables are created when missing.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

import sqlalchemy as sa

from bot.analytics.session_facts import COUNTERS

WATERMARK = "events_watermark"

metadata = sa.MetaData()
sessions_table = sa.Table(
    "conversation_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("start_event_id", sa.Integer, nullable=False, unique=True),
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


def create_tables(engine: sa.engine.Engine) -> None:
    metadata.create_all(engine)


def watermark(conn: sa.engine.Connection) -> int:
    value = conn.execute(sa.select(state_table.c.value).where(state_table.c.name == WATERMARK)).scalar()
    if value is None:
        try:
            with conn.begin_nested():
                conn.execute(state_table.insert().values(name=WATERMARK, value=0))
        except sa.exc.IntegrityError:  # another process made it at the same moment
            return watermark(conn)
        return 0
    return int(value)


def forget_sender(engine: sa.engine.Engine, sender_id: str) -> int:
    """ "Forget me": the sender's session rows go, and their topics leave the daily counts (so the numbers stay
    those of the conversations still counted)."""
    create_tables(engine)
    s, t = sessions_table.c, topics_table.c
    with engine.begin() as conn:
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
