"""Live takeover over the real `rasa run` + action server (bot/channels/staff.py): a widget conversation over a
python-socketio client and a Messenger conversation through signed webhooks and the fake Graph API are taken over,
the patient's messages get no reply from the assistant (and are stored), staff messages reach the patient, a red
flag still gets the urgent-care answer at once, and after the hand-back the assistant answers again. Also the
attacks (no or wrong token, unknown conversation, ...), the console's client against the real routes, and nginx
keeping /webhooks/staff/ private.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.sender_ids import WEB, namespaced
from bot.processes.production import nginx_config
from bot.responses import DOMAIN, response_text
from bot.staff.takeover import Delivery, TakeoverClient, TakeoverUnavailable
from tests.conftest import OUTPUT, free_port, rest_send, texts
from tests.e2e.test_meta_channels import post, text, wait_user_events, webhook
from tests.e2e.test_socketio_channel import Client, event_rows, wait_for

pytestmark = pytest.mark.e2e

REFERRAL = "do I need a GP referral?"
NO_REFERRAL = "No referral needed"
PHYSIO = "can I see a physio at the same time?"
RED_FLAG = "I have chest pain"
URGENT = "may need urgent medical care"
JOINED = response_text("utter_staff_joined", staff_name="Aroha")
LEFT = response_text("utter_staff_left", staff_name="Aroha")
HOUR = 3600.0


# -- helpers ------------------------------------------------------------------------------------------------


def staff_post(
    stack, route: str, body: Any, token: Optional[str] = "", headers: Optional[Dict[str, str]] = None
) -> Tuple[int, Dict[str, Any]]:
    """POST a staff route of the real Rasa server; token "" = the stack's own, None = no Authorization."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token or stack.staff_token}"
    request = urllib.request.Request(f"{stack.rasa_url}/webhooks/staff/{route}", data=data, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 (loopback)
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, {"raw": raw.decode(errors="replace")}


def who(sender_id: str, **more: Any) -> Dict[str, Any]:
    return {"sender_id": sender_id, "staff_name": "Aroha", **more}


def stored(stack, sender_id: str) -> List[Tuple[str, Dict[str, Any]]]:
    """(type_name, event) of every stored event of the conversation, in order."""
    return [(kind, json.loads(data)) for _, kind, data in event_rows(stack, sender_id)]


def staff_events(stack, sender_id: str) -> List[Tuple[str, Any]]:
    """The takeover's own events: pause/resume and the staff BotUttered (text, metadata)."""
    found = []
    for kind, event in stored(stack, sender_id):
        if kind in ("pause", "resume"):
            found.append((kind, None))
        elif kind == "bot" and "staff" in (event.get("metadata") or {}):
            found.append(("staff", (event["text"], event["metadata"])))
    return found


def user_texts(stack, sender_id: str) -> List[str]:
    return [event["text"] for kind, event in stored(stack, sender_id) if kind == "user"]


def wait_stored_user_text(stack, sender_id: str, words: str, timeout: float = 30) -> None:
    assert wait_for(lambda: words in user_texts(stack, sender_id), timeout), user_texts(stack, sender_id)


def answers_with(client: Client, words: str, since: int) -> List[Dict[str, Any]]:
    return [a for a in client.answers[since:] if words in a.get("text", "")]


# -- the widget --------------------------------------------------------------------------------------------


def test_widget_conversation_taken_over_and_handed_back(stack):
    session = uuid.uuid4().hex
    sender = namespaced(WEB, session)
    patient = Client(stack.rasa_url, stack.allowed_origins()[0])
    try:
        assert patient.join(session) == session
        patient.say(REFERRAL, session, expect=NO_REFERRAL)

        # taken over: the patient is told, by first name
        heard = len(patient.answers)
        status, answer = staff_post(stack, "takeover", who(sender))
        assert (status, answer) == (200, {"delivered": True, "channel": "web", "reason": None, "paused": True})
        assert "Aroha" in JOINED and "paused" in JOINED
        assert wait_for(lambda: answers_with(patient, JOINED, heard), 10), patient.answers[heard:]
        # again: nothing sent, nothing stored
        assert staff_post(stack, "takeover", who(sender)) == (
            200,
            {"delivered": False, "channel": "web", "reason": "already_paused", "paused": True},
        )

        # an ordinary message: stored, no reply from the assistant
        heard = len(patient.answers)
        patient.say(PHYSIO, session)
        wait_stored_user_text(stack, sender, PHYSIO)  # stored after any reply would have been emitted
        assert not wait_for(lambda: patient.answers[heard:], 2), patient.answers[heard:]

        # the staff member's message reaches the socket
        status, answer = staff_post(stack, "message", who(sender, text="Kia ora, I'm here. Yes you can."))
        assert (status, answer["delivered"], answer["paused"]) == (200, True, True)
        assert wait_for(lambda: answers_with(patient, "Kia ora, I'm here", heard), 10)

        # a red flag: the urgent-care answer at once, and the conversation stays paused
        heard = len(patient.answers)
        patient.say(RED_FLAG, session, expect=URGENT)
        patient.say("ok thanks", session)
        wait_stored_user_text(stack, sender, "ok thanks")
        assert not wait_for(lambda: answers_with(patient, "Take care", heard), 2), patient.answers[heard:]
        assert [a["text"] for a in patient.answers[heard:]] == [response_text("utter_red_flag")]
        assert staff_post(stack, "takeover", who(sender))[1]["reason"] == "already_paused"

        # handed back: the patient is told, and the assistant answers again
        heard = len(patient.answers)
        status, answer = staff_post(stack, "handback", who(sender))
        assert (status, answer) == (200, {"delivered": True, "channel": "web", "reason": None, "paused": False})
        assert wait_for(lambda: answers_with(patient, LEFT, heard), 10)
        patient.say(REFERRAL, session, expect=NO_REFERRAL)
        assert staff_post(stack, "handback", who(sender))[1]["reason"] == "not_paused"
        assert staff_post(stack, "message", who(sender, text="still there?")) == (
            409,
            {"error": "the conversation is not taken over", "paused": False},
        )
    finally:
        patient.close()

    assert staff_events(stack, sender) == [
        ("pause", None),
        ("staff", (JOINED, {"staff": "Aroha", "notice": "joined", "delivered": True})),
        ("staff", ("Kia ora, I'm here. Yes you can.", {"staff": "Aroha", "delivered": True})),
        ("staff", (LEFT, {"staff": "Aroha", "notice": "left", "delivered": True})),
        ("resume", None),
    ]
    assert user_texts(stack, sender) == [REFERRAL, PHYSIO, RED_FLAG, "ok thanks", REFERRAL]
    bots = [event["text"] for kind, event in stored(stack, sender) if kind == "bot"]
    assert bots.count(response_text("utter_red_flag")) == 1 and not any("Take care" in b for b in bots)


def test_a_widget_with_no_socket_open_is_reported_and_the_message_still_stored(stack):
    session = uuid.uuid4().hex
    sender = namespaced(WEB, session)
    patient = Client(stack.rasa_url, stack.allowed_origins()[0])
    try:
        patient.join(session)
        patient.say(REFERRAL, session, expect=NO_REFERRAL)
    finally:
        patient.close()
    time.sleep(1)  # the server has taken the closed socket out of its room
    assert staff_post(stack, "takeover", who(sender)) == (
        200,
        {"delivered": False, "channel": "web", "reason": "not_connected", "paused": True},
    )
    status, answer = staff_post(stack, "message", who(sender, text="Are you still there?"))
    assert (status, answer) == (200, {"delivered": False, "channel": "web", "reason": "not_connected", "paused": True})
    assert staff_events(stack, sender)[-1] == (
        "staff",
        ("Are you still there?", {"staff": "Aroha", "delivered": False, "reason": "not_connected"}),
    )
    # the patient comes back (the widget keeps its session id): the staff member is still there
    patient = Client(stack.rasa_url, stack.allowed_origins()[0])
    try:
        patient.join(session)
        heard = len(patient.answers)
        assert staff_post(stack, "message", who(sender, text="Welcome back"))[1]["delivered"] is True
        assert wait_for(lambda: answers_with(patient, "Welcome back", heard), 10)
    finally:
        patient.close()
        staff_post(stack, "handback", who(sender))


# -- Messenger ---------------------------------------------------------------------------------------------


def new_psid() -> str:
    return f"1{uuid.uuid4().int % 10**15:015d}"


def messenger_says(stack, psid: str, page: str, words: str) -> None:
    assert post(stack, "facebook", webhook("facebook", page, text(psid, page, words)))[0] == 200


def sends(fake_graph, psid: str) -> List[Tuple[str, Optional[str], Optional[str]]]:
    """(text, messaging_type, tag) of every message the Send API got for the user."""
    found = []
    for sent in fake_graph.sends_to(psid):
        message = sent.message or {}
        words = message.get("text") or message.get("attachment", {}).get("payload", {}).get("text", "")
        found.append((words, sent.messaging_type, sent.tag))
    return found


def test_messenger_conversation_taken_over_and_handed_back(stack, fake_graph):
    psid, page = new_psid(), new_psid()
    sender = f"messenger:{psid}"
    messenger_says(stack, psid, page, REFERRAL)
    fake_graph.wait_for_messages(psid, 1)
    wait_user_events(stack, sender, 1)

    status, answer = staff_post(stack, "takeover", who(sender))
    assert (status, answer) == (200, {"delivered": True, "channel": "messenger", "reason": None, "paused": True})
    assert sends(fake_graph, psid)[-1] == (JOINED, "RESPONSE", None)

    # an ordinary message: handled (typing indicator off, nothing said), stored
    messenger_says(stack, psid, page, PHYSIO)
    fake_graph.wait_for_actions(psid, "typing_off")
    assert len(wait_user_events(stack, sender, 2)) == 2
    assert len(sends(fake_graph, psid)) == 2

    status, answer = staff_post(stack, "message", who(sender, text="Yes you can, I'll note it."))
    assert (status, answer["delivered"]) == (200, True)
    assert sends(fake_graph, psid)[-1] == ("Yes you can, I'll note it.", "RESPONSE", None)

    # a red flag: the urgent-care answer at once; still paused
    messenger_says(stack, psid, page, RED_FLAG)
    fake_graph.wait_for_messages(psid, 4)
    assert sends(fake_graph, psid)[-1] == (response_text("utter_red_flag"), "RESPONSE", None)
    messenger_says(stack, psid, page, "ok thanks")
    fake_graph.wait_for_actions(psid, "typing_off", count=2)
    assert len(sends(fake_graph, psid)) == 4

    status, answer = staff_post(stack, "handback", who(sender))
    assert (status, answer) == (200, {"delivered": True, "channel": "messenger", "reason": None, "paused": False})
    assert sends(fake_graph, psid)[-1] == (LEFT, "RESPONSE", None)
    messenger_says(stack, psid, page, REFERRAL)
    fake_graph.wait_for_messages(psid, 6)
    assert NO_REFERRAL in sends(fake_graph, psid)[-1][0]
    assert [kind for kind, _ in staff_events(stack, sender)] == ["pause", "staff", "staff", "staff", "resume"]


def store_old_conversation(stack, psid: str, age: float) -> str:
    """A Messenger conversation whose patient last wrote `age` seconds ago, stored as Rasa stores one (Rasa's own
    SQLTrackerStore on the stack's database; the Rasa process has never seen it, so reads it from there)."""
    sender = f"messenger:{psid}"
    then = time.time() - age
    events = [
        ActionExecuted("action_session_start", timestamp=then),
        SessionStarted(timestamp=then),
        ActionExecuted("action_listen", timestamp=then),
        UserUttered(REFERRAL, {"name": "faq_referral", "confidence": 1.0}, timestamp=then, input_channel="facebook"),
        ActionExecuted("utter_faq_referral", timestamp=then + 1),
        BotUttered(response_text("utter_faq_referral"), timestamp=then + 1),
        ActionExecuted("action_listen", timestamp=then + 1),
    ]
    store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=stack.tracker_db)
    try:
        asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
    finally:
        store.engine.dispose()
    return sender


def test_messenger_after_24_hours_uses_the_human_agent_tag_and_after_7_days_sends_nothing(stack, fake_graph):
    psid, page = new_psid(), new_psid()
    sender = store_old_conversation(stack, psid, 30 * HOUR)

    status, answer = staff_post(stack, "takeover", who(sender))
    assert (status, answer["delivered"]) == (200, True)
    assert sends(fake_graph, psid) == [(JOINED, "MESSAGE_TAG", "HUMAN_AGENT")]
    staff_post(stack, "message", who(sender, text="Sorry for the slow reply."))
    assert sends(fake_graph, psid)[-1] == ("Sorry for the slow reply.", "MESSAGE_TAG", "HUMAN_AGENT")

    # the patient answers 30 hours after their last message: still taken over (no new session), no reply, and
    # from now on the standard window again
    messenger_says(stack, psid, page, "no worries, thanks")
    fake_graph.wait_for_actions(psid, "typing_off")
    assert len(wait_user_events(stack, sender, 2)) == 2
    kinds = [kind for kind, _ in stored(stack, sender)]
    assert kinds.count("session_started") == 1, kinds  # Rasa alone would have started a new session (unpaused)
    assert len(sends(fake_graph, psid)) == 2
    staff_post(stack, "message", who(sender, text="Great, see you Tuesday."))
    assert sends(fake_graph, psid)[-1] == ("Great, see you Tuesday.", "RESPONSE", None)
    staff_post(stack, "handback", who(sender))
    assert sends(fake_graph, psid)[-1] == (LEFT, "RESPONSE", None)

    # 8 days: nothing may be sent; what staff wrote is stored with why it did not go
    late = new_psid()
    late_sender = store_old_conversation(stack, late, 8 * 24 * HOUR)
    status, answer = staff_post(stack, "takeover", who(late_sender))
    assert (status, answer) == (
        200,
        {"delivered": False, "channel": "messenger", "reason": "outside_window", "paused": True},
    )
    assert fake_graph.requests_to(late) == []
    assert staff_events(stack, late_sender)[-1] == (
        "staff",
        (JOINED, {"staff": "Aroha", "notice": "joined", "delivered": False, "reason": "outside_window"}),
    )
    staff_post(stack, "handback", who(late_sender))


# -- REST, the console's client, attacks ----------------------------------------------------------------------


def test_rest_has_no_live_channel_but_is_paused_and_stored(stack):
    sender = f"takeover-{uuid.uuid4().hex[:8]}"
    rest_send(stack, sender, REFERRAL)
    conversation = f"rest:{sender}"
    assert staff_post(stack, "takeover", who(conversation)) == (
        200,
        {"delivered": False, "channel": "rest", "reason": "no_live_channel", "paused": True},
    )
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": PHYSIO}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 (loopback)
        assert json.loads(answer.read()) == []  # paused: no reply from the assistant
    assert "may need urgent" in texts(rest_send(stack, sender, RED_FLAG))
    staff_post(stack, "handback", who(conversation))
    assert NO_REFERRAL in texts(rest_send(stack, sender, REFERRAL))


def test_the_consoles_client_against_the_real_routes(stack):
    sender = f"client-{uuid.uuid4().hex[:8]}"
    rest_send(stack, sender, REFERRAL)
    conversation = f"rest:{sender}"
    client = TakeoverClient(stack.rasa_url, stack.staff_token)

    async def calls() -> List[Delivery]:
        return [
            await client.take_over(conversation, "Aroha"),
            await client.send(conversation, "Aroha", "Hello"),
            await client.hand_back(conversation, "Aroha"),
            await client.send(conversation, "Aroha", "Hello?"),
            await client.take_over("rest:nobody-" + uuid.uuid4().hex, "Aroha"),
            await client.send(conversation, "Aroha Smith", "Hi"),
        ]

    deliveries = asyncio.run(calls())
    assert deliveries[:3] == [
        Delivery(False, "rest", "no_live_channel", 200, True),
        Delivery(False, "rest", "no_live_channel", 200, True),
        Delivery(False, "rest", "no_live_channel", 200, False),
    ]
    assert [(d.reason, d.status) for d in deliveries[3:]] == [
        ("not_taken_over", 409),
        ("unknown_conversation", 404),
        ("invalid", 400),
    ]
    with pytest.raises(TakeoverUnavailable, match="401"):
        asyncio.run(TakeoverClient(stack.rasa_url, "not-the-token").take_over(conversation, "Aroha"))


def test_without_the_token_nothing_is_done_or_stored(stack):
    sender = f"attack-{uuid.uuid4().hex[:8]}"
    rest_send(stack, sender, REFERRAL)
    conversation = f"rest:{sender}"
    before = stored(stack, conversation)
    for route in ("takeover", "message", "handback", "relay"):
        for token, headers in (
            (None, {}),
            ("wrong", {}),
            (stack.staff_token[:-1], {}),
            (None, {"Authorization": "Bearer "}),
            (None, {"Authorization": f"bearer {stack.staff_token}"}),
            (None, {"Authorization": f"Basic {stack.staff_token}"}),
            (None, {"Cookie": f"token={stack.staff_token}"}),
        ):
            status, answer = staff_post(stack, route, who(conversation, text="hi"), token=token, headers=headers)
            assert (status, answer) == (401, {"error": "unauthorized"}), (route, token, headers)
    # the token in the query string does not count either
    url = f"{stack.rasa_url}/webhooks/staff/takeover?token={stack.staff_token}"
    request = urllib.request.Request(url, data=json.dumps(who(conversation)).encode())
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 (loopback)
    assert refused.value.code == 401
    assert stored(stack, conversation) == before
    assert rest_send(stack, sender, REFERRAL)  # not paused: the assistant still answers


def test_requests_the_routes_do_not_take(stack):
    sender = f"bad-{uuid.uuid4().hex[:8]}"
    rest_send(stack, sender, REFERRAL)
    conversation = f"rest:{sender}"
    before = stored(stack, conversation)
    unknown = f"web:{uuid.uuid4().hex}"
    assert staff_post(stack, "takeover", who(unknown)) == (404, {"error": "no conversation with that id"})
    assert stored(stack, unknown) == []  # not created by asking
    assert staff_post(stack, "message", who(conversation, text="hi"))[0] == 409  # not taken over
    assert staff_post(stack, "takeover", b"not json")[0] == 400
    assert staff_post(stack, "takeover", who(conversation, staff_name="Aroha Smith"))[0] == 400
    assert staff_post(stack, "takeover", {"sender_id": conversation})[0] == 400
    assert staff_post(stack, "takeover", b'{"sender_id": "' + b"x" * 20_000 + b'"}')[0] == 413
    assert staff_post(stack, "relay", {"sender_id": conversation, "text": "hi"})[0] == 400  # only web: conversations
    assert stored(stack, conversation) == before
    # a message over the limit, to a conversation taken over: refused, only the takeover stored
    staff_post(stack, "takeover", who(conversation))
    assert staff_post(stack, "message", who(conversation, text="x" * 1001))[0] == 400
    staff_post(stack, "handback", who(conversation))
    assert [kind for kind, _ in staff_events(stack, conversation)] == ["pause", "staff", "staff", "resume"]


def test_nothing_staff_write_reaches_the_log(stack):
    marker = f"Marker{uuid.uuid4().hex[:10]}"
    name = "Zanzibarette"
    sender = f"log-{uuid.uuid4().hex[:8]}"
    rest_send(stack, sender, REFERRAL)
    conversation = f"rest:{sender}"
    staff_post(stack, "takeover", {"sender_id": conversation, "staff_name": name})
    staff_post(stack, "message", {"sender_id": conversation, "staff_name": name, "text": f"private {marker}"})
    staff_post(stack, "handback", {"sender_id": conversation, "staff_name": name})
    time.sleep(0.5)
    log = (OUTPUT / "logs" / "rasa.log").read_text(errors="replace")
    # Rasa's DEBUG lines of these requests are there (the lock taken for the conversation) ...
    assert log.count(f"Deleted lock for conversation '{conversation}'") >= 4
    assert marker not in log and name not in log  # ... never what staff wrote, nor who


# -- nginx keeps the staff routes private -------------------------------------------------------------------


@pytest.fixture()
def nginx_in_front() -> Iterator[Tuple[str, List[str]]]:
    """The production nginx configuration in front of a recording upstream: (nginx URL, paths the upstream got)."""
    if not shutil.which("nginx"):
        pytest.skip("needs nginx (scripts/system_deps.sh)")
    reached: List[str] = []

    class Upstream(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            reached.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        do_GET = do_POST = _answer  # noqa: N815

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    workdir = Path(tempfile.mkdtemp(prefix="staff-nginx-"))
    port = free_port()
    (workdir / "nginx.conf").write_text(nginx_config(workdir, "127.0.0.1", port, [upstream.server_address[1]]))
    nginx = subprocess.Popen(
        ["nginx", "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: _status(f"{url}/webhooks/rest/") == 200, 20), nginx.stderr
        reached.clear()
        yield url, reached
    finally:
        nginx.terminate()
        nginx.wait(10)
        upstream.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)


def _status(url: str, data: Optional[bytes] = None) -> Optional[int]:
    request = urllib.request.Request(url, data=data, headers={"Authorization": "Bearer whatever"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (loopback)
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def test_the_public_nginx_never_passes_a_staff_route(nginx_in_front):
    url, reached = nginx_in_front
    body = json.dumps({"sender_id": "web:" + "0" * 32, "staff_name": "Aroha"}).encode()
    for path in (
        "/webhooks/staff/takeover",
        "/webhooks/staff/message",
        "/webhooks/staff/handback",
        "/webhooks/staff/relay",
        "/webhooks//staff/takeover",
        "/webhooks/./staff/takeover",
        "/webhooks/rest/../staff/takeover",
        "/webhooks/staff%2Ftakeover",
        "/webhooks/%73taff/takeover",
        "/webhooks/staff/takeover?x=1",
    ):
        assert _status(url + path, body) == 404, path
        assert _status(url + path) == 404, path
    assert reached == []  # none reached a Rasa process
    assert _status(f"{url}/webhooks/rest/webhook", body) == 200  # the rest still goes through
    assert reached == ["/webhooks/rest/webhook"]
