"""Answers about clinic details that live in the clinic profile, and the route to a person.

What the patient is told is in domain/clinic.yml and domain/booking.yml; these actions choose the response
and fill its variables from the clinic profile.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Dict, List, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.clinic.profile import ClinicProfile, load_profile
from bot.dialogue.offers import offer_metadata
from bot.storage.booking_requests import BookingRequest, shared_store

# intent -> (profile keys, how to name the detail in a sentence)
DETAILS: Dict[str, tuple] = {
    "clinic_prices": (("prices", "acc_co_payment"), "prices"),
    "clinic_hours": (("opening_hours",), "opening hours"),
    "clinic_contact": (("phone", "email"), "contact details"),
    "clinic_practitioners": (("practitioners",), "practitioners"),
}
LABELS = {
    "prices": "Prices",
    "acc_co_payment": "ACC co-payment",
    "opening_hours": "Opening hours",
    "phone": "Phone",
    "email": "Email",
    "practitioners": "Practitioners",
}


def known_details(intent: str, profile: ClinicProfile) -> List[str]:
    """"Label: value" for each detail of the intent that the profile has (not a placeholder)."""
    keys, _ = DETAILS.get(intent, (("phone", "email"), "contact details"))
    return [f"{LABELS[k]}: {profile.get(k)}" for k in keys if profile.get(k)]


def clinic_detail_answer(intent: str, profile: ClinicProfile) -> Tuple[str, Dict[str, str]]:
    """The response for a clinic-detail intent and its variables: the known values, or an honest "I don't know"."""
    _, noun = DETAILS.get(intent, (("phone", "email"), "contact details"))
    known = known_details(intent, profile)
    if known:
        return "utter_clinic_details", {"details": "\n".join(known), "clinic_name": profile.name}
    return "utter_clinic_details_unknown", {"detail": noun, "contact_route": profile.contact_route()}


class ActionClinicDetails(Action):
    """Answers prices, hours, contact details and practitioners from clinic_profile.yml."""

    def name(self) -> str:
        return "action_clinic_details"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        profile = load_profile()
        offers_call_back = not known_details(intent, profile) and not tracker.active_loop_name
        metadata = offer_metadata("contact") if offers_call_back else {}
        response, values = clinic_detail_answer(intent, profile)
        dispatcher.utter_message(response=response, **values, **metadata)
        return []


logger = logging.getLogger(__name__)
CHAT_REQUEST_AGAIN_AFTER = timedelta(hours=1)  # asking again within this time adds no second "chat" request


def record_chat_request(sender_id: str, channel: str) -> bool:
    """A "chat" request for the staff inbox (no personal details): someone may take the conversation over."""
    try:
        store = shared_store()
        if store.open_request_of(sender_id, "chat", CHAT_REQUEST_AGAIN_AFTER) is None:
            store.add(BookingRequest(kind="chat", sender_id=sender_id, channel=channel))
        return True
    except Exception as error:  # noqa: BLE001 - the patient still gets the ways to reach a person
        logger.error("could not record a chat request: %s", type(error).__name__)
        return False


class ActionHumanHandoff(Action):
    """Tells the patient how to reach a person; outside a form, lets the team know in the staff console's inbox
    (a "chat" request: a person may join this chat) and offers to record a call-back request."""

    def name(self) -> str:
        return "action_human_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        profile = load_profile()
        route = {"clinic_name": profile.name, "contact_route": profile.contact_route()}
        if tracker.active_loop_name:
            dispatcher.utter_message(response="utter_handoff_in_form", **route)
            return []
        noted = record_chat_request(tracker.sender_id, tracker.get_latest_input_channel() or "")
        dispatcher.utter_message(response="utter_handoff" if noted else "utter_handoff_not_noted", **route)
        return [SlotSet("request_kind", "handoff")]
