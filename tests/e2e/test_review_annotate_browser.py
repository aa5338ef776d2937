"""Reviewing and annotating a conversation in a real browser (Chromium through Playwright) against the real stack.

A patient leaves a call-back request (name, phone) over REST, then asks something the assistant does not
understand, repeating their name: the fallback answers. A receptionist opens the conversation from the live chat
page ("Review and annotate"), sees the message marked "Fallback" with the name and number hidden, picks the right
intent and saves; the export (`make export-annotations`'s command, to a temporary file) and the console's
"Download training file" hold the line with the neutral placeholder ("Alex"), not the patient's name. axe-core finds
no serious or critical violation at a laptop's and a phone's width. Screenshots: console-review-conversation.png,
console-review-conversation-phone.png, console-annotations.png (docs/staff-console.md).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect

from bot.staff.accounts import StaffAccounts
from bot.staff.conversation_refs import ConversationRefs
from bot.staff.export_annotations import main as export_main
from bot.storage.booking_requests import shared_store
from tests.conftest import rest_send, texts
from tests.e2e.test_staff_console_browser import PASSWORD, axe_clean, console_shot

pytestmark = pytest.mark.e2e

NAME, PHONE = "Mereana", "027 123 9876"
UNCLEAR = f"{NAME} here again, i really hate needles can i still do it"
KEPT = "Alex here again, i really hate needles can i still do it"


@pytest.fixture(scope="module")
def fallback_conversation(stack) -> str:
    """A REST conversation: a call-back request, then a message the assistant does not understand. Its ref."""
    sender = f"review{uuid.uuid4().hex[:12]}"
    assert "What name should the clinic ask for" in texts(rest_send(stack, sender, "can someone call me back pls"))
    assert "phone number or email" in texts(rest_send(stack, sender, NAME))
    assert f"Thanks, {NAME}." in texts(rest_send(stack, sender, PHONE))
    assert "Sorry, I didn't quite understand" in texts(rest_send(stack, sender, UNCLEAR))
    engine = shared_store(stack.env["BOOKING_REQUESTS_DB_URL"]).engine
    return ConversationRefs(engine).ref_for(f"rest:{sender}")


@pytest.fixture(scope="module")
def receptionist(stack) -> str:
    """A staff account in the stack's requests database."""
    username = f"kiri{uuid.uuid4().hex[:6]}"
    StaffAccounts(shared_store(stack.env["BOOKING_REQUESTS_DB_URL"]).engine).create(username, "Kiri", PASSWORD)
    return username


def log_in(page: Page, stack, username: str) -> None:
    page.goto(f"{stack.web_url}/staff/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()


@pytest.fixture()
def console(browser: Browser, stack, receptionist: str) -> Iterator[Page]:
    """A logged-in console at a laptop's width (axe needs its script let in past the CSP); no script errors."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-NZ", bypass_csp=True)
    page = ctx.new_page()
    errors: list = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, stack, receptionist)
    yield page
    assert errors == []
    ctx.close()


def test_a_fallback_is_flagged_annotated_and_exported_with_placeholders(
    stack, console, fallback_conversation, tmp_path
):
    ref = fallback_conversation
    console.goto(f"{stack.web_url}/staff/conversations/{ref}")
    console.get_by_role("link", name="Review and annotate").click()
    expect(console).to_have_url(re.compile(rf"/staff/review/{ref}$"))
    expect(console.get_by_role("heading", name="Review of a chat on REST (staff/tests)")).to_be_visible()

    row = console.locator("tr", has_text="here again, i really hate needles")
    expect(row).to_have_count(1)
    expect(row.locator(".mark.fallback")).to_have_text("Fallback")
    expect(row).to_contain_text("[name] here again")
    main = console.locator("main")
    expect(main).not_to_contain_text(NAME)
    expect(main).not_to_contain_text(PHONE)
    expect(main.locator("tr", has_text="[phone]")).to_have_count(1)
    axe_clean(console, "review-conversation")
    console_shot(console, "console-review-conversation")

    row.get_by_label(re.compile("Right intent of the message")).select_option(label="Is acupuncture right for me?")
    row.get_by_role("button", name="Save").click()
    saved = console.locator("tr", has_text="here again, i really hate needles")
    expect(saved.get_by_role("status")).to_contain_text("Saved. Annotated “Is acupuncture right for me?”")
    expect(saved.get_by_label(re.compile("Right intent"))).to_have_value("faq_suitability")

    # show details: recorded, and the name is there
    console.get_by_role("button", name="Show details").click()
    expect(main).to_contain_text(UNCLEAR)
    console.goto(f"{stack.web_url}/staff/audit")
    expect(console.locator("tbody tr").first).to_contain_text("showed hidden details")
    expect(console.locator("tbody")).to_contain_text("annotated a message (faq suitability)")

    # the export, as `make export-annotations OUT=...` writes it
    out = tmp_path / "reviewed.yml"
    assert export_main(["--out", str(out), "--requests-db-url", stack.env["BOOKING_REQUESTS_DB_URL"]]) == 0
    exported = out.read_text(encoding="utf-8")
    examples = {item["intent"]: item["examples"] for item in yaml.safe_load(exported)["nlu"]}
    assert f"- {KEPT}\n" in examples["faq_suitability"]
    assert NAME not in exported and "027" not in exported

    # the same file from the console's button
    console.goto(f"{stack.web_url}/staff/annotations")
    expect(console.locator("tbody")).to_contain_text(KEPT)
    axe_clean(console, "annotations")
    console_shot(console, "console-annotations")
    with console.expect_download() as download_info:
        console.get_by_role("button", name="Download training file").click()
    download = download_info.value
    assert download.suggested_filename == "reviewed.yml"
    assert Path(download.path()).read_text(encoding="utf-8") == exported
    console.goto(f"{stack.web_url}/staff/audit")
    expect(console.locator("tbody tr").first).to_contain_text("downloaded the training file")


def test_the_review_on_a_phone(stack, browser: Browser, receptionist, fallback_conversation):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-NZ", is_mobile=True, bypass_csp=True)
    page = ctx.new_page()
    log_in(page, stack, receptionist)
    page.goto(f"{stack.web_url}/staff/review/{fallback_conversation}")
    expect(page.locator("tr", has_text="here again").locator(".mark.fallback")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "no sideways scrolling"
    axe_clean(page, "review-conversation-phone")
    console_shot(page, "console-review-conversation-phone")
    ctx.close()
