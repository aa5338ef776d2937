"""bot/staff/takeover.py against a tiny loopback HTTP server playing Rasa's staff routes: what it sends, what each
answer becomes, and when it raises TakeoverUnavailable. Against the real Rasa: tests/e2e/test_staff_takeover.py."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Dict, List, Optional

import pytest
from aiohttp import web

from bot.staff.takeover import Delivery, TakeoverClient, TakeoverUnavailable
from tests.conftest import free_port

SENDER = "web:0123456789abcdef0123456789abcdef"


class FakeRasa:
    """Answers POST /webhooks/staff/<route> with (status, body) from `answer`; records each request."""

    def __init__(self, status: int = 200, payload: Any = None, delay: float = 0, raw: Optional[bytes] = None) -> None:
        self.status, self.payload, self.delay, self.raw = status, payload, delay, raw
        self.requests: List[Dict[str, Any]] = []
        self.port = free_port()

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append({"path": request.path_qs, "headers": dict(request.headers), "body": await request.json()})
        await asyncio.sleep(self.delay)
        if self.raw is not None:
            return web.Response(body=self.raw, status=self.status, content_type="text/html")
        return web.json_response(self.payload, status=self.status)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def with_server(fake: FakeRasa, call: Callable[[TakeoverClient], Awaitable[Any]], **client: Any) -> Any:
    async def go() -> Any:
        app = web.Application()
        app.router.add_post("/webhooks/staff/{route}", fake.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", fake.port).start()
        try:
            return await call(TakeoverClient(fake.url + "/", client.pop("token", "s3cret"), **client))
        finally:
            await runner.cleanup()

    return asyncio.run(go())


def test_each_call_posts_its_route_with_the_token_and_reads_the_delivery():
    fake = FakeRasa(payload={"delivered": True, "channel": "web", "reason": None, "paused": True})

    async def calls(client: TakeoverClient) -> List[Delivery]:
        return [
            await client.take_over(SENDER, "Aroha"),
            await client.send(SENDER, "Aroha", "Hi, I can help with that."),
            await client.hand_back(SENDER, "Aroha"),
        ]

    assert with_server(fake, calls) == [Delivery(True, "web", None, 200, True)] * 3
    assert [r["path"] for r in fake.requests] == [
        "/webhooks/staff/takeover",
        "/webhooks/staff/message",
        "/webhooks/staff/handback",
    ]  # the conversation id is never in the URL
    assert [r["body"] for r in fake.requests] == [
        {"sender_id": SENDER, "staff_name": "Aroha"},
        {"sender_id": SENDER, "staff_name": "Aroha", "text": "Hi, I can help with that."},
        {"sender_id": SENDER, "staff_name": "Aroha"},
    ]
    assert {r["headers"]["Authorization"] for r in fake.requests} == {"Bearer s3cret"}


def test_a_delivery_that_failed_is_an_answer_not_an_error():
    fake = FakeRasa(payload={"delivered": False, "channel": "messenger", "reason": "outside_window", "paused": True})
    delivery = with_server(fake, lambda client: client.send(SENDER, "Aroha", "Hi"))
    assert delivery == Delivery(False, "messenger", "outside_window", 200, True)


@pytest.mark.parametrize(
    ("status", "payload", "reason"),
    [
        (404, {"error": "no conversation with that id"}, "unknown_conversation"),
        (409, {"error": "the conversation is not taken over", "paused": False}, "not_taken_over"),
        (400, {"error": '"text" is required: 1 to 1000 characters'}, "invalid"),
        (413, {"error": "payload too large"}, "invalid"),
    ],
)
def test_refusals_about_the_request_are_deliveries_with_their_status(status, payload, reason):
    delivery = with_server(FakeRasa(status, payload), lambda client: client.send(SENDER, "Aroha", "Hi"))
    assert (delivery.delivered, delivery.reason, delivery.status, delivery.error) == (
        False,
        reason,
        status,
        payload["error"],
    )
    assert delivery.paused == payload.get("paused")


@pytest.mark.parametrize(
    "fake",
    [
        FakeRasa(401, {"error": "unauthorized"}),
        FakeRasa(500, {"error": "boom"}),
        FakeRasa(503, {"error": "no model is loaded"}),
        FakeRasa(200, raw=b"<html>nginx</html>"),
        FakeRasa(200, payload=["not", "the", "answer"]),
        FakeRasa(302, payload={}),
        FakeRasa(200, payload={"delivered": True}, delay=2),  # slower than the client's timeout
    ],
    ids=["401", "500", "503", "html", "list", "302", "timeout"],
)
def test_rasa_unable_raises_takeover_unavailable(fake):
    with pytest.raises(TakeoverUnavailable):
        with_server(fake, lambda client: client.take_over(SENDER, "Aroha"), timeout=0.5)
    assert len(fake.requests) == 1


def test_unreachable_rasa_and_no_token_raise_takeover_unavailable():
    nobody = TakeoverClient(f"http://127.0.0.1:{free_port()}", "s3cret", timeout=2)
    with pytest.raises(TakeoverUnavailable, match="did not answer"):
        asyncio.run(nobody.take_over(SENDER, "Aroha"))
    fake = FakeRasa(payload={"delivered": True, "channel": "web", "reason": None, "paused": True})
    for token in (None, "", "  "):
        with pytest.raises(TakeoverUnavailable, match="STAFF_CHANNEL_TOKEN"):
            with_server(fake, lambda client: client.take_over(SENDER, "Aroha"), token=token)
    assert fake.requests == []  # never asked without a token
