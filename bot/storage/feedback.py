"""Patients' "Was this helpful?" answers (👍 / 👎), kept with the message they rate.

A rating is about the assistant's answer to one patient message, and is stored against that patient message:
`message_key` is the `message_id` of the patient's `user` event in the tracker store (Rasa's
`UserMessage.message_id`: the widget's id of the message, or the Meta message id of a Messenger/Instagram one).
One rating per message and conversation: a patient who changes their mind replaces it; "unreact" removes it.

The table lives in the requests' database (bot/storage/booking_requests.py, $BOOKING_REQUESTS_DB_URL), next to the
staff console's tables: the Rasa process writes it (the channels), the web service reads it (review, analytics).
It holds no text. "Forget me" deletes a conversation's ratings (`forget`), retention the old ones.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Callable, Dict, Optional

import sqlalchemy as sa

from bot.storage.booking_requests import database_url, shared_store
from bot.storage.times import utc_now
from bot.storage.upsert import update_or_insert

UP, DOWN = "up", "down"
RATINGS = (UP, DOWN)
MAX_KEY = 255

metadata = sa.MetaData()
feedback_table = sa.Table(
    "message_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("channel", sa.String(32)),  # "socketio", "facebook", "instagram"
    sa.Column("message_key", sa.String(MAX_KEY), nullable=False),
    sa.Column("rating", sa.String(4), nullable=False),
    sa.UniqueConstraint("sender_id", "message_key", name="uq_feedback_message"),
    sa.Index("ix_feedback_sender_at", "sender_id", "at"),
)


class FeedbackStore:
    """Records, reads and forgets ratings (table `message_feedback`, created when missing)."""

    def __init__(self, engine: sa.engine.Engine, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine, self.clock = engine, clock
        metadata.create_all(engine)

    def record(self, sender_id: str, message_key: str, rating: str, channel: Optional[str] = None) -> None:
        """Store (or replace) the rating of the answer to the patient message `message_key`."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}")
        if not sender_id or not message_key or len(message_key) > MAX_KEY:
            raise ValueError("a rating needs a conversation and a message key of at most 255 characters")
        with self.engine.begin() as conn:  # a changed mind replaces the rating; the same one twice at once: one row
            update_or_insert(
                conn,
                feedback_table,
                {"sender_id": sender_id, "message_key": message_key},
                {"rating": rating, "at": self.clock(), "channel": channel},
            )

    def remove(self, sender_id: str, message_key: str) -> int:
        """Take a rating back (Instagram's "unreact")."""
        t = feedback_table.c
        with self.engine.begin() as conn:
            return conn.execute(
                feedback_table.delete().where(t.sender_id == sender_id, t.message_key == message_key)
            ).rowcount

    def ratings_for(self, sender_id: str) -> Dict[str, str]:
        """message_key -> "up" | "down" for one conversation."""
        t = feedback_table.c
        query = sa.select(t.message_key, t.rating).where(t.sender_id == sender_id)
        with self.engine.connect() as conn:
            return {row.message_key: row.rating for row in conn.execute(query)}

    def forget(self, sender_id: str) -> int:
        """ "Forget me": every rating of the conversation."""
        with self.engine.begin() as conn:
            return conn.execute(feedback_table.delete().where(feedback_table.c.sender_id == sender_id)).rowcount

    def delete_older_than(self, days: int, now: Optional[datetime] = None) -> int:
        cutoff = (now or self.clock()) - timedelta(days=days)
        with self.engine.begin() as conn:
            return conn.execute(feedback_table.delete().where(feedback_table.c.at < cutoff)).rowcount


@functools.lru_cache(maxsize=4)
def _store_at(url: str) -> FeedbackStore:
    return FeedbackStore(shared_store(url).engine)


def shared_feedback_store(url: Optional[str] = None) -> FeedbackStore:
    """One store per database URL for the life of the process, on the requests store's engine; default the requests'
    database ($BOOKING_REQUESTS_DB_URL, else .data/requests.sqlite)."""
    return _store_at(url or database_url())
