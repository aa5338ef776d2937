"""End-to-end: signed Messenger / Instagram webhooks into the real `rasa run`, replies checked on the fake
Graph API (tests/fake_graph.py) and conversations checked in the tracker store.

Messages are handled in the background after the 200, one at a time per sender in delivery order. So
"nothing happened" is checked with a sentinel: a later message from the same sender whose reply and
tracker event must be the only ones there.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, List, Optional, Tuple, Union

import pytest

from bot.channels.webhook_auth import appsecret_proof, sign
from bot.message_limits import TOO_LONG
from tests.conftest import rest_send, texts
from tests.fake_graph import (
    TEST_API_VERSION,
    TEST_APP_SECRET,
    TEST_INSTAGRAM_TOKEN,
    TEST_MESSENGER_TOKEN,
    TEST_VERIFY_TOKEN,
)

pytestmark = pytest.mark.e2e

SIGNED = "signed"
OBJECT = {"facebook": "page", "instagram": "instagram"}
REFERRAL = "No referral needed"
GREETING = "automated assistant"


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().int % 10**15:015d}"


def now_ms() -> int:
    return int(time.time() * 1000)


def event(sender: str, account: str, **fields: Any) -> Dict[str, Any]:
    return {"sender": {"id": sender}, "recipient": {"id": account}, "timestamp": now_ms(), **fields}


def text(sender: str, account: str, words: str, mid: Optional[str] = None) -> Dict[str, Any]:
    return event(sender, account, message={"mid": mid or new_id("m_"), "text": words})


def webhook(platform: str, account: str, *events: Dict[str, Any], obj: Optional[str] = None) -> Dict[str, Any]:
    entry = {"id": account, "time": now_ms(), "messaging": list(events)}
    return {"object": obj or OBJECT[platform], "entry": [entry]}


def post(
    stack, platform: str, payload: Union[Dict[str, Any], bytes], signature: Optional[str] = SIGNED
) -> Tuple[int, str]:
    """POST a webhook, signed over the exact bytes sent unless another (or no) signature is given."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature == SIGNED:
        headers["X-Hub-Signature-256"] = sign(TEST_APP_SECRET, body)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    request = urllib.request.Request(f"{stack.rasa_url}/webhooks/{platform}/webhook", data=body, headers=headers)
    return _open(request)


def _open(request: urllib.request.Request) -> Tuple[int, str]:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def user_events(stack, sender: str) -> List[Dict[str, Any]]:
    with sqlite3.connect(stack.tracker_db) as conn:
        rows = conn.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id", (sender,)
        ).fetchall()
    return [json.loads(data) for (data,) in rows]


def all_events_json(stack, sender: str) -> str:
    with sqlite3.connect(stack.tracker_db) as conn:
        rows = conn.execute("SELECT data FROM events WHERE sender_id = ?", (sender,)).fetchall()
    return "\n".join(data for (data,) in rows)


def wait_user_events(stack, sender: str, count: int, timeout: float = 30) -> List[Dict[str, Any]]:
    """The sender's user events once there are at least `count` (the tracker is saved after the replies)."""
    deadline = time.monotonic() + timeout
    while True:
        found = user_events(stack, sender)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def reply_text(message: Dict[str, Any]) -> str:
    """The text of a Send API message, whether plain or a button template."""
    if "text" in message:
        return message["text"]
    return message["attachment"]["payload"]["text"]


def sentinel(stack, fake_graph, platform: str, sender: str, account: str, replies_before: int = 0) -> None:
    """Send "kia ora" from `sender` and wait for its reply and its tracker event."""
    assert post(stack, platform, webhook(platform, account, text(sender, account, "kia ora")))[0] == 200
    fake_graph.wait_for_messages(sender, replies_before + 1)
    wait_user_events(stack, sender, 1)


# -- handshake ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_verification_handshake(stack, platform):
    def verify(**params: str) -> Tuple[int, str]:
        query = urllib.parse.urlencode(params)
        return _open(urllib.request.Request(f"{stack.rasa_url}/webhooks/{platform}/webhook?{query}"))

    good = {"hub.mode": "subscribe", "hub.verify_token": TEST_VERIFY_TOKEN, "hub.challenge": "1158201444"}
    assert verify(**good) == (200, "1158201444")
    assert verify(**{**good, "hub.verify_token": "wrong"})[0] == 403
    assert verify(**{**good, "hub.mode": "unsubscribe"})[0] == 403
    assert verify(**{k: v for k, v in good.items() if k != "hub.verify_token"})[0] == 403


# -- valid messages ---------------------------------------------------------------------------------------


def test_messenger_text_is_answered_through_the_graph_api(stack, fake_graph):
    psid, page, mid = new_id("1"), new_id("9"), new_id("m_")
    status, body = post(stack, "facebook", webhook("facebook", page, text(psid, page, "do I need a GP referral?", mid)))
    assert (status, body) == (200, "EVENT_RECEIVED")
    [message] = fake_graph.wait_for_messages(psid, 1)
    assert REFERRAL in message["text"]
    requests = fake_graph.requests_to(psid)
    assert [r.sender_action or "message" for r in requests] == ["mark_seen", "typing_on", "message"]
    send = requests[-1]
    assert send.path == f"/{TEST_API_VERSION}/me/messages"
    assert send.query == {
        "access_token": TEST_MESSENGER_TOKEN,
        "appsecret_proof": appsecret_proof(TEST_MESSENGER_TOKEN, TEST_APP_SECRET),
    }
    assert send.body["messaging_type"] == "RESPONSE" and send.body["recipient"] == {"id": psid}
    [user] = wait_user_events(stack, psid, 1)
    assert user["input_channel"] == "facebook" and user["message_id"] == mid
    assert user["parse_data"]["intent"]["name"] == "faq_referral"
    expected = {"platform": "facebook", "kind": "text", "account_id": page}
    assert {key: user["metadata"].get(key) for key in expected} == expected


def test_an_over_long_message_gets_a_clear_answer_and_is_not_processed(stack, fake_graph):
    psid, page = new_id("1"), new_id("9")
    status, _ = post(stack, "facebook", webhook("facebook", page, text(psid, page, "my glute hurts " * 100)))
    assert status == 200
    [message] = fake_graph.wait_for_messages(psid, 1)
    assert reply_text(message) == TOO_LONG
    sentinel(stack, fake_graph, "facebook", psid, page, replies_before=1)  # the next message is answered
    assert [e["text"] for e in user_events(stack, psid)] == ["kia ora"]


def test_greeting_buttons_become_a_button_template_on_messenger(stack, fake_graph):
    psid, page = new_id("1"), new_id("9")
    assert post(stack, "facebook", webhook("facebook", page, text(psid, page, "kia ora")))[0] == 200
    [message] = fake_graph.wait_for_messages(psid, 1)
    template = message["attachment"]["payload"]
    assert template["template_type"] == "button" and GREETING in template["text"]
    payloads = [b["payload"] for b in template["buttons"]]
    assert payloads == ["/faq_referral", "/faq_acc_requirements", "/book_appointment"]


def test_quick_reply_payload_triggers_its_intent(stack, fake_graph):
    psid, page = new_id("1"), new_id("9")
    quick_reply = {"mid": new_id("m_"), "text": "Book a free consult", "quick_reply": {"payload": "/book_appointment"}}
    assert post(stack, "facebook", webhook("facebook", page, event(psid, page, message=quick_reply)))[0] == 200
    over_rest = rest_send(stack, f"rest-{psid}", "/book_appointment")  # the same as the website's button
    messages = fake_graph.wait_for_messages(psid, len(over_rest))
    assert [reply_text(m) for m in messages] == [m["text"] for m in over_rest]
    [user] = wait_user_events(stack, psid, 1)
    assert user["text"] == "/book_appointment" and user["parse_data"]["intent"]["name"] == "book_appointment"


def test_postback_payload_triggers_its_intent(stack, fake_graph):
    psid, page = new_id("1"), new_id("9")
    postback = {"mid": new_id("m_"), "title": "Do I need a referral?", "payload": "/faq_referral"}
    assert post(stack, "facebook", webhook("facebook", page, event(psid, page, postback=postback)))[0] == 200
    [message] = fake_graph.wait_for_messages(psid, 1)
    assert REFERRAL in message["text"]
    [user] = wait_user_events(stack, psid, 1)
    assert user["parse_data"]["intent"]["name"] == "faq_referral" and user["metadata"]["kind"] == "postback"


def test_image_attachment_gets_a_plain_words_answer_and_its_url_is_not_stored(stack, fake_graph):
    psid, page = new_id("1"), new_id("9")
    url = f"https://scontent.xx.fbcdn.net/v/photo-of-my-injury-{uuid.uuid4().hex}.jpg"
    image = {"mid": new_id("m_"), "attachments": [{"type": "image", "payload": {"url": url}}]}
    assert post(stack, "facebook", webhook("facebook", page, event(psid, page, message=image)))[0] == 200
    [message] = fake_graph.wait_for_messages(psid, 1)
    answer = reply_text(message)
    assert "can't open photos" in answer and "111" in answer
    [user] = wait_user_events(stack, psid, 1)
    assert user["parse_data"]["intent"]["name"] == "shared_attachment"
    assert user["metadata"]["attachment_types"] == ["image"]
    assert url not in all_events_json(stack, psid)


def test_instagram_story_mention(stack, fake_graph):
    igsid, account = new_id("2"), new_id("8")
    url = f"https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id={uuid.uuid4().int}"
    mention = {"mid": new_id("aWdf"), "attachments": [{"type": "story_mention", "payload": {"url": url}}]}
    assert post(stack, "instagram", webhook("instagram", account, event(igsid, account, message=mention)))[0] == 200
    [message] = fake_graph.wait_for_messages(igsid, 1)
    assert "mentioning Acute Acupuncture in your story" in message["text"]
    assert "messaging_type" not in fake_graph.requests_to(igsid)[-1].body
    assert fake_graph.requests_to(igsid)[-1].query["access_token"] == TEST_INSTAGRAM_TOKEN
    [user] = wait_user_events(stack, igsid, 1)
    assert user["input_channel"] == "instagram" and user["parse_data"]["intent"]["name"] == "story_mention"
    assert url not in all_events_json(stack, igsid)


def test_referral_answer_is_the_same_over_instagram_and_rest(stack, fake_graph):
    igsid, account = new_id("2"), new_id("8")
    question = "do I need a GP referral?"
    over_rest = texts(rest_send(stack, f"rest-{igsid}", question))
    assert post(stack, "instagram", webhook("instagram", account, text(igsid, account, question)))[0] == 200
    messages = fake_graph.wait_for_messages(igsid, 1)
    assert "\n".join(m["text"] for m in messages) == over_rest
    assert REFERRAL in over_rest
    # the conversation continues under the same IGSID
    story_reply = {
        "mid": new_id("aWdf"),
        "text": "can I see a physio at the same time?",
        "reply_to": {"story": {"url": "https://lookaside.fbsbx.com/story", "id": "1"}},
    }
    assert post(stack, "instagram", webhook("instagram", account, event(igsid, account, message=story_reply)))[0] == 200
    messages = fake_graph.wait_for_messages(igsid, 2)
    assert "physio" in messages[1]["text"]
    events = wait_user_events(stack, igsid, 2)
    assert [e["parse_data"]["intent"]["name"] for e in events] == ["faq_referral", "faq_other_treatment"]
    assert {e["input_channel"] for e in events} == {"instagram"} and events[1]["metadata"]["story_reply"] is True


def test_every_entry_and_every_event_of_a_batch(stack, fake_graph):
    first, second, page = new_id("1"), new_id("1"), new_id("9")
    batch = {
        "object": "page",
        "entry": [
            {
                "id": page,
                "time": now_ms(),
                "messaging": [text(first, page, "kia ora"), text(first, page, "do I need a GP referral?")],
            },
            {"id": page, "time": now_ms(), "messaging": [text(second, page, "can I see a physio at the same time?")]},
        ],
    }
    assert post(stack, "facebook", batch)[0] == 200
    first_replies = fake_graph.wait_for_messages(first, 2)
    assert GREETING in reply_text(first_replies[0]) and REFERRAL in reply_text(first_replies[1])  # in order
    assert "physio" in reply_text(fake_graph.wait_for_messages(second, 1)[0])
    assert len(wait_user_events(stack, first, 2)) == 2 and len(wait_user_events(stack, second, 1)) == 1


def test_retried_after_a_graph_server_error(stack, fake_graph):
    psid, page = new_id("1"), new_id("9")
    fake_graph.fail(psid, 500, {"message": "An unexpected error has occurred.", "code": 2, "is_transient": True})
    assert post(stack, "facebook", webhook("facebook", page, text(psid, page, "do I need a GP referral?")))[0] == 200
    [message] = fake_graph.wait_for_messages(psid, 1)
    assert REFERRAL in message["text"]
    assert [r.status for r in fake_graph.requests_to(psid) if r.message] == [500, 200]


# -- refused and ignored ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["missing header", "wrong secret", "other body", "sha1 header", "garbage"])
def test_bad_signature_is_refused_and_nothing_reaches_the_assistant(stack, fake_graph, case):
    psid, page = new_id("1"), new_id("9")
    body = json.dumps(webhook("facebook", page, text(psid, page, "do I need a GP referral?"))).encode()
    signature = {
        "missing header": None,
        "wrong secret": sign("not-the-app-secret", body),
        "other body": sign(TEST_APP_SECRET, body + b" "),
        "sha1 header": "sha1=" + sign(TEST_APP_SECRET, body)[7:47],
        "garbage": "sha256=not-hex",
    }[case]
    assert post(stack, "facebook", body, signature)[0] == 403
    sentinel(stack, fake_graph, "facebook", psid, page)
    [user] = user_events(stack, psid)
    assert user["text"] == "kia ora"
    assert len(fake_graph.messages_to(psid)) == 1


def test_wrong_object_is_refused(stack, fake_graph):
    psid, igsid, page = new_id("1"), new_id("2"), new_id("9")
    assert post(stack, "facebook", webhook("facebook", page, text(psid, page, "hello"), obj="instagram"))[0] == 400
    assert post(stack, "instagram", webhook("instagram", page, text(igsid, page, "hello"), obj="page"))[0] == 400
    assert post(stack, "facebook", webhook("facebook", page, text(psid, page, "hello"), obj="user"))[0] == 400
    sentinel(stack, fake_graph, "facebook", psid, page)
    sentinel(stack, fake_graph, "instagram", igsid, page)
    assert [e["text"] for e in user_events(stack, psid) + user_events(stack, igsid)] == ["kia ora", "kia ora"]


def test_echoes_of_text_and_images_are_ignored(stack, fake_graph):
    psid, page = new_id("1"), new_id("9")
    echo_text = event(page, psid, message={"mid": new_id("m_"), "is_echo": True, "app_id": 1, "text": "kia ora"})
    echo_image = event(
        page,
        psid,
        message={"mid": new_id("m_"), "is_echo": True, "attachments": [{"type": "image", "payload": {"url": "u"}}]},
    )
    status, _ = post(stack, "facebook", webhook("facebook", page, echo_text, echo_image, text(psid, page, "kia ora")))
    assert status == 200
    fake_graph.wait_for_messages(psid, 1)
    assert post(stack, "facebook", webhook("facebook", page, echo_text, echo_image))[0] == 200
    sentinel(stack, fake_graph, "facebook", psid, page, replies_before=1)
    assert len(wait_user_events(stack, psid, 2)) == 2  # the two "kia ora" of the user, not the echoes
    assert fake_graph.requests_to(page) == [] and user_events(stack, page) == []
    assert len(fake_graph.messages_to(psid)) == 2


def test_duplicate_delivery_is_processed_once(stack, fake_graph):
    psid, page = new_id("1"), new_id("9")
    body = json.dumps(webhook("facebook", page, text(psid, page, "do I need a GP referral?"))).encode()
    assert post(stack, "facebook", body)[0] == 200
    assert post(stack, "facebook", body)[0] == 200  # Meta redelivers the same mid
    fake_graph.wait_for_messages(psid, 1)
    sentinel(stack, fake_graph, "facebook", psid, page, replies_before=1)
    events = wait_user_events(stack, psid, 2)
    assert [e["parse_data"]["intent"]["name"] for e in events] == ["faq_referral", "greet"]
    assert len(fake_graph.messages_to(psid)) == 2


def test_standby_reads_reactions_deletions_and_changes_are_ignored(stack, fake_graph):
    psid, igsid, page = new_id("1"), new_id("2"), new_id("9")
    standby_only = {"object": "page", "entry": [{"id": page, "time": now_ms(), "standby": [text(psid, page, "hi")]}]}
    assert post(stack, "facebook", standby_only)[0] == 200
    noise = webhook(
        "facebook",
        page,
        event(psid, page, read={"watermark": now_ms()}),
        event(psid, page, delivery={"mids": [new_id("m_")], "watermark": now_ms()}),
        event(psid, page, reaction={"mid": new_id("m_"), "action": "react", "reaction": "love", "emoji": "❤"}),
        event(psid, page, message={"mid": new_id("m_"), "is_deleted": True}),
    )
    assert post(stack, "facebook", noise)[0] == 200
    changes_only = {
        "object": "instagram",
        "entry": [{"id": page, "time": now_ms(), "changes": [{"field": "comments", "value": {"text": "nice"}}]}],
    }
    assert post(stack, "instagram", changes_only)[0] == 200
    seen = webhook("instagram", page, event(igsid, page, messaging_seen={"mid": new_id("aWdf")}))
    assert post(stack, "instagram", seen)[0] == 200
    sentinel(stack, fake_graph, "facebook", psid, page)
    sentinel(stack, fake_graph, "instagram", igsid, page)
    assert [e["text"] for e in user_events(stack, psid) + user_events(stack, igsid)] == ["kia ora", "kia ora"]
    assert len(fake_graph.messages_to(psid)) == 1 and len(fake_graph.messages_to(igsid)) == 1
