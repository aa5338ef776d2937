"""ACC eligibility check: the form's validation (with retry counting), the verdict, and cancelling a form.

The rule itself lives in bot/clinic/eligibility.py, dates in bot/clinic/injury_dates.py and ACC45/Read code shapes in
bot/clinic/acc_codes.py; this module only talks to the patient. Slots use custom mappings: every answer is
extracted and validated here, and an answer that fits an earlier question ("actually it was 5 March")
updates that answer.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.clinic.acc_codes import ACC45_EXAMPLES, find_acc45, mask_acc45, normalise_acc45, normalise_read_code
from bot.clinic.acc_details import find_claim_status, find_injury_date, is_correction
from bot.clinic.eligibility import (
    ACC45_MISSING_OR_INVALID,
    CLAIM_NOT_APPROVED,
    INJURY_IN_FUTURE,
    INJURY_TOO_OLD,
    assess,
    is_under_twelve_months,
)
from bot.clinic.injury_dates import PROBLEM_FUTURE, clinic_today, format_date, parse_injury_date
from bot.clinic.profile import load_profile
from bot.dialogue.interruptions import ends_form, is_interruption
from bot.dialogue.offers import offer_metadata

logger = logging.getLogger(__name__)

# What the verdict offers, so that "yes please" does it (bot/dialogue/offers.py).
VERDICT_OFFERS = {"eligible": "acc_booking", "not_eligible": "free_consult", "incomplete": "person"}

MAX_ACC45_ATTEMPTS = 3
FORM_SLOTS = {
    "acc_eligibility_form": ["injury_date", "claim_status", "acc45", "read_code", "acc45_attempts", "eligibility"],
    "contact_form": ["contact_name", "contact_detail", "share_acc_details", "request_kind", "appointment_type"],
}
DATE_EXAMPLES = 'for example 14/03/2026, 14 March or "three weeks ago"'
CLAIM_LABELS = {"approved": "approved", "not_approved": "not approved yet", "unknown": "not known"}
CLAIM_ANSWERS = {"affirm": "approved", "deny": "not_approved", "dont_know": "unknown"}
_YES = re.compile(r"\b(yes|yep|yeah|yup|ya|approved|accepted|it is|it has|sure|correct)\b", re.I)
_NO = re.compile(r"\b(no|nope|nah|not yet|declined|rejected|pending|waiting|hasn't|has not|isn't|not approved)\b", re.I)
_DONT_KNOW = re.compile(r"\b(don'?t know|dunno|not sure|no idea|unsure|can'?t remember|skip|idk)\b", re.I)


def claim_answer(intent: Optional[str], text: str) -> Optional[str]:
    """approved / not_approved / unknown from the patient's answer, or None if it is no answer."""
    if _DONT_KNOW.search(text or "") or intent == "dont_know":
        return "unknown"
    if _NO.search(text or ""):
        return "not_approved"
    if intent in CLAIM_ANSWERS:
        return CLAIM_ANSWERS[intent]
    return "approved" if _YES.search(text or "") else None


def _today() -> date:
    return clinic_today()


def stored_date(value: Any) -> Optional[date]:
    """The validated injury date kept in the slot (ISO format), or None (e.g. a raw answer before validation)."""
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _latest(tracker: Tracker) -> tuple:
    message = tracker.latest_message or {}
    return (message.get("intent") or {}).get("name"), message.get("text") or ""


def _is_date_answer(text: str) -> bool:
    """True when the text reads as a date and not as an ACC45 number or Read code."""
    if find_acc45(text) or normalise_read_code(text):
        return False
    return parse_injury_date(text, _today()).problem != "unparseable"


class ValidateAccEligibilityForm(FormValidationAction):
    """Extracts and checks each answer of acc_eligibility_form; stops early when the verdict is already clear."""

    def name(self) -> str:
        return "validate_acc_eligibility_form"

    async def required_slots(
        self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[str]:
        injury = stored_date(tracker.get_slot("injury_date"))
        if injury and not is_under_twelve_months(injury, _today()):
            return ["injury_date"]
        if tracker.get_slot("claim_status") in ("not_approved", "unknown"):
            return ["injury_date", "claim_status"]
        if (tracker.get_slot("acc45_attempts") or 0) >= MAX_ACC45_ATTEMPTS and not tracker.get_slot("acc45"):
            return ["injury_date", "claim_status"]
        return domain_slots

    # --- extraction: what the latest message says for each slot ---

    # `requested_slot` is None when the form starts: what the opening message already says is taken
    # ("hurt my glute 2 weeks back, claim is approved, acc45 12345AB"), confirmed, and not asked again.

    async def extract_injury_date(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        intent, text = _latest(tracker)
        if _leaving(tracker):
            return {}
        requested = tracker.get_slot("requested_slot")
        if requested is None:
            found = find_injury_date(text, _today())
            return {"injury_date": found} if found else {}
        if requested == "injury_date" and (_is_date_answer(text) or not _interruption(tracker)):
            return {"injury_date": text}
        if requested == "claim_status" and _is_date_answer(text) and (
            claim_answer(intent, text) is None or is_correction(text)
        ):
            return {"injury_date": text}  # "sorry, I mean it was the 3rd of June"
        if requested in ("acc45", "read_code") and _is_date_answer(text):
            return {"injury_date": text}  # a correction of the earlier answer
        return {}

    async def extract_claim_status(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        intent, text = _latest(tracker)
        if _leaving(tracker):
            return {}
        requested = tracker.get_slot("requested_slot")
        if requested != "claim_status":
            found = find_claim_status(text)  # only explicit words: "claim is approved", "it's not approved yet"
            return {"claim_status": found} if found and found != tracker.get_slot("claim_status") else {}
        answer = claim_answer(intent, text)
        if answer is None and (_interruption(tracker) or _is_date_answer(text)):
            return {}  # a question, or a correction of the date (extract_injury_date)
        return {"claim_status": answer or text}

    async def extract_acc45(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        _, text = _latest(tracker)
        if _leaving(tracker):
            return {}
        requested = tracker.get_slot("requested_slot")
        if requested is None:
            found = find_acc45(text)
            return {"acc45": found} if found else {}
        if requested == "acc45" and (find_acc45(text) or not _interruption(tracker)):
            if not find_acc45(text) and (find_claim_status(text) or _is_date_answer(text)):
                return {}  # "it's not approved yet", "it was 5 weeks ago not 2": a correction, not an ACC45
            return {"acc45": text}
        if requested not in ("acc45", "injury_date") and tracker.get_slot("acc45") and find_acc45(text):
            return {"acc45": text}  # a correction of the earlier answer
        return {}

    async def extract_read_code(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        intent, text = _latest(tracker)
        if _leaving(tracker):
            return {}
        if tracker.get_slot("requested_slot") != "read_code":
            return {}
        if normalise_read_code(text) or intent == "dont_know" or _DONT_KNOW.search(text):
            return {"read_code": text}
        return {} if _interruption(tracker) else {"read_code": text}

    # --- validation: keep good answers, re-ask bad ones with an example ---

    def validate_injury_date(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        answer = parse_injury_date(str(value or ""), _today())
        if answer.value is None:
            dispatcher.utter_message(text=f"Sorry, I couldn't work out that date. Could you write it {DATE_EXAMPLES}?")
            return {"injury_date": None}
        if answer.problem == PROBLEM_FUTURE:
            dispatcher.utter_message(
                text=f"{format_date(answer.value)} is in the future. When did the injury happen? ({DATE_EXAMPLES})"
            )
            return {"injury_date": None}
        dispatcher.utter_message(text=f"Got it: injury on {format_date(answer.value)}.")
        return {"injury_date": answer.value.isoformat()}

    def validate_claim_status(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        if value in CLAIM_ANSWERS.values():
            if tracker.get_slot("requested_slot") != "claim_status":  # taken from the patient's own words
                dispatcher.utter_message(text=f"Noted: ACC claim: {CLAIM_LABELS[value]}.")
            return {"claim_status": value}
        dispatcher.utter_message(text="Sorry, was that a yes or a no? Has ACC approved a claim for this injury?")
        return {"claim_status": None}

    def validate_acc45(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        number = normalise_acc45(str(value or "")) or find_acc45(str(value or ""))
        if number:
            dispatcher.utter_message(text=f"Thanks, I've noted your ACC45 ({mask_acc45(number)}).")
            return {"acc45": number}
        intent, _ = _latest(tracker)
        if intent == "dont_know" or _DONT_KNOW.search(str(value or "")):
            dispatcher.utter_message(
                text="No problem. The GP, physio, osteopath or chiropractor who lodged your claim "
                "can give you the number."
            )
            return {"acc45": None, "acc45_attempts": MAX_ACC45_ATTEMPTS}
        attempts = (tracker.get_slot("acc45_attempts") or 0) + 1
        if attempts >= MAX_ACC45_ATTEMPTS:
            dispatcher.utter_message(text="I still can't read that as an ACC45 number, so I'll stop asking.")
            return {"acc45": None, "acc45_attempts": attempts}
        dispatcher.utter_message(
            text="That doesn't look like an ACC45 number. It has 7 characters in one of these formats: "
            f"{', '.join(ACC45_EXAMPLES)} (spaces and capitals don't matter)."
        )
        return {"acc45": None, "acc45_attempts": attempts}

    def validate_read_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        code = normalise_read_code(str(value or ""))
        if code:
            return {"read_code": code}
        intent, _ = _latest(tracker)
        if intent != "dont_know" and not _DONT_KNOW.search(str(value or "")):
            # Optional answer: rather than loop, leave it to the clinic.
            dispatcher.utter_message(
                text="That doesn't look like a Read code (5 characters, like S57..), so I'll leave it for the "
                "clinic to take from your claim."
            )
        return {"read_code": "unknown"}


def _leaving(tracker: Tracker) -> bool:
    """The patient stops, backs out, has an emergency or asks for another flow: nothing is taken as an answer."""
    return ends_form(((tracker.latest_message or {}).get("intent") or {}).get("name"), tracker.active_loop_name)


def _interruption(tracker: Tracker) -> bool:
    """The patient asked something else (an FAQ, stop, a person...), so the message is not an answer."""
    return is_interruption(((tracker.latest_message or {}).get("intent") or {}).get("name"), tracker.active_loop_name)


def verdict_message(
    injury: Optional[date],
    claim: Optional[str],
    acc45: Optional[str],
    read_code: Optional[str],
    attempts: float,
    today: date,
) -> tuple:
    """The verdict text, its buttons and the `eligibility` slot value, from the form's answers."""
    verdict = assess(injury, claim == "approved", acc45, today)
    basis = []
    if injury:
        basis.append(f"• Injury date: {format_date(injury)}")
    if claim:
        basis.append(f"• ACC claim: {CLAIM_LABELS.get(claim, claim)}")
    if acc45:
        basis.append(f"• ACC45: {mask_acc45(acc45)}")
    if read_code:
        basis.append(
            f"• Read code: {read_code if read_code != 'unknown' else 'the clinic will take it from your claim'}"
        )
    free_consult = {
        "title": "Book free consult",
        "payload": '/book_appointment{"appointment_type": "free_consult"}',
    }
    person = {"title": "Talk to a person", "payload": "/human_handoff"}
    if verdict.eligible:
        text = (
            "Good news: from what you've told me, this injury looks eligible for ACC-subsidised acupuncture. "
            "The clinic confirms it from your claim when you come in."
        )
        buttons = [
            {"title": "Book ACC treatment", "payload": '/book_appointment{"appointment_type": "acc_treatment"}'},
            {"title": "Contact me", "payload": "/request_contact"},
        ]
        return "\n".join([text, "Based on:", *basis]), buttons, "eligible"
    if INJURY_TOO_OLD in verdict.reasons:
        text = (
            "From what you've told me, this injury isn't eligible for ACC-subsidised acupuncture: ACC subsidises it "
            "for injuries under 12 months old from the date of injury. You're still welcome to come in — "
            "the free 15-minute consultation is a good place to start."
        )
        return "\n".join([text, "Based on:", *basis]), [free_consult, person], "not_eligible"
    if CLAIM_NOT_APPROVED in verdict.reasons:
        text = (
            "You'll need an approved ACC claim first. A claim is lodged by a GP, physio, osteopath or chiropractor "
            "(acupuncturists can't lodge an ACC45). Once it's approved, come back with your ACC45 number and I'll "
            "check again. You can book the free 15-minute consultation in the meantime."
        )
        return "\n".join([text, "Based on:", *basis]), [free_consult, person], "not_eligible"
    if ACC45_MISSING_OR_INVALID in verdict.reasons and attempts >= MAX_ACC45_ATTEMPTS:
        text = (
            "I couldn't check your ACC45 number, so I can't finish the check. A person at the clinic can help: "
            f"{load_profile().contact_route()}."
        )
        return "\n".join([text, "Based on:", *basis]), [person, free_consult], "incomplete"
    missing = "a date of injury" if INJURY_IN_FUTURE in verdict.reasons else "some details"
    return f"I couldn't finish the check: {missing} is missing.", [person, free_consult], "incomplete"


class ActionAccVerdict(Action):
    """States the verdict, what it was based on (ACC45 masked), and offers booking."""

    def name(self) -> str:
        return "action_acc_verdict"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        text, buttons, outcome = verdict_message(
            stored_date(tracker.get_slot("injury_date")),
            tracker.get_slot("claim_status"),
            tracker.get_slot("acc45"),
            tracker.get_slot("read_code"),
            tracker.get_slot("acc45_attempts") or 0,
            _today(),
        )
        dispatcher.utter_message(text=text, buttons=buttons, **offer_metadata(VERDICT_OFFERS[outcome]))
        return [SlotSet("eligibility", outcome)]


class ActionCancelForm(Action):
    """Ends the active form and forgets every answer it had collected (the rule says so to the patient)."""

    def name(self) -> str:
        return "action_cancel_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        form = tracker.active_loop_name or ""
        slots = FORM_SLOTS.get(form, FORM_SLOTS["acc_eligibility_form"])
        reset: List[EventType] = [SlotSet(slot, 0 if slot == "acc45_attempts" else None) for slot in slots]
        return [ActiveLoop(None), SlotSet("requested_slot", None), *reset]
