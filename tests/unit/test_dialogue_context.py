"""Unit tests of the conversation context (bot/dialogue/): offers, short replies, back-outs, urgent advice,
ACC details in an opening message, other body parts, and messages with several questions."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any, Dict, List, Optional

import pytest

from bot.clinic.acc_details import acc_details_in, find_claim_status
from bot.dialogue.context import resolve
from bot.dialogue.offers import OFFERS, offer_metadata, pending_offer
from bot.dialogue.questions import candidate_parts, split_questions
from bot.dialogue.short_replies import (
    DONT_KNOW,
    NO,
    YES,
    backs_out,
    is_acceptance,
    is_refusal,
    says_dont_know,
    yes_no_answer,
)

TODAY = date(2026, 11, 28)


def parse(text: str, intent: str, confidence: float = 0.9) -> Dict[str, Any]:
    return {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": []}


def bot(text: str = "...", **tags: Any) -> Dict[str, Any]:
    return {"event": "bot", "text": text, "metadata": {"metadata": tags} if tags else {"utter_action": "utter_x"}}


def user(text: str = "hi") -> Dict[str, Any]:
    return {"event": "user", "text": text}


def intent_after(events: List[Dict[str, Any]], text: str, intent: str, loop: Optional[str] = None) -> str:
    return resolve(parse(text, intent), events, loop, TODAY)["intent"]["name"]


@pytest.mark.parametrize(
    "text",
    ["yes", "Yep!", "ok", "go on then", "sounds good", "ae", "yes book it", "sweet as", "please", "yes please do"],
)
def test_acceptances(text: str) -> None:
    assert is_acceptance(text) and not is_refusal(text)


@pytest.mark.parametrize("text", ["no thanks", "nah", "not now", "yeah nah", "all good", "maybe later", "nope"])
def test_refusals(text: str) -> None:
    assert is_refusal(text) and not is_acceptance(text)


@pytest.mark.parametrize(
    "text",
    ["yes, and do I need a referral?", "ok ringing 111 now", "no tingling", "okay so what", "ok thx", "cool cheers"],
)
def test_longer_messages_are_not_bare_yes_or_no(text: str) -> None:
    assert not is_acceptance(text) and not is_refusal(text)


@pytest.mark.parametrize(
    "text, intent, answer",
    [
        ("yes", "affirm", YES),
        ("/affirm", "affirm", YES),
        ("yep it's approved", "inform", YES),
        ("sure", None, YES),
        ("no", "deny", NO),
        ("not yet", "affirm", NO),  # the words win over the classifier
        ("still pending", "inform", NO),
        ("no idea", "deny", DONT_KNOW),
        ("/dont_know", "dont_know", DONT_KNOW),
        ("skip", "inform", DONT_KNOW),
        ("banana", "out_of_scope", None),
    ],
)
def test_answers_to_a_yes_no_question(text: str, intent: Optional[str], answer: Optional[str]) -> None:
    assert yes_no_answer(intent, text) == answer
    assert says_dont_know(intent, text) == (answer == DONT_KNOW)


@pytest.mark.parametrize(
    "text", ["never mind", "nah leave it, I'll sort ACC later", "forget it", "nah don't worry about it", "cancel that"]
)
def test_back_outs(text: str) -> None:
    assert backs_out(text)


@pytest.mark.parametrize("text", ["hang on, it's not approved yet", "sorry, I mean it was the 3rd of June", "Aroha"])
def test_not_back_outs(text: str) -> None:
    assert not backs_out(text)


def test_the_offer_is_the_last_replys_only() -> None:
    events = [user(), bot(offer="acc_check"), user("no"), bot("No worries")]
    assert pending_offer(events) is None
    assert pending_offer([user(), bot(offer="acc_check"), bot("and")]) == "acc_check"
    # a custom action's reply is tagged the same way (rasa_sdk passes the keyword through to the event)
    assert pending_offer([user(), {"event": "bot", "metadata": offer_metadata("contact")}]) == "contact"
    with pytest.raises(ValueError):
        offer_metadata("a pony")


@pytest.mark.parametrize("offer", sorted(OFFERS))
def test_yes_to_an_offer_asks_for_it(offer: str) -> None:
    events = [user(), bot(offer=offer)]
    resolved = resolve(parse("go on then", "affirm"), events, None, TODAY)
    assert resolved["intent"]["name"] == OFFERS[offer].intent
    assert {e["entity"]: e["value"] for e in resolved["entities"]} == OFFERS[offer].entities
    assert resolved["context"]["original_intent"] == "affirm"


def test_no_to_an_offer_is_declined_and_yes_alone_stays_yes() -> None:
    assert intent_after([user(), bot(offer="free_consult")], "all good", "affirm") == "deny"
    assert intent_after([user(), bot(offer="free_consult")], "yeah nah", "affirm") == "deny"
    assert intent_after([user(), bot()], "yes", "affirm") == "affirm"  # nothing offered: the neutral reply


def test_inside_a_form_only_backing_out_changes_the_intent() -> None:
    events = [user(), bot(offer="acc_check")]
    assert intent_after(events, "nah leave it, I'll sort ACC later", "deny", loop="acc_eligibility_form") == "stop"
    assert intent_after(events, "yes", "affirm", loop="acc_eligibility_form") == "affirm"  # an answer, not the offer


def test_after_urgent_advice_acknowledgements_get_a_kind_word() -> None:
    events = [user(), bot(context="urgent")]
    assert intent_after(events, "ok ringing 111 now", "inform") == "urgent_followup"
    assert intent_after(events, "ok", "affirm") == "urgent_followup"
    assert intent_after(events, "do I need a referral?", "faq_referral") == "faq_referral"  # a question is answered
    assert intent_after([user(), bot()], "ok ringing 111 now", "inform") == "inform"


def test_emergencies_and_buttons_are_never_rewritten() -> None:
    events = [user(), bot(offer="acc_check")]
    assert intent_after(events, "yes but now I can't feel my legs", "red_flag") == "red_flag"
    assert intent_after(events, "/affirm", "affirm") == "affirm"


def test_acc_details_in_an_opening_message_ask_for_the_check() -> None:
    text = "hi can u check my acc, hurt my glute 2 weeks back, claim is approved, acc45 12345AB"
    details = acc_details_in(text, TODAY)
    assert (details.claim_status, details.acc45, details.count()) == ("approved", "12345AB", 3)
    assert intent_after([], text, "faq_acc45") == "check_acc_eligibility"
    assert intent_after([], "what's an acc45?", "faq_acc45") == "faq_acc45"
    assert intent_after([], "my claim was approved, do I need a referral?", "faq_referral") == "faq_referral"


@pytest.mark.parametrize("intent", ["nlu_fallback", "inform", "faq_acc_eligibility"])
def test_a_dated_injury_with_acc_named_asks_for_the_check(intent: str) -> None:
    """No made-up ACC45 ("2026 and") is needed any more for this to start the check: the date and the word ACC."""
    text = "am i eligible for acc? i hurt my glute on 15 October 2026 and it still hurts"
    assert acc_details_in(text, TODAY).acc45 is None
    assert intent_after([], text, intent) == "check_acc_eligibility"
    # without ACC named, a dated injury alone is just a story
    assert intent_after([], "i hurt my glute on 15 October 2026 and it still hurts", "nlu_fallback") == "nlu_fallback"
    assert intent_after([], "i hurt my glute on 15 October 2026, accommodation was fine", "inform") == "inform"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("claim is approved", "approved"),
        ("claim's been accepted", "approved"),
        ("hang on, it's not approved yet", "not_approved"),
        ("acc declined my claim", "not_approved"),
        ("I haven't lodged a claim", "not_approved"),
        ("not sure if the claim went through", "unknown"),
        ("I hurt my glute", None),
    ],
)
def test_claim_status_in_own_words(text: str, status: Optional[str]) -> None:
    assert find_claim_status(text) == status


def test_other_body_parts_are_not_answered_with_glute_facts() -> None:
    assert intent_after([], "What exercises can I do for a sore knee?", "faq_glute_exercises") == "ask_other_body_part"
    assert intent_after([], "exercises for my glutes and knees", "faq_glute_exercises") == "faq_glute_exercises"
    assert intent_after([], "what exercises help my hip", "faq_glute_exercises") == "faq_glute_exercises"


READINGS = {
    "Do I need a referral": ("faq_referral", 0.9),
    "will it clash with my physio sessions?": ("faq_other_treatment", 0.8),
    "what do you charge": ("clinic_prices", 0.7),
    "do you open on Sundays?": ("clinic_hours", 0.9),
    "hi": ("greet", 0.95),
    "what are the origin": ("faq_gluteus_medius", 0.6),
    "insertion of gluteus medius": ("faq_gluteus_medius", 0.9),
    "Do I need a referral and can I still see my physio? my legs went numb": ("red_flag", 1.0),
    "can I still see my physio?": ("faq_other_treatment", 0.9),
    "my legs went numb": ("nlu_fallback", 0.3),
}


async def fake_parse(text: str) -> Dict[str, Any]:
    name, confidence = READINGS.get(text, ("nlu_fallback", 0.3))
    return {"text": text, "intent": {"name": name, "confidence": confidence}}


def split(text: str) -> List[str]:
    return asyncio.run(split_questions(text, fake_parse))


def test_two_questions_are_split_in_order() -> None:
    assert split("Do I need a referral, and will it clash with my physio sessions?") == [
        "Do I need a referral",
        "will it clash with my physio sessions?",
    ]
    assert split("what do you charge and do you open on Sundays?") == ["what do you charge", "do you open on Sundays?"]


def test_one_question_stays_whole() -> None:
    assert split("hi, Do I need a referral") == ["hi, Do I need a referral"]  # a greeting is not a question
    text = "what are the origin and insertion of gluteus medius"
    assert split(text) == [text]  # both halves are the same question
    assert candidate_parts("ok") == ["ok"]


def test_a_message_with_an_emergency_stays_whole() -> None:
    text = "Do I need a referral and can I still see my physio? my legs went numb"
    assert split(text) == [text]  # the urgent-care advice comes first, for the whole message
