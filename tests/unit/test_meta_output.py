"""The output channels and the Graph client against the fake Graph API (no Rasa server needed):
long answers, many buttons, request shape, retries with backoff, error logging."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Awaitable, Callable

import pytest

from bot.channels.graph_client import GraphClient, backoff_delay, should_retry
from bot.channels.instagram import InstagramOutput
from bot.channels.messenger import MessengerOutput
from bot.channels.meta import MetaOutput
from bot.channels.sender_ids import namespaced
from bot.channels.webhook_auth import appsecret_proof
from tests.conftest import free_port
from tests.support.fake_graph import TEST_API_VERSION, FakeGraph

TOKEN = "unit-test-page-token-SECRET"
SECRET = "unit-test-app-secret"
LONG_ANSWER = (  # 2500 characters, 49 sentences
    " ".join(f"Sentence {i:03d} is about acupuncture for glutes here." for i in range(48))
    + " That is everything about acupuncture for glutes, ok."
)


def recipient() -> str:
    """A new user's PSID / IGSID (numeric, as Meta's are): what the fake Graph API records."""
    return f"{uuid.uuid4().int % 10**16:016d}"


def to(output: MetaOutput, user: str) -> str:
    """The user's conversation id in Rasa, which the output channel is given ("messenger:<PSID>")."""
    return namespaced(output.id_channel, user)


def client(graph: FakeGraph, **kwargs: Any) -> GraphClient:
    options = {"app_secret": SECRET, "base_delay": 0.01, "max_delay": 0.05, **kwargs}
    return GraphClient(TOKEN, graph.url, TEST_API_VERSION, **options)


def run(output: MetaOutput, send: Callable[[MetaOutput], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        try:
            return await send(output)
        finally:
            await output.client.close()

    return asyncio.run(go())


def test_long_answer_is_split_at_the_messenger_limit(fake_graph):
    user = recipient()
    assert len(LONG_ANSWER) == 2500
    run(MessengerOutput(client(fake_graph)), lambda out: out.send_text_message(to(out, user), LONG_ANSWER))
    parts = [m["text"] for m in fake_graph.messages_to(user)]
    assert len(parts) == 2 and all(len(p) <= 2000 for p in parts)
    assert all(p.endswith(".") for p in parts) and " ".join(parts) == LONG_ANSWER


def test_long_answer_is_split_at_the_instagram_limit(fake_graph):
    user = recipient()
    run(InstagramOutput(client(fake_graph)), lambda out: out.send_text_message(to(out, user), LONG_ANSWER))
    parts = [m["text"] for m in fake_graph.messages_to(user)]
    assert len(parts) == 3 and all(len(p) <= 1000 for p in parts) and " ".join(parts) == LONG_ANSWER


@pytest.mark.parametrize("output_class", [MessengerOutput, InstagramOutput])
def test_twenty_buttons_are_trimmed_to_the_quick_reply_limit(fake_graph, output_class):
    user = recipient()
    buttons = [{"title": f"Treatment option number {i}", "payload": f"/option_{i}"} for i in range(20)]
    run(output_class(client(fake_graph)), lambda out: out.send_text_with_buttons(to(out, user), "Which one?", buttons))
    [message] = fake_graph.messages_to(user)
    assert message["text"] == "Which one?"
    replies = message["quick_replies"]
    assert len(replies) == 13 and [r["payload"] for r in replies] == [f"/option_{i}" for i in range(13)]
    assert all(r["content_type"] == "text" and 0 < len(r["title"]) <= 20 for r in replies)


def test_three_buttons_template_on_messenger_quick_replies_on_instagram(fake_graph):
    buttons = [{"title": "Referral?", "payload": "/faq_referral"}, {"title": "ACC", "payload": "/faq_acc_requirements"}]
    fb_user, ig_user = recipient(), recipient()
    run(
        MessengerOutput(client(fake_graph)),
        lambda out: out.send_text_with_buttons(to(out, fb_user), "Kia ora!", buttons),
    )
    run(
        InstagramOutput(client(fake_graph), prefer_template=False),
        lambda out: out.send_text_with_buttons(to(out, ig_user), "Kia ora!", buttons),
    )
    [fb] = fake_graph.messages_to(fb_user)
    assert fb["attachment"]["payload"]["template_type"] == "button"
    assert [b["payload"] for b in fb["attachment"]["payload"]["buttons"]] == ["/faq_referral", "/faq_acc_requirements"]
    [ig] = fake_graph.messages_to(ig_user)
    assert ig["text"] == "Kia ora!" and [q["title"] for q in ig["quick_replies"]] == ["Referral?", "ACC"]


def test_request_shape_token_proof_and_messaging_type(fake_graph):
    fb_user, ig_user = recipient(), recipient()
    run(MessengerOutput(client(fake_graph)), lambda out: out.send_text_message(to(out, fb_user), "Hi"))
    run(
        InstagramOutput(client(fake_graph)),
        lambda out: out.send_image_url(to(out, ig_user), "https://example.org/map.png"),
    )
    [fb] = fake_graph.requests_to(fb_user)
    assert fb.path == f"/{TEST_API_VERSION}/me/messages"
    assert fb.query == {"access_token": TOKEN, "appsecret_proof": appsecret_proof(TOKEN, SECRET)}
    assert fb.body == {"recipient": {"id": fb_user}, "messaging_type": "RESPONSE", "message": {"text": "Hi"}}
    [ig] = fake_graph.requests_to(ig_user)
    assert "messaging_type" not in ig.body
    assert ig.body["message"] == {
        "attachment": {"type": "image", "payload": {"url": "https://example.org/map.png", "is_reusable": True}}
    }


def test_paragraphs_are_separate_messages(fake_graph):
    user = recipient()
    run(
        MessengerOutput(client(fake_graph)),
        lambda out: out.send_text_message(to(out, user), "First.\n\nSecond.\nSame."),
    )
    assert fake_graph.messages_to(user) == [{"text": "First."}, {"text": "Second.\nSame."}]


def test_sender_actions(fake_graph):
    user = recipient()
    run(MessengerOutput(client(fake_graph)), lambda out: out.send_action(to(out, user), "typing_on"))
    assert fake_graph.actions_to(user) == ["typing_on"]


@pytest.mark.parametrize(
    "status, error, headers",
    [
        (500, {"message": "x", "type": "OAuthException", "code": 2, "is_transient": True}, {}),
        (503, {}, {}),
        (429, {"code": 613, "type": "OAuthException"}, {"Retry-After": "0"}),
        (400, {"message": "Calls to this api have exceeded the rate limit.", "code": 613}, {}),
        (400, {"message": "rate limit", "type": "OAuthException", "code": 80006}, {}),
    ],
)
def test_server_errors_and_rate_limits_are_retried(fake_graph, status, error, headers):
    user = recipient()
    fake_graph.fail(user, status, error, times=2, **headers)
    run(MessengerOutput(client(fake_graph)), lambda out: out.send_text_message(to(out, user), "Hi"))
    attempts = [r.status for r in fake_graph.requests_to(user)]
    assert attempts == [status, status, 200]
    assert fake_graph.messages_to(user) == [{"text": "Hi"}]


def test_client_errors_are_logged_with_their_code_and_not_retried(fake_graph, caplog):
    user = recipient()
    fake_graph.fail(
        user,
        400,
        {"message": "(#100) private detail", "type": "OAuthException", "code": 100, "fbtrace_id": "TRACE1"},
    )
    secret_text = "my private symptom description"
    with caplog.at_level(logging.DEBUG, logger="bot.channels"):
        run(MessengerOutput(client(fake_graph)), lambda out: out.send_text_message(to(out, user), secret_text))
    assert [r.status for r in fake_graph.requests_to(user)] == [400]
    [record] = [r for r in caplog.records if r.name == "bot.channels.graph_client"]
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert "HTTP 400" in message and "code 100" in message and "TRACE1" in message and user in message
    for leak in (secret_text, TOKEN, SECRET, "private detail", "access_token"):
        assert leak not in caplog.text


def test_giving_up_after_the_last_attempt(fake_graph, caplog):
    user = recipient()
    fake_graph.fail(user, 502, {}, times=10)
    output = MessengerOutput(client(fake_graph, max_attempts=3))
    with caplog.at_level(logging.WARNING, logger="bot.channels"):
        run(output, lambda out: out.send_text_message(to(out, user), "Hi"))
    assert [r.status for r in fake_graph.requests_to(user)] == [502, 502, 502]
    assert output.sent == 0
    levels = [r.levelno for r in caplog.records if r.name == "bot.channels.graph_client"]
    assert levels == [logging.WARNING, logging.WARNING, logging.ERROR]


def test_sender_actions_are_not_retried(fake_graph):
    user = recipient()
    fake_graph.fail(user, 500, {"code": 2, "is_transient": True}, times=3, kind="sender_action")
    run(MessengerOutput(client(fake_graph)), lambda out: out.send_action(to(out, user), "typing_on"))
    assert [r.status for r in fake_graph.requests_to(user)] == [500]


def test_network_errors_are_retried_then_logged_without_the_url(caplog):
    graph = GraphClient(TOKEN, f"http://127.0.0.1:{free_port()}", "v1.0", app_secret=SECRET, base_delay=0.01)

    async def go() -> Any:
        try:
            return await graph.send({"recipient": {"id": "u1"}, "message": {"text": "Hi"}}, "message")
        finally:
            await graph.close()

    with caplog.at_level(logging.WARNING, logger="bot.channels"):
        assert asyncio.run(go()) is None
    records = [r for r in caplog.records if r.name == "bot.channels.graph_client"]
    assert len(records) == 4 and "ClientConnectorError" in records[-1].getMessage()
    assert TOKEN not in caplog.text and "127.0.0.1" not in caplog.text


def test_without_an_access_token_nothing_is_sent(fake_graph, caplog):
    user = recipient()
    graph = GraphClient(None, fake_graph.url, TEST_API_VERSION)
    with caplog.at_level(logging.ERROR, logger="bot.channels"):
        run(MessengerOutput(graph), lambda out: out.send_text_message(to(out, user), "Hi"))
    assert fake_graph.requests_to(user) == [] and "no access token" in caplog.text


def test_retry_policy():
    assert should_retry(500, {}) and should_retry(429, {}) and should_retry(400, {"code": 4})
    assert should_retry(400, {"code": 100, "is_transient": True})
    assert not should_retry(400, {"code": 100}) and not should_retry(403, {"code": 10})
    assert not should_retry(400, {"code": 551})  # person not available
    assert not should_retry(401, {"code": 190})  # expired token
    delays = [backoff_delay(attempt, 1.0, 8.0) for attempt in (1, 2, 3, 4, 5)]
    assert 0.5 <= delays[0] <= 1 and 1 <= delays[1] <= 2 and 2 <= delays[2] <= 4 and delays[4] <= 8
    assert backoff_delay(1, 0.1, 8.0, retry_after=3) == 3 and backoff_delay(1, 0.1, 8.0, retry_after=60) == 8


@pytest.mark.parametrize("output_class", [MessengerOutput, InstagramOutput])
def test_nothing_is_sent_to_another_channels_conversation(fake_graph, caplog, output_class):
    user = recipient()
    other = "instagram" if output_class is MessengerOutput else "messenger"
    refused = [user, f"{other}:{user}", f"rest:{user}", f"web:{user}", f"{output_class.id_channel}:user-1"]
    with caplog.at_level(logging.WARNING, logger="bot.channels"):
        for conversation in refused:
            output = output_class(client(fake_graph))
            run(output, lambda out, to_id=conversation: out.send_text_message(to_id, "Hi"))
            run(output, lambda out, to_id=conversation: out.send_action(to_id, "typing_on"))
            assert output.sent == 0
    assert fake_graph.requests_to(user) == [] and fake_graph.requests_to("user-1") == []
    assert f"nothing sent, the recipient is not a {output_class.id_channel} conversation" in caplog.text
    assert user not in caplog.text and "user-1" not in caplog.text
    # its own conversation: the prefix is stripped before the Send API
    run(output_class(client(fake_graph)), lambda out: out.send_text_message(to(out, user), "Hi"))
    assert fake_graph.messages_to(user) == [{"text": "Hi"}]
