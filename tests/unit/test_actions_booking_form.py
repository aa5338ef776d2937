"""Booking in the chat (actions/booking_form.py) with Rasa SDK trackers and a booking system in memory.

The same conversation against the fake Cliniko server over the real servers: tests/e2e/test_booking_chat.py.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from typing import List, Optional

import pytest

from actions import booking_form
from actions.booking import ActionBooking
from actions.booking_form import (
    ActionAskBookingConfirmed,
    ActionAskBookingTime,
    ActionSubmitBooking,
    ValidateBookingForm,
    slot_to_dict,
)
from bot.booking import notes
from bot.booking.provider import Booked, BookingUnavailable, NewPatient, Slot, SlotTaken
from bot.booking.times import TimeSearch
from bot.clinic.appointments import kind_in_words
from bot.clinic.injury_dates import clinic_today
from bot.storage.booking_requests import BookingRequestStore
from tests.support import action_helpers
from tests.support.action_helpers import slots_set, tracker
from tests.support.responses import rendered

START = datetime.combine(clinic_today() + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
SLOTS = [Slot(START + timedelta(hours=h), "11", "Mere") for h in range(20, 27)]  # ~9am-3pm NZ, 7 times
ACC_DONE = {
    "injury_date": "2026-11-02",
    "claim_status": "approved",
    "acc45": "AB12345",
    "read_code": "unknown",
    "eligibility": "eligible",
}


class MemorySystem:
    """A booking system in memory that records what it was asked, or fails as told."""

    def __init__(self, fail: Optional[Exception] = None, book_fails: Optional[Exception] = None) -> None:
        self.fail, self.book_fails = fail, book_fails
        self.searches: List[date] = []
        self.booked: List[tuple] = []

    async def available_times(self, kind: str, first_day: date, days: int) -> List[Slot]:
        self.searches.append(first_day)
        if self.fail:
            raise self.fail
        return [s for s in SLOTS if s.starts_at.date() >= first_day - timedelta(days=1)]

    async def book(self, kind: str, slot: Slot, patient: NewPatient, notes: Optional[str]) -> Booked:
        if self.book_fails:
            raise self.book_fails
        self.booked.append((kind, slot, patient, notes))
        return Booked("9001", slot.starts_at, slot.practitioner_first_name)


@pytest.fixture
def system(monkeypatch) -> MemorySystem:
    memory = MemorySystem()
    monkeypatch.setattr(booking_form, "booking_system", lambda: memory)
    return memory


@pytest.fixture
def in_chat(tmp_path, monkeypatch):
    path = tmp_path / "profile.yml"
    path.write_text('booking_provider: "cliniko"\n')
    monkeypatch.setenv("CLINIC_PROFILE", str(path))


def run(action, t) -> tuple:
    events, _, messages = action_helpers.run(action, t)
    shown = rendered(messages)
    return events, [m["text"] for m in shown], shown


def requested(events) -> List:
    return [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == "requested_slot"]


def shown(slots: List[Slot], kind: str = "free_consult") -> dict:
    return {
        "kind": kind,
        "search": TimeSearch.starting(clinic_today()).to_text(),
        "slots": [slot_to_dict(s) for s in slots],
    }


def test_booking_starts_the_form_with_the_kind_only_when_known(in_chat):
    events, texts, _ = run(ActionBooking(), tracker("i want to book", "book_appointment"))
    assert followup(events) == "booking_form"
    assert slots_set(events)["appointment_type"] is None and texts == []
    events, _, _ = run(ActionBooking(), tracker("can i book the free consult", "book_appointment"))
    assert slots_set(events)["appointment_type"] == "free_consult"
    events, _, _ = run(ActionBooking(), tracker("book", "book_appointment", ACC_DONE))
    assert slots_set(events)["appointment_type"] == "acc_treatment"


def test_the_kind_is_asked_first_when_unknown(system):
    events, _, _ = run(ValidateBookingForm(), tracker("i want to book", "book_appointment", form="booking_form"))
    assert requested(events) == ["appointment_type"] and system.searches == []


def test_times_are_fetched_before_they_are_asked_and_shown_as_buttons(system):
    t = tracker("book the free consult", "book_appointment", {"appointment_type": "free_consult"}, form="booking_form")
    events, _, _ = run(ValidateBookingForm(), t)
    assert requested(events) == ["booking_time"]
    kept = slots_set(events)["booking_shown"]
    assert len(kept["slots"]) == booking_form.SHOWN and kept["kind"] == "free_consult"
    ask = tracker("", None, {"appointment_type": "free_consult", "booking_shown": kept}, form="booking_form")
    _, texts, messages = run(ActionAskBookingTime(), ask)
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert "New Zealand time" in texts[0] and "free 15-minute consultation" in texts[0]
    assert titles[-2:] == ["Later times", "Another day"] and len(titles) == 6
    assert titles[0].endswith("am") and "," in titles[0]  # "Wed 30 Nov, 9am"
    assert messages[0]["buttons"][0]["payload"] == SLOTS[0].key()


def test_a_system_that_fails_turns_the_booking_into_a_call_back_request(monkeypatch):
    memory = MemorySystem(fail=BookingUnavailable("timeout"))
    monkeypatch.setattr(booking_form, "booking_system", lambda: memory)
    t = tracker("book a free consult", "book_appointment", {"appointment_type": "free_consult"}, form="booking_form")
    events, texts, _ = run(ValidateBookingForm(), t)
    assert "can't reach the clinic's booking system" in texts[0]
    assert slots_set(events)["booking_problem"] == "timeout"
    assert requested(events) == ["contact_name"]  # one requested slot: Rasa takes the first


def test_a_button_picks_its_time_and_words_move_the_search(system):
    slots = {"appointment_type": "free_consult", "booking_shown": shown(SLOTS[:4])}
    t = tracker(SLOTS[1].key(), "stop", slots, form="booking_form", requested="booking_time")  # whatever NLU said
    events, texts, _ = run(ValidateBookingForm(), t)
    assert slots_set(events)["booking_time"] == slot_to_dict(SLOTS[1]) and requested(events) == ["contact_name"]
    assert texts == []  # nothing said on the way: the next question follows

    t = tracker("any later times?", "inform", slots, form="booking_form", requested="booking_time")
    events, texts, _ = run(ValidateBookingForm(), t)
    assert texts == []
    search = TimeSearch.from_text(slots_set(events)["booking_search"], clinic_today())
    assert search.after == SLOTS[3].starts_at
    assert [s["starts_at"] for s in slots_set(events)["booking_shown"]["slots"]][0] == slot_to_dict(SLOTS[4])[
        "starts_at"
    ]


def test_an_answer_that_is_no_time_shows_the_times_again(system):
    slots = {"appointment_type": "free_consult", "booking_shown": shown(SLOTS[:4])}
    t = tracker("hmm purple", "nlu_fallback", slots, form="booking_form", requested="booking_time")
    events, texts, _ = run(ValidateBookingForm(), t)
    assert "didn't catch which time" in texts[0]
    assert slots_set(events)["booking_time"] is None and requested(events) == ["booking_time"]


def test_earlier_details_are_offered_and_a_one_word_name_asks_for_the_last_name(system):
    t = tracker(
        "", None, {"appointment_type": "free_consult", "booking_time": slot_to_dict(SLOTS[0])}, form="booking_form"
    )
    t.events[:0] = [
        {"event": "slot", "name": "contact_name", "value": "Aroha"},
        {"event": "slot", "name": "contact_detail", "value": "021 123 4567"},
        {"event": "slot", "name": "contact_name", "value": None},
    ]
    events, _, _ = run(ValidateBookingForm(), t)
    assert requested(events) == ["reuse_contact"]
    t.slots["requested_slot"] = "reuse_contact"
    t.latest_message = {"text": "yep", "intent": {"name": "affirm", "confidence": 0.9}}
    events, _, _ = run(ValidateBookingForm(), t)
    assert slots_set(events)["contact_name"] == "Aroha" and requested(events) == ["last_name"]


def test_the_summary_masks_the_contact_and_names_the_practitioner():
    slots = {
        "appointment_type": "free_consult",
        "booking_time": slot_to_dict(SLOTS[0]),
        "contact_name": "Aroha Ngata",
        "contact_detail": "021 123 4567",
    }
    _, texts, _ = run(ActionAskBookingConfirmed(), tracker("", None, slots, form="booking_form"))
    assert "with Mere" in texts[0] and "Aroha Ngata" in texts[0] and "021•••567" in texts[0]
    assert "123 4567" not in texts[0] and "163 The Terrace" in texts[0]


CONFIRMED = {
    "appointment_type": "acc_treatment",
    "booking_time": slot_to_dict(SLOTS[0]),
    "contact_name": "Aroha Te Pania",
    "contact_detail": "aroha@example.co.nz",
    "booking_confirmed": True,
    "request_kind": "booking",
}


def test_a_confirmed_booking_is_made_with_acc_details_only_when_shared(system, store_url):
    events, texts, _ = run(
        ActionSubmitBooking(), tracker("yes", "affirm", {**CONFIRMED, **ACC_DONE, "share_acc_details": False})
    )
    kind, slot, patient, notes = system.booked[0]
    assert (kind, slot, notes) == ("acc_treatment", SLOTS[0], None)
    assert patient == NewPatient("Aroha", "Te Pania", None, "aroha@example.co.nz")
    assert "You're booked" in texts[0] and "with Mere" in texts[0] and "163 The Terrace" in texts[0]
    assert slots_set(events)["contact_name"] is None  # nothing kept after the booking
    run(ActionSubmitBooking(), tracker("yes", "affirm", {**CONFIRMED, **ACC_DONE, "share_acc_details": True}))
    assert "AB12345" in system.booked[1][3]


def test_a_time_taken_meanwhile_offers_the_next_times(monkeypatch, store_url):
    memory = MemorySystem(book_fails=SlotTaken())
    monkeypatch.setattr(booking_form, "booking_system", lambda: memory)
    events, texts, _ = run(ActionSubmitBooking(), tracker("yes", "affirm", CONFIRMED))
    assert "has just been taken" in texts[0]
    assert followup(events) == "booking_form"
    after = TimeSearch.from_text(slots_set(events)["booking_search"], clinic_today()).after
    assert after == SLOTS[0].starts_at and "contact_name" not in slots_set(events)  # the details are kept
    assert BookingRequestStore(store_url).list() == []


def test_a_failed_booking_records_a_call_back_request_with_the_chosen_time(monkeypatch, store_url):
    memory = MemorySystem(book_fails=BookingUnavailable("server_error"))
    monkeypatch.setattr(booking_form, "booking_system", lambda: memory)
    _, texts, _ = run(ActionSubmitBooking(), tracker("yes", "affirm", CONFIRMED, sender="web:abc"))
    assert "Nothing is lost" in texts[0] and "a•••@example.co.nz" in texts[0]
    [request] = BookingRequestStore(store_url).list()
    assert (request.kind, request.name, request.email, request.appointment_type) == (
        "booking",
        "Aroha Te Pania",
        "aroha@example.co.nz",
        "acc_treatment",
    )
    assert "had an error" in request.note and "with Mere" in request.note


def followup(events) -> Optional[str]:
    return next((e["name"] for e in events if e.get("event") == "followup"), None)


def test_the_request_provider_offers_a_call_back_even_with_a_booking_page(tmp_path, monkeypatch):
    path = tmp_path / "profile.yml"
    path.write_text('booking_provider: "request"\nbooking_url: "https://book.example.nz/acute"\n')
    monkeypatch.setenv("CLINIC_PROFILE", str(path))
    events, texts, messages = run(ActionBooking(), tracker("can i book", "book_appointment"))
    assert "can't give you an online booking link" in texts[0] and followup(events) is None
    assert [b["title"] for b in messages[0]["buttons"]] == ["Contact me"]


@pytest.mark.parametrize(
    ("problem", "slot", "may_exist"),
    [
        ("timeout", SLOTS[0], True),
        ("server_error", SLOTS[0], True),
        ("unauthorised", SLOTS[0], False),
        ("timeout", None, False),
        ("no_times", None, False),
    ],
)
def test_the_staff_note_says_when_the_appointment_may_exist_anyway(problem, slot, may_exist):
    note = notes.failure_note(problem, slot)
    assert note.startswith("Booking in the chat failed: ") and note.endswith("Please call the patient to book.")
    assert ("check the booking system first" in note) is may_exist
    assert ("with Mere" in note) is (slot is not None)


@pytest.mark.parametrize(
    ("text", "answering", "kind"),
    [
        ("can i book the free consult", False, "free_consult"),
        ("book me a free 15 min chat", False, "free_consult"),
        ("i want to book acc treatment", False, "acc_treatment"),
        ("a standard treatment next tuesday", False, "treatment"),
        ("i had an accident, can i book", False, None),  # "acc" only as a word
        ("book a treatment", False, None),  # not which kind: an eligible ACC check or the question decides
        ("just a treatment", True, "treatment"),
        ("acupuncture please", True, "treatment"),
        ("purple", True, None),
    ],
)
def test_the_kind_of_appointment_in_the_patients_words(text, answering, kind):
    assert kind_in_words(text, answering) == kind


def test_details_of_an_earlier_session_are_not_offered(system):
    t = tracker(
        "", None, {"appointment_type": "free_consult", "booking_time": slot_to_dict(SLOTS[0])}, form="booking_form"
    )
    t.events[:0] = [
        {"event": "slot", "name": "contact_name", "value": "Aroha"},
        {"event": "slot", "name": "contact_detail", "value": "021 123 4567"},
        {"event": "session_started"},
    ]
    events, _, _ = run(ValidateBookingForm(), t)
    assert requested(events) == ["contact_name"]  # asked afresh: someone else may be at this device now


def test_the_times_are_looked_up_whatever_the_form_asks_around_them(system):
    """With every question of the domain's list required (earlier details, a one-word name, an ACC check), rasa_sdk
    would name no next question: the form names it, and the times are looked up."""
    slots = {
        **ACC_DONE,
        "appointment_type": "acc_treatment",
        "contact_name": "Aroha",
        "booking_shown": shown(SLOTS[:4]),
    }
    t = tracker("later times", "inform", slots, form="booking_form", requested="booking_time")
    t.events[:0] = [
        {"event": "slot", "name": "contact_name", "value": "Aroha"},
        {"event": "slot", "name": "contact_detail", "value": "021 123 4567"},
    ]
    events, _, _ = run(ValidateBookingForm(), t)
    assert requested(events) == ["booking_time"] and len(system.searches) >= 1
    assert slots_set(events)["booking_shown"]["slots"]


def test_an_unexpected_error_of_the_booking_system_ends_in_a_call_back_request(monkeypatch, store_url):
    memory = MemorySystem(book_fails=KeyError("Aroha Te Pania"))
    monkeypatch.setattr(booking_form, "booking_system", lambda: memory)
    _, texts, _ = run(ActionSubmitBooking(), tracker("yes", "affirm", CONFIRMED, sender="web:def"))
    assert "Nothing is lost" in texts[0]
    [request] = BookingRequestStore(store_url).list()
    assert "unexpected answer" in request.note and "Aroha" not in request.note


def test_a_search_that_takes_too_long_is_a_timeout(monkeypatch):
    class Slow(MemorySystem):
        async def available_times(self, kind, first_day, days):
            await asyncio.sleep(5)
            return []

    monkeypatch.setattr(booking_form, "booking_system", lambda: Slow())
    monkeypatch.setattr(booking_form, "SEARCH_SECONDS", 0.2)
    t = tracker("book", "book_appointment", {"appointment_type": "free_consult"}, form="booking_form")
    events, texts, _ = run(ValidateBookingForm(), t)
    assert slots_set(events)["booking_problem"] == "timeout" and "can't reach" in texts[0]
