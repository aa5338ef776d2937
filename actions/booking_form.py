"""Booking in the chat: the kind of appointment, a time from the clinic's booking system, the patient's details, a
summary to confirm, then the appointment (the "cliniko" booking provider; action_booking starts the form).

The booking system is reached only through bot/booking/provider.py's interface (bot/booking/settings.py picks it);
times are said and read by bot/booking/times.py; what the patient is told is in domain/booking.yml. Whenever the
system fails, nothing is lost: the details are collected anyway and a call-back request is recorded for staff.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.acc_eligibility import _interruption, _latest, _leaving, claim_answer, form_slots
from actions.booking import ValidateContactForm, _mask_contact, acc_check_completed, acc_details, close_chat_requests
from actions.form_questions import AskForSlot
from bot.booking import notes
from bot.booking.provider import BookingUnavailable, NewPatient, Slot, SlotTaken
from bot.booking.settings import booking_system
from bot.booking.times import TimeSearch, read_choice, read_search, say_time, select
from bot.clinic.appointments import APPOINTMENT_LABELS, APPOINTMENT_NAMES, kind_in_words
from bot.clinic.contact_details import parse_contact, parse_name
from bot.clinic.injury_dates import clinic_today
from bot.clinic.profile import load_profile
from bot.storage.booking_requests import BookingRequest, shared_store

logger = logging.getLogger(__name__)

FORM = "booking_form"
SHOWN = 4  # times shown at once, as buttons
WEEKS_SEARCHED = 4  # how far ahead the chat looks for a free time before offering a call-back
MORE_TIMES_BUTTONS = (("Later times", "later times"), ("Another day", "another day"))  # after the times
NO_TIMES = "no_times"  # booking_problem when the system answered but had no free time
SEARCH_SECONDS = 12.0  # the longest a patient waits for times (every week and practitioner searched together)
CONVERSATION_STARTS = ("session_started", "restart")  # events after which earlier details are not this conversation's


# --- the times, kept in slots between turns --------------------------------------------------------------------


def slot_to_dict(slot: Slot) -> Dict[str, str]:
    return {
        "starts_at": slot.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "practitioner_id": slot.practitioner_id,
        "practitioner_first_name": slot.practitioner_first_name,
    }


def slot_from_dict(value: Any) -> Optional[Slot]:
    try:
        starts = datetime.strptime(value["starts_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        return Slot(starts, str(value["practitioner_id"]), str(value["practitioner_first_name"]))
    except (KeyError, TypeError, ValueError):
        return None


def shown_slots(tracker: Tracker) -> List[Slot]:
    shown = tracker.get_slot("booking_shown") or {}
    return [s for s in (slot_from_dict(v) for v in shown.get("slots") or []) if s]


def chosen_slot(tracker: Tracker) -> Optional[Slot]:
    return slot_from_dict(tracker.get_slot("booking_time"))


def current_search(tracker: Tracker) -> TimeSearch:
    return TimeSearch.from_text(tracker.get_slot("booking_search") or "", clinic_today())


def earlier_contact(tracker: Tracker) -> Optional[Tuple[str, str]]:
    """The name and phone/email the patient gave earlier in this conversation (e.g. for a call-back), if any."""
    found: Dict[str, str] = {}
    for event in reversed(tracker.events or []):
        if event.get("event") in CONVERSATION_STARTS:
            break  # Rasa sends every session's events: only this conversation's details are offered
        name = event.get("name") if event.get("event") == "slot" else None
        if name in ("contact_name", "contact_detail") and event.get("value") and name not in found:
            found[name] = str(event["value"])
    if "contact_name" in found and "contact_detail" in found and parse_contact(found["contact_detail"]):
        return found["contact_name"], found["contact_detail"]
    return None


def patient_names(tracker: Tracker) -> Tuple[str, str]:
    """(first name, last name): the first word of the name given, and the rest or the last name asked for."""
    words = (tracker.get_slot("contact_name") or "").split()
    first, rest = (words[0] if words else ""), " ".join(words[1:])
    return first, rest or (tracker.get_slot("last_name") or "")


def needs_last_name(tracker: Tracker) -> bool:
    name = tracker.get_slot("contact_name")
    return bool(name) and len(name.split()) == 1


def failure_reason(error: BaseException) -> str:
    """The reason code of a failure (bot/booking/provider.py): the adapter's, "timeout" for the chat's own time limit,
    "bad_answer" for anything unexpected (its type is logged, never its message: it may quote the patient)."""
    if isinstance(error, BookingUnavailable):
        return error.reason
    if isinstance(error, asyncio.TimeoutError):
        return "timeout"
    logger.error("unexpected error from the booking system: %s", type(error).__name__)
    return "bad_answer"


async def find_times(kind: str, search: TimeSearch) -> List[Slot]:
    """The first times that fit `search`, looking a week at a time up to WEEKS_SEARCHED weeks ahead.
    Raises BookingUnavailable."""
    system = booking_system()
    for week in range(WEEKS_SEARCHED):
        first_day = search.first_day.fromordinal(search.first_day.toordinal() + 7 * week)
        picked = select(await system.available_times(kind, first_day, 7), search, SHOWN)
        if picked:
            return picked
    return []


# --- the form ---------------------------------------------------------------------------------------------------


class ValidateBookingForm(ValidateContactForm):
    """Asks only what this conversation still needs; reads times, the patient's search words and corrections."""

    def name(self) -> str:
        return "validate_booking_form"

    async def required_slots(
        self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[str]:
        problem = tracker.get_slot("booking_problem")
        slots = ["appointment_type"]
        if not problem:
            slots.append("booking_time")
        if earlier_contact(tracker) and (
            tracker.get_slot("reuse_contact") is not None or not tracker.get_slot("contact_name")
        ):
            slots.append("reuse_contact")
        slots.append("contact_name")
        if needs_last_name(tracker) and not problem:
            slots.append("last_name")
        slots.append("contact_detail")
        if acc_check_completed(tracker):
            slots.append("share_acc_details")
        if not problem:
            slots.append("booking_confirmed")
        return slots

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Optional[EventType]:
        """Always the next question (rasa_sdk says nothing when the list equals the domain's, but the times are looked
        up only when this form knows it is about to ask for one)."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        return SlotSet("requested_slot", next((s for s in required if tracker.slots.get(s) is None), None))

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        before = self._read_time_words(dispatcher, tracker)
        tracker.add_slots(before)
        events = before + await super().run(dispatcher, tracker, domain)
        tracker.add_slots(events)
        return events + await self._offer_times(dispatcher, tracker, domain, events)

    def _read_time_words(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        """The patient picks a shown time, moves the search ("later times", "a morning"), or changes the kind."""
        requested = tracker.get_slot("requested_slot")
        intent, text = _latest(tracker)
        slots = shown_slots(tracker)
        tapped = next((s for s in slots if s.key() == text.strip()), None)
        if tapped and requested in ("booking_time", "booking_confirmed"):  # a time button, whatever NLU made of it
            return [SlotSet("booking_time", slot_to_dict(tapped)), SlotSet("booking_confirmed", None)]
        if _leaving(tracker):
            return []
        events: List[EventType] = []
        kind = tracker.get_slot("appointment_type")
        shown = tracker.get_slot("booking_shown") or {}
        if shown and kind and shown.get("kind") != kind:  # "actually the free one": other times
            events += [
                SlotSet("booking_shown", None),
                SlotSet("booking_time", None),
                SlotSet("booking_confirmed", None),
            ]
            return events
        if requested is None:  # the message that started the booking: "can I book for next tuesday morning"
            search = read_search(text, TimeSearch.starting(clinic_today()), [], clinic_today())
            return [SlotSet("booking_search", search.to_text())] if search else []
        if requested not in ("booking_time", "booking_confirmed"):
            return []
        choice = read_choice(text, slots, clinic_today())
        if choice and choice != chosen_slot(tracker):
            return [SlotSet("booking_time", slot_to_dict(choice)), SlotSet("booking_confirmed", None)]
        search = read_search(text, current_search(tracker), slots, clinic_today())
        if search and search != current_search(tracker):
            moved = [SlotSet("booking_search", search.to_text()), SlotSet("booking_shown", None)]
            return moved + [SlotSet("booking_time", None), SlotSet("booking_confirmed", None)]
        if requested == "booking_time" and not choice and not _interruption(tracker):
            dispatcher.utter_message(response="utter_booking_time_unclear")
            return [SlotSet("booking_time", None)]  # an answer, not understood: the times are shown again
        return []

    async def _offer_times(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, events: List[EventType]
    ) -> List[EventType]:
        """When the form is about to ask for a time, the times to show; when the system fails or has none, the
        problem (the form then asks for the details of a call-back request instead)."""
        if _requested_in(events) != "booking_time" or tracker.get_slot("booking_shown"):
            return []
        kind = tracker.get_slot("appointment_type")
        search = current_search(tracker)
        label = APPOINTMENT_LABELS.get(kind, APPOINTMENT_LABELS["treatment"])
        try:
            times = await asyncio.wait_for(find_times(kind, search), SEARCH_SECONDS)
            if not times and search != TimeSearch.starting(clinic_today()):
                times = await asyncio.wait_for(find_times(kind, TimeSearch.starting(clinic_today())), SEARCH_SECONDS)
                if times:
                    dispatcher.utter_message(response="utter_booking_none_matching")
                    search = TimeSearch.starting(clinic_today())
            problem = None if times else NO_TIMES
        except Exception as error:  # noqa: BLE001 - whatever fails, the patient is answered and nothing is lost
            times, problem = [], failure_reason(error)
            logger.warning("booking system unavailable while looking for times: %s", problem)
        if times:
            shown = {"kind": kind, "search": search.to_text(), "slots": [slot_to_dict(s) for s in times]}
            return [SlotSet("booking_search", search.to_text()), SlotSet("booking_shown", shown)]
        dispatcher.utter_message(
            response="utter_booking_no_times" if problem == NO_TIMES else "utter_booking_system_down", appointment=label
        )
        tracker.add_slots([SlotSet("booking_problem", problem)])
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        following = next((s for s in required if tracker.get_slot(s) is None), None)
        _drop_requested(events)
        return [SlotSet("booking_problem", problem), SlotSet("requested_slot", following)]

    async def extract_appointment_type(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        if tracker.get_slot("requested_slot") != "appointment_type" or tracker.get_slot("appointment_type"):
            return {}
        _, text = _latest(tracker)
        kind = kind_in_words(text, answering=True)
        if kind:
            return {"appointment_type": kind}
        return {} if _interruption(tracker) else {"appointment_type": text}

    def validate_appointment_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ):
        if value is None:
            return {"appointment_type": None}  # a reset by this form, not an answer
        if value in APPOINTMENT_LABELS:
            return {"appointment_type": value}
        dispatcher.utter_message(response="utter_appointment_type_unclear")
        return {"appointment_type": None}

    def validate_booking_time(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        return {"booking_time": value if slot_from_dict(value) else None}

    async def extract_reuse_contact(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        return self._yes_no(tracker, "reuse_contact")

    def validate_reuse_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ):
        if value is None:
            return {"reuse_contact": None}  # a reset by this form, not an answer
        if value is True and earlier_contact(tracker):
            name, detail = earlier_contact(tracker)
            return {"reuse_contact": True, "contact_name": name, "contact_detail": detail}
        if isinstance(value, bool):
            return {"reuse_contact": value}
        dispatcher.utter_message(response="utter_share_acc_details_unclear")
        return {"reuse_contact": None}

    async def extract_last_name(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        if tracker.get_slot("requested_slot") != "last_name" or _leaving(tracker):
            return {}
        _, text = _latest(tracker)
        return {} if _interruption(tracker) and not parse_name(text) else {"last_name": text}

    def validate_last_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        name = parse_name(str(value or ""))
        if not name:
            dispatcher.utter_message(response="utter_last_name_unclear")
        return {"last_name": name}

    async def extract_booking_confirmed(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        if tracker.get_slot("booking_time") is None:
            return {}  # a new time or search was just read: the summary is asked again
        return self._yes_no(tracker, "booking_confirmed")

    def validate_booking_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ):
        if value is None:
            return {"booking_confirmed": None}  # a reset by this form, not an answer
        if isinstance(value, bool):
            return {"booking_confirmed": value}
        dispatcher.utter_message(response="utter_share_acc_details_unclear")
        return {"booking_confirmed": None}

    def _yes_no(self, tracker: Tracker, slot: str) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != slot or _leaving(tracker):
            return {}
        intent, text = _latest(tracker)
        answer = claim_answer(intent, text)
        if answer is None:
            return {} if _interruption(tracker) else {slot: text}
        return {slot: answer == "approved"}


def _requested_in(events: List[EventType]) -> Optional[str]:
    """The slot the form will ask for next, as the validation's events say (the last `requested_slot`)."""
    values = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == "requested_slot"]
    return values[-1] if values else None


def _drop_requested(events: List[EventType]) -> None:
    """Rasa takes the first `requested_slot` the validation returns: remove them before setting another."""
    events[:] = [e for e in events if not (e.get("event") == "slot" and e.get("name") == "requested_slot")]


# --- the questions -----------------------------------------------------------------------------------------------


class ActionAskAppointmentType(AskForSlot):
    slot = "appointment_type"


class ActionAskBookingTime(AskForSlot):
    """Shows the times found (buttons in NZ time), then "Later times" and "Another day"."""

    slot = "booking_time"

    def variables(self, tracker: Tracker) -> Dict[str, Any]:
        buttons = [{"title": say_time(s.starts_at), "payload": s.key()} for s in shown_slots(tracker)]
        buttons += [{"title": title, "payload": payload} for title, payload in MORE_TIMES_BUTTONS]
        return {
            "appointment": APPOINTMENT_LABELS.get(tracker.get_slot("appointment_type"), "appointment"),
            "buttons": buttons,
        }


class ActionAskReuseContact(AskForSlot):
    slot = "reuse_contact"

    def variables(self, tracker: Tracker) -> Dict[str, Any]:
        name, detail = earlier_contact(tracker) or ("", "")
        contact = parse_contact(detail)
        return {"name": name, "contact": _mask_contact(contact.phone, contact.email) if contact else ""}


class ActionAskBookingContactName(AskForSlot):
    form, slot = FORM, "contact_name"


class ActionAskLastName(AskForSlot):
    slot = "last_name"

    def variables(self, tracker: Tracker) -> Dict[str, Any]:
        return {"first_name": patient_names(tracker)[0]}


class ActionAskBookingContactDetail(AskForSlot):
    form, slot = FORM, "contact_detail"


class ActionAskBookingShareAccDetails(AskForSlot):
    form, slot = FORM, "share_acc_details"


class ActionAskBookingConfirmed(AskForSlot):
    """The summary to confirm: appointment, time, practitioner, clinic, and the patient's details (masked)."""

    slot = "booking_confirmed"

    def variables(self, tracker: Tracker) -> Dict[str, Any]:
        return {"summary": summary(tracker)}


def summary(tracker: Tracker) -> str:
    slot = chosen_slot(tracker)
    contact = parse_contact(tracker.get_slot("contact_detail") or "")
    first, last = patient_names(tracker)
    profile = load_profile()
    lines = [
        APPOINTMENT_NAMES.get(tracker.get_slot("appointment_type"), "Appointment"),
        f"{say_time(slot.starts_at)} with {slot.practitioner_first_name}" if slot else "",
        f"{profile.name}, {profile.address}",
        f"For {first} {last}, {_mask_contact(contact.phone, contact.email)}" if contact else f"For {first} {last}",
    ]
    if acc_check_completed(tracker) and tracker.get_slot("share_acc_details") is True:
        lines.append("With your ACC check details in the notes")
    return "\n".join(f"• {line}" for line in lines if line)


# --- booking ---------------------------------------------------------------------------------------------------


class ActionSubmitBooking(Action):
    """Books the confirmed time; when the system fails, records a call-back request with what the patient chose."""

    def name(self) -> str:
        return "action_submit_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        reset = [SlotSet(slot, None) for slot in [*form_slots(FORM, domain), "booking_time"]]
        kind = tracker.get_slot("appointment_type") or "treatment"
        slot = chosen_slot(tracker)
        contact = parse_contact(tracker.get_slot("contact_detail") or "")
        first, last = patient_names(tracker)
        if not contact or not first:
            dispatcher.utter_message(response="utter_contact_request_incomplete")
            return reset
        problem = tracker.get_slot("booking_problem")
        if problem:
            return self._call_back(dispatcher, tracker, kind, None, problem) + reset
        if tracker.get_slot("booking_confirmed") is not True or slot is None:
            dispatcher.utter_message(response="utter_booking_not_made")
            return reset
        shared = acc_check_completed(tracker) and tracker.get_slot("share_acc_details") is True
        acc = notes.acc_note(acc_details(tracker)) if shared else None
        try:
            booked = await booking_system().book(kind, slot, NewPatient(first, last, contact.phone, contact.email), acc)
        except SlotTaken:
            dispatcher.utter_message(response="utter_booking_time_taken", time=say_time(slot.starts_at))
            later = replace(TimeSearch.starting(clinic_today()), after=slot.starts_at)
            moved = [SlotSet("booking_search", later.to_text()), SlotSet("booking_shown", None)]
            return [SlotSet("booking_time", None), SlotSet("booking_confirmed", None), *moved, FollowupAction(FORM)]
        except Exception as error:  # noqa: BLE001 - whatever fails, the patient is answered and nothing is lost
            logger.warning("booking system unavailable while booking: %s", failure_reason(error))
            return self._call_back(dispatcher, tracker, kind, slot, failure_reason(error)) + reset
        logger.info("appointment booked in the chat")
        profile = load_profile()
        dispatcher.utter_message(
            response="utter_booking_confirmed",
            appointment=APPOINTMENT_LABELS[kind],
            time=say_time(booked.starts_at),
            practitioner=booked.practitioner_first_name,
            clinic_name=profile.name,
            address=profile.address,
            contact_route=profile.contact_route(),
        )
        return reset

    def _call_back(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, kind: str, slot: Optional[Slot], problem: str
    ) -> List[EventType]:
        """Records a call-back request saying what the patient chose and why the chat could not book it."""
        contact = parse_contact(tracker.get_slot("contact_detail") or "")
        first, last = patient_names(tracker)
        shared = acc_check_completed(tracker) and tracker.get_slot("share_acc_details") is True
        request = BookingRequest(
            kind="booking",
            sender_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel(),
            name=f"{first} {last}".strip(),
            phone=contact.phone if contact else None,
            email=contact.email if contact else None,
            appointment_type=kind,
            acc_details=acc_details(tracker) if shared else None,
            note=notes.failure_note(problem, slot),
        )
        try:
            shared_store().add(request)
        except Exception as error:  # noqa: BLE001 - any store failure must reach the patient as a clear answer
            logger.error("could not record a booking call-back request: %s", type(error).__name__)
            dispatcher.utter_message(
                response="utter_contact_request_failed", contact_route=load_profile().contact_route()
            )
            return []
        close_chat_requests(tracker.sender_id)
        masked = _mask_contact(request.phone, request.email)
        if slot is not None:
            dispatcher.utter_message(
                response="utter_booking_failed_request_sent",
                time=say_time(slot.starts_at),
                contact=masked,
                appointment=APPOINTMENT_LABELS[kind],
            )
        else:
            dispatcher.utter_message(
                response="utter_contact_request_sent", name=first, contact=masked, topic="an appointment"
            )
        return []
