"""Private by default, against the real servers (issue #10): each attack here worked before.

- the action server: bound to loopback, 401 and nothing runs without the shared secret;
- every server the stack starts listens on 127.0.0.1 only;
- REST: bad bodies get 400/415 (not 500, not a shared "default" conversation), a `text/plain` POST from
  another site is refused, a sender can never name another channel's conversation;
- body limits: a huge body is refused before it is read; odd Unicode gets an answer, not a traceback.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
import uuid
from typing import Dict, Optional, Tuple

import psutil
import pytest

from bot.channels.sender_ids import REST, WEB, namespaced
from bot.processes.request_limits import ACTION_SERVER_MAX_BYTES, RASA_MAX_BYTES
from tests.conftest import rest_send, texts
from tests.support.raw_http import post_raw

pytestmark = pytest.mark.e2e


def _request(
    url: str, body: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None, method: str = "POST"
) -> Tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _events(stack, conversation_id: str) -> int:
    with sqlite3.connect(stack.tracker_db) as conn:
        return conn.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (conversation_id,)).fetchone()[0]


def _all_events(stack) -> int:
    with sqlite3.connect(stack.tracker_db) as conn:
        return conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def _forged_action_call(sender_id: str, action: str) -> bytes:
    return json.dumps(
        {
            "next_action": action,
            "sender_id": sender_id,
            "tracker": {"sender_id": sender_id, "slots": {}, "events": []},
            "domain": {},
            "version": "3.6.21",
        }
    ).encode()


def test_action_server_refuses_a_forged_forget_me_without_the_secret(stack):
    sender = f"victim-{uuid.uuid4().hex[:8]}"
    rest_send(stack, sender, "do i need a referral")
    victim = namespaced(REST, sender)
    before = _events(stack, victim)
    assert before > 0
    url = f"{stack.action_url}/webhook"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": stack.action_token}):
        status, _ = _request(
            url, _forged_action_call(victim, "action_forget_me"), {"Content-Type": "application/json", **headers}
        )
        assert status == 401, headers
    assert _events(stack, victim) == before  # nothing was deleted
    assert _request(f"{stack.action_url}/actions", method="GET")[0] == 401  # the list of actions is private too
    status, body = _request(
        f"{stack.action_url}/actions", headers={"Authorization": f"Bearer {stack.action_token}"}, method="GET"
    )
    assert status == 200 and "action_forget_me" in body.decode()  # the secret is what makes the difference
    assert _request(f"{stack.action_url}/health", method="GET")[0] == 200  # readiness probe, runs nothing


def test_action_server_body_limit(stack):
    big = b'{"next_action": "' + b"x" * (ACTION_SERVER_MAX_BYTES + 10) + b'"}'
    status, _ = _request(
        f"{stack.action_url}/webhook",
        big,
        {"Authorization": f"Bearer {stack.action_token}", "Content-Type": "application/json"},
    )
    assert status == 413


def test_every_server_listens_on_loopback_only(stack):
    pids = {process.pid for process in stack.processes.values()}
    listening = [
        conn for conn in psutil.net_connections(kind="inet") if conn.status == psutil.CONN_LISTEN and conn.pid in pids
    ]
    ports = {conn.laddr.port for conn in listening}
    assert {stack.rasa_port, stack.action_port, stack.web_port} <= ports, listening
    assert {conn.laddr.ip for conn in listening} == {"127.0.0.1"}, listening


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"", "application/json", 400),
        (b"[]", "application/json", 400),
        (b"null", "application/json", 400),
        (b"{not json", "application/json", 400),
        (b'{"message": "hi"}', "application/json", 400),  # no sender: no shared "default" conversation
        (b'{"sender": "", "message": "hi"}', "application/json", 400),
        (b'{"sender": "messenger:1234567890", "message": "hi"}', "application/json", 400),
        (b'{"sender": "me", "message": 42}', "application/json", 400),
        (b'{"sender": "me", "message": "hi", "metadata": []}', "application/json", 400),
        (b'{"sender": "me", "message": "delete my data"}', "text/plain", 415),  # a cross-site "simple" POST
        (b"sender=me&message=hi", "application/x-www-form-urlencoded", 415),
    ],
)
def test_rest_refuses_bad_bodies_clearly_and_stores_nothing(stack, body, content_type, status):
    before = _all_events(stack)
    got, answer = _request(f"{stack.rasa_url}/webhooks/rest/webhook", body, {"Content-Type": content_type})
    assert got == status and "error" in json.loads(answer)
    assert _all_events(stack) == before


def test_rest_sender_cannot_reach_a_website_conversation(stack):
    """A widget visitor's session id sent as a REST sender lands in a separate `rest:` conversation."""
    session = uuid.uuid4().hex
    rest_send(stack, session, "hello")
    assert _events(stack, namespaced(REST, session)) > 0
    assert _events(stack, namespaced(WEB, session)) == 0 and _events(stack, session) == 0


def test_rasa_refuses_a_huge_body_before_reading_it(stack):
    process = psutil.Process(stack.processes["rasa"].pid)
    rss_before = process.memory_info().rss
    body = b"x" * (RASA_MAX_BYTES + 1)
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    assert post_raw(stack.rasa_url, "/webhooks/rest/webhook", headers, body) == 413
    assert process.memory_info().rss - rss_before < 50 * 1024 * 1024
    assert texts(rest_send(stack, f"after-{uuid.uuid4().hex[:6]}", "do i need a referral"))  # still answering


@pytest.mark.parametrize("odd", ["\ud83d", "hi \ud83d\ude00 \udc00 there", "nul \x00 byte", "e\u0301 \u202e tab\tok"])
def test_odd_unicode_gets_an_answer_not_a_traceback(stack, odd):
    log = stack.log_dir / "rasa.log"
    tracebacks_before = log.read_text(errors="replace").count("Traceback")
    body = json.dumps({"sender": f"odd-{uuid.uuid4().hex[:6]}", "message": odd}).encode()  # "\ud83d" as JSON escapes
    status, answer = _request(f"{stack.rasa_url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"})
    assert status == 200 and json.loads(answer), answer
    assert log.read_text(errors="replace").count("Traceback") == tracebacks_before
