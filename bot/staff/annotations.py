"""Staff's annotations of patient messages: the intent a message should have had, to become training data.

One row per patient message (`sender_id`, `event_id`: the row of the `user` event in the tracker store); saving
again replaces it. The row keeps the message **already masked with neutral placeholders** (bot/staff/masking.py,
`PLACEHOLDERS`: "my number is 021 123 4567, I'm Alex"), never the patient's own words where they identify them, so
an annotation is training data and nothing more. bot/staff/export_annotations.py writes them as Rasa NLU YAML.

The table (`staff_annotations`) lives in the requests' database with the console's other tables. "Forget me"
deletes a conversation's annotations (`forget`). Retention unlinks the ones whose message is older than the
cut-off (`unlink_older_than`): the conversation is deleted then, so its id and the event's go, and the masked text
with its intents stays as training data. Staff can correct a kept text (a name mentioned in passing, which the
masking cannot know) or delete an annotation on the console's Annotations page.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Dict, List, Optional

import sqlalchemy as sa

from bot.storage.times import as_utc, utc_now
from bot.storage.upsert import update_or_insert

MAX_TEXT = 1000  # the longest message the channels accept (bot/channels/message_limits.py) fits

metadata = sa.MetaData()
annotations_table = sa.Table(
    "staff_annotations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("username", sa.String(40), nullable=False),
    sa.Column("sender_id", sa.String(255), index=True),  # None once retention unlinked it
    sa.Column("event_id", sa.Integer),  # the `user` row in the tracker store's events table; None once unlinked
    sa.Column("message_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("text", sa.String(MAX_TEXT), nullable=False),  # masked with neutral placeholders
    sa.Column("predicted_intent", sa.String(100)),  # what the assistant acted on
    sa.Column("confidence", sa.Float),
    sa.Column("intent", sa.String(100), nullable=False),  # what staff chose
    sa.UniqueConstraint("sender_id", "event_id", name="uq_annotation_message"),
)


@dataclass(frozen=True)
class Annotation:
    id: int
    at: datetime
    username: str
    sender_id: Optional[str]
    event_id: Optional[int]
    message_at: datetime
    text: str
    predicted_intent: Optional[str]
    confidence: Optional[float]
    intent: str


def _annotation(row: sa.engine.Row) -> Annotation:
    return Annotation(
        row.id,
        as_utc(row.at),
        row.username,
        row.sender_id,
        row.event_id,
        as_utc(row.message_at),
        row.text,
        row.predicted_intent,
        row.confidence,
        row.intent,
    )


class AnnotationStore:
    """Saves, lists and forgets annotations (table `staff_annotations`, created when missing)."""

    def __init__(self, engine: sa.engine.Engine, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine, self.clock = engine, clock
        metadata.create_all(engine)

    def save(
        self,
        username: str,
        sender_id: str,
        event_id: int,
        message_at: datetime,
        text: str,
        predicted_intent: Optional[str],
        confidence: Optional[float],
        intent: str,
    ) -> None:
        """Store the chosen intent of one message (replacing an earlier annotation of it). `text` must already be
        masked with placeholders: this store keeps what it is given."""
        values = {
            "at": self.clock(),
            "username": username,
            "message_at": message_at,
            "text": text[:MAX_TEXT],
            "predicted_intent": predicted_intent,
            "confidence": confidence,
            "intent": intent,
        }
        with self.engine.begin() as conn:  # saved at the same moment by someone else: theirs stands
            update_or_insert(conn, annotations_table, {"sender_id": sender_id, "event_id": event_id}, values)

    def for_conversation(self, sender_id: str) -> Dict[int, Annotation]:
        """event id -> annotation, for one conversation."""
        query = sa.select(annotations_table).where(annotations_table.c.sender_id == sender_id)
        with self.engine.connect() as conn:
            return {row.event_id: _annotation(row) for row in conn.execute(query)}

    def all(self, limit: Optional[int] = None) -> List[Annotation]:
        """Every annotation, newest first."""
        query = sa.select(annotations_table).order_by(annotations_table.c.at.desc(), annotations_table.c.id.desc())
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_annotation(row) for row in conn.execute(query)]

    def get(self, annotation_id: int) -> Optional[Annotation]:
        query = sa.select(annotations_table).where(annotations_table.c.id == annotation_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _annotation(row) if row else None

    def set_text(self, annotation_id: int, text: str) -> bool:
        """Replace the kept text (staff removing a detail the masking missed); `text` must already be masked."""
        query = annotations_table.update().where(annotations_table.c.id == annotation_id).values(text=text[:MAX_TEXT])
        with self.engine.begin() as conn:
            return conn.execute(query).rowcount > 0

    def delete(self, annotation_id: int) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(annotations_table.delete().where(annotations_table.c.id == annotation_id)).rowcount > 0

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(annotations_table)).scalar_one())

    def forget(self, sender_id: str) -> int:
        """ "Forget me": every annotation of the conversation."""
        with self.engine.begin() as conn:
            return conn.execute(annotations_table.delete().where(annotations_table.c.sender_id == sender_id)).rowcount

    def unlink_older_than(self, days: int, now: Optional[datetime] = None) -> int:
        """Retention: annotations of messages older than `days` lose their conversation (sender and event id);
        the masked text and the intents stay."""
        cutoff = (now or self.clock()) - timedelta(days=days)
        t = annotations_table.c
        with self.engine.begin() as conn:
            return conn.execute(
                annotations_table.update()
                .where(t.message_at < cutoff, t.sender_id.is_not(None))
                .values(sender_id=None, event_id=None)
            ).rowcount


@functools.lru_cache(maxsize=8)
def annotation_store(engine: sa.engine.Engine) -> AnnotationStore:
    """One store per engine (the console's requests database): the table is checked once."""
    return AnnotationStore(engine)
