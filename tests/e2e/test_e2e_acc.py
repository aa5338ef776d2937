"""End-to-end over REST: the ACC eligibility check and a contact-me request read back from the store."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from bot.channels.sender_ids import REST, namespaced
from bot.clinic.injury_dates import clinic_today
from bot.storage.booking_requests import BookingRequestStore
from tests.conftest import rest_send, texts

pytestmark = pytest.mark.e2e


class Patient:
    """One conversation with the assistant."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.sender = f"acc-{uuid.uuid4().hex[:10]}"
        self.last = []

    def says(self, message: str) -> str:
        self.last = rest_send(self.stack, self.sender, message)
        return texts(self.last)


def test_full_eligible_conversation_then_contact_me(stack):
    store_url = stack.env["BOOKING_REQUESTS_DB_URL"]
    patient = Patient(stack)
    assert "date of your injury" in patient.says("am I covered by ACC?")
    assert "Got it: injury on" in patient.says("three weeks ago")
    assert "ACC45" in patient.says("yes")
    # an FAQ in the middle: answered, then the pending question again
    reply = patient.says("do I need a GP referral?")
    assert "No referral needed" in reply and "ACC45 claim number" in reply
    assert "AB•••45" in patient.says("AB 12345")
    verdict = patient.says("I don't know")
    assert "looks eligible" in verdict and "AB•••45" in verdict and "AB12345" not in verdict
    assert "Book ACC treatment" in [b["title"] for b in patient.last[-1]["buttons"]]
    assert "name" in patient.says("/request_contact")
    assert "phone number or email" in patient.says("Aroha Ngata")
    assert "include your ACC check details" in patient.says("021 123 4567")
    done = patient.says("yes")
    assert "passed your request to the clinic team" in done and "021•••567" in done
    rows = BookingRequestStore(store_url).list(sender_id=namespaced(REST, patient.sender))
    assert len(rows) == 1
    row = rows[0]
    assert (row.kind, row.name, row.phone, row.channel) == ("booking", "Aroha Ngata", "0211234567", "rest")
    assert row.acc_details["acc45"] == "AB12345" and row.acc_details["claim_status"] == "approved"
    assert row.acc_details["injury_date"] == (clinic_today() - timedelta(weeks=3)).isoformat()


def test_injury_from_eighteen_months_ago(stack):
    patient = Patient(stack)
    patient.says("check my eligibility")
    verdict = patient.says("18 months ago")
    assert "isn't eligible" in verdict and "under 12 months" in verdict
    assert "free consult" in " ".join(b["title"] for b in patient.last[-1]["buttons"])


def test_no_claim_yet(stack):
    patient = Patient(stack)
    patient.says("can ACC pay for my treatment?")
    patient.says("last tuesday")
    verdict = patient.says("not yet")
    assert "approved ACC claim first" in verdict and "acupuncturists can't lodge an ACC45" in verdict


def test_malformed_acc45_then_cancel_keeps_nothing(stack):
    patient = Patient(stack)
    patient.says("check my acc eligibility")
    patient.says("2 months ago")
    patient.says("yes")
    assert "doesn't look like an ACC45" in patient.says("ZZ12")
    assert "haven't kept any of your answers" in patient.says("cancel")
    # a new check starts from the first question again
    assert "date of your injury" in patient.says("check my eligibility")
