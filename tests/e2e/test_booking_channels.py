"""Booking a free consultation in the chat as patients do it: in the website widget (headless Chromium) and over
Messenger (signed webhooks in, the fake Graph API out), against the fake Cliniko API. The appointment is then read
back from the fake: practitioner, type, time and patient.

Every turn over REST, the failures and the search words: tests/e2e/test_booking_chat.py.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, List

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from bot.booking.times import say_time
from tests.e2e.test_booking_chat import KEY, last_id, new_appointments, start_of
from tests.e2e.test_meta_channels import event, new_id, post, reply_text, text, webhook
from tests.e2e.test_widget_browser import (
    ANSWER_TIMEOUT,
    AXE,
    bot_message,
    log,
    open_demo,
    open_widget,
    run_axe,
    send,
    shot,
    user_message,
)
from tests.support.fake_cliniko import FREE_CONSULT_TYPE_ID

pytestmark = pytest.mark.e2e

TIME_TITLE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2}, \d{1,2}(:\d\d)?(am|pm)$")


@pytest.fixture()
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile; axe-core may be injected (the demo page's CSP forbids scripts from elsewhere)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-NZ", bypass_csp=True)
    yield ctx
    ctx.close()


def test_a_free_consultation_booked_in_the_widget(stack, booking_in_chat, context):
    fake, before, errors = booking_in_chat, last_id(booking_in_chat), []
    page = open_demo(context, stack, errors)
    open_widget(page)
    expect(bot_message(page, "automated assistant")).to_be_visible(timeout=ANSWER_TIMEOUT)
    send(page, "hi, can i book the free consult")
    times = bot_message(page, "next free times for your free 15-minute consultation")
    expect(times).to_be_visible(timeout=ANSWER_TIMEOUT)
    buttons = times.get_by_role("group", name="Suggested replies").get_by_role("button")  # not the 👍/👎 row
    expect(buttons).to_have_count(6)
    titles = buttons.all_inner_texts()
    assert all(TIME_TITLE.match(t) for t in titles[:4]), titles
    assert titles[4:] == ["Later times", "Another day"]
    shot(page, "booking-01-times")
    if AXE.exists():
        assert run_axe(page, "booking-times") == []

    buttons.nth(1).click()  # the second time
    expect(user_message(page, titles[1])).to_be_visible()  # the title, not the payload, is the patient's message
    assert "@" not in log(page).locator(".msg.user").last.inner_text()
    expect(bot_message(page, "first and last name")).to_be_visible(timeout=ANSWER_TIMEOUT)
    send(page, "Kiri Walker")
    expect(bot_message(page, "phone number or email")).to_be_visible(timeout=ANSWER_TIMEOUT)
    send(page, "kiri.walker@example.co.nz")
    summary = bot_message(page, "Please check")
    expect(summary).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(summary).to_contain_text(titles[1])
    expect(summary).to_contain_text("k•••@example.co.nz")
    shot(page, "booking-02-summary")
    summary.get_by_role("button", name="Yes, book it").click()
    done = bot_message(page, "You're booked")
    expect(done).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(done).to_contain_text(titles[1])
    expect(done).to_contain_text("163 The Terrace")
    shot(page, "booking-03-booked")

    [made] = new_appointments(fake, before, "Kiri")
    assert made.appointment_type_id == FREE_CONSULT_TYPE_ID
    assert re.search(rf"with {fake.practitioners[made.practitioner_id].first_name}\b", done.inner_text())
    booked_for = fake.patients[made.patient_id]
    assert (booked_for.first_name, booked_for.last_name, booked_for.email) == (
        "Kiri",
        "Walker",
        "kiri.walker@example.co.nz",
    )
    assert say_time(made.starts_at) == titles[1]
    assert errors == []


# -- Messenger -----------------------------------------------------------------------------------------------------


class MessengerPatient:
    """A Messenger user writing to the clinic's page: signed webhooks in, the fake Graph API's messages out."""

    def __init__(self, stack, fake_graph) -> None:
        self.stack, self.graph = stack, fake_graph
        self.psid, self.page = new_id("1"), new_id("9")
        self.seen = 0

    def _send(self, messaging: Dict[str, Any], expect_text: str) -> List[Dict[str, Any]]:
        assert post(self.stack, "facebook", webhook("facebook", self.page, messaging))[0] == 200
        deadline = time.monotonic() + 30
        while True:
            new = self.graph.messages_to(self.psid)[self.seen :]
            if any(expect_text in reply_text(m) for m in new):
                time.sleep(0.3)  # the rest of the same reply
                new = self.graph.messages_to(self.psid)[self.seen :]
                self.seen += len(new)
                return new
            assert time.monotonic() < deadline, f"no {expect_text!r} in {[reply_text(m) for m in new]}"
            time.sleep(0.05)

    def says(self, words: str, expect_text: str) -> List[Dict[str, Any]]:
        return self._send(text(self.psid, self.page, words), expect_text)

    def taps_quick_reply(self, reply: Dict[str, str], expect_text: str) -> List[Dict[str, Any]]:
        message = {"mid": new_id("m_"), "text": reply["title"], "quick_reply": {"payload": reply["payload"]}}
        return self._send(event(self.psid, self.page, message=message), expect_text)

    def taps_button(self, button: Dict[str, str], expect_text: str) -> List[Dict[str, Any]]:
        postback = {"mid": new_id("m_"), "title": button["title"], "payload": button["payload"]}
        return self._send(event(self.psid, self.page, postback=postback), expect_text)


def test_a_free_consultation_booked_over_messenger(stack, booking_in_chat, fake_graph):
    fake, before = booking_in_chat, last_id(booking_in_chat)
    patient = MessengerPatient(stack, fake_graph)
    replies = patient.says("kia ora can i book a free consult", "next free times")
    quick = [q for m in replies for q in m.get("quick_replies") or []]
    assert [q["title"] for q in quick][-2:] == ["Later times", "Another day"]
    slots = [q for q in quick if KEY.match(q["payload"])]
    assert len(slots) == 4 and all(TIME_TITLE.match(q["title"]) for q in slots)  # fits Meta's 20 characters
    chosen = slots[0]
    patient.taps_quick_reply(chosen, "first and last name")
    patient.says("Rangi Parata", "phone number or email")
    summary = patient.says("027 444 5566", "Please check")
    template = next(m["attachment"]["payload"] for m in summary if "attachment" in m)
    assert chosen["title"] in template["text"] and "027•••566" in template["text"]
    yes = next(b for b in template["buttons"] if b["title"] == "Yes, book it")
    done = " ".join(reply_text(m) for m in patient.taps_button(yes, "You're booked"))
    assert chosen["title"] in done and "163 The Terrace" in done

    [made] = new_appointments(fake, before, "Rangi")
    assert made.starts_at == start_of(chosen) and made.appointment_type_id == FREE_CONSULT_TYPE_ID
    assert made.practitioner_id == KEY.match(chosen["payload"]).group(2)
    booked_for = fake.patients[made.patient_id]
    assert (booked_for.first_name, booked_for.last_name) == ("Rangi", "Parata")
    assert [n["number"] for n in booked_for.patient_phone_numbers] == ["0274445566"]
    assert made.starts_at > datetime.now(timezone.utc)
