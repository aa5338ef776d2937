"""Unit tests for text splitting and button mapping (bot/channels/formatting.py)."""

from __future__ import annotations

import re

import pytest

from bot.channels.formatting import (
    DEFAULT_PROMPT,
    INSTAGRAM_LIMITS,
    MESSENGER_LIMITS,
    build_generic_template,
    build_messages,
    split_text,
    text_length,
    trim_title,
)


def sentences(count: int) -> str:
    """`count` numbered sentences of 50 characters each (plus a space between them)."""
    return " ".join(f"Sentence {i:03d} is about acupuncture for glutes here." for i in range(count))


def test_short_text_is_one_part():
    assert split_text("  No referral needed.  ", 2000) == ["No referral needed."]
    assert split_text("", 2000) == []


@pytest.mark.parametrize("limit", [2000, 1000])
def test_long_text_splits_on_sentence_boundaries(limit):
    text = sentences(50)[:2500].rsplit(".", 1)[0] + "."  # about 2500 characters, ends with a full stop
    parts = split_text(text, limit)
    assert 2400 < len(text) <= 2500 and len(parts) == (2 if limit == 2000 else 3)
    assert all(0 < len(part) <= limit for part in parts)
    assert all(part.endswith(".") for part in parts), "every part ends at the end of a sentence"
    assert " ".join(parts) == text


def test_line_breaks_are_boundaries_too():
    text = "A" * 30 + "\n" + "B" * 30
    assert split_text(text, 40) == ["A" * 30, "B" * 30]


def test_words_when_a_sentence_is_too_long_and_a_hard_cut_when_a_word_is():
    text = " ".join(["word"] * 30)  # 149 characters, no sentence end
    parts = split_text(text, 50)
    assert all(len(p) <= 50 for p in parts) and " ".join(parts) == text
    assert all(not p.startswith(" ") and not p.endswith(" ") for p in parts)
    assert split_text("x" * 120, 50) == ["x" * 50, "x" * 50, "x" * 20]


def test_lengths_are_utf16_code_units():
    assert text_length("ā") == 1 and text_length("🙂") == 2
    parts = split_text("🙂" * 30, 20)
    assert [len(p) for p in parts] == [10, 10, 10]
    assert all(text_length(p) <= 20 for p in parts)


def test_trim_title():
    assert trim_title("Book a free consult", 20) == "Book a free consult"
    assert trim_title("What can you help with?", 20) == "What can you help…"
    assert trim_title("Supercalifragilisticexpialidocious", 20) == "Supercalifragilisti…"
    assert trim_title("Do I need a GP referral?", 20) == "Do I need a GP…"
    assert all(len(trim_title(f"Option number {i} with a long title", 20)) <= 20 for i in range(20))


BUTTONS = [
    {"title": "Do I need a referral?", "payload": "/faq_referral"},
    {"title": "ACC", "payload": "/faq_acc_requirements"},
    {"title": "Book a free consult", "payload": "/book_appointment"},
]


def test_up_to_three_buttons_make_a_button_template_on_messenger():
    [message] = build_messages("Kia ora!", BUTTONS, MESSENGER_LIMITS)
    template = message["attachment"]["payload"]
    assert message["attachment"]["type"] == "template" and template["template_type"] == "button"
    assert template["text"] == "Kia ora!"
    assert [b["payload"] for b in template["buttons"]] == [b["payload"] for b in BUTTONS]
    assert all(b["type"] == "postback" and len(b["title"]) <= 20 for b in template["buttons"])


def test_quick_replies_when_preferred_or_when_the_template_does_not_fit():
    [on_instagram] = build_messages("Kia ora!", BUTTONS, INSTAGRAM_LIMITS, prefer_template=False)
    assert on_instagram["text"] == "Kia ora!"
    assert [q["payload"] for q in on_instagram["quick_replies"]] == [b["payload"] for b in BUTTONS]
    assert on_instagram["quick_replies"][0] == {
        "content_type": "text",
        "title": "Do I need a referra…",
        "payload": "/faq_referral",
    }
    long_text = "x" * 700  # over the template's 640 characters
    [message] = build_messages(long_text, BUTTONS, MESSENGER_LIMITS)
    assert message["text"] == long_text and len(message["quick_replies"]) == 3
    handoff = {"title": "Talk to a person", "payload": "/human_handoff"}
    four = build_messages("Pick one", [*BUTTONS, handoff], MESSENGER_LIMITS)
    assert "attachment" not in four[0] and len(four[0]["quick_replies"]) == 4


def test_twenty_buttons_are_trimmed_to_thirteen_quick_replies():
    buttons = [{"title": f"Option number {i} with a long title", "payload": f"/choice{i}"} for i in range(20)]
    [message] = build_messages("Choose:", buttons, MESSENGER_LIMITS)
    replies = message["quick_replies"]
    assert len(replies) == 13
    assert [q["payload"] for q in replies] == [f"/choice{i}" for i in range(13)]
    assert all(0 < len(q["title"]) <= 20 for q in replies)


def test_quick_replies_go_on_the_last_part_of_a_long_text():
    text = sentences(50)
    messages = build_messages(text, BUTTONS, INSTAGRAM_LIMITS, prefer_template=False)
    assert len(messages) >= 3 and all(len(m["text"]) <= 1000 for m in messages)
    assert ["quick_replies" in m for m in messages] == [False] * (len(messages) - 1) + [True]


def test_link_buttons_and_unusable_buttons():
    buttons = [
        {"title": "Website", "url": "https://example.org/book"},
        {"title": "ACC", "payload": "/faq_acc_requirements"},
    ]
    [template] = build_messages("Book online:", buttons, MESSENGER_LIMITS)
    kinds = [b["type"] for b in template["attachment"]["payload"]["buttons"]]
    assert kinds == ["postback", "web_url"]
    [text] = build_messages("Book online:", buttons, INSTAGRAM_LIMITS, prefer_template=False)
    assert text["text"] == "Book online:\nWebsite: https://example.org/book"
    assert [q["payload"] for q in text["quick_replies"]] == ["/faq_acc_requirements"]
    dropped = [{"title": "", "payload": "/x"}, {"title": "No payload"}, {"title": "Huge", "payload": "/" + "x" * 1000}]
    assert build_messages("Hi", dropped, MESSENGER_LIMITS) == [{"text": "Hi"}]


def test_buttons_without_text_get_a_prompt():
    [message] = build_messages(None, BUTTONS, MESSENGER_LIMITS, prefer_template=False)
    assert message["text"] == DEFAULT_PROMPT and len(message["quick_replies"]) == 3


def test_generic_template_limits():
    elements = [
        {"title": "T" * 100, "subtitle": "s", "buttons": [{"title": f"B{i}", "payload": "/x"} for i in range(5)]}
        for _ in range(12)
    ]
    cards = build_generic_template(elements, MESSENGER_LIMITS)["attachment"]["payload"]["elements"]
    assert len(cards) == 10 and all(len(c["title"]) <= 80 and len(c["buttons"]) == 3 for c in cards)
    assert all(b["type"] == "postback" for b in cards[0]["buttons"])
    assert re.fullmatch(r"T+…", cards[0]["title"])
