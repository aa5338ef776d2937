"""Opaque references for conversations in the console's URLs, so a sender id (a Messenger or Instagram user's
id, the widget's session id) never appears in a URL, a browser history or an access log.

A reference is random, made the first time the console links to a conversation and kept in a small table;
"forget me" deletes it with the conversation (`forget`).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Dict, Iterable, Optional

import sqlalchemy as sa

from bot.storage.times import utc_now

metadata = sa.MetaData()
refs_table = sa.Table(
    "staff_conversation_refs",
    metadata,
    sa.Column("ref", sa.String(32), primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


class ConversationRefs:
    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def ref_for(self, sender_id: str) -> str:
        """The conversation's reference, made on first use."""
        query = sa.select(refs_table.c.ref).where(refs_table.c.sender_id == sender_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row:
            return row.ref
        ref = secrets.token_urlsafe(15)
        try:
            with self.engine.begin() as conn:
                conn.execute(refs_table.insert().values(ref=ref, sender_id=sender_id, created_at=utc_now()))
            return ref
        except sa.exc.IntegrityError:  # made at the same moment by another request: use that one
            with self.engine.connect() as conn:
                return conn.execute(query).scalar_one()

    def refs_for(self, sender_ids: Iterable[str]) -> Dict[str, str]:
        """sender id -> reference for many conversations (a list page): one query, then `ref_for` for new ones."""
        wanted = set(sender_ids)
        if not wanted:
            return {}
        query = sa.select(refs_table.c.sender_id, refs_table.c.ref).where(refs_table.c.sender_id.in_(wanted))
        with self.engine.connect() as conn:
            found = dict(conn.execute(query).all())
        return {**found, **{sender_id: self.ref_for(sender_id) for sender_id in wanted - set(found)}}

    def sender_for(self, ref: str) -> Optional[str]:
        if not ref or len(ref) > 32:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(refs_table.c.sender_id).where(refs_table.c.ref == ref)).first()
        return row.sender_id if row else None

    def forget(self, sender_id: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(refs_table.delete().where(refs_table.c.sender_id == sender_id)).rowcount

    def delete_older_than(self, days: int, now: Optional[datetime] = None) -> int:
        """References made more than `days` ago (made again, new, if the console links the conversation later)."""
        cutoff = (now or utc_now()) - timedelta(days=days)
        with self.engine.begin() as conn:
            return conn.execute(refs_table.delete().where(refs_table.c.created_at < cutoff)).rowcount
