"""Unit tests for the Meta channels' pure parts: signature and handshake, event parsing, de-duplication,
settings, and the framework-free webhook handling of the input channel."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Tuple

import pytest
from rasa.core.channels.channel import UserMessage
from sanic.exceptions import PayloadTooLarge

from bot.channels import webhook_auth
from bot.channels.events import AFFIRM, SHARED_ATTACHMENT, STORY_MENTION, parse_webhook
from bot.channels.instagram import INSTAGRAM, InstagramInput
from bot.channels.messenger import MESSENGER, MessengerInput, MessengerOutput
from bot.channels.meta import MAX_WEBHOOK_BYTES, read_body
from bot.channels.recent_ids import RecentIds, SeenMessages
from bot.channels.settings import ChannelSettings
from bot.channels.webhook_auth import appsecret_proof, sign, signature_is_valid, subscription_challenge

SECRET = "unit-test-secret"
BODY = b'{"object":"page","entry":[]}'
PSID = "2471935872938475"  # Meta's ids are numeric


# -- signature --------------------------------------------------------------------------------------------


def test_signature_is_hmac_sha256_of_the_raw_body():
    expected = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY) == expected
    assert signature_is_valid(SECRET, BODY, expected)
    assert signature_is_valid(SECRET, BODY, expected.upper().replace("SHA256=", "sha256="))  # hex case


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha256=deadbeef",
        sign("another-secret", BODY),
        sign(SECRET, BODY + b" "),  # signed a different body
        "sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest(),  # legacy header value
        sign(SECRET, BODY)[len("sha256=") :],  # no prefix
        "sha256=é" + "0" * 63,
    ],
)
def test_wrong_or_missing_signature_is_invalid(header):
    assert not signature_is_valid(SECRET, BODY, header)


def test_no_secret_means_nothing_is_valid():
    assert not signature_is_valid(None, BODY, sign("", BODY))
    assert not signature_is_valid("", BODY, sign("", BODY))


def test_signature_comparison_is_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(webhook_auth.hmac, "compare_digest", spy)
    assert signature_is_valid(SECRET, BODY, sign(SECRET, BODY))
    assert subscription_challenge({"hub.mode": "subscribe", "hub.verify_token": "t", "hub.challenge": "1"}, "t")
    assert len(calls) == 2


def test_subscription_challenge():
    good = {"hub.mode": "subscribe", "hub.verify_token": "token", "hub.challenge": "1158201444"}
    assert subscription_challenge(good, "token") == "1158201444"
    assert subscription_challenge({**good, "hub.verify_token": "nope"}, "token") is None
    assert subscription_challenge({**good, "hub.mode": "unsubscribe"}, "token") is None
    assert subscription_challenge({k: v for k, v in good.items() if k != "hub.challenge"}, "token") is None
    assert subscription_challenge(good, None) is None
    assert subscription_challenge({**good, "hub.verify_token": ""}, "") is None


def test_appsecret_proof():
    assert appsecret_proof("tok", "sec") == hmac.new(b"sec", b"tok", hashlib.sha256).hexdigest()


# -- event parsing ----------------------------------------------------------------------------------------


def event(sender: str = "user-1", page: str = "page-1", **fields: Any) -> Dict[str, Any]:
    return {"sender": {"id": sender}, "recipient": {"id": page}, "timestamp": 1700000000000, **fields}


def payload(*events: Dict[str, Any], obj: str = "page", page: str = "page-1") -> Dict[str, Any]:
    return {"object": obj, "entry": [{"id": page, "time": 1700000000000, "messaging": list(events)}]}


def only(parsed_payload: Dict[str, Any]):
    parsed = parse_webhook(parsed_payload)
    assert len(parsed.messages) == 1, parsed
    return parsed.messages[0]


def test_text_message():
    message = only(payload(event(message={"mid": "m1", "text": " do I need a referral? "})))
    assert (message.text, message.kind, message.mid, message.sender_id) == (
        "do I need a referral?",
        "text",
        "m1",
        "user-1",
    )
    assert message.dedup_key == "m1" and message.account_id == "page-1"
    assert "text" not in json.dumps(message.metadata).replace('"kind": "text"', "")


def test_quick_reply_payload_wins_over_its_title():
    quick_reply = {"mid": "m2", "text": "Book a free consult", "quick_reply": {"payload": "/book_appointment"}}
    message = only(payload(event(message=quick_reply)))
    assert (message.text, message.kind) == ("/book_appointment", "quick_reply")


def test_postback_payload_then_title():
    message = only(payload(event(postback={"mid": "m3", "title": "Referral?", "payload": "/faq_referral"})))
    assert (message.text, message.kind, message.mid) == ("/faq_referral", "postback", "m3")
    assert only(payload(event(postback={"title": "Get started"}))).text == "Get started"


def test_postback_without_mid_gets_a_fallback_dedup_key():
    message = only(payload(event(postback={"payload": "/greet"})))
    assert message.mid is None and message.dedup_key.startswith("user-1:1700000000000:postback")


@pytest.mark.parametrize("kind", ["image", "video", "audio", "file", "share", "ig_reel", "fallback"])
def test_attachments_become_shared_attachment_without_their_url(kind):
    url = "https://lookaside.fbsbx.com/private-photo-of-an-injury.jpg"
    message = only(payload(event(message={"mid": "m4", "attachments": [{"type": kind, "payload": {"url": url}}]})))
    assert (message.text, message.kind) == (SHARED_ATTACHMENT, "attachment")
    assert message.metadata["attachment_types"] == [kind]
    assert url not in json.dumps(message.metadata)


def test_story_mention_and_story_reply():
    url = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1"
    mention = only(
        payload(
            event(message={"mid": "m5", "attachments": [{"type": "story_mention", "payload": {"url": url}}]}),
            obj="instagram",
        )
    )
    assert (mention.text, mention.kind) == (STORY_MENTION, "story_mention")
    assert url not in json.dumps(mention.metadata)
    story_reply = {"mid": "m6", "text": "is this near the Terrace?", "reply_to": {"story": {"url": url, "id": "9"}}}
    reply = only(payload(event(message=story_reply), obj="instagram"))
    assert (reply.text, reply.kind, reply.metadata["story_reply"]) == ("is this near the Terrace?", "text", True)
    assert url not in json.dumps(reply.metadata)


def test_likes_affirm_and_unsupported_messages():
    heart = only(payload(event(message={"mid": "m7", "attachments": [{"type": "like_heart"}]}), obj="instagram"))
    assert heart.text == AFFIRM
    thumbs = {"mid": "m8", "sticker_id": 369239263222822, "attachments": [{"type": "image", "payload": {"url": "x"}}]}
    assert only(payload(event(message=thumbs))).text == AFFIRM
    assert only(payload(event(message={"mid": "m9", "is_unsupported": True}))).text == SHARED_ATTACHMENT


def test_ignored_events():
    parsed = parse_webhook(
        payload(
            event(sender="page-1", page="user-1", message={"mid": "e1", "is_echo": True, "text": "hi"}),
            event(
                sender="page-1",
                page="user-1",
                message={"mid": "e2", "is_echo": True, "attachments": [{"type": "image", "payload": {"url": "u"}}]},
            ),
            event(sender="page-1", page="user-1", message={"mid": "e3", "text": "flagless echo"}),
            event(message={"mid": "d1", "is_deleted": True}),
            event(read={"watermark": 1}),
            event(delivery={"mids": ["m1"], "watermark": 1}),
            event(messaging_seen={"mid": "m1"}),
            event(reaction={"mid": "m1", "action": "react", "reaction": "wow"}),  # 👍 ❤️ 👎 are ratings
            event(message={"mid": "x1"}),  # nothing in it
            event(postback={}),
            event(),
            "not an event",
        )
    )
    assert parsed.messages == []
    assert parsed.ignored["echo"] == 3
    for reason in ("deleted", "read", "delivery", "messaging_seen", "reaction", "empty message", "empty postback"):
        assert parsed.ignored[reason] == 1, reason


def test_standby_and_changes_entries_are_ignored():
    parsed = parse_webhook(
        {
            "object": "page",
            "entry": [
                {"id": "p", "time": 1, "standby": [event(message={"mid": "s1", "text": "hello"})]},
                {"id": "p", "time": 1, "changes": [{"field": "comments", "value": {"text": "nice"}}]},
            ],
        }
    )
    assert parsed.messages == [] and parsed.ignored == {"standby": 1, "changes": 1}


def test_every_entry_and_every_event_of_a_batch_in_order():
    batch = {
        "object": "page",
        "entry": [
            {
                "id": "p",
                "messaging": [
                    event("a", "p", message={"mid": "1", "text": "one"}),
                    event("b", "p", postback={"payload": "/greet", "mid": "2"}),
                ],
            },
            {"id": "p", "messaging": [event("a", "p", message={"mid": "3", "text": "three"})]},
        ],
    }
    parsed = parse_webhook(batch)
    assert [(m.sender_id, m.text) for m in parsed.messages] == [("a", "one"), ("b", "/greet"), ("a", "three")]


@pytest.mark.parametrize("broken", [{}, {"entry": None}, {"entry": ["x", {"id": "p", "messaging": "nope"}]}])
def test_malformed_payloads_do_not_crash(broken):
    assert parse_webhook(broken).messages == []


# -- de-duplication ---------------------------------------------------------------------------------------


def test_recent_ids_forget_by_age_and_size():
    now = [0.0]
    ids = RecentIds(max_size=3, ttl_seconds=10, clock=lambda: now[0])
    assert ids.first_time("a") and not ids.first_time("a")
    now[0] = 11
    assert ids.first_time("a")  # expired, seen again
    assert ids.first_time("b") and ids.first_time("c") and ids.first_time("d")
    assert len(ids) == 3 and ids.first_time("a")  # "a" was the oldest and was evicted


# -- settings ---------------------------------------------------------------------------------------------

ENV = {
    "META_APP_SECRET": "s",
    "META_VERIFY_TOKEN": "v",
    "MESSENGER_PAGE_ACCESS_TOKEN": "fb-token",
    "INSTAGRAM_ACCESS_TOKEN": "ig-token",
}


def test_settings_come_from_the_environment():
    fb = ChannelSettings.load(MESSENGER, None, ENV)
    ig = ChannelSettings.load(INSTAGRAM, None, ENV)
    assert (fb.app_secret, fb.verify_token, fb.access_token, ig.access_token) == ("s", "v", "fb-token", "ig-token")
    assert fb.graph_base_url == "https://graph.facebook.com" and fb.graph_api_version.startswith("v")
    assert fb.prefer_template and not ig.prefer_template
    custom = ChannelSettings.load(
        INSTAGRAM,
        {"app_secret_env": "IG_SECRET", "graph_base_url_env": "IG_GRAPH", "buttons": "template"},
        {**ENV, "IG_SECRET": "ig-s", "IG_GRAPH": "https://graph.instagram.com", "META_GRAPH_API_VERSION": "v30.0"},
    )
    assert (custom.app_secret, custom.graph_base_url, custom.graph_api_version) == (
        "ig-s",
        "https://graph.instagram.com",
        "v30.0",
    )
    assert custom.prefer_template


def test_secrets_in_credentials_yml_are_ignored(caplog):
    with caplog.at_level(logging.WARNING):
        settings = ChannelSettings.load(MESSENGER, {"secret": "leaked", "page-access-token": "leaked"}, {})
    assert settings.app_secret is None and settings.access_token is None
    assert "'secret' ignored" in caplog.text and "leaked" not in caplog.text


# -- the input channel without a web server ---------------------------------------------------------------


def channel(env: Dict[str, str] = ENV, cls=MessengerInput, database_url: Optional[str] = None):
    """A channel; de-duplication in this process's memory only unless `database_url` is given."""
    return cls(ChannelSettings.load(cls.platform, None, env), seen=SeenMessages(database_url))


def receive(input_channel, body: bytes, signature: Optional[str]):
    return asyncio.run(input_channel.receive(body, signature))


def test_without_an_app_secret_every_webhook_is_refused():
    locked = channel({})
    body = json.dumps(payload(event(PSID, message={"mid": "n1", "text": "hi"}))).encode()
    for signature in (None, sign("", body), sign("anything", body)):
        assert receive(locked, body, signature) == (403, "forbidden", [], [])
    assert locked.verification({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"})[0] == 403


def test_receive_checks_signature_object_and_duplicates(tmp_path):
    fb = channel(database_url=f"sqlite:///{tmp_path / 'conversations.sqlite'}")
    body = json.dumps(payload(event(PSID, message={"mid": "r1", "text": "hi"}))).encode()
    assert receive(fb, body, None)[0] == 403
    assert receive(fb, body, sign("wrong", body))[0] == 403
    status, _, messages, _ = receive(fb, body, sign("s", body))
    assert status == 200 and [m.text for m in messages] == ["hi"]
    assert receive(fb, body, sign("s", body)) == (200, "EVENT_RECEIVED", [], [])  # redelivery
    wrong_object = json.dumps(payload(event(PSID, message={"mid": "r2", "text": "hi"}), obj="instagram")).encode()
    assert receive(fb, wrong_object, sign("s", wrong_object))[0] == 400
    ig = channel(cls=InstagramInput)
    assert receive(ig, body, sign("s", body))[0] == 400  # a Page payload on the Instagram webhook
    assert receive(fb, b"not json", sign("s", b"not json"))[0] == 400


def test_conversation_ids_are_namespaced_by_channel():
    assert MessengerInput.conversation_id(PSID) == f"messenger:{PSID}"
    assert InstagramInput.conversation_id(PSID) == f"instagram:{PSID}"
    assert channel().get_output_channel().platform_id(f"messenger:{PSID}") == PSID
    assert channel(cls=InstagramInput).get_output_channel().platform_id(f"instagram:{PSID}") == PSID


def test_messages_reach_rasa_under_the_namespaced_id():
    fb = channel()
    body = json.dumps(payload(event(PSID, message={"mid": "ns1", "text": "hi"}))).encode()
    _, _, [incoming], _ = receive(fb, body, sign("s", body))
    reached: List[UserMessage] = []
    actions: List[Tuple[str, str]] = []

    async def on_new_message(message: UserMessage) -> None:
        reached.append(message)

    async def send_action(self, recipient_id: str, action: str) -> None:
        actions.append((recipient_id, action))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MessengerOutput, "send_action", send_action)
        asyncio.run(fb.handle(incoming, on_new_message))
    [message] = reached
    assert message.sender_id == f"messenger:{PSID}" and message.input_channel == "facebook"
    assert actions == [(f"messenger:{PSID}", action) for action in ("mark_seen", "typing_on", "typing_off")]


def test_the_turn_lock_is_keyed_on_the_namespaced_id():
    fb = channel()
    body = json.dumps(payload(event(PSID, message={"mid": "lk1", "text": "hi"}))).encode()
    _, _, [incoming], _ = receive(fb, body, sign("s", body))
    held: List[List[str]] = []

    async def on_new_message(message: UserMessage) -> None:
        held.append(list(fb._turns))

    async def send_action(self, recipient_id: str, action: str) -> None:
        pass

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MessengerOutput, "send_action", send_action)
        asyncio.run(fb.handle(incoming, on_new_message))
    assert held == [[f"messenger:{PSID}"]] and fb._turns == {}


@pytest.mark.parametrize("sender", ["user-1", "messenger:123", "rest:123", "12 34", "1" * 41, "١٢٣"])
def test_messages_from_ids_that_are_not_meta_ids_are_ignored_without_logging_the_id(caplog, sender):
    fb = channel()
    events = [event(sender, message={"mid": "bad1", "text": "hi"}), event(PSID, message={"mid": "ok1", "text": "yo"})]
    body = json.dumps(payload(*events)).encode()
    with caplog.at_level(logging.DEBUG, logger="bot.channels"):
        status, _, messages, _ = receive(fb, body, sign("s", body))
    assert status == 200 and [(m.sender_id, m.text) for m in messages] == [(PSID, "yo")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["facebook channel: 1 messages ignored, their sender id is not a Meta id"]
    assert sender not in caplog.text


def test_a_body_over_the_limit_gets_413_before_the_signature_check_or_parsing(caplog):
    assert 1000 * 1000 <= MAX_WEBHOOK_BYTES < 2 * 1000 * 1000  # Meta's batches fit; the 2 MB e2e POST does not
    fb = channel()
    message = {"mid": "big1", "text": "x" * MAX_WEBHOOK_BYTES}
    body = json.dumps(payload(event(PSID, message=message))).encode()
    with caplog.at_level(logging.WARNING, logger="bot.channels"):
        assert receive(fb, body, sign("s", body)) == (413, "payload too large", [], [])  # even validly signed
        assert receive(fb, body, None)[0] == 413
        assert receive(channel({}), body, None)[0] == 413
    assert "body over 1048576 bytes" in caplog.text
    # exactly at the limit: read (then refused for its signature, or handled)
    at_limit = b" " * (MAX_WEBHOOK_BYTES - len(BODY)) + BODY
    assert receive(fb, at_limit, sign("wrong", at_limit))[0] == 403
    assert receive(fb, at_limit, sign("s", at_limit)) == (200, "EVENT_RECEIVED", [], [])
    assert receive(fb, at_limit + b" ", sign("s", at_limit + b" "))[0] == 413


class FakeRequest:
    """What `read_body` uses of a Sanic request."""

    def __init__(self, body: bytes, declared: Optional[int], server_limit: int = 100_000_000) -> None:
        self.headers = {} if declared is None else {"content-length": str(declared)}
        self.app = SimpleNamespace(config=SimpleNamespace(REQUEST_MAX_SIZE=server_limit))
        self.stream = SimpleNamespace(request_max_size=float("inf"))  # Sanic lifts it for streaming handlers
        self.body = b""
        self._chunks = [body[i : i + 1000] for i in range(0, len(body), 1000)]
        self.read = 0

    async def receive_body(self) -> None:  # as Sanic reads: stops past the stream's limit
        for chunk in self._chunks:
            self.read += len(chunk)
            if self.read > self.stream.request_max_size:
                raise PayloadTooLarge("Request body exceeds the size limit")
            self.body += chunk


def test_the_webhook_reads_no_more_than_the_limit():
    big = b"x" * (MAX_WEBHOOK_BYTES + 1)
    declared = FakeRequest(big, declared=len(big))
    assert asyncio.run(read_body(declared)) is None and declared.read == 0  # refused before reading
    chunked = FakeRequest(big, declared=None)
    assert asyncio.run(read_body(chunked)) is None and chunked.read <= MAX_WEBHOOK_BYTES + 1000
    assert asyncio.run(read_body(FakeRequest(big[:-1], declared=MAX_WEBHOOK_BYTES))) == big[:-1]
    smaller_server_limit = FakeRequest(b"x" * 5000, declared=None, server_limit=4000)
    assert asyncio.run(read_body(smaller_server_limit)) is None


def test_verification():
    fb = channel()
    assert fb.verification({"hub.mode": "subscribe", "hub.verify_token": "v", "hub.challenge": "42"}) == (200, "42")
    assert fb.verification({"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "42"})[0] == 403


def test_channel_names_and_urls():
    assert MessengerInput.name() == "facebook" and InstagramInput.name() == "instagram"
    assert channel().url_prefix() == "facebook" and channel(cls=InstagramInput).url_prefix() == "instagram"
    assert channel().get_output_channel().name() == "facebook"
    assert channel(cls=InstagramInput).get_output_channel().name() == "instagram"
