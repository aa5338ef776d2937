"""Booking in the chat, end to end over REST: the real `rasa run` and action server booking in the fake Cliniko API
(tests/support/fake_cliniko.py), typed the way patients type. Each turn is checked, then what the fake holds.

The widget (in Chromium) and Messenger: tests/e2e/test_booking_channels.py.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Dict, List

import pytest

from bot.booking.times import clinic_time, say_time
from bot.channels.sender_ids import REST, namespaced
from bot.storage.booking_requests import BookingRequestStore
from tests.conftest import rest_send, texts
from tests.support.fake_cliniko import ACC_TYPE_ID, FREE_CONSULT_TYPE_ID, MERE_ID, TOM_ID, TREATMENT_TYPE_ID

pytestmark = pytest.mark.e2e

KEY = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)@(\d+)$")  # a time button's payload: Slot.key()


class Patient:
    """One conversation over the REST channel."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.sender = f"book-{uuid.uuid4().hex[:10]}"
        self.last: List[Dict] = []

    def says(self, message: str) -> str:
        self.last = rest_send(self.stack, self.sender, message)
        return texts(self.last)

    def buttons(self) -> List[Dict]:
        return [b for m in self.last for b in m.get("buttons") or []]

    def time_buttons(self) -> List[Dict]:
        return [b for b in self.buttons() if KEY.match(b["payload"])]

    def requests(self) -> List:
        return BookingRequestStore(self.stack.env["BOOKING_REQUESTS_DB_URL"]).list(
            sender_id=namespaced(REST, self.sender)
        )


def start_of(button: Dict) -> datetime:
    return datetime.strptime(KEY.match(button["payload"]).group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def new_appointments(fake, before: int, first_name: str) -> List:
    """The appointments made since `before` for patients of that first name (the fake is shared by the session's
    tests: a booking the chat gave up on may still be made later by the slow server, as a real one could)."""
    return [
        a for a in fake.live_appointments() if a.id > before and fake.patients[a.patient_id].first_name == first_name
    ]


def last_id(fake) -> int:
    return max([a.id for a in fake.live_appointments()] + [0])


def test_a_free_consultation_booked_from_the_next_times(stack, booking_in_chat):
    fake, patient, before = booking_in_chat, Patient(stack), last_id(booking_in_chat)
    reply = patient.says("kia ora, can i book the free consult")
    assert "next free times for your free 15-minute consultation" in reply and "New Zealand time" in reply
    times = patient.time_buttons()
    assert len(times) == 4 and [b["title"] for b in patient.buttons()[-2:]] == ["Later times", "Another day"]
    starts = [start_of(b) for b in times]
    assert starts == sorted(starts) and all(b["title"] == say_time(start_of(b)) for b in times)
    week = [fake.today.fromordinal(fake.today.toordinal() + n) for n in (0, 6)]
    offered = sorted({t for p in (MERE_ID, TOM_ID) for t in fake.offered_times(p, FREE_CONSULT_TYPE_ID, *week)})
    assert starts == offered[:4]  # the soonest the system offers online, none invented
    chosen = times[1]
    assert "first and last name" in patient.says(chosen["payload"])
    assert "phone number or email" in patient.says("aroha ngata")
    summary = patient.says("021 123 4567")
    assert "Please check" in summary and chosen["title"] in summary and "Aroha Ngata" in summary
    assert "021•••567" in summary and "123 4567" not in summary
    done = patient.says("yep")
    practitioner = "Mere" if KEY.match(chosen["payload"]).group(2) == MERE_ID else "Tom"
    assert "You're booked" in done and chosen["title"] in done and f"with {practitioner}" in done
    assert "163 The Terrace" in done
    [made] = new_appointments(fake, before, "Aroha")
    assert made.starts_at == start_of(chosen) and made.appointment_type_id == FREE_CONSULT_TYPE_ID
    assert made.practitioner_id == KEY.match(chosen["payload"]).group(2) and made.notes is None
    booked_for = fake.patients[made.patient_id]
    assert (booked_for.first_name, booked_for.last_name) == ("Aroha", "Ngata")
    assert [n["number"] for n in booked_for.patient_phone_numbers] == ["0211234567"]
    assert patient.requests() == []  # booked: no call-back request
    assert "welcome" in patient.says("sweet as, cheers")


def test_the_kind_asked_then_next_week_mornings_then_a_typed_choice_and_a_last_name(stack, booking_in_chat):
    fake, patient, before = booking_in_chat, Patient(stack), last_id(booking_in_chat)
    assert "Which appointment" in patient.says("i'd like to book an appointment")
    assert "next free times for your appointment" in patient.says("just a normal treatment pls")
    assert len(patient.time_buttons()) == 4
    patient.says("nxt week mornings")
    times = patient.time_buttons()
    monday = fake.today.fromordinal(fake.today.toordinal() + 7 - fake.today.weekday())
    assert len(times) == 4 and all(b["title"].endswith("am") for b in times)
    assert all(clinic_time(start_of(b)).date() >= monday for b in times)
    second = times[1]
    assert "first and last name" in patient.says("the 2nd one")
    assert "your last name" in patient.says("Sam")
    assert "phone number or email" in patient.says("lee")
    summary = patient.says("sam.lee@example.co.nz")
    assert "Standard treatment" in summary and second["title"] in summary and "Sam Lee" in summary
    assert "You're booked" in patient.says("yes please")
    [made] = new_appointments(fake, before, "Sam")
    assert made.appointment_type_id == TREATMENT_TYPE_ID and made.starts_at == start_of(second)
    assert fake.patients[made.patient_id].email == "sam.lee@example.co.nz"


def test_later_times_and_another_day_move_on(stack, booking_in_chat):
    patient = Patient(stack)
    assert "Would you like to book one?" in patient.says("do you do a free consult?")  # the FAQ's offer
    assert "free 15-minute consultation" in patient.says("yep")
    first = patient.time_buttons()
    patient.says("later times")
    later = patient.time_buttons()
    assert start_of(later[0]) > start_of(first[-1])
    patient.says("another day")
    other = patient.time_buttons()
    assert clinic_time(start_of(other[0])).date() > clinic_time(start_of(later[-1])).date()
    assert "Sorry, I didn't catch which time" in patient.says("purple monkey")
    assert patient.time_buttons() == other  # the same times again
    assert "stopped there" in patient.says("cancel")


def test_a_time_taken_meanwhile_is_not_booked_and_the_next_ones_are_offered(stack, booking_in_chat):
    fake, patient, before = booking_in_chat, Patient(stack), last_id(booking_in_chat)
    patient.says("can i book a free consult")
    chosen = patient.time_buttons()[0]
    patient.says(chosen["payload"])
    patient.says("Mere Smith")
    assert "Please check" in patient.says("mere@example.co.nz")
    fake.take(start_of(chosen), KEY.match(chosen["payload"]).group(2), FREE_CONSULT_TYPE_ID)  # reception books it
    reply = patient.says("yes")
    assert "has just been taken" in reply and "haven't booked it" in reply
    again = patient.time_buttons()
    assert again and chosen["payload"] not in [b["payload"] for b in again]
    assert all(start_of(b) > start_of(chosen) for b in again)
    assert "I've changed the name" not in reply  # the form restarts with the details it has, silently
    assert "Please check" in patient.says(again[0]["payload"])  # the name and email are kept
    assert "You're booked" in patient.says("yes")
    mine = new_appointments(fake, before, "Mere")
    assert [a.starts_at for a in mine] == [start_of(again[0])]


def test_a_booking_system_that_times_out_ends_in_a_call_back_request(stack, booking_in_chat):
    fake, patient = booking_in_chat, Patient(stack)
    patient.says("book a free consult please")
    chosen = patient.time_buttons()[0]
    patient.says(chosen["payload"])
    patient.says("Tama Rewi")
    patient.says("022 555 0199")
    fake.delay_next(8, where="POST /v1/individual_appointments$")
    reply = patient.says("yes")
    assert "isn't confirmed" in reply and "Nothing is lost" in reply and "022•••199" in reply
    [request] = patient.requests()
    assert (request.kind, request.name, request.phone, request.appointment_type) == (
        "booking",
        "Tama Rewi",
        "0225550199",
        "free_consult",
    )
    assert "did not answer in time" in request.note and chosen["title"] in request.note


def test_a_revoked_key_turns_the_booking_into_a_call_back_request(stack, booking_in_chat):
    fake, patient = booking_in_chat, Patient(stack)
    fake.revoke_key()
    try:
        reply = patient.says("i want to book the free consult")
        assert "can't reach the clinic's booking system" in reply and "contact you to book" in reply
        assert "first and last name" in reply
        assert "phone number or email" in patient.says("Hine")
        done = patient.says("hine@example.co.nz")
        assert "passed your request" in done and "h•••@example.co.nz" in done
    finally:
        fake._revoked = False
    [request] = patient.requests()
    assert request.kind == "booking" and "API key" in request.note and request.email == "hine@example.co.nz"


def test_an_eligible_acc_check_books_acc_treatment_with_the_details_only_if_agreed(stack, booking_in_chat):
    fake, patient, before = booking_in_chat, Patient(stack), last_id(booking_in_chat)
    assert "date of your injury" in patient.says("am I covered by ACC?")
    assert "Got it: injury on" in patient.says("three weeks ago")
    patient.says("yes")
    patient.says("AB 12345")
    assert "looks eligible" in patient.says("I don't know")
    reply = patient.says('/book_appointment{"appointment_type": "acc_treatment"}')
    assert "ACC treatment" in reply and len(patient.time_buttons()) == 4
    chosen = patient.time_buttons()[0]
    patient.says(chosen["payload"])
    patient.says("Wiremu Tane")
    assert "ACC check details" in patient.says("021 987 6543")
    summary = patient.says("yes add them")
    assert "ACC check details in the notes" in summary and "AB12345" not in summary
    assert "You're booked" in patient.says("yes")
    [made] = new_appointments(fake, before, "Wiremu")
    assert made.appointment_type_id == ACC_TYPE_ID and "AB12345" in (made.notes or "")


def test_changing_an_appointment_is_a_request_for_staff_and_nothing_changes(stack, booking_in_chat):
    fake, patient = booking_in_chat, Patient(stack)
    count, cancels = len(fake.live_appointments()), len(fake.requests_to("/cancel$", "PATCH"))
    reply = patient.says("cant make it tomorrow, can i move my appointment")
    assert "can't change or cancel appointments in the chat" in reply and "What name" in reply
    assert "phone number or email" in patient.says("Aroha Ngata")
    done = patient.says("021 123 4567")
    assert "Nothing has been changed yet" in done and "021•••567" in done
    [request] = patient.requests()
    assert (request.kind, request.note) == ("change", "cant make it tomorrow, can i move my appointment")
    assert len(fake.live_appointments()) == count
    assert len(fake.requests_to("/cancel$", "PATCH")) == cancels  # nothing cancelled in Cliniko


def test_with_the_link_provider_nothing_reaches_cliniko(stack, fake_cliniko):
    patient, seen = Patient(stack), len(fake_cliniko.requests)
    reply = patient.says("can i book an appointment")
    assert "online booking link" in reply or "Book online" in [b["title"] for b in patient.buttons()]
    assert patient.time_buttons() == [] and len(fake_cliniko.requests) == seen


def test_the_first_message_can_say_when(stack, booking_in_chat):
    fake, patient = booking_in_chat, Patient(stack)
    reply = patient.says("can i book a standard treatment next tuesday arvo")
    assert "next free times for your appointment" in reply
    tuesday = fake.today.fromordinal(fake.today.toordinal() + 7 - fake.today.weekday() + 1)
    times = patient.time_buttons()
    assert len(times) == 4 and all(b["title"].endswith("pm") for b in times)
    assert all(clinic_time(start_of(b)).date() >= tuesday for b in times)
    assert clinic_time(start_of(times[0])).date() == tuesday  # Mere and Tom work on Tuesdays
