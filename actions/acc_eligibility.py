"""ACC eligibility check: the form's validation (with retry counting), the verdict, and cancelling a form.

The rule itself lives in bot/clinic/eligibility.py, dates in bot/clinic/injury_dates.py, ACC45/Read code shapes in
bot/clinic/acc_codes.py and the reading of yes / no / don't know in bot/dialogue/short_replies.py; this module
only talks to the patient, with the responses of domain/acc_check.yml (it chooses one and fills its variables).
Slots use custom mappings: every answer is extracted and validated here, and an answer that fits an earlier
question ("actually it was 5 March") updates that answer.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, Dict, List, Optional

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
from bot.dialogue.short_replies import DONT_KNOW, NO, YES, says_dont_know, yes_no_answer
from bot.responses import DOMAIN

logger = logging.getLogger(__name__)

MAX_ACC45_ATTEMPTS = 3
# Slots a form's flow sets besides its questions (the domain's `required_slots`): forgotten with its answers.
FLOW_SLOTS = {
    "acc_eligibility_form": ["acc45_attempts", "eligibility"],
    "contact_form": ["request_kind", "appointment_type", "request_note"],
    "booking_form": ["request_kind", "appointment_type", "booking_search", "booking_shown", "booking_problem"],
}
# How the claim status is said back to the patient ("Noted: ACC claim: not approved yet.", the verdict's basis).
CLAIM_LABELS = {"approved": "approved", "not_approved": "not approved yet", "unknown": "not known"}
CLAIM_ANSWERS = {YES: "approved", NO: "not_approved", DONT_KNOW: "unknown"}


def form_slots(form: str, domain: DomainDict) -> List[str]:
    """Every slot `form` fills: its questions, from the domain (`required_slots`), then FLOW_SLOTS."""
    return [*_forms(domain)[form]["required_slots"], *FLOW_SLOTS.get(form, [])]


def _forms(domain: DomainDict) -> Dict[str, Any]:
    """The domain's forms; those of the domain files if Rasa sent no domain (its `enable_selective_domain`)."""
    return (domain or {}).get("forms") or DOMAIN.forms


def claim_answer(intent: Optional[str], text: str) -> Optional[str]:
    """approved / not_approved / unknown from the patient's answer, or None if it is no answer."""
    return CLAIM_ANSWERS.get(yes_no_answer(intent, text))


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
        if normalise_read_code(text) or says_dont_know(intent, text):
            return {"read_code": text}
        return {} if _interruption(tracker) else {"read_code": text}

    # --- validation: keep good answers, re-ask bad ones with an example ---

    def validate_injury_date(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        answer = parse_injury_date(str(value or ""), _today())
        if answer.value is None:
            dispatcher.utter_message(response="utter_injury_date_unclear")
            return {"injury_date": None}
        if answer.problem == PROBLEM_FUTURE:
            dispatcher.utter_message(response="utter_injury_date_in_future", injury_day=format_date(answer.value))
            return {"injury_date": None}
        dispatcher.utter_message(response="utter_injury_date_noted", injury_day=format_date(answer.value))
        return {"injury_date": answer.value.isoformat()}

    def validate_claim_status(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        if value in CLAIM_ANSWERS.values():
            if tracker.get_slot("requested_slot") != "claim_status":  # taken from the patient's own words
                dispatcher.utter_message(response="utter_claim_status_noted", claim=CLAIM_LABELS[value])
            return {"claim_status": value}
        dispatcher.utter_message(response="utter_claim_status_unclear")
        return {"claim_status": None}

    def validate_acc45(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        number = normalise_acc45(str(value or "")) or find_acc45(str(value or ""))
        if number:
            dispatcher.utter_message(response="utter_acc45_noted", masked_acc45=mask_acc45(number))
            return {"acc45": number}
        intent, _ = _latest(tracker)
        if says_dont_know(intent, str(value or "")):
            dispatcher.utter_message(response="utter_acc45_where_to_find")
            return {"acc45": None, "acc45_attempts": MAX_ACC45_ATTEMPTS}
        attempts = (tracker.get_slot("acc45_attempts") or 0) + 1
        if attempts >= MAX_ACC45_ATTEMPTS:
            dispatcher.utter_message(response="utter_acc45_stop_asking")
            return {"acc45": None, "acc45_attempts": attempts}
        dispatcher.utter_message(response="utter_acc45_unclear", acc45_examples=", ".join(ACC45_EXAMPLES))
        return {"acc45": None, "acc45_attempts": attempts}

    def validate_read_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        code = normalise_read_code(str(value or ""))
        if code:
            return {"read_code": code}
        intent, _ = _latest(tracker)
        if not says_dont_know(intent, str(value or "")):
            dispatcher.utter_message(response="utter_read_code_left_to_clinic")  # optional: rather than loop
        return {"read_code": "unknown"}


def _leaving(tracker: Tracker) -> bool:
    """The patient stops, backs out, has an emergency or asks for another flow: nothing is taken as an answer."""
    return ends_form(((tracker.latest_message or {}).get("intent") or {}).get("name"), tracker.active_loop_name)


def _interruption(tracker: Tracker) -> bool:
    """The patient asked something else (an FAQ, stop, a person...), so the message is not an answer."""
    return is_interruption(((tracker.latest_message or {}).get("intent") or {}).get("name"), tracker.active_loop_name)


def basis_lines(injury: Optional[date], claim: Optional[str], acc45: Optional[str], read_code: Optional[str]) -> str:
    """The verdict's `{basis}`: one "• ..." line per answer given (ACC45 masked), each after a line break."""
    lines = []
    if injury:
        lines.append(f"• Injury date: {format_date(injury)}")
    if claim:
        lines.append(f"• ACC claim: {CLAIM_LABELS.get(claim, claim)}")
    if acc45:
        lines.append(f"• ACC45: {mask_acc45(acc45)}")
    if read_code:
        code = read_code if read_code != "unknown" else "the clinic will take it from your claim"
        lines.append(f"• Read code: {code}")
    return "".join(f"\n{line}" for line in lines)


def verdict_response(
    injury: Optional[date],
    claim: Optional[str],
    acc45: Optional[str],
    attempts: float,
    today: date,
) -> tuple:
    """The verdict's response (domain/acc_check.yml, with its buttons and offer) and the `eligibility` slot value."""
    verdict = assess(injury, claim == "approved", acc45, today)
    if verdict.eligible:
        return "utter_acc_verdict_eligible", "eligible"
    if INJURY_TOO_OLD in verdict.reasons:
        return "utter_acc_verdict_injury_too_old", "not_eligible"
    if CLAIM_NOT_APPROVED in verdict.reasons:
        return "utter_acc_verdict_claim_not_approved", "not_eligible"
    if ACC45_MISSING_OR_INVALID in verdict.reasons and attempts >= MAX_ACC45_ATTEMPTS:
        return "utter_acc_verdict_no_acc45", "incomplete"
    if INJURY_IN_FUTURE in verdict.reasons:
        return "utter_acc_verdict_injury_date_missing", "incomplete"
    return "utter_acc_verdict_details_missing", "incomplete"


class ActionAccVerdict(Action):
    """States the verdict, what it was based on (ACC45 masked), and offers booking."""

    def name(self) -> str:
        return "action_acc_verdict"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        injury = stored_date(tracker.get_slot("injury_date"))
        claim, acc45 = tracker.get_slot("claim_status"), tracker.get_slot("acc45")
        response, outcome = verdict_response(injury, claim, acc45, tracker.get_slot("acc45_attempts") or 0, _today())
        dispatcher.utter_message(
            response=response,
            basis=basis_lines(injury, claim, acc45, tracker.get_slot("read_code")),
            contact_route=load_profile().contact_route(),
        )
        return [SlotSet("eligibility", outcome)]


class ActionCancelForm(Action):
    """Ends the active form and forgets every answer it had collected (the rule says so to the patient)."""

    def name(self) -> str:
        return "action_cancel_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        form = tracker.active_loop_name if tracker.active_loop_name in _forms(domain) else "acc_eligibility_form"
        slots = form_slots(form, domain)
        reset: List[EventType] = [SlotSet(slot, 0 if slot == "acc45_attempts" else None) for slot in slots]
        return [ActiveLoop(None), SlotSet("requested_slot", None), *reset]
