"""Booking hand-off, the contact form and recorded requests, with Rasa SDK trackers and dispatcher."""

from __future__ import annotations

import pytest

from actions.booking import ActionBooking, ActionSubmitContactRequest, ValidateContactForm, booking_link
from bot.clinic.profile import ClinicProfile
from bot.storage.booking_requests import BookingRequest, BookingRequestStore
from tests.support import action_helpers
from tests.support.action_helpers import slots_set, tracker
from tests.support.responses import rendered

ACC_DONE = {
    "injury_date": "2026-11-02",
    "claim_status": "approved",
    "acc45": "AB12345",
    "read_code": "unknown",
    "eligibility": "eligible",
}


def run(action, t) -> tuple:
    """Run an action; return (events, texts, messages) as the patient gets them (responses filled)."""
    events, _, messages = action_helpers.run(action, t)
    shown = rendered(messages)
    return events, [m["text"] for m in shown], shown


@pytest.fixture
def filled_profile(tmp_path, monkeypatch):
    path = tmp_path / "profile.yml"
    path.write_text('booking_url: "https://book.example.nz/acute?ref=bot"\nphone: "04 000 0000"\n')
    monkeypatch.setenv("CLINIC_PROFILE", str(path))


def test_booking_link_carries_only_the_appointment_type():
    link = booking_link(ClinicProfile({"booking_url": "https://book.example.nz/x?ref=bot"}), "acc_treatment")
    assert link == "https://book.example.nz/x?ref=bot&appointment=acc_treatment"
    assert booking_link(ClinicProfile({}), "free_consult") is None
    assert booking_link(ClinicProfile({"booking_url": "javascript:alert(1)"}), "treatment") is None


def test_booking_after_an_eligible_check_links_acc_treatment_without_health_details(filled_profile):
    events, texts, messages = run(ActionBooking(), tracker("book", "book_appointment", ACC_DONE))
    button = messages[0]["buttons"][0]
    assert button["url"] == "https://book.example.nz/acute?ref=bot&appointment=acc_treatment"
    assert "AB12345" not in button["url"] and "2026" not in button["url"]
    assert slots_set(events) == {"appointment_type": "acc_treatment", "request_kind": "booking"}


def test_booking_button_choice_wins(filled_profile):
    _, _, messages = run(ActionBooking(), tracker("book", "book_appointment", {"appointment_type": "free_consult"}))
    assert messages[0]["buttons"][0]["url"].endswith("appointment=free_consult")


def test_booking_without_a_link_offers_a_call_back():
    events, texts, messages = run(ActionBooking(), tracker("book", "book_appointment"))
    assert "can't give you an online booking link yet" in texts[0] and "163 The Terrace" in texts[0]
    assert messages[0]["buttons"] == [{"title": "Contact me", "payload": "/request_contact"}]


def validate(text, requested, intent="inform", **slots):
    return run(ValidateContactForm(), tracker(text, intent, slots, "contact_form", requested))


def test_name_is_validated():
    events, _, _ = validate("my name is aroha", "contact_name")
    assert slots_set(events)["contact_name"] == "Aroha"
    events, texts, _ = validate("12345", "contact_name")
    assert slots_set(events)["contact_name"] is None and "didn't catch a name" in texts[0]


@pytest.mark.parametrize(
    "text, intent", [("please delete my data", "forget_me"), ("stop", "stop"), ("chest pain", "red_flag")]
)
def test_words_that_end_the_form_are_never_taken_as_a_name(text, intent):
    events, _, _ = validate(text, "contact_name", intent=intent)
    assert "contact_name" not in slots_set(events)
    events, _, _ = validate("Hope", "contact_name", intent="faq_other_treatment")  # a name that reads as a question
    assert slots_set(events)["contact_name"] == "Hope"


@pytest.mark.parametrize(
    "text, ok", [("021 123 4567", True), ("aroha@example.co.nz", True), ("tomorrow", False), ("12", False)]
)
def test_contact_detail_is_validated(text, ok):
    events, texts, _ = validate(text, "contact_detail", contact_name="Aroha")
    assert (slots_set(events)["contact_detail"] is not None) is ok
    assert ok or "phone number or email" in texts[0]


def test_consent_question_only_after_a_completed_acc_check():
    without = validate("021 123 4567", "contact_detail", contact_name="Aroha")[0]
    assert slots_set(without)["requested_slot"] is None  # nothing more to ask
    with_acc = validate("021 123 4567", "contact_detail", contact_name="Aroha", **ACC_DONE)[0]
    assert "requested_slot" not in slots_set(with_acc)  # the form goes on to ask for consent


@pytest.mark.parametrize("text, intent, expected", [("yes", "affirm", True), ("no thanks", "deny", False)])
def test_consent_answer(text, intent, expected):
    events, _, _ = validate(
        text, "share_acc_details", intent=intent, contact_name="A", contact_detail="021 123 4567", **ACC_DONE
    )
    assert slots_set(events)["share_acc_details"] is expected


def submit(**slots):
    return run(ActionSubmitContactRequest(), tracker("yes", "affirm", slots, sender="patient-1", channel="socketio"))


def test_request_with_consent_includes_acc_details(store_url):
    events, texts, _ = submit(
        contact_name="Aroha",
        contact_detail="021 123 4567",
        share_acc_details=True,
        request_kind="booking",
        appointment_type="acc_treatment",
        **ACC_DONE,
    )
    [row] = BookingRequestStore(store_url).list()
    assert (row.kind, row.sender_id, row.channel, row.name, row.phone) == (
        "booking",
        "patient-1",
        "socketio",
        "Aroha",
        "0211234567",
    )
    assert row.acc_details["acc45"] == "AB12345" and row.appointment_type == "acc_treatment"
    assert "021•••567" in texts[0] and "0211234567" not in texts[0]
    assert slots_set(events)["contact_detail"] is None


def test_request_without_consent_leaves_acc_details_out(store_url):
    submit(contact_name="Aroha", contact_detail="a@b.nz", share_acc_details=False, **ACC_DONE)
    assert BookingRequestStore(store_url).list()[0].acc_details is None


def test_handoff_request_is_recorded_as_such(store_url):
    _, texts, _ = submit(contact_name="Sam", contact_detail="sam@example.com", request_kind="handoff")
    row = BookingRequestStore(store_url).list()[0]
    assert row.kind == "handoff" and row.email == "sam@example.com" and row.acc_details is None
    assert "your question" in texts[0]


def test_store_failure_gets_a_clear_answer(monkeypatch, tmp_path):
    monkeypatch.setenv("BOOKING_REQUESTS_DB_URL", "postgresql://nobody@127.0.0.1:1/none")
    _, texts, _ = submit(contact_name="Sam", contact_detail="sam@example.com")
    assert "couldn't pass your request on" in texts[0] and "163 The Terrace" in texts[0]


def test_a_call_back_request_closes_the_senders_open_chat_request(store_url):
    """Asked for a person (a "chat" request in the staff inbox), then left a number: one thing for staff to do."""
    store = BookingRequestStore(store_url)
    chat = store.add(BookingRequest(kind="chat", sender_id="patient-1", channel="socketio"))
    other = store.add(BookingRequest(kind="chat", sender_id="patient-2", channel="socketio"))
    submit(contact_name="Aroha", contact_detail="021 123 4567", request_kind="handoff")
    closed, untouched = store.get(chat.id), store.get(other.id)
    assert (closed.status, closed.status_by) == ("done", "assistant") and closed.status_at is not None
    assert untouched.status == "new"
    assert [r.kind for r in store.list(sender_id="patient-1")] == ["handoff", "chat"]
