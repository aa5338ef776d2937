"""End-to-end: signed Messenger / Instagram webhooks into the real `rasa run`, replies checked on the fake
Graph API (tests/support/fake_graph.py) and conversations checked in the tracker store.

Messages are handled in the background after the 200, one at a time per sender in delivery order. So
"nothing happened" is checked with a sentinel: a later message from the same sender whose reply and
tracker event must be the only ones there.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import pytest

from bot.channels.message_limits import TOO_LONG
from bot.channels.messenger import MessengerInput
from bot.channels.meta import MAX_WEBHOOK_BYTES
from bot.channels.recent_ids import SeenMessages
from bot.channels.sender_ids import INSTAGRAM, MESSENGER, namespaced
from bot.channels.settings import ChannelSettings
from bot.channels.webhook_auth import appsecret_proof, sign
from tests.conftest import rest_send, texts
from tests.support import raw_http
from tests.support.fake_graph import (
    TEST_API_VERSION,
    TEST_APP_SECRET,
    TEST_INSTAGRAM_TOKEN,
    TEST_MESSENGER_TOKEN,
    TEST_VERIFY_TOKEN,
    meta_env,
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


def fb(psid: str) -> str:
    """A Messenger user's conversation id in Rasa (and in the tracker store)."""
    return namespaced(MESSENGER, psid)


def ig(igsid: str) -> str:
    """An Instagram user's conversation id in Rasa (and in the tracker store)."""
    return namespaced(INSTAGRAM, igsid)


def conversation(platform: str, user: str) -> str:
    return fb(user) if platform == "facebook" else ig(user)


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
    wait_user_events(stack, conversation(platform, sender), 1)


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
    [user] = wait_user_events(stack, fb(psid), 1)
    assert user["input_channel"] == "facebook" and user["message_id"] == mid
    assert user["parse_data"]["intent"]["name"] == "faq_referral"
    expected = {"platform": "facebook", "kind": "text", "account_id": page}
    assert {key: user["metadata"].get(key) for key in expected} == expected
    assert user_events(stack, psid) == []  # the conversation is "messenger:<PSID>", never the bare PSID


def test_an_over_long_message_gets_a_clear_answer_and_is_not_processed(stack, fake_graph):
    psid, page = new_id("1"), new_id("9")
    status, _ = post(stack, "facebook", webhook("facebook", page, text(psid, page, "my glute hurts " * 100)))
    assert status == 200
    [message] = fake_graph.wait_for_messages(psid, 1)
    assert reply_text(message) == TOO_LONG
    sentinel(stack, fake_graph, "facebook", psid, page, replies_before=1)  # the next message is answered
    assert [e["text"] for e in user_events(stack, fb(psid))] == ["kia ora"]


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
    [user] = wait_user_events(stack, fb(psid), 1)
    assert user["text"] == "/book_appointment" and user["parse_data"]["intent"]["name"] == "book_appointment"


def test_postback_payload_triggers_its_intent(stack, fake_graph):
    psid, page = new_id("1"), new_id("9")
    postback = {"mid": new_id("m_"), "title": "Do I need a referral?", "payload": "/faq_referral"}
    assert post(stack, "facebook", webhook("facebook", page, event(psid, page, postback=postback)))[0] == 200
    [message] = fake_graph.wait_for_messages(psid, 1)
    assert REFERRAL in message["text"]
    [user] = wait_user_events(stack, fb(psid), 1)
    assert user["parse_data"]["intent"]["name"] == "faq_referral" and user["metadata"]["kind"] == "postback"


def test_image_attachment_gets_a_plain_words_answer_and_its_url_is_not_stored(stack, fake_graph):
    psid, page = new_id("1"), new_id("9")
    url = f"https://scontent.xx.fbcdn.net/v/photo-of-my-injury-{uuid.uuid4().hex}.jpg"
    image = {"mid": new_id("m_"), "attachments": [{"type": "image", "payload": {"url": url}}]}
    assert post(stack, "facebook", webhook("facebook", page, event(psid, page, message=image)))[0] == 200
    [message] = fake_graph.wait_for_messages(psid, 1)
    answer = reply_text(message)
    assert "can't open photos" in answer and "111" in answer
    [user] = wait_user_events(stack, fb(psid), 1)
    assert user["parse_data"]["intent"]["name"] == "shared_attachment"
    assert user["metadata"]["attachment_types"] == ["image"]
    assert url not in all_events_json(stack, fb(psid))


def test_instagram_story_mention(stack, fake_graph):
    igsid, account = new_id("2"), new_id("8")
    url = f"https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id={uuid.uuid4().int}"
    mention = {"mid": new_id("aWdf"), "attachments": [{"type": "story_mention", "payload": {"url": url}}]}
    assert post(stack, "instagram", webhook("instagram", account, event(igsid, account, message=mention)))[0] == 200
    [message] = fake_graph.wait_for_messages(igsid, 1)
    assert "mentioning Acute Acupuncture in your story" in message["text"]
    assert "messaging_type" not in fake_graph.requests_to(igsid)[-1].body
    assert fake_graph.requests_to(igsid)[-1].query["access_token"] == TEST_INSTAGRAM_TOKEN
    [user] = wait_user_events(stack, ig(igsid), 1)
    assert user["input_channel"] == "instagram" and user["parse_data"]["intent"]["name"] == "story_mention"
    assert url not in all_events_json(stack, ig(igsid))


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
    events = wait_user_events(stack, ig(igsid), 2)
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
    assert len(wait_user_events(stack, fb(first), 2)) == 2 and len(wait_user_events(stack, fb(second), 1)) == 1


def event_count(stack, conversation_id: str) -> int:
    with sqlite3.connect(stack.tracker_db) as conn:
        return conn.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (conversation_id,)).fetchone()[0]


def stable_event_count(stack, conversation_id: str, timeout: float = 10) -> int:
    """The number of stored events once it stops changing (the tracker is saved after the replies go out)."""
    deadline, last = time.monotonic() + timeout, -1
    while True:
        count = event_count(stack, conversation_id)
        if count == last or time.monotonic() > deadline:
            return count
        last = count
        time.sleep(0.5)


def test_the_same_id_over_rest_does_not_reach_the_messenger_conversation(stack, fake_graph):
    psid, page = new_id("1"), new_id("9")
    assert post(stack, "facebook", webhook("facebook", page, text(psid, page, "am I covered by ACC?")))[0] == 200
    asked = fake_graph.wait_for_messages(psid, 1)
    assert "date of your injury" in reply_text(asked[-1])  # the ACC check's form is waiting for an answer
    wait_user_events(stack, fb(psid), 1)
    stored = stable_event_count(stack, fb(psid))
    assert stored > 1

    # the same raw id over REST (or the website) is another conversation: not the form's next step
    over_rest = texts(rest_send(stack, psid, "three weeks ago"))
    assert "Got it: injury on" not in over_rest
    assert event_count(stack, fb(psid)) == stored  # nothing added to the Messenger conversation
    assert len(fake_graph.messages_to(psid)) == len(asked)  # and nothing sent to the Messenger user

    # the Messenger conversation itself is where it was: the answer continues the form
    assert post(stack, "facebook", webhook("facebook", page, text(psid, page, "three weeks ago")))[0] == 200
    replies = fake_graph.wait_for_messages(psid, len(asked) + 1)
    assert "Got it: injury on" in "\n".join(reply_text(m) for m in replies[len(asked) :])


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
    [user] = user_events(stack, fb(psid))
    assert user["text"] == "kia ora"
    assert len(fake_graph.messages_to(psid)) == 1


def test_wrong_object_is_refused(stack, fake_graph):
    psid, igsid, page = new_id("1"), new_id("2"), new_id("9")
    assert post(stack, "facebook", webhook("facebook", page, text(psid, page, "hello"), obj="instagram"))[0] == 400
    assert post(stack, "instagram", webhook("instagram", page, text(igsid, page, "hello"), obj="page"))[0] == 400
    assert post(stack, "facebook", webhook("facebook", page, text(psid, page, "hello"), obj="user"))[0] == 400
    sentinel(stack, fake_graph, "facebook", psid, page)
    sentinel(stack, fake_graph, "instagram", igsid, page)
    assert [e["text"] for e in user_events(stack, fb(psid)) + user_events(stack, ig(igsid))] == ["kia ora", "kia ora"]


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
    assert len(wait_user_events(stack, fb(psid), 2)) == 2  # the two "kia ora" of the user, not the echoes
    assert fake_graph.requests_to(page) == [] and user_events(stack, fb(page)) == []
    assert len(fake_graph.messages_to(psid)) == 2


def test_duplicate_delivery_is_processed_once(stack, fake_graph):
    psid, page = new_id("1"), new_id("9")
    body = json.dumps(webhook("facebook", page, text(psid, page, "do I need a GP referral?"))).encode()
    assert post(stack, "facebook", body)[0] == 200
    assert post(stack, "facebook", body)[0] == 200  # Meta redelivers the same mid
    fake_graph.wait_for_messages(psid, 1)
    sentinel(stack, fake_graph, "facebook", psid, page, replies_before=1)
    events = wait_user_events(stack, fb(psid), 2)
    assert [e["parse_data"]["intent"]["name"] for e in events] == ["faq_referral", "greet"]
    assert len(fake_graph.messages_to(psid)) == 2


def test_a_delivery_is_remembered_in_the_conversations_database(stack, fake_graph):
    """What the server handled, another Rasa process (or the server after a restart) refuses as a redelivery."""
    psid, page = new_id("1"), new_id("9")
    body = json.dumps(webhook("facebook", page, text(psid, page, "do I need a GP referral?"))).encode()
    assert post(stack, "facebook", body)[0] == 200
    fake_graph.wait_for_messages(psid, 1)
    another_process = MessengerInput(
        ChannelSettings.load(MessengerInput.platform, None, meta_env(fake_graph.url)),
        seen=SeenMessages(stack.tracker_db_url()),
    )
    assert asyncio.run(another_process.receive(body, sign(TEST_APP_SECRET, body))) == (200, "EVENT_RECEIVED", [], [])
    # and the other way round: a message another process took is not handled by the server
    taken = json.dumps(webhook("facebook", page, text(psid, page, "can I see a physio at the same time?"))).encode()
    assert len(asyncio.run(another_process.receive(taken, sign(TEST_APP_SECRET, taken)))[2]) == 1
    assert post(stack, "facebook", taken)[0] == 200
    sentinel(stack, fake_graph, "facebook", psid, page, replies_before=1)
    assert [e["text"] for e in wait_user_events(stack, fb(psid), 2)] == ["do I need a GP referral?", "kia ora"]
    another_process.seen.close()


def big_webhook(psid: str, page: str, size: int) -> bytes:
    """A webhook whose one message makes the body `size` bytes long."""
    head = json.dumps(webhook("facebook", page, text(psid, page, "PAD"))).encode()
    pad = (b"pain " * (size // 5 + 1))[: size - len(head) + len(b"PAD")]
    return head.replace(b"PAD", pad)


def post_raw(stack, headers: Dict[str, str], body: Union[bytes, Iterator[bytes]]) -> int:
    """POST to the Messenger webhook over a raw connection; the status, even if the server stops reading."""
    return raw_http.post_raw(stack.rasa_url, "/webhooks/facebook/webhook", headers, body)


def test_a_body_over_the_limit_gets_413_and_nothing_reaches_the_assistant(stack, fake_graph):
    psid, page = new_id("1"), new_id("9")
    body = big_webhook(psid, page, 2 * 1000 * 1000)  # 2 MB, validly signed
    assert len(body) == 2_000_000 > MAX_WEBHOOK_BYTES and json.loads(body)
    signed = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(TEST_APP_SECRET, body)}
    assert post_raw(stack, {**signed, "Content-Length": str(len(body))}, body) == 413
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    chunked = (b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)  # no Content-Length
    assert post_raw(stack, {**signed, "Transfer-Encoding": "chunked"}, itertools.chain(chunked, [b"0\r\n\r\n"])) == 413
    assert post(stack, "facebook", body)[0] == 413  # as urllib sends it
    # just under the limit: read and handled (an over-long message: the clear answer)
    under = big_webhook(psid, page, MAX_WEBHOOK_BYTES)
    assert post(stack, "facebook", under)[0] == 200
    [answer] = fake_graph.wait_for_messages(psid, 1)
    assert reply_text(answer) == TOO_LONG
    sentinel(stack, fake_graph, "facebook", psid, page, replies_before=1)
    assert [e["text"] for e in user_events(stack, fb(psid))] == ["kia ora"]


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
    assert [e["text"] for e in user_events(stack, fb(psid)) + user_events(stack, ig(igsid))] == ["kia ora", "kia ora"]
    assert len(fake_graph.messages_to(psid)) == 1 and len(fake_graph.messages_to(igsid)) == 1
