"""Who looked at which patient's data, and when (health information access, HIPC rule 5).

Every view of a request or conversation, every "show details", every status change and takeover is one row.
"Forget me" deletes a patient's rows and leaves one row saying only that a deletion happened
(`forget_conversation`). Rows hold ids and the kind of access, never the details themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable, List, Optional

import sqlalchemy as sa

from bot.storage.times import as_utc, utc_now

# The kinds of access recorded, in the words the audit page shows.
LOGGED_IN = "logged in"
LOGGED_OUT = "logged out"
LOGIN_FAILED = "failed log-in (wrong password)"
LOGIN_FAILED_UNKNOWN = "failed log-in (no such user name)"
LOCKED_OUT = "log-in locked after repeated failures"
LOCKED_OUT_UNKNOWN = "log-in locked after repeated failures (no such user name)"
VIEWED_REQUEST = "viewed request"
VIEWED_CONVERSATION = "viewed conversation"
SHOWED_DETAILS = "showed hidden details"
CHANGED_STATUS = "changed status"
TOOK_OVER = "took over the chat"
HANDED_BACK = "handed back to the assistant"
PATIENT_DATA_DELETED = "a patient's data was deleted (forget me)"
RETRY_NOTIFICATION = "asked to resend a notification"
# annotation of patient messages (bot/web/console/review_conversation.py): the detail is the chosen intent
ANNOTATED = "annotated a message"
DOWNLOADED_TRAINING_FILE = "downloaded the training file"
VIEWED_ANNOTATIONS = "viewed the annotations"
CHANGED_ANNOTATION = "changed an annotation's text"
DELETED_ANNOTATION = "deleted an annotation"

metadata = sa.MetaData()
audit_table = sa.Table(
    "staff_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("username", sa.String(40)),  # None: done by the system (forget me)
    sa.Column("action", sa.String(60), nullable=False, index=True),
    sa.Column("request_id", sa.Integer, index=True),
    sa.Column("conversation", sa.String(255), index=True),  # the conversation's sender id
    sa.Column("detail", sa.String(200)),  # e.g. "new → done"; never a patient's details
)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    username: Optional[str]
    action: str
    request_id: Optional[int]
    conversation: Optional[str]
    detail: Optional[str]


class AuditLog:
    """Appends and lists audit entries; forgets a patient."""

    def __init__(self, engine: sa.engine.Engine, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine, self.clock = engine, clock
        metadata.create_all(engine)

    def record(
        self,
        username: Optional[str],
        action: str,
        request_id: Optional[int] = None,
        conversation: Optional[str] = None,
        detail: Optional[str] = None,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                audit_table.insert().values(
                    at=self.clock(),
                    username=username,
                    action=action,
                    request_id=request_id,
                    conversation=conversation,
                    detail=(detail or None) and detail[:200],
                )
            )

    def entries(
        self,
        limit: int = 200,
        username: Optional[str] = None,
        request_id: Optional[int] = None,
        conversation: Optional[str] = None,
    ) -> List[AuditEntry]:
        """Newest first."""
        query = sa.select(audit_table).order_by(audit_table.c.id.desc()).limit(limit)
        if username:
            query = query.where(audit_table.c.username == username)
        if request_id is not None:
            query = query.where(audit_table.c.request_id == request_id)
        if conversation:
            query = query.where(audit_table.c.conversation == conversation)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEntry(r.id, as_utc(r.at), r.username, r.action, r.request_id, r.conversation, r.detail) for r in rows
        ]

    def taken_over(self, limit: int = 50) -> List[str]:
        """Conversations whose latest takeover entry is "took over" (not handed back since), newest first."""
        t = audit_table.c
        latest = (
            sa.select(t.conversation, sa.func.max(t.id).label("last"))
            .where(t.action.in_((TOOK_OVER, HANDED_BACK)), t.conversation.is_not(None))
            .group_by(t.conversation)
            .subquery()
        )
        query = (
            sa.select(audit_table.c.conversation)
            .join(latest, audit_table.c.id == latest.c.last)
            .where(audit_table.c.action == TOOK_OVER)
            .order_by(audit_table.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [row.conversation for row in conn.execute(query)]

    def forget_conversation(self, sender_id: str, request_ids: Iterable[int] = ()) -> int:
        """Deletes the entries about this conversation and its requests; records that a deletion happened."""
        ids = list(request_ids)
        condition = audit_table.c.conversation == sender_id
        if ids:
            condition = sa.or_(condition, audit_table.c.request_id.in_(ids))
        with self.engine.begin() as conn:
            deleted = conn.execute(audit_table.delete().where(condition)).rowcount
            conn.execute(audit_table.insert().values(at=self.clock(), username=None, action=PATIENT_DATA_DELETED))
        return deleted

    def delete_older_than(self, days: int) -> int:
        cutoff = self.clock() - timedelta(days=days)
        with self.engine.begin() as conn:
            return conn.execute(audit_table.delete().where(audit_table.c.at < cutoff)).rowcount
