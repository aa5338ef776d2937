"""Patients' ratings of the assistant's answers, as the channels receive them: one place for the rules.

- The widget's "Was this helpful?" (👍 / 👎) arrives as the socket.io event `feedback` {"message_id", "rating"}
  (bot/channels/socketio.py): `widget_rating` checks its shape.
- Messenger's `response_feedback` ("Good response" / "Bad response") and reactions on Messenger and Instagram
  (bot/channels/events.py parses them) become ratings through `response_feedback_rating` and `reaction_rating`:
  like, love, 👍, ❤️ -> "up"; dislike, 👎 -> "down"; "unreact" -> the rating is taken back; any other reaction
  (😮, 😢, 😆...) says nothing about the answer and is ignored.
- A rating is stored only for a patient message of the same conversation: a `user` event of that conversation in
  the tracker store with that `message_id` (`PatientMessages`). The tracker is the truth for every Rasa process and
  survives restarts, so a widget reloaded days later can still change its rating, and nobody can rate (or fill the
  table with) a message id they made up or saw in another conversation.
- `RateLimit` bounds how often one socket may rate; nothing of a rating is logged but the channel and the outcome.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, Optional, Tuple, Union

import sqlalchemy as sa

from bot.storage.feedback import DOWN, MAX_KEY, RATINGS, UP, FeedbackStore, shared_feedback_store

logger = logging.getLogger(__name__)

# The widget's id of a patient message (randomId(): 16 bytes in hex), in its messages' metadata and its ratings; the
# one place for its format (bot/channels/socketio.py checks messages with it).
WIDGET_MESSAGE_ID = re.compile(r"[0-9a-f]{32}")
UP_REACTIONS = frozenset({"like", "love"})
DOWN_REACTIONS = frozenset({"dislike"})
UP_EMOJI = ("\U0001f44d", "\u2764")  # 👍 (any skin tone), ❤ / ❤️
DOWN_EMOJI = ("\U0001f44e",)  # 👎
GOOD, BAD = "Good response", "Bad response"
REMOVE = "remove"  # an "unreact": the rating is taken back
# A user event may be saved a moment after its answer reached the patient (Rasa saves the tracker once the turn
# is over): a rating that finds no message is looked up again after these pauses (seconds) before it is refused.
LOOKUP_PAUSES = (0.2, 0.5, 1.0, 2.0)

DatabaseUrl = Union[str, Callable[[], Optional[str]], None]


def widget_rating(data: Any) -> Optional[Tuple[str, str]]:
    """(message_id, rating) of a widget `feedback` event: exactly {"message_id": 32 hex digits, "rating": "up" or
    "down"}; anything else (extra keys, other types, a huge value) is None."""
    if not isinstance(data, dict) or set(data) != {"message_id", "rating"}:
        return None
    message_id, rating = data["message_id"], data["rating"]
    if not isinstance(message_id, str) or not WIDGET_MESSAGE_ID.fullmatch(message_id) or rating not in RATINGS:
        return None
    return message_id, rating


def response_feedback_rating(feedback: Any) -> Optional[str]:
    """Messenger's "Good response" / "Bad response" as "up" / "down"; None for anything else."""
    return {GOOD: UP, BAD: DOWN}.get(feedback) if isinstance(feedback, str) else None


def reaction_rating(reaction: Dict[str, Any]) -> Optional[str]:
    """A Messenger / Instagram `reaction` object as "up", "down", REMOVE ("unreact"), or None (a reaction that says
    nothing about the answer)."""
    if reaction.get("action") == "unreact":
        return REMOVE
    if reaction.get("action") not in (None, "react"):
        return None
    name, emoji = reaction.get("reaction"), reaction.get("emoji")
    if name in UP_REACTIONS or (isinstance(emoji, str) and emoji.startswith(UP_EMOJI)):
        return UP
    if name in DOWN_REACTIONS or (isinstance(emoji, str) and emoji.startswith(DOWN_EMOJI)):
        return DOWN
    return None


class RateLimit:
    """At most `limit` events per `window` seconds per key (a socket), in memory."""

    def __init__(self, limit: int = 30, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._times: Dict[str, Deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        times = self._times.setdefault(key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True

    def forget(self, key: str) -> None:
        self._times.pop(key, None)


class PatientMessages:
    """Whether a message id is one of a conversation's patient messages: a `user` event of that conversation in
    Rasa's SQL tracker store (table `events`, read-only) whose `message_id` is that id.

    `database_url`: the conversations' database URL, or a function returning it (called at first use, once Rasa has
    loaded its tracker store: bot/channels/recent_ids.py `conversations_db_url`).
    """

    def __init__(self, database_url: DatabaseUrl) -> None:
        self._url_source = database_url
        self._engine: Optional[sa.engine.Engine] = None
        self._events: Optional[sa.Table] = None
        self._lock = threading.Lock()  # lookups run in worker threads

    def _table(self) -> Optional[sa.Table]:
        with self._lock:
            return self._events if self._events is not None else self._load()

    def _load(self) -> Optional[sa.Table]:
        if self._engine is None:
            source = self._url_source
            url = source() if callable(source) else source
            if not url:
                return None
            self._engine = sa.create_engine(url, future=True, pool_pre_ping=True)
        if not sa.inspect(self._engine).has_table("events"):
            return None  # no conversation yet
        self._events = sa.Table("events", sa.MetaData(), autoload_with=self._engine)
        return self._events

    def sent(self, sender_id: str, message_id: str) -> bool:
        """True if the conversation `sender_id` has a patient message with the id `message_id` (blocking)."""
        events = self._table()
        if events is None or not message_id or len(message_id) > MAX_KEY:
            return False
        c = events.c
        query = (
            sa.select(c.data)
            .where(c.sender_id == sender_id, c.type_name == "user", c.data.contains(message_id, autoescape=True))
            .limit(20)
        )
        with self._engine.connect() as conn:  # type: ignore[union-attr]
            for (data,) in conn.execute(query):
                try:
                    if json.loads(data).get("message_id") == message_id:
                        return True
                except (TypeError, ValueError, AttributeError):
                    continue
        return False

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


# Outcomes of `apply_rating` (the widget gets them in its acknowledgement).
STORED, REMOVED, UNKNOWN, UNAVAILABLE = "stored", "removed", "unknown_message", "unavailable"


def _apply(
    messages: PatientMessages,
    store: Optional[FeedbackStore],
    sender_id: str,
    message_key: str,
    rating: str,
    channel: str,
) -> str:
    """Blocking (a worker thread): the databases are only reached here, never on the event loop."""
    if not messages.sent(sender_id, message_key):
        return UNKNOWN
    store = store or shared_feedback_store()
    if rating == REMOVE:
        store.remove(sender_id, message_key)
        return REMOVED
    store.record(sender_id, message_key, rating, channel)
    return STORED


async def apply_rating(
    messages: PatientMessages,
    sender_id: str,
    message_key: str,
    rating: str,
    channel: str,
    store: Optional[FeedbackStore] = None,
) -> str:
    """Store (or, for REMOVE, take back) a rating of the patient message `message_key` of the conversation
    `sender_id`, off the event loop; one of STORED, REMOVED, UNKNOWN (not a patient message of that conversation),
    UNAVAILABLE (a database error, logged without ids). A message not found is looked for again after each of
    LOOKUP_PAUSES: its turn may not be saved yet, by this Rasa process or another one."""
    loop = asyncio.get_running_loop()
    for pause in (*LOOKUP_PAUSES, None):
        try:
            outcome = await loop.run_in_executor(None, _apply, messages, store, sender_id, message_key, rating, channel)
        except Exception as error:  # the patient's rating is lost, never the conversation
            logger.warning("%s channel: a rating could not be stored (%s)", channel, type(error).__name__)
            return UNAVAILABLE
        if outcome != UNKNOWN or pause is None:
            break
        await asyncio.sleep(pause)  # the answer's turn may not be saved yet
    if outcome == UNKNOWN:
        logger.warning("%s channel: a rating of a message this conversation did not send was refused", channel)
    else:
        logger.info("%s channel: a rating %s", channel, outcome)
    return outcome
