"""Unit tests for the Meta channels' pure parts: signature and handshake, event parsing, de-duplication,
settings, and the framework-free webhook handling of the input channel."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any, Dict

import pytest

from bot.channels import webhook_auth
from bot.channels.events import AFFIRM, SHARED_ATTACHMENT, STORY_MENTION, parse_webhook
from bot.channels.instagram import INSTAGRAM, InstagramInput
from bot.channels.messenger import MESSENGER, MessengerInput
from bot.channels.recent_ids import RecentIds
from bot.channels.settings import ChannelSettings
from bot.channels.webhook_auth import appsecret_proof, sign, signature_is_valid, subscription_challenge

SECRET = "unit-test-secret"
BODY = b'{"object":"page","entry":[]}'


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
            event(reaction={"mid": "m1", "action": "react", "reaction": "love"}),
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


def channel(env: Dict[str, str] = ENV, cls=MessengerInput):
    return cls(ChannelSettings.load(cls.platform, None, env))


def test_without_an_app_secret_every_webhook_is_refused():
    locked = channel({})
    body = json.dumps(payload(event(message={"mid": "n1", "text": "hi"}))).encode()
    for signature in (None, sign("", body), sign("anything", body)):
        assert locked.receive(body, signature) == (403, "forbidden", [])
    assert locked.verification({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"})[0] == 403


def test_receive_checks_signature_object_and_duplicates():
    fb = channel()
    body = json.dumps(payload(event(message={"mid": "r1", "text": "hi"}))).encode()
    assert fb.receive(body, None)[0] == 403
    assert fb.receive(body, sign("wrong", body))[0] == 403
    status, _, messages = fb.receive(body, sign("s", body))
    assert status == 200 and [m.text for m in messages] == ["hi"]
    assert fb.receive(body, sign("s", body)) == (200, "EVENT_RECEIVED", [])  # redelivery
    wrong_object = json.dumps(payload(event(message={"mid": "r2", "text": "hi"}), obj="instagram")).encode()
    assert fb.receive(wrong_object, sign("s", wrong_object))[0] == 400
    ig = channel(cls=InstagramInput)
    assert ig.receive(body, sign("s", body))[0] == 400  # a Page payload on the Instagram webhook
    assert fb.receive(b"not json", sign("s", b"not json"))[0] == 400


def test_verification():
    fb = channel()
    assert fb.verification({"hub.mode": "subscribe", "hub.verify_token": "v", "hub.challenge": "42"}) == (200, "42")
    assert fb.verification({"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "42"})[0] == 403


def test_channel_names_and_urls():
    assert MessengerInput.name() == "facebook" and InstagramInput.name() == "instagram"
    assert channel().url_prefix() == "facebook" and channel(cls=InstagramInput).url_prefix() == "instagram"
    assert channel().get_output_channel().name() == "facebook"
    assert channel(cls=InstagramInput).get_output_channel().name() == "instagram"
