""" "Forget me" in the staff console's tables: called by actions/privacy.py after the conversation and the requests
are deleted. Audit entries about the conversation go (one entry records only that a deletion happened), and so do
the conversation's console reference and the e-mail notifications of its requests."""

from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa

from bot.staff.audit import AuditLog
from bot.staff.conversation_refs import ConversationRefs


def forget_in_console(engine: sa.engine.Engine, sender_id: str, request_ids: Iterable[int]) -> None:
    ids = list(request_ids)
    AuditLog(engine).forget_conversation(sender_id, ids)
    ConversationRefs(engine).forget(sender_id)
    if ids and sa.inspect(engine).has_table("request_notifications"):
        with engine.begin() as conn:
            conn.execute(
                sa.text("DELETE FROM request_notifications WHERE request_id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True)
                ),
                {"ids": ids},
            )
