""" "Forget me" in the staff console's tables: called by actions/privacy.py after the conversation and the requests
are deleted. Audit entries about the conversation go (one entry records only that a deletion happened), and so do
the conversation's console reference, the e-mail notifications of its requests, the patient's ratings
(bot/storage/feedback.py), the analytics' rows of the conversation's sessions (bot/analytics/store.py) and staff's
annotations of its messages (bot/staff/annotations.py)."""

from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa

from bot.analytics import store as analytics_store
from bot.staff.annotations import AnnotationStore
from bot.staff.audit import AuditLog
from bot.staff.conversation_refs import ConversationRefs
from bot.staff.notifications import delete_orphan_notifications
from bot.storage.feedback import FeedbackStore
from bot.storage.sent_messages import SentMessages


def forget_in_console(
    engine: sa.engine.Engine, sender_id: str, request_ids: Iterable[int], tracker: sa.engine.Engine
) -> None:
    """After the conversation's events (in `tracker`) and requests are deleted: their audit entries, reference and
    notifications go too, and what was made from the conversation."""
    AuditLog(engine).forget_conversation(sender_id, list(request_ids))
    ConversationRefs(engine).forget(sender_id)
    delete_orphan_notifications(engine)
    forget_the_last_turn(engine, sender_id, tracker)
    AnnotationStore(engine).forget(sender_id)


def forget_the_last_turn(engine: sa.engine.Engine, sender_id: str, tracker: sa.engine.Engine) -> None:
    """What the turn of "forget me" can make again until Rasa has saved it (actions/privacy.py deletes its events
    a second time then, and calls this again): the analytics' rows of the session Rasa writes again, a rating of
    the reply, the Messenger/Instagram ids of the replies the patient could rate."""
    FeedbackStore(engine).forget(sender_id)
    analytics_store.forget_sender(engine, sender_id, tracker)
    SentMessages(engine).forget(sender_id)
