"""The unknown-words fallback (bot/nlu/unknown_words.py)."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.unknown_words import UnknownWordsFallback, unknown_share

VOCAB = {"do", "i", "need", "a", "referral", "acupuncture", "help", "my", "glute", "hello"}


@pytest.mark.parametrize(
    "text, share",
    [
        ("do i need a referral", 0.0),
        ("do i need a referal", 0.0),
        ("acupunture", 0.0),
        ("blorp fizzwang", 1.0),
        ("blorp acupuncture", 0.5),
        ("", 0.0),
        ("1234 ???", 0.0),
    ],
)
def test_unknown_share(text, share):
    assert unknown_share(text, VOCAB) == share


def process(text):
    component = UnknownWordsFallback({}, None, None, VOCAB)
    message = Message(data={TEXT: text})
    message.set("intent", {"name": "affirm", "confidence": 0.91})
    message.set("intent_ranking", [{"name": "affirm", "confidence": 0.91}])
    component.process([message])
    return message


def test_nonsense_goes_to_the_fallback():
    message = process("blorp fizzwang quxx zzzt")
    assert message.get("intent")["name"] == "nlu_fallback"
    assert message.get("intent_ranking")[1]["name"] == "affirm"


def test_known_words_keep_their_intent():
    assert process("hello, can acupuncture help my glute").get("intent")["name"] == "affirm"
