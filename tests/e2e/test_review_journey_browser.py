"""The issue's whole loop in real browsers against the real stack: a patient's thumbs-down in the widget reaches the
receptionist's review, who annotates the message, and the export holds it with a neutral placeholder.

A patient asks, in the website widget, something the assistant does not understand, giving a phone number; the
fallback answers and they press 👎. In the console, Review filtered by "Thumbs down" lists the conversation with the
"Fallback" and "Thumbs down" flags; it opens on that session, where the message shows both marks, its number hidden.
The receptionist picks the right intent; `make export-annotations`'s command writes the line with the placeholder
number. Each part has its own tests too (test_widget_feedback.py, test_analytics_browser.py,
test_review_annotate_browser.py); this one checks they meet.
"""

from __future__ import annotations

import re
from typing import List

import pytest
import yaml
from playwright.sync_api import Browser, expect

from bot.channels.sender_ids import WEB, namespaced
from bot.staff.conversation_refs import ConversationRefs
from bot.staff.export_annotations import main as export_main
from bot.storage.booking_requests import shared_store
from tests.e2e.test_review_annotate_browser import console, receptionist  # noqa: F401 (fixtures)
from tests.e2e.test_widget_browser import (
    ANSWER_TIMEOUT,
    bot_message,
    open_demo,
    open_widget,
    send,
    session_id,
    wait_online,
)
from tests.e2e.test_widget_feedback import message_id_of, rate_row, wait_ratings

pytestmark = pytest.mark.e2e

PHONE = "027 555 1234"
UNCLEAR = f"i really hate needles can i still do it, my number is {PHONE}"
KEPT = "i really hate needles can i still do it, my number is 021 123 4567"  # the neutral placeholder
FALLBACK = "Sorry, I didn't quite understand"


def test_a_thumbs_down_in_the_widget_is_reviewed_annotated_and_exported(
    stack,
    browser: Browser,
    console,  # noqa: F811 (the fixture imported above)
    tmp_path,
):
    # the patient, in the widget
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-NZ")
    errors: List[str] = []
    patient = open_demo(ctx, stack, errors)
    open_widget(patient)
    wait_online(patient)
    send(patient, UNCLEAR)
    expect(bot_message(patient, FALLBACK)).to_be_visible(timeout=ANSWER_TIMEOUT)
    patient_row = rate_row(patient)
    expect(patient_row).to_have_count(1)
    patient_row.get_by_role("button", name="Not helpful", exact=True).click()
    session = session_id(patient)
    sender = namespaced(WEB, session)
    key = message_id_of(stack, session, UNCLEAR)
    assert wait_ratings(stack, sender, {key: "down"}) == {key: "down"}
    assert errors == []
    ctx.close()

    # the receptionist: Review, thumbs-down, website chat
    ref = ConversationRefs(shared_store(stack.env["BOOKING_REQUESTS_DB_URL"]).engine).ref_for(sender)
    console.goto(f"{stack.web_url}/staff/review")
    console.get_by_label("Channel").select_option(label="Website chat")
    console.get_by_label("Flag").select_option(label="Thumbs down")
    console.get_by_role("button", name="Filter").click()
    listed = console.locator("tbody tr", has=console.locator(f'a[href^="/staff/review/{ref}#s"]'))
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("Fallback")
    expect(listed).to_contain_text("Thumbs down")
    expect(listed).to_contain_text("Website chat")
    expect(console.locator("main")).not_to_contain_text(PHONE)

    # the conversation, opened on that session
    listed.get_by_role("link", name=re.compile("Open")).click()
    expect(console).to_have_url(re.compile(rf"/staff/review/{ref}#s\d+$"))
    row = console.locator("tr", has_text="i really hate needles")
    expect(row).to_have_count(1)
    expect(row.locator(".mark.fallback")).to_have_text("Fallback")
    expect(row.locator(".mark.rating-down")).to_be_visible()
    expect(row).to_contain_text("[phone]")
    expect(console.locator("main")).not_to_contain_text(PHONE)

    row.get_by_label(re.compile("Right intent of the message")).select_option(label="Is acupuncture right for me?")
    row.get_by_role("button", name="Save").click()
    saved = console.locator("tr", has_text="i really hate needles")
    expect(saved.get_by_label(re.compile("Right intent"))).to_have_value("faq_suitability")

    # the export: the line, with the placeholder number, under the chosen intent
    out = tmp_path / "reviewed.yml"
    assert export_main(["--out", str(out), "--requests-db-url", stack.env["BOOKING_REQUESTS_DB_URL"]]) == 0
    exported = out.read_text(encoding="utf-8")
    examples = {item["intent"]: item["examples"] for item in yaml.safe_load(exported)["nlu"]}
    assert f"- {KEPT}\n" in examples["faq_suitability"]
    assert PHONE not in exported
