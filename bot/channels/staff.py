"""Live takeover of a patient's conversation by a staff member: routes under /webhooks/staff/ of `rasa run`.

A channel only because channels are how `rasa run` takes extra routes (credentials.yml, as bot/channels/readiness.py);
it handles no patient message. The web service's console calls it through bot/staff/takeover.py. Every route takes a
JSON body (the conversation id is in the body, never in a URL) and `Authorization: Bearer $STAFF_CHANNEL_TOKEN`
(compared in constant time; no token set: every request gets 401). It is never public: the production nginx answers
404 for /webhooks/staff/ (deploy/nginx.conf.template); the web service calls a Rasa process on loopback.

    POST /webhooks/staff/takeover  {"sender_id": str, "staff_name": str}
    POST /webhooks/staff/message   {"sender_id": str, "staff_name": str, "text": str}
    POST /webhooks/staff/handback  {"sender_id": str, "staff_name": str}
    -> 200 {"delivered": bool, "channel": str, "reason": str | null, "paused": bool}

Each one runs under the conversation's lock (the lock store every message of the conversation takes, as Rasa's
`/conversations/<id>/tracker/events` route does), appends its events to the tracker and saves it:
- takeover: `ConversationPaused`, then `utter_staff_joined` (domain/staff.yml) to the patient, stored as a
  `BotUttered` with metadata {"staff": name, "notice": "joined"}. Already paused: nothing is sent or stored,
  reason "already_paused".
- message: only in a paused conversation (else 409); the text to the patient, stored as a `BotUttered` with
  metadata {"staff": name}.
- handback: `utter_staff_left` (metadata {"staff": name, "notice": "left"}), then `ConversationResumed`. Not
  paused: nothing is sent or stored, reason "not_paused".
Each stored `BotUttered` also records {"delivered": bool, "reason": ...}: the event is stored even when it could
not be delivered, so the console shows what was sent and that it failed.

Delivery on the channel the patient used, from the conversation id's prefix (bot/channels/sender_ids.py):
- `web:` (the widget): the socket.io channel's `bot_uttered` event to the room named by the conversation id, as
  Rasa's SocketIOOutput emits it. A room with no socket in this process: the other Rasa processes of the
  production profile ($STAFF_PEER_URLS) are asked to emit it (POST /webhooks/staff/relay {"sender_id", "text"} ->
  {"delivered": bool}, same token), because a widget's socket lives in one process. Nowhere: "not_connected".
- `messenger:` / `instagram:`: the Send API through the channel's own Graph client, on the terms of Meta's
  messaging window (bot/channels/messaging_window.py): RESPONSE within 24 h of the patient's last message, the
  HUMAN_AGENT tag up to 7 days, else nothing sent ("outside_window"). Meta refused it: "send_failed".
- REST and anything else: "no_live_channel" (no way to reach the patient after the request).

Other answers: 400 (body not as above; the text is 1 to 1000 characters after the clean-up every channel applies,
bot/channels/message_limits.py; `staff_name` is one first name), 401, 404 (no conversation with that id), 409
(message to a conversation not taken over), 413 (body over STAFF_MAX_BYTES), 503 (no model, conversations
database or lock store unavailable). Nothing from a body (text, names, ids) is logged.

While paused, Rasa stores the patient's messages without answering them, except a red flag, which still gets the
urgent-care answer at once (bot/rasa_patches.py, 9), and a paused conversation's session does not expire (10).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Tuple

import aiohttp
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOOutput
from rasa.core.lock_store import LockError
from rasa.shared.core.events import BotUttered, ConversationPaused, ConversationResumed, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.message_limits import MAX_MESSAGE_CHARS, clean_text
from bot.channels.messaging_window import Window, message_tag, messaging_window
from bot.channels.meta import read_body
from bot.channels.sender_ids import INSTAGRAM, MESSENGER, WEB, channel_of
from bot.channels.webhook_auth import bearer_matches
from bot.processes.request_limits import STAFF_MAX_BYTES
from bot.staff.accounts import FIRST_NAME, MAX_NAME_CHARS

logger = logging.getLogger(__name__)

TOKEN_ENV = "STAFF_CHANNEL_TOKEN"
PEERS_ENV = "STAFF_PEER_URLS"  # the other Rasa processes (production profile), e.g. "http://127.0.0.1:5007"
URL_PREFIX = "/webhooks/staff"

JOINED = "utter_staff_joined"
LEFT = "utter_staff_left"

# reasons a message was not delivered (or nothing was done)
NOT_CONNECTED = "not_connected"
OUTSIDE_WINDOW = "outside_window"
SEND_FAILED = "send_failed"
NO_LIVE_CHANNEL = "no_live_channel"
ALREADY_PAUSED = "already_paused"
NOT_PAUSED = "not_paused"

# the Rasa input channel that reaches each kind of conversation
INPUT_CHANNEL_OF = {WEB: "socketio", MESSENGER: "facebook", INSTAGRAM: "instagram"}

CONVERSATION_ID = re.compile(r"[A-Za-z0-9_.@+:-]{1,200}")
PEER_TIMEOUT = 3.0


@dataclass(frozen=True)
class Delivery:
    """What happened to one message for the patient."""

    delivered: bool
    channel: str
    reason: Optional[str] = None

    def answer(self, paused: bool) -> Dict[str, Any]:
        return {"delivered": self.delivered, "channel": self.channel, "reason": self.reason, "paused": paused}


Outcome = Tuple[int, Optional[Delivery]]  # HTTP status, and the delivery (None: refused, nothing done)


@dataclass(frozen=True)
class StaffRequest:
    """A checked request body."""

    sender_id: str
    staff_name: str
    text: Optional[str] = None


class MissingResponse(RuntimeError):
    """The loaded model's domain lacks a staff notice (a model trained before domain/staff.yml)."""


class BadRequest(ValueError):
    """The body is not what the route takes; the message says what is expected (never echoes the body)."""


def parse_body(raw: bytes, with_text: bool) -> StaffRequest:
    """The checked body of a staff request; BadRequest if it is not one."""
    try:
        body = json.loads(raw or b"")
    except (ValueError, RecursionError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest('send a JSON object: {"sender_id": "...", "staff_name": "..."}')
    sender_id = body.get("sender_id")
    if not isinstance(sender_id, str) or not CONVERSATION_ID.fullmatch(sender_id):
        raise BadRequest('"sender_id" is required: a conversation id such as "web:<32 hex digits>"')
    name = body.get("staff_name")
    name = name.strip() if isinstance(name, str) else ""
    if not (FIRST_NAME.fullmatch(name) and len(name) <= MAX_NAME_CHARS):
        raise BadRequest(f'"staff_name" is required: one first name, letters only, at most {MAX_NAME_CHARS}')
    if not with_text:
        return StaffRequest(sender_id, name)
    text = clean_text(body.get("text"))
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_MESSAGE_CHARS:
        raise BadRequest(f'"text" is required: 1 to {MAX_MESSAGE_CHARS} characters')
    return StaffRequest(sender_id, name, text.strip())


def peer_urls(value: Optional[str]) -> Tuple[str, ...]:
    """'http://a:1, http://b:2/' -> ('http://a:1', 'http://b:2')."""
    return tuple(url.rstrip("/") for url in re.split(r"[,\s]+", value or "") if url.strip())


def last_user_message_at(tracker: DialogueStateTracker) -> Optional[float]:
    """When the patient last wrote, as Rasa stored it."""
    event = tracker.get_last_event_for(UserUttered)
    return event.timestamp if event is not None else None


# -- delivery -----------------------------------------------------------------------------------------------------


def input_channel(channels: Iterable[InputChannel], name: str) -> Optional[InputChannel]:
    """The input channel of `rasa run` named `name` (Rasa keeps them in `app.ctx.input_channels`)."""
    return next((channel for channel in channels if channel.name() == name), None)


def sockets_in_room(channel: Any, room: str) -> int:
    """How many sockets of this process are in `room` (python-socketio's manager knows its own sockets only)."""
    sio = getattr(channel, "sio", None)
    if sio is None:
        return 0
    return sum(1 for _ in sio.manager.get_participants(channel.namespace or "/", room))


async def emit_here(channel: Any, sender_id: str, text: str) -> bool:
    """Emit `text` to the conversation's room as Rasa's SocketIOOutput does, if a socket of this process is in it."""
    if not sockets_in_room(channel, sender_id):
        return False
    await SocketIOOutput(channel.sio, channel.bot_message_evt).send_text_message(sender_id, text)
    return True


class StaffChannel(InputChannel):
    """The staff routes; see the module docstring."""

    @classmethod
    def name(cls) -> str:
        return "staff"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> StaffChannel:
        return cls()

    def __init__(self, token: Optional[str] = None, peers: Optional[Iterable[str]] = None) -> None:
        self.token = (token if token is not None else os.environ.get(TOKEN_ENV) or "").strip()
        self.peers = tuple(peers) if peers is not None else peer_urls(os.environ.get(PEERS_ENV))
        self._session: Optional[aiohttp.ClientSession] = None
        if not self.token:
            logger.warning("staff channel: no %s set; every staff request is refused (401)", TOKEN_ENV)

    # -- delivery on the patient's channel -------------------------------------------------------------------

    async def deliver(
        self, channels: Iterable[InputChannel], tracker: DialogueStateTracker, text: str, now: Optional[float] = None
    ) -> Delivery:
        """Send `text` to the patient of `tracker` on their channel; never raises for a failed send."""
        sender_id = tracker.sender_id
        kind = channel_of(sender_id) or "other"
        channel = input_channel(channels, INPUT_CHANNEL_OF.get(kind, ""))
        if channel is None:
            return Delivery(False, kind, NO_LIVE_CHANNEL)
        try:
            if kind == WEB:
                delivered = await emit_here(channel, sender_id, text) or await self.relay(sender_id, text)
                return Delivery(delivered, kind, None if delivered else NOT_CONNECTED)
            window = messaging_window(last_user_message_at(tracker), time.time() if now is None else now)
            if window is Window.CLOSED:
                return Delivery(False, kind, OUTSIDE_WINDOW)
            output = channel.get_output_channel(message_tag(window))
            await output.send_text_message(sender_id, text)
            delivered = output.sent > 0 and output.failed == 0
            return Delivery(delivered, kind, None if delivered else SEND_FAILED)
        except Exception as error:  # noqa: BLE001 (a failed send is reported, the event is still stored)
            logger.error("staff channel: sending on %s failed: %s", kind, type(error).__name__)
            return Delivery(False, kind, SEND_FAILED)

    async def relay(self, sender_id: str, text: str) -> bool:
        """Ask the other Rasa processes to emit `text` to their sockets in the conversation's room."""
        if not self.peers:
            return False
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=PEER_TIMEOUT))
        headers = {"Authorization": f"Bearer {self.token}"}
        for peer in self.peers:
            try:
                async with self._session.post(
                    f"{peer}{URL_PREFIX}/relay", json={"sender_id": sender_id, "text": text}, headers=headers
                ) as answer:
                    body = await answer.json(content_type=None) if answer.status == 200 else None
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                logger.warning("staff channel: relay to another Rasa process failed: %s", type(error).__name__)
                continue
            if isinstance(body, dict) and body.get("delivered") is True:
                return True
        return False

    # -- the three actions, under the conversation's lock ------------------------------------------------------

    async def notice(self, agent: Any, tracker: DialogueStateTracker, response_name: str, name: str) -> str:
        """The text of a domain response for this conversation, `{staff_name}` filled."""
        output = INPUT_CHANNEL_OF.get(channel_of(tracker.sender_id) or "", "")
        message = await agent.nlg.generate(response_name, tracker, output, staff_name=name)
        if not message or not message.get("text"):
            raise MissingResponse(f"the model's domain has no response {response_name} (retrain: make train)")
        return str(message["text"])

    async def take_over(
        self, agent: Any, channels: List[InputChannel], tracker: DialogueStateTracker, name: str
    ) -> Outcome:
        """Pause, then tell the patient who joined (nothing when already paused)."""
        if tracker.is_paused():
            return 200, Delivery(False, channel_of(tracker.sender_id) or "other", ALREADY_PAUSED)
        tracker.update(ConversationPaused(), agent.domain)
        text = await self.notice(agent, tracker, JOINED, name)
        delivery = await self.deliver(channels, tracker, text)
        tracker.update(BotUttered(text, metadata=stored_metadata(name, delivery, "joined")), agent.domain)
        return 200, delivery

    async def send(
        self, agent: Any, channels: List[InputChannel], tracker: DialogueStateTracker, name: str, text: str
    ) -> Outcome:
        """A staff member's message to the patient; only while paused (else 409)."""
        if not tracker.is_paused():
            return 409, None
        delivery = await self.deliver(channels, tracker, text)
        tracker.update(BotUttered(text, metadata=stored_metadata(name, delivery)), agent.domain)
        return 200, delivery

    async def hand_back(
        self, agent: Any, channels: List[InputChannel], tracker: DialogueStateTracker, name: str
    ) -> Outcome:
        """Tell the patient the assistant is back, then resume (nothing when not paused)."""
        if not tracker.is_paused():
            return 200, Delivery(False, channel_of(tracker.sender_id) or "other", NOT_PAUSED)
        text = await self.notice(agent, tracker, LEFT, name)
        delivery = await self.deliver(channels, tracker, text)
        tracker.update(BotUttered(text, metadata=stored_metadata(name, delivery, "left")), agent.domain)
        tracker.update(ConversationResumed(), agent.domain)
        return 200, delivery

    # -- HTTP -------------------------------------------------------------------------------------------------

    async def run(self, request: Request, action: str, with_text: bool) -> HTTPResponse:
        raw = await read_body(request, STAFF_MAX_BYTES)
        if raw is None:
            return response.json({"error": "payload too large"}, status=413)
        try:
            staff = parse_body(raw, with_text)
        except BadRequest as error:
            return response.json({"error": str(error)}, status=400)
        agent = getattr(request.app.ctx, "agent", None)
        if agent is None or not agent.is_ready():
            return response.json({"error": "no model is loaded"}, status=503)
        channels = list(getattr(request.app.ctx, "input_channels", None) or [])
        try:
            async with agent.lock_store.lock(staff.sender_id):
                tracker = await agent.tracker_store.retrieve(staff.sender_id)
                if tracker is None or not tracker.events:
                    return response.json({"error": "no conversation with that id"}, status=404)
                stored = len(tracker.events)
                if action == "takeover":
                    status, delivery = await self.take_over(agent, channels, tracker, staff.staff_name)
                elif action == "handback":
                    status, delivery = await self.hand_back(agent, channels, tracker, staff.staff_name)
                else:
                    status, delivery = await self.send(agent, channels, tracker, staff.staff_name, staff.text or "")
                if len(tracker.events) > stored:
                    await agent.tracker_store.save(tracker)
                paused = tracker.is_paused()
        except LockError as error:
            logger.error("staff %s not done: the conversation's lock failed (%s)", action, type(error).__name__)
            return response.json({"error": "the conversation is busy or the lock store is down"}, status=503)
        except MissingResponse as error:
            logger.error("staff %s not done: %s", action, error)
            return response.json({"error": "the assistant's model has no staff notices"}, status=503)
        except Exception as error:  # noqa: BLE001 (conversations database down, no such response, ...)
            logger.error("staff %s not done: %s", action, type(error).__name__)
            return response.json({"error": "the conversation could not be updated"}, status=503)
        if delivery is None:
            return response.json({"error": "the conversation is not taken over", "paused": paused}, status=status)
        logger.info("staff %s on %s: delivered %s, %s", action, delivery.channel, delivery.delivered, delivery.reason)
        return response.json(delivery.answer(paused), status=status)

    async def relay_here(self, request: Request) -> HTTPResponse:
        """A peer's relay: emit to this process's sockets of a `web:` conversation; nothing stored."""
        raw = await read_body(request, STAFF_MAX_BYTES)
        if raw is None:
            return response.json({"error": "payload too large"}, status=413)
        try:
            body = json.loads(raw or b"")
        except (ValueError, RecursionError):
            body = None
        sender_id = body.get("sender_id") if isinstance(body, dict) else None
        text = body.get("text") if isinstance(body, dict) else None
        if not (isinstance(sender_id, str) and channel_of(sender_id) == WEB and isinstance(text, str)):
            return response.json({"error": 'send {"sender_id": "web:...", "text": "..."}'}, status=400)
        if len(text) > MAX_MESSAGE_CHARS:
            return response.json({"error": "text too long"}, status=400)
        channel = input_channel(getattr(request.app.ctx, "input_channels", None) or [], INPUT_CHANNEL_OF[WEB])
        delivered = channel is not None and await emit_here(channel, sender_id, text)
        return response.json({"delivered": delivered})

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("clinic_staff", __name__)

        @blueprint.middleware("request")
        async def check_token(request: Request) -> Optional[HTTPResponse]:
            if not bearer_matches(request.headers.get("authorization"), self.token):
                return response.json({"error": "unauthorized"}, status=401)
            return None

        @blueprint.route("/takeover", methods=["POST"], stream=True)
        async def takeover(request: Request) -> HTTPResponse:
            return await self.run(request, "takeover", with_text=False)

        @blueprint.route("/message", methods=["POST"], stream=True)
        async def message(request: Request) -> HTTPResponse:
            return await self.run(request, "message", with_text=True)

        @blueprint.route("/handback", methods=["POST"], stream=True)
        async def handback(request: Request) -> HTTPResponse:
            return await self.run(request, "handback", with_text=False)

        @blueprint.route("/relay", methods=["POST"], stream=True)
        async def relay(request: Request) -> HTTPResponse:
            return await self.relay_here(request)

        @blueprint.listener("before_server_stop")
        async def close(app: Any, loop: Any) -> None:
            if self._session is not None and not self._session.closed:
                await self._session.close()

        return blueprint


def stored_metadata(name: str, delivery: Delivery, notice: Optional[str] = None) -> Dict[str, Any]:
    """The metadata of a staff `BotUttered`: who sent it, which notice, whether it reached the patient."""
    metadata: Dict[str, Any] = {"staff": name}
    if notice:
        metadata["notice"] = notice
    metadata["delivered"] = delivery.delivered
    if delivery.reason:
        metadata["reason"] = delivery.reason
    return metadata
