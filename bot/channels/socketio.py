"""Rasa's socketio channel, fixed for python-socketio 5.x, restricted to the website's origins, and with each
socket confined to the one `web:` conversation it joined.

credentials.yml names this class instead of `socketio`; the channel keeps the name "socketio" and its settings.
What is changed relative to Rasa 3.6.21, and why (tests in tests/e2e/test_socketio_channel.py):

- Rasa 3.6.21 calls `sio.enter_room(...)` without `await` (RasaHQ/rasa#13027), but python-socketio >= 5.10
  made it a coroutine: with `session_persistence: true` the socket never joins its session's room, so every bot
  answer is emitted to nobody. The `session_request` handler is replaced by one that awaits it.
  Test: test_session_persistence_answers_over_socketio.
- Rasa builds its Socket.IO server with `cors_allowed_origins=[]`, which turns Engine.IO's Origin check off:
  `rasa run --cors` then limits HTTP long-polling only, not WebSocket connections. The `connect` handler is
  wrapped to refuse a browser (a request with an Origin header) from an origin not in $WEB_ALLOWED_ORIGINS,
  the same list `rasa run --cors` gets from bot/processes/launcher.py.
  Tests: test_browsers_from_other_origins_are_refused, test_origin_allowed.
- The session id is the widget's format only, `WEB_SESSION_ID` of bot/channels/sender_ids.py (32 lowercase hex
  digits: 16 random bytes, unguessable); anything else in `session_request` (a Messenger/Instagram id, a
  `messenger:…` id, a short or guessable one, no dict) gets a fresh `secrets.token_hex(16)`, sent back in
  `session_confirm`. Rasa kept any id the client sent. Without `session_persistence` every `session_request`
  gets a fresh id, so a conversation never outlives its socket.
  Tests: test_a_bad_session_id_gets_a_fresh_valid_one, test_a_bad_session_id_gets_a_fresh_one_that_works.
- The conversation id given to Rasa is `web:<session id>` (`namespaced(WEB, …)`), and the room a socket joins is
  that same id: Rasa's `SocketIOOutput` emits to `room=recipient_id`, the tracker's sender id. So a socket only
  ever writes to and hears from `web:` conversations, never another channel's (Rasa used the client's id as
  the conversation id: a client without Origin wrote into `messenger:<PSID>`'s conversation and read the
  replies). Tests: test_no_socket_reaches_another_channels_conversation,
  test_session_request_joins_the_namespaced_room.
- Rasa's `user_uttered` handler took any `session_id` in the message. It is replaced: each socket (`sid`)
  remembers the one session it joined in `session_request` (forgotten on `disconnect`; asking for another
  session leaves the first one's room), and a message from a socket that joined none, or for another session,
  is refused: not processed, not stored, a warning logged without ids or text, and a `message_refused` event
  to the socket (the widget ignores it). Several sockets (tabs) may join the same session.
  Tests: test_a_socket_cannot_write_into_or_read_a_session_it_did_not_join, test_tabs_share_a_session,
  test_several_sockets_share_a_session_and_disconnect_forgets.
- A `user_uttered` whose `message` is not a string, or whose metadata is not a dict (or a JSON object in a
  string, which Rasa accepts), or that is not a dict at all, is refused the same way; Rasa raised (a traceback
  in the log) or passed it on. Missing or extra event arguments do not raise either.
  Tests: test_refused_messages_reach_nothing_and_log_no_ids_or_text, test_missing_or_extra_arguments_do_not_raise,
  test_malformed_messages_are_refused_without_a_traceback.
- A message the widget sends again (its Retry button, or a resend after a reconnect) carries the same
  `message_id` in its metadata: it is processed once. The id is claimed in the conversations' database
  (bot/channels/recent_ids.py, as Meta's redeliveries are), so every Rasa process knows it; a second sending is
  not processed and its first sending's answer reaches the conversation's room. A message without an id is always
  processed. Test: test_a_message_sent_again_with_its_id_is_processed_once.
- Everything else of Rasa's handler is kept: metadata from the `metadata_key` field of the message (Rasa's
  socketio channel reads it there; it does not use `InputChannel.get_metadata`), `UserMessage` with
  `input_channel="socketio"`, answers through `SocketIOOutput(sio, bot_message_evt)` (here `AnswerOutput`), plus
  the clinic's limit on message length (bot/channels/message_limits.py).
  Tests: test_a_message_reaches_rasa_as_the_joined_web_conversation,
  test_an_over_long_message_gets_a_clear_answer_and_is_not_stored.
- Patients' "Was this helpful?" (bot/channels/feedback.py, tests in tests/e2e/test_widget_feedback.py): the widget's
  `message_id` becomes the `UserMessage`'s `message_id` (so the tracker's user event carries it), and each reply of
  the assistant's turn carries it as `reply_to` (`AnswerOutput`), so the widget knows which message an answer
  answered; a staff member's message or the welcome has none to rate. The `feedback` event {"message_id", "rating"}
  rates the answer to one of the socket's own session's patient messages (checked in the tracker store); the
  conversation comes from the session the socket joined, never from the payload; at most RATINGS_PER_MINUTE per
  socket; the socket gets {"ok": bool, "reason": ...} back. Nothing of it is logged but the outcome.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any, Awaitable, Callable, Dict, Iterable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput
from sanic import Blueprint

from bot.channels.feedback import (
    STORED,
    WIDGET_MESSAGE_ID,
    PatientMessages,
    RateLimit,
    apply_rating,
    widget_rating,
)
from bot.channels.message_limits import clean_text, limited, too_long
from bot.channels.recent_ids import SeenMessages, conversations_db_url
from bot.channels.sender_ids import WEB, WEB_SESSION_ID, namespaced
from bot.web.settings import WebSettings

logger = logging.getLogger(__name__)

REFUSED_EVT = "message_refused"  # sent to a socket whose message was refused; {"reason": one of REASONS}
NOT_JOINED = "not_joined"  # the socket has not joined a session (no session_request)
OTHER_SESSION = "other_session"  # the message names another session than the one the socket joined
MALFORMED = "malformed"  # not a dict, message not a string, metadata not a dict
MESSAGE_ID_KEY = "message_id"  # in a message's metadata: the widget's id of the patient's message (kept on Retry)
FEEDBACK_EVT = "feedback"  # the widget's rating of an answer: {"message_id": <patient message>, "rating": "up"|"down"}
TOO_MANY = "too_many"  # more ratings than RATINGS_PER_MINUTE from one socket
RATINGS_PER_MINUTE = 30


def allowed_origins_from_env() -> tuple:
    """$WEB_ALLOWED_ORIGINS, or the local demo page's origins: the web service's own setting (bot/web/settings.py)."""
    return WebSettings.from_env().allowed_origins


def origin_allowed(origin: Optional[str], allowed: Iterable[str]) -> bool:
    """No Origin header (not a browser) or a listed origin ("*" lists all)."""
    allowed = tuple(allowed)
    return not origin or "*" in allowed or origin.rstrip("/") in allowed


def valid_session_id(data: Any) -> Optional[str]:
    """The `session_id` of `data` if it has the widget's format (32 lowercase hex digits), else None."""
    session_id = data.get("session_id") if isinstance(data, dict) else None
    return session_id if isinstance(session_id, str) and WEB_SESSION_ID.fullmatch(session_id) else None


def new_session_id() -> str:
    """A fresh session id in the widget's format: 16 random bytes in hex."""
    return secrets.token_hex(16)


def message_metadata(data: Dict, key: Optional[str]) -> Optional[Dict]:
    """The message's metadata as Rasa reads it (a dict, or a JSON object in a string; none = {}), else None."""
    metadata = data.get(key) if key else None
    if metadata is None:
        return {}
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except (ValueError, RecursionError):  # deeply nested JSON raises RecursionError
            return None
    return metadata if isinstance(metadata, dict) else None


def widget_message_id(metadata: Dict) -> Optional[str]:
    """The widget's id of the patient's message (32 hex digits, the same on Retry), or None."""
    message_id = metadata.get(MESSAGE_ID_KEY)
    return message_id if isinstance(message_id, str) and WIDGET_MESSAGE_ID.fullmatch(message_id) else None


class AnswerOutput(SocketIOOutput):
    """Rasa's socket.io output with `reply_to`, the widget's id of the patient message this turn answers, in each
    reply: the widget puts "Was this helpful?" under that answer and rates that message."""

    def __init__(self, sio: Any, bot_message_evt: str, reply_to: Optional[str]) -> None:
        super().__init__(sio, bot_message_evt)
        self.reply_to = reply_to

    async def _send_message(self, socket_id: str, response: Any) -> None:
        if self.reply_to and isinstance(response, dict):
            response = {**response, "reply_to": self.reply_to}
        await super()._send_message(socket_id, response)


def client_message_key(session_id: str, metadata: Dict) -> Optional[str]:
    """The de-duplication key of a widget message: its `message_id` (32 hex digits, the same when the patient presses
    Retry) within its conversation; None for a message without one (older widgets: always processed)."""
    message_id = widget_message_id(metadata)
    return f"socketio:{session_id}:{message_id}" if message_id else None


class SocketIOInput(RasaSocketIOInput):
    """Rasa's socket.io input channel with the fixes described in this module's docstring."""

    @property
    def seen(self) -> SeenMessages:
        """The widget messages already handled (the conversations' database, shared by every Rasa process)."""
        if getattr(self, "_seen", None) is None:
            self._seen = SeenMessages(conversations_db_url)
        return self._seen

    @property
    def patient_messages(self) -> PatientMessages:
        """The patients' messages in the tracker store, which a rating must name."""
        if getattr(self, "_patient_messages", None) is None:
            self._patient_messages = PatientMessages(conversations_db_url)
        return self._patient_messages

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        handle = limited(on_new_message)
        blueprint = super().blueprint(handle)
        sio = self.sio
        assert sio is not None  # set by super().blueprint
        namespace = self.namespace or "/"
        rasa_connect = sio.handlers[namespace]["connect"]
        allowed = allowed_origins_from_env()
        # socket id -> the session id it joined in session_request (python-socketio sids are per namespace)
        joined: Dict[str, str] = {}
        ratings = RateLimit(RATINGS_PER_MINUTE, 60.0)

        async def connect(sid: str, environ: Dict, auth: Optional[Dict] = None) -> bool:
            origin = environ.get("HTTP_ORIGIN")
            if not origin_allowed(origin, allowed):
                logger.warning("socket.io connection refused: origin %r is not allowed", origin)
                return False
            return await rasa_connect(sid, environ, auth)

        async def disconnect(sid: str, *_: Any) -> None:
            joined.pop(sid, None)  # python-socketio takes the socket out of its rooms itself
            ratings.forget(sid)
            logger.debug("socket.io client disconnected")

        async def session_request(sid: str, data: Any = None, *_: Any) -> None:
            requested = valid_session_id(data) if self.session_persistence else None
            session_id = requested or new_session_id()
            previous = joined.get(sid)
            joined[sid] = session_id  # before any await: a message right behind this request finds it
            if previous is not None and previous != session_id:
                await sio.leave_room(sid, namespaced(WEB, previous), namespace=self.namespace)
            await sio.enter_room(sid, namespaced(WEB, session_id), namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        async def refuse(sid: str, reason: str) -> None:
            logger.warning("socket.io message refused (%s): not processed, not stored", reason)
            await sio.emit(REFUSED_EVT, {"reason": reason}, room=sid, namespace=self.namespace)

        async def user_message(sid: str, data: Any = None, *_: Any) -> None:
            session_id = joined.get(sid)
            if session_id is None:
                return await refuse(sid, NOT_JOINED)
            if not isinstance(data, dict):
                return await refuse(sid, MALFORMED)
            if data.get("session_id") != session_id:
                return await refuse(sid, OTHER_SESSION)
            text = data.get("message")
            metadata = message_metadata(data, self.metadata_key)
            if not isinstance(text, str) or metadata is None:
                return await refuse(sid, MALFORMED)
            retry_key = client_message_key(session_id, metadata)
            if retry_key and not (await self.seen.check([retry_key]))[0]:
                logger.info("socket.io message sent again by the widget (a retry): already handled, not processed")
                return None  # its first sending is answered (or being answered) in this conversation's room
            message_id = widget_message_id(metadata)
            # an over-long message is answered but not stored: there is no answer to rate
            reply_to = None if too_long(clean_text(text)) else message_id
            message = UserMessage(
                text,
                AnswerOutput(sio, self.bot_message_evt, reply_to),
                namespaced(WEB, session_id),
                input_channel=self.name(),
                message_id=message_id,
                metadata=metadata,
            )
            await handle(message)

        async def feedback(sid: str, data: Any = None, *_: Any) -> Dict[str, Any]:
            """A rating from the widget; the acknowledgement says whether it was stored."""
            session_id = joined.get(sid)
            rated = widget_rating(data)
            reason = NOT_JOINED if session_id is None else TOO_MANY if not ratings.allow(sid) else None
            if reason is None and rated is None:
                reason = MALFORMED
            if reason is not None:
                logger.warning("socket.io rating refused (%s)", reason)
                return {"ok": False, "reason": reason}
            assert session_id is not None and rated is not None
            message_id, rating = rated
            sender_id = namespaced(WEB, session_id)
            outcome = await apply_rating(self.patient_messages, sender_id, message_id, rating, self.name())
            return {"ok": True} if outcome == STORED else {"ok": False, "reason": outcome}

        sio.on("connect", connect, namespace=self.namespace)
        sio.on("disconnect", disconnect, namespace=self.namespace)
        sio.on("session_request", session_request, namespace=self.namespace)
        sio.on(self.user_message_evt, user_message, namespace=self.namespace)
        sio.on(FEEDBACK_EVT, feedback, namespace=self.namespace)
        return blueprint
