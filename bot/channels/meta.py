"""The input and output channel shared by Messenger and Instagram Direct.

A webhook POST is answered as soon as it is authenticated, parsed and its messages checked against the
ones already handled (Meta wants a quick 200 and redelivers otherwise); its messages are then handled in
the background, one at a time per sender and in delivery order, so a conversation's turns never overlap.
Each message: mark_seen, typing_on, the assistant's turn (its responses go out through the Send API),
typing_off if it said nothing.

Conversation ids are namespaced by channel (bot/channels/sender_ids.py): a Messenger user is
`messenger:<PSID>` in Rasa, an Instagram user `instagram:<IGSID>`. The input channel adds the prefix; the
output channel removes it before it calls the Send API and sends nothing to another channel's conversation.

Patients' ratings: each reply sent for a patient message is recorded with the `message_id` the Send API gave it
(bot/storage/sent_messages.py), so a reaction or Messenger's "Good response" / "Bad response" on that reply
(bot/channels/events.py) rates the patient message it answered (bot/channels/feedback.py). The patient's replies never
wait for that record: it is written in a worker thread while the next reply goes out, and the turn waits for it at
most REPLY_RECORD_WAIT seconds at its end (a slow database finishes on its own; a failed write only means the reply
cannot be rated). Ratings are stored in the background, in the sender's turn order, like messages.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from contextlib import asynccontextmanager
from typing import (
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    ClassVar,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Set,
    Tuple,
    Type,
    Union,
)

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.events import IncomingMessage, IncomingRating, ParsedWebhook, parse_webhook
from bot.channels.feedback import PatientMessages, apply_rating
from bot.channels.formatting import build_generic_template, build_messages, split_text
from bot.channels.graph_client import GraphClient
from bot.channels.message_limits import clean_text, limited, too_long
from bot.channels.recent_ids import SeenMessages, conversations_db_url
from bot.channels.sender_ids import META_ID, channel_of, namespaced, raw_id
from bot.channels.settings import ChannelSettings, Platform
from bot.channels.webhook_auth import SIGNATURE_HEADER, signature_is_valid, subscription_challenge
from bot.processes.request_limits import META_WEBHOOK_MAX_BYTES
from bot.storage.sent_messages import SentMessages, shared_sent_messages

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

# The largest webhook body accepted (413 before its signature is checked or its JSON parsed, not read further):
# the arithmetic from Meta's batch size is in bot/processes/request_limits.py, the one place for body limits.
MAX_WEBHOOK_BYTES = META_WEBHOOK_MAX_BYTES
# How long (seconds) a turn waits at its end for its replies' ids to be recorded (for ratings), so a rating handled
# right after the turn finds them; a slower database only holds the sender's next message back this long.
REPLY_RECORD_WAIT = 1.0


async def read_body(request: Request, limit: int = MAX_WEBHOOK_BYTES) -> Optional[bytes]:
    """The body of a streamed request, or None if it is longer than `limit` bytes (or than the server's
    REQUEST_MAX_SIZE, if smaller), then read no further.

    A declared Content-Length over the limit is refused before any of the body is read; a chunked body
    is read until it passes the limit.
    """
    server_limit = getattr(getattr(getattr(request, "app", None), "config", None), "REQUEST_MAX_SIZE", None)
    if isinstance(server_limit, int) and server_limit > 0:
        limit = min(limit, server_limit)  # a smaller limit for the whole server still holds
    declared = (request.headers.get("content-length") or "").strip()
    if declared.isdigit() and int(declared) > limit:
        return None
    stream = getattr(request, "stream", None)
    if stream is not None and hasattr(stream, "request_max_size"):
        stream.request_max_size = limit  # Sanic lifts its limit for streaming handlers: set ours
    try:
        await request.receive_body()
    except PayloadTooLarge:
        return None
    body = request.body or b""
    return body if len(body) <= limit else None


class MetaOutput(OutputChannel):
    """Sends the assistant's responses to one platform through the Send API."""

    platform: ClassVar[Platform]
    id_channel: ClassVar[str]  # conversation ids of this platform are "<id_channel>:<PSID or IGSID>"

    def __init__(self, client: GraphClient, prefer_template: bool = True, message_tag: Optional[str] = None) -> None:
        """`message_tag`: send every message with `messaging_type: MESSAGE_TAG` and this `tag` (a staff member's
        message after the 24-hour window, bot/channels/messaging_window.py); None: the platform's own type."""
        self.client = client
        self.prefer_template = prefer_template
        self.message_tag = message_tag
        self.sent = 0  # messages delivered by this instance
        self.failed = 0  # messages Meta did not accept
        self.reply_to: Optional[str] = None  # the patient message (mid) these replies answer; set by MetaInput.handle
        # records (the reply's mid, the conversation, the patient message's mid) for ratings; blocking (worker thread)
        self.record_reply: Optional[Callable[[str, str, str], None]] = None
        self._recording: Set[asyncio.Future] = set()  # records still being written (`settle` waits for them)

    @classmethod
    def name(cls) -> str:
        return cls.platform.name

    def platform_id(self, recipient_id: str) -> Optional[str]:
        """The PSID / IGSID to address for the conversation id `recipient_id`, or None (log a warning) if it is
        not one of this platform's conversations: nothing is ever sent to another channel's conversation."""
        if channel_of(recipient_id) == self.id_channel:
            platform_id = raw_id(self.id_channel, recipient_id)
            if META_ID.fullmatch(platform_id):
                return platform_id
        logger.warning("%s channel: nothing sent, the recipient is not a %s conversation", self.name(), self.id_channel)
        return None

    async def send_message(self, recipient_id: str, message: Dict[str, Any]) -> bool:
        """Send one Send API `message` object to the conversation `recipient_id`; True if Meta accepted it."""
        platform_id = self.platform_id(recipient_id)
        if platform_id is None:
            return False
        body: Dict[str, Any] = {"recipient": {"id": platform_id}}
        if self.message_tag:
            body["messaging_type"] = "MESSAGE_TAG"
            body["tag"] = self.message_tag
        elif self.platform.messaging_type:
            body["messaging_type"] = self.platform.messaging_type
        body["message"] = message
        answer = await self.client.send(body, "message")
        delivered = answer is not None
        self.sent += int(delivered)
        self.failed += int(not delivered)
        self._remember_reply(recipient_id, answer)
        return delivered

    def _remember_reply(self, recipient_id: str, answer: Optional[Dict[str, Any]]) -> None:
        """Start recording the Send API's `message_id` of a reply to a patient message (so a rating of the reply rates
        that message) in a worker thread, without waiting: the patient's next reply does not wait for the database."""
        sent_mid = answer.get("message_id") if isinstance(answer, dict) else None
        if not (self.reply_to and self.record_reply and isinstance(sent_mid, str) and sent_mid):
            return
        record = functools.partial(self.record_reply, sent_mid, recipient_id, self.reply_to)
        try:
            future = asyncio.get_running_loop().run_in_executor(None, record)
        except RuntimeError as error:  # the executor is shut down (the server is stopping)
            logger.warning("%s channel: a reply's id was not recorded (%s)", self.name(), type(error).__name__)
            return
        self._recording.add(future)
        future.add_done_callback(self._recorded)

    def _recorded(self, future: asyncio.Future) -> None:
        self._recording.discard(future)
        error = None if future.cancelled() else future.exception()
        if error is not None:  # only the reply cannot be rated; its type only: a database error may quote ids
            logger.warning("%s channel: a reply's id was not recorded (%s)", self.name(), type(error).__name__)

    async def settle(self, timeout: float) -> None:
        """Wait at most `timeout` seconds for the replies' ids still being recorded; the late ones carry on alone."""
        if not self._recording:
            return
        _, late = await asyncio.wait(set(self._recording), timeout=timeout)
        if late:
            logger.warning("%s channel: %d replies' ids still being recorded (a slow database)", self.name(), len(late))

    async def send_action(self, recipient_id: str, action: str) -> None:
        """A sender action ("mark_seen", "typing_on", "typing_off"); best effort, never retried."""
        platform_id = self.platform_id(recipient_id)
        if platform_id is not None:
            await self.client.send({"recipient": {"id": platform_id}, "sender_action": action}, action, retry=False)

    async def _send_all(self, recipient_id: str, messages: Iterable[Dict[str, Any]]) -> None:
        for message in messages:
            await self.send_message(recipient_id, message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Blank-line separated paragraphs become separate messages (as in Rasa's other channels)."""
        limit = self.platform.limits.text
        parts = [part for paragraph in text.strip().split("\n\n") for part in split_text(paragraph, limit)]
        await self._send_all(recipient_id, ({"text": part} for part in parts))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._send_all(recipient_id, build_messages(text, buttons, self.platform.limits, self.prefer_template))

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._send_all(recipient_id, build_messages(text, quick_replies, self.platform.limits, False))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send_message(
            recipient_id, {"attachment": {"type": "image", "payload": {"url": image, "is_reusable": True}}}
        )

    async def send_attachment(self, recipient_id: str, attachment: Union[str, Dict[str, Any]], **kwargs: Any) -> None:
        if isinstance(attachment, dict):
            await self.send_message(recipient_id, {"attachment": attachment})
        else:
            await self.send_text_message(recipient_id, str(attachment))

    async def send_elements(self, recipient_id: str, elements: Iterable[Dict[str, Any]], **kwargs: Any) -> None:
        await self.send_message(recipient_id, build_generic_template(list(elements), self.platform.limits))

    async def send_custom_json(
        self, recipient_id: str, json_message: Union[List[Any], Dict[str, Any]], **kwargs: Any
    ) -> None:
        """A custom response is a ready-made Send API `message` object (or a list of them)."""
        for message in json_message if isinstance(json_message, list) else [json_message]:
            if isinstance(message, dict):
                await self.send_message(recipient_id, message)


class MetaInput(InputChannel):
    """Webhook for one platform: GET handshake, signed POSTs, background handling of the messages."""

    platform: ClassVar[Platform]
    output_class: ClassVar[Type[MetaOutput]]

    @classmethod
    def name(cls) -> str:
        return cls.platform.name

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> MetaInput:
        return cls(ChannelSettings.load(cls.platform, credentials))

    def __init__(
        self, settings: ChannelSettings, seen: Optional[SeenMessages] = None, sent: Optional[SentMessages] = None
    ) -> None:
        """`seen`: where handled message ids are kept; by default the conversations' database. `sent`: where the
        replies' ids are recorded for ratings; by default the requests' database."""
        self.settings = settings
        self.client = GraphClient(
            settings.access_token,
            settings.graph_base_url,
            settings.graph_api_version,
            app_secret=settings.app_secret if settings.use_appsecret_proof else None,
            platform=self.name(),  # the metrics' label (bot/metrics/assistant.py)
        )
        self._app: Any = None  # the Sanic app (Rasa server) the webhook runs in, once a webhook came in
        self.seen = seen or SeenMessages(lambda: conversations_db_url(self._app))
        self._sent = sent
        self.patient_messages = PatientMessages(lambda: conversations_db_url(self._app))
        self._tasks: Set[asyncio.Task] = set()
        self._turns: Dict[str, Tuple[asyncio.Lock, int]] = {}
        missing = [
            what
            for what, value in (
                ("app secret", settings.app_secret),
                ("verify token", settings.verify_token),
                ("access token", settings.access_token),
            )
            if not value
        ]
        if missing:
            logger.warning(
                "%s channel: no %s configured; %s",
                self.name(),
                ", ".join(missing),
                "every webhook is refused (403)" if not settings.app_secret else "replies cannot be sent",
            )

    # -- request handling, independent of the web framework -------------------------------------------

    def verification(self, params: Mapping[str, str]) -> Tuple[int, str]:
        """(status, body) for Meta's GET subscription handshake."""
        challenge = subscription_challenge(params, self.settings.verify_token)
        if challenge is None:
            logger.warning("%s channel: webhook verification refused (wrong or missing verify token)", self.name())
            return 403, "forbidden"
        return 200, challenge

    @classmethod
    def conversation_id(cls, platform_id: str) -> str:
        """The conversation id in Rasa of a PSID / IGSID ("1234" -> "messenger:1234")."""
        return namespaced(cls.output_class.id_channel, platform_id)

    @property
    def sent_messages(self) -> SentMessages:
        """The replies' ids, for ratings (bot/storage/sent_messages.py); opens the database: call it in a worker."""
        if self._sent is None:
            self._sent = shared_sent_messages()
        return self._sent

    def record_reply(self, sent_mid: str, conversation_id: str, reply_to: str) -> None:
        """Remember that the page's message `sent_mid` answered the patient message `reply_to` (blocking)."""
        self.sent_messages.record(sent_mid, conversation_id, reply_to)

    def check(self, body: bytes, signature: Optional[str]) -> Tuple[int, str, ParsedWebhook]:
        """(status, body, the messages and ratings) for a webhook POST with its raw body and signature header, before
        the messages are checked against the ones already handled (`receive` does both); nothing for a refused one."""
        refused = ParsedWebhook()
        if len(body) > MAX_WEBHOOK_BYTES:
            logger.warning("%s channel: webhook refused, body over %d bytes", self.name(), MAX_WEBHOOK_BYTES)
            return 413, "payload too large", refused
        if not self.settings.app_secret:
            logger.warning("%s channel: webhook refused, no app secret configured", self.name())
            return 403, "forbidden", refused
        if not signature_is_valid(self.settings.app_secret, body, signature):
            logger.warning(
                "%s channel: webhook refused, %s %s",
                self.name(),
                SIGNATURE_HEADER,
                "invalid" if signature else "missing",
            )
            return 403, "forbidden", refused
        try:
            payload = json.loads(body)
        except ValueError:
            logger.warning("%s channel: signed webhook body is not JSON", self.name())
            return 400, "bad request", refused
        if not isinstance(payload, dict) or payload.get("object") != self.platform.webhook_object:
            found = payload.get("object") if isinstance(payload, dict) else None
            logger.warning(
                "%s channel: webhook object %r, expected %r (is the webhook URL of the right product?)",
                self.name(),
                found if isinstance(found, str) else None,
                self.platform.webhook_object,
            )
            return 400, "bad request", refused
        parsed = parse_webhook(payload)
        messages = [message for message in parsed.messages if META_ID.fullmatch(message.sender_id)]
        ratings = [rating for rating in parsed.ratings if META_ID.fullmatch(rating.sender_id)]
        if len(messages) + len(ratings) < len(parsed.messages) + len(parsed.ratings):
            logger.warning(
                "%s channel: %d messages ignored, their sender id is not a Meta id",
                self.name(),
                len(parsed.messages) + len(parsed.ratings) - len(messages) - len(ratings),
            )
        if parsed.ignored:
            logger.debug("%s channel: ignored %s", self.name(), dict(parsed.ignored))
        return 200, "EVENT_RECEIVED", ParsedWebhook(messages, ratings, parsed.ignored)

    async def receive(
        self, body: bytes, signature: Optional[str]
    ) -> Tuple[int, str, List[IncomingMessage], List[IncomingRating]]:
        """(status, body, new messages to handle, ratings) for a webhook POST with its raw body and signature header.

        A message already handled (by this or another Rasa process sharing the database) is left out.
        """
        status, text, parsed = self.check(body, signature)
        messages = parsed.messages
        if not messages:
            return status, text, messages, parsed.ratings
        first = await self.seen.check([f"{self.name()}:{message.dedup_key}" for message in messages])
        fresh = [message for message, new in zip(messages, first) if new]
        if len(fresh) < len(messages):
            duplicates = len(messages) - len(fresh)
            logger.debug("%s channel: %d new messages, %d duplicates", self.name(), len(fresh), duplicates)
        return status, text, fresh, parsed.ratings

    # -- handling messages -----------------------------------------------------------------------------

    @asynccontextmanager
    async def _turn(self, sender_id: str) -> AsyncIterator[None]:
        """One sender's messages are handled one at a time, in the order their tasks were created."""
        lock, users = self._turns.get(sender_id, (asyncio.Lock(), 0))
        self._turns[sender_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._turns[sender_id]
            if users <= 1:
                del self._turns[sender_id]
            else:
                self._turns[sender_id] = (lock, users - 1)

    async def handle(self, incoming: IncomingMessage, on_new_message: OnNewMessage) -> None:
        """Run one message through the assistant; its responses are sent by the output channel."""
        conversation_id = self.conversation_id(incoming.sender_id)
        async with self._turn(conversation_id):
            output = self.get_output_channel()
            # the replies can be rated, unless the message is too long to be read (then it is not stored)
            output.reply_to = None if too_long(clean_text(incoming.text)) else incoming.mid
            output.record_reply = self.record_reply
            await output.send_action(conversation_id, "mark_seen")
            await output.send_action(conversation_id, "typing_on")
            message = UserMessage(
                incoming.text,
                output,
                conversation_id,
                input_channel=self.name(),
                message_id=incoming.mid,
                metadata={"platform": self.name(), **incoming.metadata},
            )
            try:
                await on_new_message(message)
            except Exception as error:
                logger.error(
                    "%s channel: handling message %s from %s failed: %s",
                    self.name(),
                    incoming.mid,
                    conversation_id,
                    type(error).__name__,
                    exc_info=logger.isEnabledFor(logging.DEBUG),
                )
            finally:
                if output.sent == 0:
                    await output.send_action(conversation_id, "typing_off")
                await output.settle(REPLY_RECORD_WAIT)  # a rating after this turn finds its replies

    async def rate(self, rating: IncomingRating) -> Optional[str]:
        """Store a patient's rating of one of the page's replies against the patient message it answered; the
        outcome (bot/channels/feedback.py), or None if the rated message is not one of the assistant's replies to
        this patient (a staff member's message, an unknown or another conversation's mid)."""
        conversation_id = self.conversation_id(rating.sender_id)
        async with self._turn(conversation_id):  # after the turn that sent the reply is saved; in delivery order

            def lookup() -> Optional[str]:  # in a worker thread: the database is opened and read there
                return self.sent_messages.reply_to(rating.mid, conversation_id)

            try:
                reply_to = await asyncio.get_running_loop().run_in_executor(None, lookup)
            except Exception as error:
                logger.warning("%s channel: a rating was not stored (%s)", self.name(), type(error).__name__)
                return None
            if reply_to is None:
                logger.info("%s channel: a rating of a message that answered no message of this patient", self.name())
                return None
            # This process's turn is over, but the webhooks are shared out among the Rasa processes: the turn that
            # answered may be another process's, not saved yet. The patient message is looked for again after
            # LOOKUP_PAUSES (only a rating that finds none waits; the sender's next message waits behind it).
            return await apply_rating(self.patient_messages, conversation_id, reply_to, rating.rating, self.name())

    def schedule(
        self, messages: Iterable[IncomingMessage], on_new_message: OnNewMessage, ratings: Iterable[IncomingRating] = ()
    ) -> None:
        """Handle `messages` and store `ratings` in the background (the webhook answers Meta without waiting)."""
        loop = asyncio.get_running_loop()
        work = [self.handle(incoming, on_new_message) for incoming in messages] + [self.rate(r) for r in ratings]
        for job in work:
            task = loop.create_task(job)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 20) -> None:
        """Wait for messages still being handled (on shutdown), then close the HTTP session and the database."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        await self.client.close()
        self.seen.close()
        self.patient_messages.close()

    # -- Rasa / Sanic glue -----------------------------------------------------------------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint(f"{self.name()}_meta_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            params = {key: request.args.get(key) for key in ("hub.mode", "hub.verify_token", "hub.challenge")}
            status, text = self.verification({k: v for k, v in params.items() if v is not None})
            return response.text(text, status=status)

        @webhook.route("/webhook", methods=["POST"], stream=True)  # streamed: a too large body is not read
        async def receive(request: Request) -> HTTPResponse:
            body = await read_body(request, MAX_WEBHOOK_BYTES)
            if body is None:
                logger.warning("%s channel: webhook refused, body over %d bytes", self.name(), MAX_WEBHOOK_BYTES)
                return response.text("payload too large", status=413)
            self._app = self._app or request.app  # where the tracker store is (conversations_db_url)
            status, text, messages, ratings = await self.receive(body, request.headers.get(SIGNATURE_HEADER))
            if messages or ratings:
                self.schedule(messages, limited(on_new_message), ratings)
            return response.text(text, status=status)

        @webhook.listener("before_server_stop")
        async def finish(app: Any, loop: Any) -> None:
            await self.drain()

        return webhook

    def get_output_channel(self, message_tag: Optional[str] = None) -> MetaOutput:
        return self.output_class(self.client, self.settings.prefer_template, message_tag)
