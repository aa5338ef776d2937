"""The staff console in a real browser (Chromium through Playwright) against the real stack, with a patient in
another page: the widget on the demo page, or Messenger through the fake Graph API.

A receptionist logs in, sees a call-back request arrive while a patient asks for it in the widget, opens it, marks
it done; takes over the patient's live chat, messages go both ways, a red flag still gets urgent-care advice,
hands back and the assistant answers again; the same takeover over Messenger. axe-core finds no serious or
critical violation on any console page, at a laptop's and a phone's width. The screenshots of docs/staff-console.md
are taken here (tests/output/screenshots/console-*.png).
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bot.staff.accounts import StaffAccounts
from bot.storage.booking_requests import shared_store
from tests.conftest import OUTPUT
from tests.e2e.test_meta_channels import post, text, webhook
from tests.e2e.test_widget_browser import (
    ANSWER_TIMEOUT,
    bot_message,
    open_demo,
    open_widget,
    run_axe,
    send,
    shot,
    user_message,
    wait_online,
)

pytestmark = pytest.mark.e2e

PASSWORD = "tui-sings-at-dawn-42"
SCREENSHOTS = OUTPUT / "screenshots"
LIVE = 20_000  # ms: the console asks for news every 3 s


@pytest.fixture(scope="module")
def staff_user(stack) -> str:
    """A receptionist's account in the stack's requests database."""
    accounts = StaffAccounts(shared_store(stack.env["BOOKING_REQUESTS_DB_URL"]).engine)
    username = f"aroha{uuid.uuid4().hex[:6]}"
    accounts.create(username, "Aroha", PASSWORD)
    return username


@pytest.fixture()
def staff_page(browser: Browser, stack, staff_user: str) -> Iterator[Page]:
    # the console's Content-Security-Policy forbids injected scripts: let axe in
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-NZ", bypass_csp=True)
    page = ctx.new_page()
    errors: list = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{stack.web_url}/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login\?next="))
    page.get_by_label("User name").fill(staff_user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    yield page
    assert errors == []
    ctx.close()


@pytest.fixture()
def patient(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 420, "height": 800}, locale="en-NZ")
    yield ctx
    ctx.close()


def console_shot(page: Page, name: str) -> None:
    """A whole console page (docs/staff-console.md shows these)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def axe_clean(page: Page, name: str) -> None:
    assert run_axe(page, f"console-{name}") == []


def mail_linking_to(smtp_server, request_id: int, timeout: float = 30):
    """The notification e-mail whose link opens this request (other tests make requests too)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for mail in list(smtp_server.messages):
            if re.search(rf"/staff/requests/{request_id}\b", mail.text):
                return mail
        time.sleep(0.3)
    raise AssertionError(f"no e-mail about request {request_id} within {timeout} s")


def test_a_call_back_request_arrives_is_opened_and_marked_done(stack, staff_page, patient, smtp_server):
    inbox = staff_page
    title_before = inbox.title()
    new_before = int(re.match(r"\((\d+)\)", title_before).group(1)) if title_before.startswith("(") else 0
    axe_clean(inbox, "inbox")

    widget = open_demo(patient, stack, [])
    open_widget(widget)
    wait_online(widget)
    send(widget, "can someone call me back pls")
    expect(bot_message(widget, "What name should the clinic ask for")).to_be_visible(timeout=ANSWER_TIMEOUT)
    send(widget, "Mereana")
    expect(bot_message(widget, "phone number or email")).to_be_visible(timeout=ANSWER_TIMEOUT)
    send(widget, "027 123 9876")
    expect(bot_message(widget, "Thanks, Mereana.")).to_be_visible(timeout=ANSWER_TIMEOUT)

    # the inbox shows it without a reload, and counts it in the title
    expect(inbox).to_have_title(re.compile(rf"^\({new_before + 1}\) Inbox"), timeout=LIVE)
    row = inbox.locator("#inbox-rows tr").first
    expect(row).to_contain_text("Call-back to book")  # a call-back with no other topic is about booking
    expect(row).to_contain_text("Website chat")
    console_shot(inbox, "console-inbox")
    row.get_by_role("link").click()
    expect(inbox).to_have_url(re.compile(r"/staff/requests/\d+$"))
    request_id = int(inbox.url.rsplit("/", 1)[1])

    # the clinic got an e-mail over STARTTLS: the kind, the time, the link, nothing about the patient
    mail = mail_linking_to(smtp_server, request_id)
    assert mail.tls and mail.rcpt_tos == ("reception@acuteacupuncture.example",)
    assert "call-back request (booking)" in mail.message["Subject"]
    assert f"{stack.web_url}/staff/requests/{request_id}" in mail.text
    raw = mail.content.decode(errors="replace")
    for private in ("Mereana", "027 123 9876", "0271239876", "call me back", "web:"):
        assert private not in raw

    # details hidden until shown; the conversation it came from, masked
    expect(inbox.get_by_role("heading", name=re.compile("Call-back"))).to_be_visible()
    body = inbox.locator("main")
    expect(body).not_to_contain_text("027 123 9876")
    expect(body).not_to_contain_text("Mereana")
    expect(inbox.locator("#transcript")).to_contain_text("can someone call me back pls")
    axe_clean(inbox, "request")
    console_shot(inbox, "console-request-masked")
    inbox.get_by_role("button", name="Show details").click()
    expect(body).to_contain_text("027 123 9876")
    expect(body).to_contain_text("Mereana")
    console_shot(inbox, "console-request-shown")

    inbox.get_by_label("Move to").select_option("done")
    inbox.get_by_role("button", name="Save status").click()
    expect(inbox.get_by_role("status")).to_contain_text("Status changed")
    expect(body).to_contain_text("Done")
    expect(inbox.locator(".history")).to_contain_text("changed status (new → done)")

    inbox.get_by_role("link", name="Audit log").click()
    expect(inbox.locator("tbody")).to_contain_text("showed hidden details")
    expect(inbox.locator("tbody")).not_to_contain_text("027 123 9876")
    axe_clean(inbox, "audit")


def open_live_conversation(console: Page, channel_label: str) -> None:
    console.get_by_role("link", name="Live chats").click()
    row = console.locator("#live-rows tr", has_text=channel_label).first
    expect(row).to_be_visible(timeout=LIVE)
    row.get_by_role("link").click()
    expect(console.get_by_role("heading", name=f"Chat on {channel_label}")).to_be_visible()


def test_takeover_of_a_widget_chat_both_ways_then_hand_back(stack, staff_page, patient):
    console = staff_page
    widget = open_demo(patient, stack, [])
    open_widget(widget)
    wait_online(widget)
    send(widget, "do i need a gp referral")
    # the answer itself: the greeting the widget asks for on opening mentions "referrals" too
    expect(bot_message(widget, "No referral needed")).to_be_visible(timeout=ANSWER_TIMEOUT)

    open_live_conversation(console, "Website chat")
    transcript = console.locator("#transcript")
    expect(transcript).to_contain_text("do i need a gp referral")
    expect(transcript.locator(".entry.patient .intent").first).to_be_visible()  # intent and confidence
    axe_clean(console, "conversation")

    console.get_by_role("button", name="Take over this chat").click()
    expect(bot_message(widget, "You're now talking with Aroha from the clinic team")).to_be_visible(
        timeout=ANSWER_TIMEOUT
    )  # first name only
    expect(console.locator("#takeover-state")).to_contain_text("paused", timeout=LIVE)

    send(widget, "hi is that a real person?")
    expect(transcript).to_contain_text("hi is that a real person?", timeout=LIVE)
    widget.wait_for_timeout(1500)
    expect(bot_message(widget, "I'm an automated assistant")).to_have_count(0)  # the assistant stays quiet

    console.get_by_label(re.compile("Message to the patient")).fill("Kia ora! Yes, this is Aroha at the clinic.")
    console.get_by_role("button", name="Send").click()
    expect(bot_message(widget, "Yes, this is Aroha at the clinic.")).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(transcript.locator(".entry.staff", has_text="this is Aroha")).to_be_visible(timeout=LIVE)
    console_shot(console, "console-takeover")
    shot(widget, "console-takeover-patient-side")

    send(widget, "actually i have crushing chest pain")  # a red flag while staff are connected
    expect(bot_message(widget, "may need urgent medical care")).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(console.locator("#takeover-state")).to_contain_text("paused")

    console.get_by_role("button", name="Hand back to the assistant").click()
    expect(bot_message(widget, "has handed you back")).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(console.locator("#takeover-state")).to_contain_text("assistant is answering", timeout=LIVE)
    send(widget, "can i see a physio at the same time?")
    expect(bot_message(widget, "physio")).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(user_message(widget, "can i see a physio")).to_be_visible()


def test_takeover_over_messenger(stack, staff_page, fake_graph):
    console = staff_page
    psid, page = f"{uuid.uuid4().int % 10**15}", "904100200300"

    def patient_says(words: str) -> None:
        assert post(stack, "facebook", webhook("facebook", page, text(psid, page, words)))[0] == 200

    patient_says("kia ora, do i need a referral?")
    fake_graph.wait_for_messages(psid, 1)

    open_live_conversation(console, "Messenger")
    expect(console.locator("#transcript")).to_contain_text("do i need a referral", timeout=LIVE)
    console.get_by_role("button", name="Take over this chat").click()
    expect(console.locator("#takeover-state")).to_contain_text("paused", timeout=LIVE)
    before = len(fake_graph.messages_to(psid))
    console.get_by_label(re.compile("Message to the patient")).fill("Hi, Aroha from the clinic here.")
    console.get_by_role("button", name="Send").click()
    messages = fake_graph.wait_for_messages(psid, before + 1)
    assert any("Aroha from the clinic here" in str(m) for m in messages)

    patient_says("thanks, what time do you open")
    expect(console.locator("#transcript")).to_contain_text("what time do you open", timeout=LIVE)
    assert len(fake_graph.messages_to(psid)) == before + 1  # no assistant answer while paused

    console.get_by_role("button", name="Hand back to the assistant").click()
    expect(console.locator("#takeover-state")).to_contain_text("assistant is answering", timeout=LIVE)
    patient_says("do i need a gp referral?")
    fake_graph.wait_for_messages(psid, before + 3)  # the hand-back notice, then the assistant's answer


def test_console_on_a_phone_and_logged_out_pages(stack, browser, staff_user):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-NZ", is_mobile=True, bypass_csp=True)
    page = ctx.new_page()
    page.goto(f"{stack.web_url}/staff/login")
    axe_clean(page, "login")
    console_shot(page, "console-login-phone")
    page.get_by_label("User name").fill(staff_user)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")  # keyboard only
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "no sideways scrolling"
    axe_clean(page, "inbox-phone")
    console_shot(page, "console-inbox-phone")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/staff/login\?logged_out=1"))
    page.goto(f"{stack.web_url}/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login"))
    ctx.close()


def test_the_patient_side_cannot_reach_a_staff_route(stack, patient, staff_user):
    """From the widget's page (the patient's browser, its cookies and socket), every staff route is refused."""
    widget = open_demo(patient, stack, [])
    statuses = widget.evaluate(
        """async (paths) => Promise.all(paths.map(async (p) =>
            (await fetch(p, {redirect: 'manual', credentials: 'include'})).status))""",
        ["/staff/inbox.json", "/staff/conversations.json", "/staff/requests/1", "/staff/audit"],
    )
    assert statuses[:2] == [401, 401] and all(s in (0, 303) for s in statuses[2:])  # 0 = an opaque redirect
    rasa = widget.evaluate(
        """async (url) => (await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({sender_id: 'web:x', staff_name: 'Eve', text: 'hi'})})).status""",
        f"{stack.rasa_url}/webhooks/staff/message",
    )
    assert rasa in (401, 403)
