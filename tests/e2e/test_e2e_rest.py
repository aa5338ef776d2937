"""End-to-end over REST against the real `rasa run` and action server."""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from bot.channels.sender_ids import REST, namespaced
from tests.conftest import rest_send, texts

pytestmark = pytest.mark.e2e


def ask(stack, message: str, sender: str = "") -> str:
    return texts(rest_send(stack, sender or f"e2e-{uuid.uuid4().hex[:8]}", message))


def test_referral_is_not_needed(stack):
    answer = ask(stack, "do I need a GP referral?")
    assert "No referral needed" in answer


def test_physio_at_the_same_time(stack):
    answer = ask(stack, "can I see a physio at the same time?")
    assert answer.startswith("Yes") and "physio" in answer


@pytest.mark.parametrize(
    "message",
    [
        "since I fell on my bum I can't control my bladder",
        "my glute hurts and I have numbness in my groin",
        "I have chest pain",
        "i think i broke my hip when i fell off the ladder",
    ],
)
def test_red_flags_get_urgent_care_advice(stack, message):
    answer = ask(stack, message)
    assert "111" in answer and "0800 611 116" in answer


def test_nonsense_gets_the_fallback(stack):
    messages = rest_send(stack, "e2e-nonsense", "blorp fizzwang quxx zzzt")
    assert "didn't quite understand" in texts(messages)
    assert messages[-1].get("buttons"), "the fallback offers the main topics as buttons"


def test_greeting_says_it_is_automated(stack):
    assert "automated assistant" in ask(stack, "kia ora")


def test_bot_challenge(stack):
    assert "automated assistant" in ask(stack, "am I talking to a bot?")


def test_unknown_clinic_fact_is_not_invented(stack):
    answer = ask(stack, "how much does a treatment cost?")
    assert "don't have the clinic's prices" in answer and "163 The Terrace" in answer


def test_conversation_survives_a_restart(stack):
    """Conversations are kept in the SQLite tracker store, so a restart of Rasa loses nothing."""
    sender = "e2e-restart"
    assert "No referral needed" in ask(stack, "do i need a referral from my doctor", sender)
    db = stack.tracker_db
    with sqlite3.connect(db) as conn:
        query = "SELECT COUNT(*) FROM events WHERE sender_id = ?"
        before = conn.execute(query, (namespaced(REST, sender),)).fetchone()[0]
    assert before > 0
    stack.stop_one("rasa")
    stack.start_rasa()
    stack.wait_ready(timeout=600)
    assert "physio" in ask(stack, "can i still see my physio", sender)
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT type_name, intent_name FROM events WHERE sender_id = ? ORDER BY id", (namespaced(REST, sender),)
        ).fetchall()
    intents = [intent for kind, intent in rows if kind == "user"]
    assert intents == ["faq_referral", "faq_other_treatment"]
    assert len(rows) > before
