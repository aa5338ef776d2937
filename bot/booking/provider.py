"""What a booking system must do for the chat to book in it: the interface every adapter implements.

The booking conversation (actions/booking_form.py) only talks to a `BookingProvider`. An adapter for another
practice-management system (Nookal, Gensolve, Jane) implements these two methods and raises these two errors;
docs/booking.md says what each must guarantee. Kinds of appointment are the clinic's own words
(bot/clinic/appointments.py: "free_consult", "acc_treatment", "treatment"); the adapter maps them to its ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import List, Optional, Protocol


@dataclass(frozen=True)
class Slot:
    """A time the patient can book: its start (timezone-aware, UTC) and who it is with."""

    starts_at: datetime
    practitioner_id: str
    practitioner_first_name: str

    def key(self) -> str:
        """A short stable text for this slot (kept in a slot of the conversation, sent back by a button)."""
        return f"{self.starts_at.strftime('%Y-%m-%dT%H:%M:%SZ')}@{self.practitioner_id}"


@dataclass(frozen=True)
class NewPatient:
    """Who the appointment is for, as the patient gave it in the chat."""

    first_name: str
    last_name: str
    phone: Optional[str] = None
    email: Optional[str] = None


@dataclass(frozen=True)
class Booked:
    """The appointment the system made."""

    appointment_id: str
    starts_at: datetime
    practitioner_first_name: str


class BookingUnavailable(Exception):
    """The booking system could not be used (timeout, 5xx, 401, 429, not configured, an unexpected answer).

    `reason` is a short code for logs and the staff note (never the patient's details):
    "timeout", "server_error", "unauthorised", "rate_limited", "not_configured", "bad_answer", "refused".
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SlotTaken(Exception):
    """The chosen time was taken by someone else in the meantime: nothing was booked."""


class BookingProvider(Protocol):
    """A practice-management system the chat can book in."""

    async def available_times(self, kind: str, first_day: date, days: int) -> List[Slot]:
        """Bookable times for `kind` on `days` days from `first_day` (days in the clinic's time zone), soonest
        first, across the practitioners the clinic chose. Only what the system offers for online booking.
        Raises BookingUnavailable."""

    async def book(self, kind: str, slot: Slot, patient: NewPatient, notes: Optional[str]) -> Booked:
        """Books `slot` for `patient` (an existing record found by a safe exact match, else a new one).
        Raises SlotTaken (nothing booked) or BookingUnavailable."""
