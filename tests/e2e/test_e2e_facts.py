"""End-to-end: the facts of domain/facts.yml (slots nothing sets) reach the patient whatever the conversation did.

Rasa fills `{emergency_number}`, `{healthline_number}` and `{clinic_address}` from the tracker's slots, so
they must survive what resets or rebuilds slots: a new session, `/restart`, "forget me" (the conversation is
deleted and starts again), and a conversation longer than the tracker store's window (bot/storage/
tracker_window.py hands Rasa a snapshot of the slots before the window).
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
import uuid

import pytest

from bot.channels.sender_ids import REST, namespaced
from bot.storage.tracker_window import WINDOW_TURNS
from tests.conftest import rest_send, texts

pytestmark = pytest.mark.e2e

RED_FLAG = "I have chest pain"
NUMBERS = ("call 111 now", "Healthline on 0800 611 116")
ADDRESS = "Acute Acupuncture is at 163 The Terrace, Wellington Central, Wellington."


def send_command(stack, sender: str, command: str) -> None:
    """POST a command ("/restart") that gets no reply, so `rest_send` would call it a failure."""
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": command}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
        assert response.status == 200


def events(stack, sender: str, type_name: str) -> int:
    with sqlite3.connect(stack.tracker_db) as conn:
        query = "SELECT COUNT(*) FROM events WHERE sender_id = ? AND type_name = ?"
        return conn.execute(query, (namespaced(REST, sender), type_name)).fetchone()[0]


def assert_facts(stack, sender: str) -> None:
    urgent = texts(rest_send(stack, sender, RED_FLAG))
    assert all(number in urgent for number in NUMBERS) and "{" not in urgent, urgent
    assert ADDRESS in texts(rest_send(stack, sender, "where is the clinic?"))


def test_facts_in_a_new_conversation_a_new_session_and_after_a_restart(stack):
    sender = f"facts-{uuid.uuid4().hex[:8]}"
    assert_facts(stack, sender)
    send_command(stack, sender, "/session_start")
    assert events(stack, sender, "session_started") == 2
    assert_facts(stack, sender)
    send_command(stack, sender, "/restart")
    assert events(stack, sender, "restart") == 1
    assert_facts(stack, sender)


def test_facts_after_forget_me(stack):
    sender = f"facts-{uuid.uuid4().hex[:8]}"
    rest_send(stack, sender, "please delete my data")
    assert "I've deleted this conversation" in texts(rest_send(stack, sender, "yes"))
    time.sleep(1)  # the second deletion pass runs once Rasa has saved the turn
    assert_facts(stack, sender)


def test_facts_beyond_the_tracker_window(stack):
    sender = f"facts-{uuid.uuid4().hex[:8]}"
    for _ in range(WINDOW_TURNS + 2):
        rest_send(stack, sender, "do I need a GP referral?")
    assert_facts(stack, sender)


def test_action_responses_quote_the_facts(stack):
    """Responses sent by custom actions get the facts from the tracker's slots too."""
    sender = f"facts-{uuid.uuid4().hex[:8]}"
    booking = rest_send(stack, sender, "I'd like to book an appointment")
    assert "163 The Terrace" in texts(booking) and booking[-1]["buttons"][-1]["payload"] == "/request_contact"
    for message in ("yes", "Aroha Ngata"):
        rest_send(stack, sender, message)
    done = texts(rest_send(stack, sender, "021 123 4567"))
    assert "call Healthline on 0800 611 116, or 111 in an emergency" in done, done
