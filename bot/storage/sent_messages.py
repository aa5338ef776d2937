"""Which patient message each of the assistant's Messenger / Instagram replies answered (table `meta_sent_messages`).

Meta's reactions and "Good response" / "Bad response" feedback name the page's message (the `message_id` the Send
API returned for it), while a rating is stored against the patient message that reply answered
(bot/storage/feedback.py: the `message_id` of the patient's `user` event, Meta's `mid`). The Messenger / Instagram
output channel records each reply it sends for a patient message here (bot/channels/meta.py); the input channel
maps a reaction back through it. Staff members' messages and replies to nothing are not recorded, so they cannot be
rated.

In the requests' database (bot/storage/booking_requests.py), next to the ratings. It holds ids only, no text; the
conversation id names a person, so "forget me" (bot/staff/forget.py) and retention (bot/privacy/retention.py)
delete its rows.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Callable, Optional

import sqlalchemy as sa

from bot.storage.booking_requests import database_url, shared_store
from bot.storage.times import utc_now

MAX_ID = 255

metadata = sa.MetaData()
sent_table = sa.Table(
    "meta_sent_messages",
    metadata,
    sa.Column("sent_mid", sa.String(MAX_ID), primary_key=True),  # the page's message, as the Send API named it
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),  # the conversation ("messenger:<PSID>")
    sa.Column("reply_to", sa.String(MAX_ID), nullable=False),  # the patient message it answered (its mid)
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
)


class SentMessages:
    """Records and looks up the assistant's replies on Messenger / Instagram (table created when missing)."""

    def __init__(self, engine: sa.engine.Engine, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine, self.clock = engine, clock
        metadata.create_all(engine)

    def record(self, sent_mid: str, sender_id: str, reply_to: str) -> None:
        """Remember that the page's message `sent_mid` answered the patient message `reply_to` in `sender_id`."""
        if not (0 < len(sent_mid) <= MAX_ID and 0 < len(reply_to) <= MAX_ID and sender_id):
            raise ValueError("a sent message needs ids of 1 to 255 characters")
        row = {"sent_mid": sent_mid, "sender_id": sender_id, "reply_to": reply_to, "at": self.clock()}
        try:
            with self.engine.begin() as conn:
                conn.execute(sent_table.insert().values(**row))
        except sa.exc.IntegrityError:  # Meta never reuses a message id: the first record stays
            pass

    def reply_to(self, sent_mid: str, sender_id: str) -> Optional[str]:
        """The patient message the page's message `sent_mid` answered, if it was sent to `sender_id`."""
        t = sent_table.c
        query = sa.select(t.reply_to).where(t.sent_mid == sent_mid, t.sender_id == sender_id)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def forget(self, sender_id: str) -> int:
        """ "Forget me": every reply recorded for the conversation."""
        with self.engine.begin() as conn:
            return conn.execute(sent_table.delete().where(sent_table.c.sender_id == sender_id)).rowcount

    def delete_older_than(self, days: int, now: Optional[datetime] = None) -> int:
        cutoff = (now or self.clock()) - timedelta(days=days)
        with self.engine.begin() as conn:
            return conn.execute(sent_table.delete().where(sent_table.c.at < cutoff)).rowcount


@functools.lru_cache(maxsize=4)
def _sent_at(url: str) -> SentMessages:
    return SentMessages(shared_store(url).engine)


def shared_sent_messages(url: Optional[str] = None) -> SentMessages:
    """One store per database URL for the life of the process, on the requests store's engine; default the requests'
    database ($BOOKING_REQUESTS_DB_URL, else .data/requests.sqlite)."""
    return _sent_at(url or database_url())
