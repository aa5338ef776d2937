"""Hand-off to booking: the online booking link, and call-back / hand-off requests recorded for staff.

What the patient is told is in domain/booking.yml; these actions choose the response and fill its variables.
Rasa keeps the variables of a response in the bot message's metadata; where they are the patient's own details
(name, masked phone or email) the logs hide them like the text (bot/privacy/log_redaction.py, `redact_bot_metadata`;
tests/e2e/test_zz_log_privacy.py).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional
from urllib.parse import urlencode, urlsplit, urlunsplit

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.acc_eligibility import _interruption, _latest, _leaving, claim_answer, form_slots
from bot.booking.settings import IN_CHAT, provider_name
from bot.clinic.appointments import APPOINTMENT_LABELS, kind_in_words
from bot.clinic.contact_details import parse_contact, parse_name, without_contact
from bot.clinic.profile import ClinicProfile, load_profile
from bot.storage.booking_requests import BookingRequest, shared_store

logger = logging.getLogger(__name__)
# "sorry, my name is Aroha", "actually call me Ari": a new name given after the name question.
_NAME_CORRECTION = re.compile(
    r"\b(?:my\s+name\s+is|my\s+name's|name's|call\s+me|the\s+name\s+is)(?:\s+actually)?\b", re.I
)

# How each request kind is named inside a response's sentence ({topic}); appointments: bot/clinic/appointments.py.
ASSISTANT = "assistant"  # who closed a request, in the staff console, when it was not a staff member
REQUEST_TOPICS = {"booking": "an appointment", "handoff": "your question", "change": "your appointment"}
# Slots of a booking in the chat that a new booking starts without (actions/booking_form.py).
BOOKING_FLOW_SLOTS = ("booking_search", "booking_shown", "booking_time", "booking_problem", "booking_confirmed",
                      "reuse_contact", "last_name")



def known_appointment_type(tracker: Tracker) -> Optional[str]:
    """What the patient is booking, when known: as chosen (button or offer), as they name it ("can I just book the
    free chat", "a standard treatment next week"), ACC treatment after an eligible check; else None."""
    chosen = tracker.get_slot("appointment_type")
    if chosen in APPOINTMENT_LABELS:
        return chosen
    named = kind_in_words((tracker.latest_message or {}).get("text") or "")
    return named or ("acc_treatment" if tracker.get_slot("eligibility") == "eligible" else None)


def appointment_type(tracker: Tracker) -> str:
    """What the patient is booking, a standard treatment when nothing says otherwise (for the link and call-back)."""
    return known_appointment_type(tracker) or "treatment"


def booking_link(profile: ClinicProfile, kind: str) -> Optional[str]:
    """The clinic's booking page with only non-sensitive context (the appointment type) in the query."""
    base = profile.get("booking_url")
    if not base or not base.startswith(("https://", "http://")):
        return None
    parts = urlsplit(base)
    query = "&".join(q for q in (parts.query, urlencode({"appointment": kind})) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def acc_check_completed(tracker: Tracker) -> bool:
    return tracker.get_slot("eligibility") in ("eligible", "not_eligible") and bool(tracker.get_slot("acc45"))


def acc_details(tracker: Tracker) -> Dict[str, Any]:
    """The ACC check's answers, for a request or an appointment's notes (only with the patient's agreement)."""
    names = ("injury_date", "claim_status", "acc45", "read_code", "eligibility")
    return {name: tracker.get_slot(name) for name in names}


class ActionBooking(Action):
    """Hands the patient to the online booking page (link button), or offers a call-back."""

    def name(self) -> str:
        return "action_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        profile = load_profile()
        provider = provider_name(profile)
        if provider in IN_CHAT:  # the booking form asks what it does not know yet
            fresh = [SlotSet(slot, None) for slot in BOOKING_FLOW_SLOTS]
            kind = [SlotSet("appointment_type", known_appointment_type(tracker))]
            return [*fresh, *kind, SlotSet("request_kind", "booking"), FollowupAction("booking_form")]
        kind = appointment_type(tracker)
        link = booking_link(profile, kind) if provider == "link" else None  # "request": call-back only
        label = APPOINTMENT_LABELS[kind]
        if link:
            dispatcher.utter_message(response="utter_booking_link", appointment=label, booking_link=link)
        else:
            dispatcher.utter_message(
                response="utter_booking_no_link",
                appointment=label,
                clinic_name=profile.name,
                contact_route=profile.contact_route(),
            )
        return [SlotSet("appointment_type", kind), SlotSet("request_kind", "booking")]


class ValidateContactForm(FormValidationAction):
    """Collects a name and a phone number or email (validated), and consent to share ACC details."""

    def name(self) -> str:
        return "validate_contact_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        intent, text = _latest(tracker)
        change: List[EventType] = []
        if tracker.get_slot("requested_slot") is None and intent == "change_appointment":
            change = [SlotSet("request_kind", "change"), SlotSet("request_note", text)]  # what the patient asked
            tracker.add_slots(change)
        return change + await super().run(dispatcher, tracker, domain)

    async def required_slots(
        self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[str]:
        if acc_check_completed(tracker):
            return domain_slots
        return [slot for slot in domain_slots if slot != "share_acc_details"]

    async def extract_contact_name(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        intent, text = _latest(tracker)
        if _leaving(tracker):
            return {}
        requested = tracker.get_slot("requested_slot")
        if requested in ("contact_detail", "share_acc_details") and _NAME_CORRECTION.search(text):
            name = parse_name(without_contact(_NAME_CORRECTION.split(text, maxsplit=1)[-1]))
            return {"contact_name": name} if name and name != tracker.get_slot("contact_name") else {}
        if requested != "contact_name":
            return {}
        if _interruption(tracker) and not parse_name(text):  # a question, unless it reads as a name ("Hope")
            return {}
        return {"contact_name": text}

    async def extract_contact_detail(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        _, text = _latest(tracker)
        if _leaving(tracker):
            return {}
        requested = tracker.get_slot("requested_slot")
        if requested in ("contact_name", "share_acc_details") and parse_contact(text):
            return {"contact_detail": text}  # given with the name, or a correction of the earlier answer
        if requested != "contact_detail" or (_NAME_CORRECTION.search(text) and not parse_contact(text)):
            return {}  # not asked, or "sorry, my name's actually Mereana" (extract_contact_name)
        if parse_contact(text) or not _interruption(tracker):
            return {"contact_detail": text}
        return {}

    async def extract_share_acc_details(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        intent, text = _latest(tracker)
        if tracker.get_slot("requested_slot") != "share_acc_details":
            return {}
        answer = claim_answer(intent, text)  # the same yes / no / don't know reading
        if answer is None:
            return {} if _interruption(tracker) else {"share_acc_details": text}
        return {"share_acc_details": answer == "approved"}

    def validate_contact_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        name = parse_name(without_contact(str(value or "")))
        if not name:
            dispatcher.utter_message(response="utter_contact_name_unclear")
        elif tracker.get_slot("requested_slot") not in (None, "contact_name"):  # None: a form (re)starting
            dispatcher.utter_message(response="utter_contact_name_changed", name=name)
        return {"contact_name": name}

    def validate_contact_detail(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ):
        contact = parse_contact(str(value or ""))
        if contact and tracker.get_slot("requested_slot") == "share_acc_details":
            dispatcher.utter_message(
                response="utter_contact_detail_changed", contact=_mask_contact(contact.phone, contact.email)
            )
        if not contact:
            dispatcher.utter_message(response="utter_contact_detail_invalid")
            return {"contact_detail": None}
        return {"contact_detail": str(value)}

    def validate_share_acc_details(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ):
        if isinstance(value, bool):
            return {"share_acc_details": value}
        dispatcher.utter_message(response="utter_share_acc_details_unclear")
        return {"share_acc_details": None}


def close_chat_requests(sender_id: str) -> None:
    """The call-back request says all a "chat" request of this conversation said: that one is done (by the
    assistant). A failure here is logged only: the call-back request is recorded, and the patient told so."""
    try:
        shared_store().close_open(sender_id, "chat", by=ASSISTANT)
    except Exception as error:  # noqa: BLE001
        logger.error("could not close the chat request: %s", type(error).__name__)


def _mask_contact(phone: Optional[str], email: Optional[str]) -> str:
    if phone:
        return f"phone ({phone[:3]}•••{phone[-3:]})"
    user, _, domain = (email or "").partition("@")
    return f"email ({user[:1]}•••@{domain})"


class ActionSubmitContactRequest(Action):
    """Records the booking / hand-off request for staff and tells the patient what happens next."""

    def name(self) -> str:
        return "action_submit_contact_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        contact = parse_contact(tracker.get_slot("contact_detail") or "")
        name = tracker.get_slot("contact_name")
        kind = tracker.get_slot("request_kind") or "booking"
        reset = [SlotSet(slot, None) for slot in form_slots("contact_form", domain)]
        if not contact or not name:
            dispatcher.utter_message(response="utter_contact_request_incomplete")
            return reset
        shared = acc_check_completed(tracker) and tracker.get_slot("share_acc_details") is True
        acc = acc_details(tracker) if shared else None
        request = BookingRequest(
            kind=kind,
            sender_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel(),
            name=name,
            phone=contact.phone,
            email=contact.email,
            appointment_type=tracker.get_slot("appointment_type") if kind == "booking" else None,
            acc_details=acc,
            note=tracker.get_slot("request_note") if kind == "change" else None,
        )
        try:
            shared_store().add(request)
        except Exception as error:  # noqa: BLE001 - any store failure must reach the patient as a clear answer
            logger.error("could not record a %s request: %s", kind, type(error).__name__)
            dispatcher.utter_message(
                response="utter_contact_request_failed", contact_route=load_profile().contact_route()
            )
            return reset
        close_chat_requests(tracker.sender_id)
        if kind == "change":
            masked = _mask_contact(contact.phone, contact.email)
            dispatcher.utter_message(response="utter_change_request_sent", name=name, contact=masked)
            return reset
        dispatcher.utter_message(
            response="utter_contact_request_sent_with_acc" if acc else "utter_contact_request_sent",
            name=name,
            contact=_mask_contact(contact.phone, contact.email),
            topic=REQUEST_TOPICS.get(kind, REQUEST_TOPICS["handoff"]),
        )
        return reset
