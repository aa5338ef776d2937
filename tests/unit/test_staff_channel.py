"""bot/channels/staff.py without a Rasa server: the body and token checks, and delivery on each channel — a real
python-socketio server's rooms, the fake Graph API (messaging type and human-agent tag), a real HTTP peer for the
relay between Rasa processes. The routes themselves: tests/e2e/test_staff_takeover.py."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Dict, List, Tuple

import pytest
from aiohttp import web
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels import staff
from bot.channels.instagram import InstagramInput
from bot.channels.message_limits import MAX_MESSAGE_CHARS
from bot.channels.messenger import MessengerInput
from bot.channels.sender_ids import namespaced
from bot.channels.settings import ChannelSettings
from bot.channels.socketio import SocketIOInput
from bot.channels.webhook_auth import bearer_matches
from tests.conftest import free_port
from tests.support.fake_graph import TEST_API_VERSION, FakeGraph

HOUR = 3600.0
SESSION = "0123456789abcdef0123456789abcdef"
WEB_ID = f"web:{SESSION}"


# -- the request body -----------------------------------------------------------------------------------------


def body(**fields: Any) -> bytes:
    return json.dumps({"sender_id": WEB_ID, "staff_name": "Aroha", **fields}).encode()


def test_a_valid_body():
    assert staff.parse_body(body(), with_text=False) == staff.StaffRequest(WEB_ID, "Aroha")
    assert staff.parse_body(body(text="  Hi, I can book that.  "), with_text=True).text == "Hi, I can book that."
    assert staff.parse_body(body(text="x" * MAX_MESSAGE_CHARS), with_text=True).text == "x" * MAX_MESSAGE_CHARS
    # the clean-up of every channel: control characters dropped, NFC
    assert staff.parse_body(body(text="ka\u0304 pai\x00"), with_text=True).text == "k\u0101 pai"


@pytest.mark.parametrize("name", ["Aroha", "Mary-Jane", "O'Neil", "O\u2019Neil", "Ng\u0101io", "Zo\u00eb", " Sam "])
def test_first_names_accepted(name):
    assert staff.parse_body(body(staff_name=name), with_text=False).staff_name == name.strip()


@pytest.mark.parametrize(
    "name",
    ["", "  ", "Mary Smith", "<script>", "R2D2", "Sam!", "a" * 41, None, 42, ["Sam"], "Sam\nBot", "{emergency_number}"],
)
def test_anything_but_one_first_name_is_refused(name):
    with pytest.raises(staff.BadRequest, match="staff_name"):
        staff.parse_body(body(staff_name=name), with_text=False)


@pytest.mark.parametrize(
    "sender_id", ["", "web:" + "a" * 300, "web: 0123", "web:0123/../x", "web:0123?x=1", None, 7, {"id": "web:1"}]
)
def test_a_sender_id_that_cannot_be_a_conversation_id_is_refused(sender_id):
    with pytest.raises(staff.BadRequest, match="sender_id"):
        staff.parse_body(body(sender_id=sender_id), with_text=False)


@pytest.mark.parametrize("text", [None, "", "   ", "\x00\x01", "x" * (MAX_MESSAGE_CHARS + 1), 42, ["hi"]])
def test_a_message_needs_1_to_1000_characters(text):
    with pytest.raises(staff.BadRequest, match="text"):
        staff.parse_body(body(text=text), with_text=True)


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"web:1"', b"[" * 100_000])
def test_not_a_json_object_is_refused_without_echoing_it(raw):
    with pytest.raises(staff.BadRequest) as error:
        staff.parse_body(raw, with_text=False)
    assert "not json" not in str(error.value)


# -- the token ----------------------------------------------------------------------------------------------


def test_the_token_is_required_and_none_configured_refuses_everything():
    assert bearer_matches("Bearer s3cret-token", "s3cret-token")
    for header in (
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong",
        "bearer s3cret-token",
        "s3cret-token",
        "Bearer s3cret-token ",
        "Basic s3cret-token",
    ):
        assert not bearer_matches(header, "s3cret-token"), header
    for header in (None, "", "Bearer", "Bearer ", "Bearer None"):
        assert not bearer_matches(header, ""), header


def test_no_token_configured_is_logged_once_at_start(monkeypatch, caplog):
    monkeypatch.delenv(staff.TOKEN_ENV, raising=False)
    with caplog.at_level("WARNING", logger="bot.channels.staff"):
        channel = staff.StaffChannel()
    assert channel.token == ""
    assert [r.getMessage() for r in caplog.records] == [
        "staff channel: no STAFF_CHANNEL_TOKEN set; every staff request is refused (401)"
    ]


def test_peer_urls():
    assert staff.peer_urls("http://127.0.0.1:5007/, http://127.0.0.1:5008") == (
        "http://127.0.0.1:5007",
        "http://127.0.0.1:5008",
    )
    assert staff.peer_urls(None) == () == staff.peer_urls("  ")


def test_stored_metadata_says_who_and_whether_it_arrived():
    sent = staff.Delivery(True, "web")
    failed = staff.Delivery(False, "messenger", staff.OUTSIDE_WINDOW)
    assert staff.stored_metadata("Aroha", sent, "joined") == {"staff": "Aroha", "notice": "joined", "delivered": True}
    assert staff.stored_metadata("Aroha", failed) == {"staff": "Aroha", "delivered": False, "reason": "outside_window"}


# -- delivery -----------------------------------------------------------------------------------------------


def tracker(sender_id: str, last_message_age: float = 60) -> DialogueStateTracker:
    said = UserUttered("hi", intent={"name": "greet"}, timestamp=time.time() - last_message_age)
    return DialogueStateTracker.from_events(sender_id, [ActionExecuted("action_listen"), said])


def socket_channel() -> Tuple[SocketIOInput, List[Tuple[str, Any, Any]]]:
    """The real socket.io channel with its real python-socketio server; what it emits is recorded."""
    channel = SocketIOInput.from_credentials({"session_persistence": True})
    channel.blueprint(lambda message: None)  # creates channel.sio, as `rasa run` does
    emitted: List[Tuple[str, Any, Any]] = []

    async def emit(event: str, data: Any = None, room: Any = None, **kwargs: Any) -> None:
        emitted.append((event, data, room))

    channel.sio.emit = emit  # type: ignore[method-assign]
    return channel, emitted


def test_widget_delivery_emits_bot_uttered_to_the_conversations_room_only_when_a_socket_is_in_it():
    channel, emitted = socket_channel()
    sender = staff.StaffChannel(token="t", peers=())

    delivery = asyncio.run(sender.deliver([channel], tracker(WEB_ID), "Hi, it's Aroha."))
    assert delivery == staff.Delivery(False, "web", staff.NOT_CONNECTED) and emitted == []

    channel.sio.manager.basic_enter_room("sid-other", "/", f"web:{'f' * 32}", eio_sid="e0")  # another conversation
    assert asyncio.run(sender.deliver([channel], tracker(WEB_ID), "Hi")).reason == staff.NOT_CONNECTED

    channel.sio.manager.basic_enter_room("sid-1", "/", WEB_ID, eio_sid="e1")
    delivery = asyncio.run(sender.deliver([channel], tracker(WEB_ID), "Hi, it's Aroha.\n\nHow can I help?"))
    assert delivery == staff.Delivery(True, "web", None)
    # as Rasa's SocketIOOutput: one bot_uttered per paragraph, to the room named by the conversation id
    assert emitted == [
        ("bot_uttered", {"text": "Hi, it's Aroha."}, WEB_ID),
        ("bot_uttered", {"text": "How can I help?"}, WEB_ID),
    ]


class Peer:
    """Another Rasa process's relay route, on a real loopback HTTP server: records what it is asked."""

    def __init__(self, delivered: bool, status: int = 200) -> None:
        self.delivered, self.status = delivered, status
        self.asked: List[Tuple[Dict[str, str], Dict[str, Any]]] = []
        self.port = free_port()

    async def handle(self, request: web.Request) -> web.Response:
        self.asked.append((dict(request.headers), await request.json()))
        return web.json_response({"delivered": self.delivered}, status=self.status)

    async def start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/webhooks/staff/relay", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        return runner

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def test_a_socket_on_another_rasa_process_is_reached_through_its_relay_route():
    channel, emitted = socket_channel()
    down = f"http://127.0.0.1:{free_port()}"  # a process that is not running: skipped
    missing, broken, holding = Peer(False), Peer(True, status=500), Peer(True)

    async def scenario() -> staff.Delivery:
        runners = [await peer.start() for peer in (missing, broken, holding)]
        sender = staff.StaffChannel(token="tok", peers=(down, missing.url, broken.url, holding.url))
        try:
            return await sender.deliver([channel], tracker(WEB_ID), "Hi")
        finally:
            if sender._session:
                await sender._session.close()
            for runner in runners:
                await runner.cleanup()

    assert asyncio.run(scenario()) == staff.Delivery(True, "web", None)
    assert emitted == []  # no socket here
    for peer in (missing, broken, holding):
        [(headers, asked)] = peer.asked
        assert headers["Authorization"] == "Bearer tok"
        assert asked == {"sender_id": WEB_ID, "text": "Hi"}


def meta_channel(graph: FakeGraph, kind: type) -> Any:
    settings = ChannelSettings(
        app_secret="unit-secret",
        verify_token="unit-verify",
        access_token="unit-token",
        graph_base_url=graph.url,
        graph_api_version=TEST_API_VERSION,
    )
    channel = kind(settings)
    channel.client.base_delay = channel.client.max_delay = 0.01
    return channel


def psid() -> str:
    return f"{uuid.uuid4().int % 10**16:016d}"


@pytest.mark.parametrize(
    ("kind", "prefix", "age", "messaging_type", "tag"),
    [
        (MessengerInput, "messenger", 1 * HOUR, "RESPONSE", None),
        (MessengerInput, "messenger", 30 * HOUR, "MESSAGE_TAG", "HUMAN_AGENT"),
        (MessengerInput, "messenger", 6 * 24 * HOUR, "MESSAGE_TAG", "HUMAN_AGENT"),
        (InstagramInput, "instagram", 1 * HOUR, None, None),  # as the assistant's own Instagram replies
        (InstagramInput, "instagram", 30 * HOUR, "MESSAGE_TAG", "HUMAN_AGENT"),
    ],
)
def test_meta_delivery_on_the_terms_of_the_messaging_window(fake_graph, kind, prefix, age, messaging_type, tag):
    user, channel = psid(), meta_channel(fake_graph, kind)
    sender = staff.StaffChannel(token="t", peers=())

    async def send() -> staff.Delivery:
        try:
            return await sender.deliver([channel], tracker(namespaced(prefix, user), age), "Hi, it's Aroha.")
        finally:
            await channel.client.close()

    assert asyncio.run(send()) == staff.Delivery(True, prefix, None)
    [sent] = fake_graph.sends_to(user)
    assert (sent.messaging_type, sent.tag, sent.message) == (messaging_type, tag, {"text": "Hi, it's Aroha."})


def test_meta_after_seven_days_nothing_is_sent_and_a_refusal_is_reported(fake_graph):
    sender = staff.StaffChannel(token="t", peers=())
    late, refused = psid(), psid()
    channel = meta_channel(fake_graph, MessengerInput)
    fake_graph.fail(refused, 400, {"code": 10, "error_subcode": 2018278, "type": "OAuthException"})

    async def send() -> List[staff.Delivery]:
        try:
            return [
                await sender.deliver([channel], tracker(f"messenger:{late}", 8 * 24 * HOUR), "Hi"),
                await sender.deliver([channel], tracker(f"messenger:{refused}", HOUR), "Hi"),
            ]
        finally:
            await channel.client.close()

    assert asyncio.run(send()) == [
        staff.Delivery(False, "messenger", staff.OUTSIDE_WINDOW),
        staff.Delivery(False, "messenger", staff.SEND_FAILED),
    ]
    assert fake_graph.requests_to(late) == []
    assert [r.status for r in fake_graph.sends_to(refused)] == [400]


def test_rest_and_unknown_conversations_have_no_live_channel():
    channel, emitted = socket_channel()
    sender = staff.StaffChannel(token="t", peers=())
    for sender_id, kind in (("rest:someone", "rest"), ("someone", "other"), ("messenger:123", "messenger")):
        # no Messenger channel in this list: not configured in credentials.yml
        assert asyncio.run(sender.deliver([channel], tracker(sender_id), "Hi")) == staff.Delivery(
            False, kind, staff.NO_LIVE_CHANNEL
        )
    assert emitted == []
