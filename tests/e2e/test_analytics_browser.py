"""The review list and the analytics page in Chromium against the real stack (Rasa, action server, web service).

A patient's conversation reaches the fallback (the assistant answers with `utter_fallback`'s words); in the console
it appears in /staff/review flagged "Fallback" (and is found by that filter), while a conversation the assistant
understood does not; the analytics page's numbers move and its charts render. axe-core finds no serious or critical
violation at 1280 and 390 px wide. Screenshots: tests/output/screenshots/console-review.png, console-analytics.png
(docs/staff-console.md).
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from bot.responses import response_text
from bot.staff.conversation_refs import ConversationRefs
from bot.staff.intent_choices import label
from bot.storage.booking_requests import shared_store
from tests.conftest import rest_send, texts
from tests.e2e.test_staff_console_browser import axe_clean, console_shot, staff_page, staff_user  # noqa: F401

pytestmark = pytest.mark.e2e


def headline(page: Page, label: str) -> int:
    """A headline number of the analytics page ("Conversations" -> 12)."""
    item = page.locator(".headline li", has=page.locator(".headline-label", has_text=re.compile(f"^{label}$")))
    return int(item.locator(".headline-value").inner_text().split()[0].replace(",", ""))


def at_width(page: Page, width: int, name: str) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    axe_clean(page, f"{name}-{width}")


def test_a_fallback_appears_flagged_in_the_review_and_moves_the_analytics(stack, staff_page):  # noqa: F811
    console = staff_page
    console.goto(f"{stack.web_url}/staff/analytics")
    expect(console.get_by_role("heading", name="Analytics", exact=True)).to_be_visible()
    conversations_before = headline(console, "Conversations")
    messages_before = headline(console, "Patient messages")

    # a patient the assistant does not understand, and one it does
    lost, understood = f"analytics-{uuid.uuid4().hex[:8]}", f"analytics-{uuid.uuid4().hex[:8]}"
    reply = texts(rest_send(stack, lost, "blorp qwerty zzzt"))
    assert response_text("utter_fallback") in reply
    assert "didn't quite understand" not in texts(rest_send(stack, understood, "do I need a referral?"))
    refs = ConversationRefs(shared_store(stack.env["BOOKING_REQUESTS_DB_URL"]).engine)
    lost_ref, understood_ref = (refs.refs_for([f"rest:{lost}", f"rest:{understood}"])[f"rest:{s}"]
                                for s in (lost, understood))

    # the review list, filtered by the flag: the lost conversation is there, flagged; the other is not
    console.goto(f"{stack.web_url}/staff/review")
    expect(console.get_by_role("heading", name="Review conversations")).to_be_visible()
    console.get_by_label("Flag").select_option("fallback")
    console.get_by_label("Channel").select_option("rest")
    console.get_by_role("button", name="Filter").click()
    expect(console).to_have_url(re.compile(r"flag=fallback"))
    row = console.locator("tbody tr", has=console.locator(f'a[href^="/staff/review/{lost_ref}#s"]'))
    expect(row).to_have_count(1)
    expect(row.locator(".flag")).to_contain_text(["Fallback"])
    expect(row).to_contain_text("REST (staff/tests)")
    expect(row).not_to_contain_text("blorp")  # no patient text on the list
    expect(console.locator(f'a[href^="/staff/review/{understood_ref}#s"]')).to_have_count(0)
    # without the filter, the understood conversation is listed, with no fallback flag
    console.goto(f"{stack.web_url}/staff/review?channel=rest")
    other = console.locator("tbody tr", has=console.locator(f'a[href^="/staff/review/{understood_ref}#s"]'))
    expect(other).to_have_count(1)
    expect(other).not_to_contain_text("Fallback")
    console.goto(f"{stack.web_url}/staff/review?flag=fallback")
    console_shot(console, "console-review")
    at_width(console, 1280, "review")
    at_width(console, 390, "review")

    # the analytics page: the numbers moved, the charts are drawn with their tables
    console.set_viewport_size({"width": 1280, "height": 900})
    console.goto(f"{stack.web_url}/staff/analytics")
    assert headline(console, "Conversations") >= conversations_before + 2
    assert headline(console, "Patient messages") >= messages_before + 2
    for title in ("Conversations per day, by channel", "Top topics", "Fallback rate per day", "ACC eligibility checks"):
        chart = console.locator("section.chart", has=console.get_by_role("heading", name=title))
        expect(chart.locator("svg.chart-svg")).to_be_visible()
        expect(chart.locator("details table")).to_have_count(1)
    topics = console.locator("section.chart", has=console.get_by_role("heading", name="Top topics"))
    expect(topics.locator("details table")).to_contain_text(label("faq_referral"))  # "GP referral needed?"
    bars = console.locator("#chart-conversations-title")
    expect(bars).to_have_text("Conversations per day, by channel")
    console.get_by_label("Period", exact=True).select_option("90")
    console.get_by_label("Per", exact=True).select_option("week")
    console.get_by_role("button", name="Show").click()
    expect(console.get_by_role("heading", name="Conversations per week, by channel")).to_be_visible()
    console.goto(f"{stack.web_url}/staff/analytics")
    console_shot(console, "console-analytics")
    at_width(console, 1280, "analytics")
    at_width(console, 390, "analytics")
