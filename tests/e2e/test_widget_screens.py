"""The widget on every screen and when things go wrong (issue #15), in Chromium against the real stack.

A message lost between the page and Rasa (dropped in Playwright's WebSocket route, a real fault on the wire), Retry;
small and short windows (320x256 = 400 % zoom, 844x390 = a phone held sideways, 640x400 = 200 % zoom) and the
on-screen keyboard; the growing text area; End chat, expiry and masking; links, times, dark mode; axe-core.
Screenshots go to tests/output/screenshots/ (those in web_widget/docs/ are copies).
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import Dict, Iterator, List

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from tests.e2e.test_widget_browser import (
    ANSWER_TIMEOUT,
    STORAGE_KEY,
    FakeRasa,
    bot_message,
    log,
    message_input,
    open_demo,
    open_widget,
    panel,
    run_axe,
    send,
    session_id,
    shot,
    status,
    user_events,
    user_message,
    wait_online,
)

pytestmark = pytest.mark.e2e

NO_ANSWER_TIMEOUT = 25_000  # ms: the widget marks a message after 15 s (NO_ANSWER_MS in widget.js)
DOTS = "\u2022\u2022\u2022"


@pytest.fixture()
def errors() -> List[str]:
    return []


def new_context(browser: Browser, width: int, height: int, **options) -> BrowserContext:
    # the demo page's Content-Security-Policy forbids injected scripts: bypass_csp lets axe-core in
    return browser.new_context(viewport={"width": width, "height": height}, locale="en-NZ", bypass_csp=True, **options)


@pytest.fixture()
def small(browser: Browser) -> Iterator[BrowserContext]:
    ctx = new_context(browser, 320, 256)
    yield ctx
    ctx.close()


def stored(page: Page) -> str:
    """Everything the widget keeps in this browser's localStorage, as one string."""
    return page.evaluate("JSON.stringify(Object.assign({}, localStorage))")


def lines_of_conversation(page: Page) -> float:
    return log(page).evaluate("el => el.clientHeight / parseFloat(getComputedStyle(el).lineHeight)")


def in_view(page: Page, locator) -> bool:
    """True when the element is inside the conversation's visible area."""
    return locator.evaluate(
        """el => { const r = el.getBoundingClientRect(), l = el.closest('.log').getBoundingClientRect();
                   return r.top >= l.top - 1 && r.bottom <= l.bottom + 1 && r.bottom <= innerHeight; }"""
    )


def converse(page: Page) -> None:
    open_widget(page)
    expect(bot_message(page, "automated assistant")).to_be_visible(timeout=ANSWER_TIMEOUT)
    wait_online(page)
    send(page, "do I need a GP referral?")
    expect(bot_message(page, "No referral needed")).to_be_visible(timeout=ANSWER_TIMEOUT)


# ---------- a message lost on the way: marked, Retry, answered once


class Wire:
    """Playwright's WebSocket route between the page and Rasa: forwards every frame, drops the first one carrying
    `drop` (the message is lost on the way, as when a connection half-breaks), and notes the Engine.IO upgrade."""

    def __init__(self) -> None:
        self.drop = ""
        self.dropped: List[str] = []
        self.upgraded = False

    def route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(message) -> None:
            if message == "5":
                self.upgraded = True  # Engine.IO: the socket now uses this WebSocket (not polling)
            if self.drop and isinstance(message, str) and self.drop in message and not self.dropped:
                self.dropped.append(message)
                return
            server.send(message)

        ws.on_message(from_page)
        server.on_message(ws.send)


def test_a_lost_message_is_marked_and_retry_is_answered_once(stack, browser, errors):
    wire = Wire()
    ctx = new_context(browser, 1280, 800)
    try:
        page = ctx.new_page()
        page.route_web_socket(re.compile(r"/socket\.io/"), wire.route)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{stack.web_url}/")
        open_widget(page)
        expect(bot_message(page, "automated assistant")).to_be_visible(timeout=ANSWER_TIMEOUT)
        wait_online(page)
        deadline = time.monotonic() + 20
        while not wire.upgraded and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert wire.upgraded, "the socket never moved to the WebSocket"

        question = "do I need a GP referral?"
        wire.drop = question
        send(page, question)
        mine = user_message(page, question)
        expect(mine).to_have_class(re.compile(r"\blate\b"), timeout=NO_ANSWER_TIMEOUT)
        assert len(wire.dropped) == 1
        expect(status(page)).to_have_attribute("data-state", "late")
        expect(status(page)).to_contain_text("no answer")
        expect(page.locator("#acute-chat-widget .typing")).to_be_hidden()  # no dots once it is marked
        expect(mine.locator(".noanswer")).to_contain_text("No answer yet")
        expect(mine.locator(".noanswer")).to_contain_text("You can also reach the clinic: visit us at 163 The Terrace")
        shot(page, "20-no-answer-retry")
        assert [e["text"] for e in user_events(stack, session_id(page))] == ["/greet"]  # it never arrived

        mine.get_by_role("button", name="Retry").click()
        expect(bot_message(page, "No referral needed")).to_be_visible(timeout=ANSWER_TIMEOUT)
        wait_online(page)
        expect(mine).not_to_have_class(re.compile(r"\blate\b"))
        expect(mine.get_by_role("button", name="Retry")).to_be_hidden()
        page.wait_for_timeout(1000)
        events = [e for e in user_events(stack, session_id(page)) if e["text"] == question]
        assert len(events) == 1, events  # answered exactly once
        lost = json.loads(wire.dropped[0][wire.dropped[0].index("[") :])[1]
        assert events[0]["metadata"]["message_id"] == lost["metadata"]["message_id"]  # the same message, retried
        expect(bot_message(page, "No referral needed")).to_have_count(1)
        assert errors == []
    finally:
        ctx.close()


def test_retry_sends_the_same_message_id(context_fake):
    """Against a fake server that loses the first copy: the retry carries the first one's message_id."""
    page, fake = context_fake
    send(page, "ignore me once")
    mine = user_message(page, "ignore me once")
    expect(mine).to_have_class(re.compile(r"\blate\b"), timeout=NO_ANSWER_TIMEOUT)
    mine.get_by_role("button", name="Retry").click()
    expect(bot_message(page, "Got it this time")).to_be_visible(timeout=10_000)
    copies = [r for r in fake.received if r["message"] == "ignore me once"]
    assert len(copies) == 2
    assert copies[0]["metadata"]["message_id"] == copies[1]["metadata"]["message_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", copies[0]["metadata"]["message_id"])


# ---------- small and short windows: full screen, 4 lines of conversation at least, the keyboard, axe-core


@pytest.mark.parametrize("width,height", [(320, 256), (844, 390), (640, 400)])
def test_small_windows_are_full_screen_with_room_to_chat(stack, browser, errors, width, height):
    ctx = new_context(browser, width, height)
    try:
        page = open_demo(ctx, stack, errors)
        converse(page)
        box = panel(page).bounding_box()
        assert box == {"x": 0, "y": 0, "width": width, "height": height}, box
        expect(panel(page)).to_have_attribute("aria-modal", "true")
        lines = lines_of_conversation(page)
        assert lines >= 4, f"{lines:.1f} lines of conversation at {width}x{height}"
        expect(page.locator("#acute-chat-widget .head p")).to_be_hidden()  # compact header
        shot(page, f"21-widget-{width}x{height}")
        assert run_axe(page, f"widget-{width}x{height}") == []
        assert errors == []
    finally:
        ctx.close()


def test_on_screen_keyboard_keeps_the_last_message_in_view(stack, browser, errors):
    ctx = new_context(browser, 390, 844, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        page = open_demo(ctx, stack, errors)
        converse(page)
        send(page, "can I see a physio at the same time?")
        last = bot_message(page, "doesn't cancel out")
        expect(last).to_be_visible(timeout=ANSWER_TIMEOUT)
        message_input(page).focus()
        # the keyboard takes the lower half: the visual viewport shrinks
        page.set_viewport_size({"width": 390, "height": 380})
        page.evaluate("window.visualViewport.dispatchEvent(new Event('resize'))")
        page.wait_for_timeout(300)
        assert panel(page).bounding_box()["height"] == 380
        assert in_view(page, last.locator("time")), "the latest message is hidden behind the keyboard"
        shot(page, "22-keyboard-open")
        assert errors == []
    finally:
        ctx.close()


def test_dark_mode_and_forced_colours(stack, browser, errors):
    ctx = new_context(browser, 1280, 800, color_scheme="dark")
    try:
        page = open_demo(ctx, stack, errors)
        converse(page)
        background = panel(page).evaluate("el => getComputedStyle(el).backgroundColor")
        assert background == "rgb(27, 32, 32)", background
        shot(page, "23-dark-mode")
        assert run_axe(page, "dark-mode") == []
        page.emulate_media(forced_colors="active")
        border = user_message(page, "GP referral").locator(".bubble").evaluate("el => getComputedStyle(el).borderStyle")
        assert border == "solid"
        assert errors == []
    finally:
        ctx.close()


# ---------- the text area, End chat, expiry, masking


def test_text_area_grows_and_sends_new_lines(stack, small, errors):
    page = open_demo(small, stack, errors)
    open_widget(page)
    wait_online(page)
    box = message_input(page)
    expect(box).to_have_attribute("maxlength", "1000")
    one_line = box.bounding_box()["height"]
    box.type("I hurt my knee")
    box.press("Shift+Enter")
    box.type("playing netball")
    assert box.input_value() == "I hurt my knee\nplaying netball"
    assert box.bounding_box()["height"] > one_line, "the text area grows with the text"
    box.press("Enter")
    mine = user_message(page, "playing netball")
    expect(mine.locator("br")).to_have_count(1)
    expect(box).to_have_value("")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        texts = [e["text"] for e in user_events(stack, session_id(page))]
        if "I hurt my knee\nplaying netball" in texts:
            break
        page.wait_for_timeout(300)
    else:
        pytest.fail(f"the message did not arrive with its new line: {texts}")
    counter = page.locator("#acute-chat-widget .count")
    box.fill("x" * 799)
    box.press("x")
    expect(counter).to_be_visible()
    expect(counter).to_have_text("800/1000")
    expect(page.locator("#acw-count")).to_have_text("200 characters left")
    assert errors == []


def test_end_chat_clears_this_device_after_a_confirmation(stack, browser, errors):
    ctx = new_context(browser, 1280, 800)
    try:
        page = open_demo(ctx, stack, errors)
        converse(page)
        old = session_id(page)
        page.get_by_role("button", name="End chat").click()
        question = page.get_by_role("group", name="End this chat and clear it from this device?")
        expect(question).to_be_visible()
        assert page.evaluate("document.activeElement.shadowRoot.activeElement.textContent") == "No"
        shot(page, "24-end-chat-confirmation")
        page.keyboard.press("Escape")  # no: nothing is cleared
        expect(question).to_be_hidden()
        expect(panel(page)).to_be_visible()
        assert old in stored(page)
        page.get_by_role("button", name="End chat").click()
        question.get_by_role("button", name="Yes, end chat").click()
        expect(bot_message(page, "No referral needed")).to_have_count(0)
        kept = stored(page)
        assert old not in kept and "GP referral" not in kept and "No referral needed" not in kept, kept
        expect(bot_message(page, "automated assistant")).to_have_count(1, timeout=ANSWER_TIMEOUT)
        assert session_id(page) != old
        assert errors == []
    finally:
        ctx.close()


def test_stored_history_expires_after_seven_days_and_shows_days_and_times(stack, browser, errors):
    ctx = new_context(browser, 1280, 800)
    try:
        page = open_demo(ctx, stack, errors)
        now = page.evaluate("Date.now()")
        day = 86_400_000

        def keep(history: List[Dict]) -> None:
            state = {"sessionId": "ab" * 16, "history": history, "outbox": [], "welcomed": True}
            page.evaluate("([k, v]) => localStorage.setItem(k, v)", [STORAGE_KEY, json.dumps(state)])
            page.reload()
            if not panel(page).is_visible():  # it stays open across reloads
                open_widget(page)

        keep([{"id": "a", "from": "bot", "text": "an old answer", "t": now - 8 * day}])
        expect(bot_message(page, "an old answer")).to_have_count(0)  # 8 days: dropped
        assert "an old answer" not in stored(page)

        keep(
            [
                {"id": "a", "from": "bot", "text": "two days ago", "t": now - 2 * day},
                {"id": "b", "from": "bot", "text": "yesterday's answer", "t": now - day},
                {"id": "c", "from": "user", "text": "today's question", "t": now},
            ]
        )
        expect(bot_message(page, "two days ago")).to_be_visible()
        days = log(page).locator(".day")
        expect(days).to_have_count(3)
        expect(days.nth(1)).to_have_text("Yesterday")
        expect(days.nth(2)).to_have_text("Today")
        clock = user_message(page, "today's question").locator("time").inner_text()
        assert re.fullmatch(r"\d{1,2}:\d\d( ?[ap]\.?m\.?)?", clock), clock
        # the clinic's time zone (Pacific/Auckland), whatever the browser's
        expected = page.evaluate(
            "t => new Intl.DateTimeFormat(undefined, {hour: 'numeric', minute: '2-digit', "
            "timeZone: 'Pacific/Auckland'}).format(t)",
            now,
        )
        assert clock == expected
        shot(page, "25-days-and-times")
        assert errors == []
    finally:
        ctx.close()


def test_acc45_and_phone_numbers_are_masked_in_the_bubble_and_storage(stack, browser, errors):
    ctx = new_context(browser, 1280, 800)
    try:
        page = open_demo(ctx, stack, errors)
        open_widget(page)
        expect(bot_message(page, "automated assistant")).to_be_visible(timeout=ANSWER_TIMEOUT)
        wait_online(page)
        send(page, "my acc45 is AB 12345")
        mine = user_message(page, f"AB{DOTS}45")
        expect(mine).to_be_visible()
        send(page, "call me on 021 123 4567")
        expect(user_message(page, f"021{DOTS}567")).to_be_visible()
        expect(log(page).locator(".msg.bot")).not_to_have_count(1, timeout=ANSWER_TIMEOUT)
        page.wait_for_timeout(1000)
        shown, kept = log(page).inner_text(), stored(page)
        for secret in ("AB12345", "AB 12345", "021 123 4567", "0211234567"):
            assert secret not in shown and secret not in kept, secret
        assert f"AB{DOTS}45" in kept and f"021{DOTS}567" in kept
        texts = [e["text"] for e in user_events(stack, session_id(page))]
        assert "my acc45 is AB 12345" in texts  # the server gets the real text
        mine.evaluate("el => el.scrollIntoView({block: 'start'})")  # the masked bubbles in the picture
        shot(page, "26-masked-acc45")
        assert errors == []
    finally:
        ctx.close()


# ---------- links and buttons (fake socket.io server)


@pytest.fixture()
def context_fake(stack, browser) -> Iterator:
    with urllib.request.urlopen(f"{stack.web_url}/healthz", timeout=10) as response:  # noqa: S310 (loopback)
        bundle = json.loads(response.read())["widget"]["file"]
    ctx = new_context(browser, 1280, 800)
    with FakeRasa() as fake:
        fake.host_page = (
            "<!doctype html><html lang='en'><head><title>Host page</title></head><body><main><h1>Host</h1></main>"
            f"<script src='{stack.web_url}/widget/{bundle}' data-server-url='{fake.url}' "
            "data-contact-url='tel:041234567' data-contact-text='Or call the clinic on 04 123 4567.'>"
            "</script></body></html>"
        )
        page = ctx.new_page()
        page.goto(f"{fake.url}/host.html")
        open_widget(page)
        expect(bot_message(page, "Hello from the fake server")).to_be_visible(timeout=10_000)
        yield page, fake
    ctx.close()


def test_links_open_in_place_and_url_buttons_open_the_page(context_fake):
    page, fake = context_fake
    send(page, "contact")
    answer = bot_message(page, "Call us on")
    expect(answer).to_be_visible(timeout=10_000)
    anchors = answer.locator(".bubble a").all()
    links = {a.text_content(): (a.get_attribute("href"), a.get_attribute("target")) for a in anchors}
    assert links["04 123 4567"] == ("tel:041234567", None)
    assert links["0800 611 116"] == ("tel:0800611116", None)
    assert links["hello@acute.example.nz"] == ("mailto:hello@acute.example.nz", None)
    assert links["111"] == ("tel:111", None)
    assert links["https://www.facebook.com/acute.example (opens in a new tab)"][1] == "_blank"
    book = answer.get_by_role("link", name=re.compile("Book online"))
    assert book.get_attribute("href") == "https://book.example.com/acute"
    assert book.get_attribute("target") == "_blank"
    page.context.route("https://book.example.com/**", lambda route: route.fulfill(body="booking page"))
    with page.context.expect_page() as popup:
        book.click()
    assert popup.value.url == "https://book.example.com/acute"
    page.wait_for_timeout(500)
    assert [r["message"] for r in fake.received][-1] == "contact"  # the link is not sent as a message
    shot(page, "27-links")


def test_a_long_answer_is_shown_from_its_start(context_fake):
    page, _ = context_fake
    send(page, "long")
    answer = bot_message(page, "The start of a long answer")
    expect(answer).to_be_visible(timeout=10_000)
    page.wait_for_timeout(300)
    start = answer.locator(".bubble")
    top_visible = start.evaluate(
        "el => { const r = el.getBoundingClientRect(), l = el.closest('.log').getBoundingClientRect();"
        " return r.top >= l.top - 1 && r.top < l.bottom; }"
    )
    assert top_visible, "the answer's start is scrolled out of view"
    assert not in_view(page, answer.locator("time")), "the answer is longer than the window: its end is below"
