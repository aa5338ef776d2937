""""Forget me": delete the patient's conversation and booking/hand-off requests, after they confirmed.

Everything the staff console added goes too (bot/staff/forget.py): the audit entries about this conversation
(one entry is left saying only that a deletion happened), its console reference and its e-mail notifications.

The conversation is in Rasa's SQL tracker store: $RASA_TRACKER_DB_URL (set by bot/processes/launcher.py from the
database it gives Rasa), else the one in endpoints.yml. Rasa saves the current session again after this
action has run (it writes every event the database does not have yet), so the events are deleted twice:
now, and once Rasa has saved this turn (we wait until the row of this action appears, up to
`SECOND_PASS_TIMEOUT` seconds). Meanwhile the web service may have counted the session Rasa wrote again, and the
patient may have rated the reply: the second pass forgets those again (bot/staff/forget.py
`forget_the_last_turn`). Afterwards nothing of the conversation is left in the tracker store.
What the patient is told is in domain/privacy.yml.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, List, Optional, Set

import sqlalchemy as sa
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.privacy.retention import delete_sender_events
from bot.staff.forget import forget_in_console, forget_the_last_turn
from bot.storage.booking_requests import shared_store
from bot.storage.database_urls import tracker_db_url

logger = logging.getLogger(__name__)
ACTION_NAME = "action_forget_me"
SECOND_PASS_TIMEOUT = 30.0
_pending: Set[asyncio.Task[Any]] = set()  # keeps the second passes alive until they finish


def _turn_saved(url: str, sender_id: str) -> bool:
    """True once Rasa has stored this action's ActionExecuted event for the sender."""
    engine = sa.create_engine(url, future=True)
    try:
        query = sa.text("SELECT 1 FROM events WHERE sender_id = :s AND action_name = :a LIMIT 1")
        with engine.connect() as conn:
            return conn.execute(query, {"s": sender_id, "a": ACTION_NAME}).first() is not None
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def second_pass(url: str, sender_id: str, requests_url: Optional[str] = None) -> int:
    """Once Rasa has saved the turn: the sender's events again, and what was made from them meanwhile."""
    events = delete_sender_events(url, sender_id)
    tracker = sa.create_engine(url, future=True)
    try:
        forget_the_last_turn(shared_store(requests_url).engine, sender_id, tracker)
    finally:
        tracker.dispose()
    return events


async def delete_after_save(
    url: str, sender_id: str, timeout: float = SECOND_PASS_TIMEOUT, requests_url: Optional[str] = None
) -> int:
    """Wait until Rasa has saved the current turn, then `second_pass`; the number of events deleted."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await loop.run_in_executor(None, _turn_saved, url, sender_id):
            return await loop.run_in_executor(None, second_pass, url, sender_id, requests_url)
        await asyncio.sleep(0.2)
    logger.warning("forget me: Rasa did not save the turn within %.0f s; events of this turn remain", timeout)
    return 0


def forget(sender_id: str, tracker_url: Optional[str] = None, requests_url: Optional[str] = None) -> List[int]:
    """Delete the sender's conversation events and requests now; return the numbers of rows deleted."""
    url = tracker_url or tracker_db_url()
    events = delete_sender_events(url, sender_id)
    store = shared_store(requests_url)
    request_ids = store.ids_of_sender(sender_id)
    requests = store.delete_sender(sender_id)
    tracker = sa.create_engine(url, future=True)
    try:
        forget_in_console(store.engine, sender_id, request_ids, tracker)
    finally:
        tracker.dispose()
    return [events, requests]


class ActionForgetMe(Action):
    """Deletes what the assistant kept about this conversation and tells the patient."""

    def name(self) -> str:
        return ACTION_NAME

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        url = tracker_db_url()
        try:
            events, requests = await asyncio.get_running_loop().run_in_executor(None, forget, tracker.sender_id, url)
        except (OSError, sa.exc.SQLAlchemyError) as error:
            logger.error("forget me failed: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_forget_me_failed")
            return []
        logger.info("forget me: deleted %d conversation events and %d requests", events, requests)
        task = asyncio.get_running_loop().create_task(delete_after_save(url, tracker.sender_id))
        _pending.add(task)
        task.add_done_callback(_pending.discard)
        dispatcher.utter_message(response="utter_forget_me_done")
        return []
