"""The limit on a message's length (bot/channels/message_limits.py): unit checks, then over REST against `rasa run`."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels.message_limits import MAX_MESSAGE_CHARS, TOO_LONG, limited, too_long
from bot.channels.sender_ids import REST, namespaced
from tests.conftest import rest_send, texts


def test_limit_is_inclusive_and_only_for_text():
    assert not too_long("x" * MAX_MESSAGE_CHARS) and too_long("x" * (MAX_MESSAGE_CHARS + 1))
    assert not too_long(None) and "111" in TOO_LONG and "0800 611 116" in TOO_LONG


def test_limited_answers_instead_of_processing():
    handled = []

    async def on_new_message(message: UserMessage) -> None:
        handled.append(message.text)

    async def send(text: str) -> list:
        output = CollectingOutputChannel()
        await limited(on_new_message)(UserMessage(text, output, "patient"))
        return output.messages

    assert asyncio.run(send("hello")) == [] and handled == ["hello"]
    assert asyncio.run(send("y" * 5000)) == [{"recipient_id": "patient", "text": TOO_LONG}]
    assert handled == ["hello"]


def test_widget_input_has_the_same_limit():
    widget = (Path(__file__).resolve().parents[2] / "web_widget" / "src" / "widget.js").read_text()
    assert f"const MAX_CHARS = {MAX_MESSAGE_CHARS};" in widget and "maxlength: String(MAX_CHARS)" in widget


@pytest.mark.e2e
def test_over_long_message_mid_form_loses_nothing(stack):
    """In the middle of the ACC check: a clear answer, nothing stored, and the check carries on."""
    sender = f"long-{uuid.uuid4().hex[:8]}"
    assert "date of your injury" in texts(rest_send(stack, sender, "am I covered by ACC?"))
    long = "It started when I was running and " * 60
    assert texts(rest_send(stack, sender, long)) == TOO_LONG
    assert "Got it: injury on" in texts(rest_send(stack, sender, "three weeks ago"))
    with sqlite3.connect(stack.tracker_db) as db:
        query = "SELECT data FROM events WHERE sender_id = ?"
        stored = [row[0] for row in db.execute(query, (namespaced(REST, sender),))]
    assert stored and not any("It started when I was running" in data for data in stored)
