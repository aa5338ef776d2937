"""What staff read about a booking the chat could not make (a call-back request's note), and the ACC details put in an
appointment's notes with the patient's agreement. Staff-facing words, in one place."""

from __future__ import annotations

from typing import Any, Dict, Optional

from bot.booking.provider import Slot
from bot.booking.times import say_time

# BookingUnavailable.reason (bot/booking/provider.py), and "no_times" -> why the chat could not book, for staff.
PROBLEMS = {
    "timeout": "the booking system did not answer in time",
    "server_error": "the booking system had an error",
    "unauthorised": "the booking system refused the chat's API key (revoked or wrong?)",
    "rate_limited": "the booking system asked the chat to slow down (rate limit)",
    "not_configured": "booking in the chat is not fully set up (clinic_profile.yml / CLINIKO_API_KEY)",
    "bad_answer": "the booking system gave an unexpected answer",
    "refused": "the booking system refused the request",
    "no_times": "the booking system showed no free time online in the next weeks",
}
# Failures after which a booking request may have reached the system and been made (no answer, or an error mid-way)
MAYBE_BOOKED = ("timeout", "server_error", "bad_answer")


def failure_note(problem: str, slot: Optional[Slot]) -> str:
    """ "Booking in the chat failed: <why>. The patient chose Tue 2 Dec, 10:30am with Mere." """
    why = PROBLEMS.get(problem, "the booking system could not be used")
    chose = f" The patient chose {say_time(slot.starts_at)} with {slot.practitioner_first_name}." if slot else ""
    # failed while booking, without a clear refusal: the appointment may exist in the booking system all the same
    unsure = (
        " It may have been booked anyway: check the booking system first." if slot and problem in MAYBE_BOOKED else ""
    )
    return f"Booking in the chat failed: {why}.{chose}{unsure} Please call the patient to book."


def acc_note(details: Dict[str, Any]) -> str:
    """The appointment's notes in the booking system: the ACC check's answers, shared with the patient's agreement."""
    parts = [
        f"injury date {details.get('injury_date') or 'not given'}",
        f"claim {details.get('claim_status') or 'not given'}",
        f"ACC45 {details.get('acc45') or 'not given'}",
        f"Read code {details.get('read_code') or 'not given'}",
    ]
    return "Booked in the chat. ACC check (shared with the patient's agreement): " + ", ".join(parts) + "."
