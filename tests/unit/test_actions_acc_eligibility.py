"""The ACC eligibility form's validation action, verdict and cancel, and the forms' questions, with Rasa SDK
trackers and dispatcher; their messages are the domain's responses as Rasa fills them."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any, Dict

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.acc_eligibility as acc
import actions.form_questions as questions
from actions.acc_eligibility import (
    ActionAccVerdict,
    ActionCancelForm,
    ValidateAccEligibilityForm,
    claim_answer,
    form_slots,
)
from bot.dialogue.offers import pending_offer
from tests.support import action_helpers
from tests.support.action_helpers import DOMAIN, ask_actions, slots_set, tracker

TODAY = date(2026, 11, 23)
FORM = "acc_eligibility_form"


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(acc, "_today", lambda: TODAY)


class _SlotValues:
    """What Rasa's response generator reads of the tracker."""

    def __init__(self, slots: Dict[str, Any]) -> None:
        self.slots = slots

    def current_slot_values(self) -> Dict[str, Any]:
        return self.slots


NLG = TemplatedNaturalLanguageGenerator(DOMAIN["responses"])


def run(action: Action, t: Tracker) -> tuple:
    """Run an action; return (events, texts, messages), each message as Rasa sends it to the channel: a domain
    response filled with the action's variables and the slots (Rasa's own code: RemoteAction._utter_responses)."""
    events, _, messages = action_helpers.run(action, t)
    uttered = asyncio.run(
        RemoteAction._utter_responses([dict(m) for m in messages], CollectingOutputChannel(), NLG, _SlotValues(t.slots))
    )
    sent = [{**event.message(), "event": event.as_dict()} for event in uttered]
    assert all("{" not in m["text"] for m in sent), "a response variable was not filled"
    return events, [m["text"] for m in sent], sent


def offer_made(messages) -> str:
    """The offer the reply made, as bot/dialogue/context.py reads it from the conversation's events."""
    return pending_offer([{"event": "user", "text": "..."}, *(m["event"] for m in messages)])


def validate(text, intent="inform", requested="injury_date", **slots):
    return run(ValidateAccEligibilityForm(), tracker(text, intent, slots, FORM, requested))


def test_a_date_is_understood_and_confirmed():
    events, texts, _ = validate("three weeks ago")
    assert slots_set(events)["injury_date"] == "2026-11-02"
    assert texts == ["Got it: injury on Monday 2 November 2026."]


@pytest.mark.parametrize("text, problem", [("blah", "couldn't work out"), ("next friday", "is in the future")])
def test_bad_dates_are_asked_again_with_an_example(text, problem):
    events, texts, _ = validate(text)
    assert slots_set(events)["injury_date"] is None
    assert problem in texts[0] and "14/03/2026" in texts[0]


def test_an_faq_during_the_date_question_is_left_for_the_faq_rule():
    events, texts, _ = validate("do I need a referral?", intent="faq_referral")
    assert "injury_date" not in slots_set(events) and texts == []


def test_a_date_wins_even_if_nlu_thought_it_was_an_faq():
    events, _, _ = validate("14 months ago", intent="faq_acc_time_limit")
    assert slots_set(events)["injury_date"] == "2025-09-23"


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("yes", "affirm", "approved"),
        ("/affirm", "affirm", "approved"),
        ("yep it's approved", "inform", "approved"),
        ("no", "deny", "not_approved"),
        ("not yet", "inform", "not_approved"),
        ("/deny", "deny", "not_approved"),
        ("still pending", "inform", "not_approved"),
        ("I don't know", "dont_know", "unknown"),
        ("no idea", "deny", "unknown"),
        ("/dont_know", "dont_know", "unknown"),
        ("banana", "out_of_scope", None),
    ],
)
def test_claim_answers(text, intent, expected):
    assert claim_answer(intent, text) == expected


def test_claim_not_approved_ends_the_form():
    slots = {"injury_date": "2026-11-02"}
    events, _, _ = validate("not yet", intent="deny", requested="claim_status", **slots)
    set_ = slots_set(events)
    assert set_["claim_status"] == "not_approved" and set_["requested_slot"] is None


def test_unclear_claim_answer_is_asked_again():
    events, texts, _ = validate("banana", intent="inform", requested="claim_status", injury_date="2026-11-02")
    assert slots_set(events)["claim_status"] is None and "yes or a no" in texts[0]


def test_an_injury_over_twelve_months_old_ends_the_form():
    events, _, _ = validate("1/11/2025")
    set_ = slots_set(events)
    assert set_["injury_date"] == "2025-11-01" and set_["requested_slot"] is None


ANSWERED = {"injury_date": "2026-11-02", "claim_status": "approved"}


def test_valid_acc45_is_kept_canonical_and_masked_in_the_reply():
    events, texts, _ = validate("my number is ab 12345", requested="acc45", **ANSWERED)
    assert slots_set(events)["acc45"] == "AB12345"
    assert texts == ["Thanks, I've noted your ACC45 (AB•••45)."]


def test_malformed_acc45_is_asked_again_with_the_formats_and_counted():
    events, texts, _ = validate("XY9876", requested="acc45", **ANSWERED)
    set_ = slots_set(events)
    assert set_["acc45"] is None and set_["acc45_attempts"] == 1
    assert "AB12345, 12345AB, 1234ABC" in texts[0] and "XY9876" not in texts[0]


def test_after_three_malformed_acc45_the_form_stops_asking():
    events, texts, _ = validate("nope123", requested="acc45", acc45_attempts=2, **ANSWERED)
    set_ = slots_set(events)
    assert set_["acc45_attempts"] == 3 and set_["requested_slot"] is None
    assert "stop asking" in texts[0]


def test_dont_know_the_acc45_says_where_to_get_it_and_stops():
    events, texts, _ = validate("I don't know", intent="dont_know", requested="acc45", **ANSWERED)
    assert slots_set(events)["requested_slot"] is None and "lodged your claim" in texts[0]


def test_a_correction_of_the_date_while_asked_for_the_acc45():
    events, texts, _ = validate("sorry it was actually 5 March 2026", requested="acc45", **ANSWERED)
    set_ = slots_set(events)
    assert set_["injury_date"] == "2026-03-05" and "Got it: injury on Thursday 5 March 2026." in texts


@pytest.mark.parametrize(
    "text, intent, expected, says",
    [
        ("S57..", "inform", "S57..", None),
        ("s5700", "inform", "S5700", None),
        ("don't know", "dont_know", "unknown", None),
        ("/dont_know", "dont_know", "unknown", None),
        ("hmm", "inform", "unknown", "doesn't look like a Read code"),
    ],
)
def test_read_code_is_optional(text, intent, expected, says):
    slots = {**ANSWERED, "acc45": "AB12345"}
    events, texts, _ = validate(text, intent=intent, requested="read_code", **slots)
    assert slots_set(events)["read_code"] == expected
    assert (says in texts[0]) if says else texts == []


def verdict(**slots):
    return run(ActionAccVerdict(), tracker("", None, slots))


def test_verdict_eligible_repeats_its_basis_masked_and_offers_booking():
    events, texts, messages = verdict(
        injury_date="2026-11-02", claim_status="approved", acc45="AB12345", read_code="unknown"
    )
    assert slots_set(events) == {"eligibility": "eligible"}
    assert texts == [
        "Good news: from what you've told me, this injury looks eligible for ACC-subsidised acupuncture. "
        "The clinic confirms it from your claim when you come in.\n"
        "Based on:\n"
        "• Injury date: Monday 2 November 2026\n"
        "• ACC claim: approved\n"
        "• ACC45: AB•••45\n"
        "• Read code: the clinic will take it from your claim"
    ]
    assert messages[0]["buttons"][0]["payload"] == '/book_appointment{"appointment_type": "acc_treatment"}'
    assert offer_made(messages) == "acc_booking"  # "yes please" books ACC treatment


def test_verdict_injury_too_old():
    old = (TODAY - timedelta(days=548)).isoformat()  # about 18 months
    events, texts, messages = verdict(injury_date=old)
    assert slots_set(events) == {"eligibility": "not_eligible"}
    assert "under 12 months" in texts[0] and texts[0].endswith("Based on:\n• Injury date: Saturday 24 May 2025")
    assert "free_consult" in messages[0]["buttons"][0]["payload"] and offer_made(messages) == "free_consult"


def test_verdict_no_claim_says_who_lodges_it():
    events, texts, _ = verdict(injury_date="2026-11-02", claim_status="not_approved")
    assert slots_set(events) == {"eligibility": "not_eligible"}
    assert "acupuncturists can't lodge an ACC45" in texts[0] and "not approved yet" in texts[0]


def test_verdict_without_acc45_offers_a_person():
    events, texts, messages = verdict(injury_date="2026-11-02", claim_status="approved", acc45_attempts=3)
    assert slots_set(events) == {"eligibility": "incomplete"}
    assert messages[0]["buttons"][0]["payload"] == "/human_handoff" and offer_made(messages) == "person"
    assert "A person at the clinic can help: " in texts[0] and "163 The Terrace" in texts[0]


@pytest.mark.parametrize(
    "slots, says",
    [
        ({"injury_date": "2026-12-25", "claim_status": "approved", "acc45": "AB12345"}, "a date of injury is missing"),
        ({"claim_status": "approved", "acc45": "AB12345"}, "some details is missing"),
    ],
)
def test_verdict_without_a_usable_date_offers_a_person(slots, says):
    events, texts, messages = verdict(**slots)
    assert slots_set(events) == {"eligibility": "incomplete"}
    assert texts == [f"I couldn't finish the check: {says}."] and offer_made(messages) == "person"


def test_cancel_forgets_every_answer():
    t = tracker("stop", "stop", {"injury_date": "2026-11-02", "claim_status": "approved", "acc45": "AB12345"}, FORM)
    events, texts, _ = run(ActionCancelForm(), t)
    set_ = slots_set(events)
    assert {e["event"] for e in events} == {"active_loop", "slot"}
    assert set_["injury_date"] is None and set_["claim_status"] is None and set_["acc45"] is None
    assert set_["acc45_attempts"] == 0 and texts == []
    assert list(set_)[1:] == ["injury_date", "claim_status", "acc45", "read_code", "acc45_attempts", "eligibility"]


def test_cancel_forgets_the_contact_forms_answers_too():
    t = tracker("stop", "stop", {"contact_name": "Aroha", "request_kind": "booking"}, "contact_form")
    set_ = slots_set(run(ActionCancelForm(), t)[0])
    assert list(set_)[1:] == [
        "contact_name", "contact_detail", "share_acc_details", "request_kind", "appointment_type", "request_note"
    ]  # fmt: skip
    assert not any(set_.values())


def test_a_forms_slots_are_its_questions_in_the_domain_and_its_flows_own():
    assert form_slots("acc_eligibility_form", DOMAIN) == [
        "injury_date", "claim_status", "acc45", "read_code", "acc45_attempts", "eligibility"
    ]  # fmt: skip
    contact_form = [
        "contact_name", "contact_detail", "share_acc_details", "request_kind", "appointment_type", "request_note"
    ]  # fmt: skip
    assert form_slots("contact_form", DOMAIN) == contact_form
    # without the domain (Rasa's selective domain), the domain files say it
    t = tracker("stop", "stop", {"contact_name": "Aroha"}, "contact_form")
    events = asyncio.run(ActionCancelForm().run(CollectingDispatcher(), t, {}))
    assert list(slots_set(events))[1:] == contact_form


# --- the form converses: an opening message fills it in, corrections in the patient's own words (#11) ---


def test_an_opening_message_fills_the_check_and_confirms_each_detail():
    text = "hi can u check my acc, hurt my glute 2 weeks back, claim is approved, acc45 12345AB"
    events, texts, _ = validate(text, intent="check_acc_eligibility", requested=None)
    slots = slots_set(events)
    assert (slots["injury_date"], slots["claim_status"], slots["acc45"]) == ("2026-11-09", "approved", "12345AB")
    assert texts == [
        "Got it: injury on Monday 9 November 2026.",
        "Noted: ACC claim: approved.",
        "Thanks, I've noted your ACC45 (12•••AB).",
    ]


def test_an_opening_message_without_details_fills_nothing():
    events, texts, _ = validate("can you check if acc covers me", intent="check_acc_eligibility", requested=None)
    assert not {"injury_date", "claim_status", "acc45"} & set(slots_set(events)) and texts == []


def test_a_date_correction_at_the_claim_question_is_a_new_date_not_a_bad_answer():
    events, texts, _ = validate(
        "sorry, I mean it was the 3rd of June", intent="inform", requested="claim_status", injury_date="2026-11-07"
    )
    assert slots_set(events)["injury_date"] == "2026-06-03" and "claim_status" not in slots_set(events)
    assert texts == ["Got it: injury on Wednesday 3 June 2026."]


def test_not_approved_at_the_acc45_question_corrects_the_claim_not_a_bad_acc45():
    events, texts, _ = validate(
        "hang on, it's not approved yet", intent="deny", requested="acc45", claim_status="approved"
    )
    assert slots_set(events)["claim_status"] == "not_approved" and "acc45" not in slots_set(events)
    assert texts == ["Noted: ACC claim: not approved yet."]
    assert "acc45_attempts" not in slots_set(events)  # not counted as a malformed ACC45


@pytest.mark.parametrize("intent", ["stop", "book_appointment", "request_contact", "red_flag"])
def test_leaving_the_form_records_nothing(intent):
    events, texts, _ = validate("nah leave it, I'll sort ACC later", intent=intent, requested="claim_status")
    assert slots_set(events) == {} or set(slots_set(events)) <= {"requested_slot"}
    assert texts == []


# --- the forms' questions (actions/form_questions.py) ---


def test_every_question_of_every_form_has_its_ask_action_and_no_other():
    actions = ask_actions()
    used = set()
    for form, spec in DOMAIN["forms"].items():
        for slot in spec["required_slots"]:
            own = f"action_ask_{form}_{slot}"  # Rasa tries the form's own question first
            name = own if own in actions else f"action_ask_{slot}"
            assert name in actions and name in DOMAIN["actions"], (form, slot)
            used.add(name)
    assert set(actions) == used  # no ask action for a question no form asks
    for action in actions.values():
        assert action.response(tracker("")) in DOMAIN["responses"]


@pytest.mark.parametrize(
    "action, says, buttons",
    [
        (questions.ActionAskInjuryDate(), 'What was the date of your injury? For example 14/03/2026, 14 March', 0),
        (questions.ActionAskClaimStatus(), "Has ACC approved a claim for this injury?", 3),
        (questions.ActionAskAcc45(), "It has 7 characters, like AB12345, 12345AB, 1234ABC. The clinic", 1),
        (questions.ActionAskReadCode(), "Do you know the Read code for your injury?", 1),
        (questions.ActionAskContactName(), "What name should the clinic ask for?", 0),
        (questions.ActionAskContactDetail(), "What's the best phone number or email to reach you?", 0),
        (questions.ActionAskShareAccDetails(), "Shall I include your ACC check details", 2),
    ],
)
def test_each_question_is_its_domain_response(action, says, buttons):
    _, texts, messages = run(action, tracker("hi"))
    assert len(texts) == 1 and says in texts[0] and len(messages[0]["buttons"] or []) == buttons


def test_a_question_is_asked_once_after_the_last_part_of_a_message():
    def ask(part):
        t = tracker("do I need a referral, and can I see a physio too?")
        t.latest_message["part"] = part
        return run(questions.ActionAskInjuryDate(), t)[1]

    assert ask([1, 2]) == [] and len(ask([2, 2])) == 1 and len(ask(None)) == 1
