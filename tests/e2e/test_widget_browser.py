"""The chat widget in a real browser (Debian chromium through Playwright) against the real stack.

The session `stack` fixture runs the action server, `rasa run` and the web service; these tests open its demo page.
Screenshots of each state go to tests/output/screenshots/, the axe-core report to tests/output/axe/.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
import time
import urllib.request
import zlib
from typing import Callable, Dict, Iterator, List

import pytest
import socketio
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bot.channels.sender_ids import WEB, namespaced
from tests.conftest import OUTPUT, ROOT, free_port

pytestmark = pytest.mark.e2e

SCREENSHOTS = OUTPUT / "screenshots"
AXE = ROOT / "web_widget" / "node_modules" / "axe-core" / "axe.min.js"
WIDGET_VERSION = json.loads((ROOT / "web_widget" / "package.json").read_text())["version"]
STORAGE_KEY = "acute-chat:v1"
ANSWER_TIMEOUT = 30_000  # ms
RECONNECT_TIMEOUT = 45_000  # ms


# ---------- fixtures and helpers


@pytest.fixture()
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (empty localStorage) per test."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-NZ")
    yield ctx
    ctx.close()


@pytest.fixture()
def page_errors() -> List[str]:
    return []


def open_demo(ctx: BrowserContext, stack, errors: List[str]) -> Page:
    page = ctx.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{stack.web_url}/")
    expect(launcher(page)).to_be_visible()
    return page


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def launcher(page: Page):
    return page.locator("#acute-chat-widget .launcher")


def panel(page: Page):
    return page.get_by_role("dialog", name="Acute Acupuncture")


def log(page: Page):
    return page.get_by_role("log", name="Conversation")


def status(page: Page):
    return page.locator("#acute-chat-widget .status")


def message_input(page: Page):
    return page.get_by_label("Your message")


def bot_message(page: Page, text: str):
    return log(page).locator(".msg.bot", has_text=text)


def user_message(page: Page, text: str):
    return log(page).locator(".msg.user", has_text=text)


def send(page: Page, text: str) -> None:
    message_input(page).fill(text)
    message_input(page).press("Enter")


def open_widget(page: Page) -> None:
    launcher(page).click()
    expect(panel(page)).to_be_visible()


def wait_online(page: Page, timeout: float = ANSWER_TIMEOUT) -> None:
    expect(status(page)).to_have_attribute("data-state", "online", timeout=timeout)
    expect(status(page)).to_have_text("Online")


def session_id(page: Page) -> str:
    return page.evaluate(f"JSON.parse(localStorage.getItem('{STORAGE_KEY}')).sessionId")


def focused(page: Page) -> str:
    """A description of the focused element inside the widget's shadow root ('' when focus is elsewhere)."""
    return page.evaluate(
        """() => {
        const host = document.activeElement;
        if (!host || host.id !== 'acute-chat-widget') return '';
        const el = host.shadowRoot.activeElement;
        return el ? (el.id || el.className || el.tagName) + '|' + (el.textContent || '') : '';
    }"""
    )


def user_events(stack, session: str) -> List[Dict]:
    """The user events of the widget session's conversation (`web:<session id>`, bot/channels/sender_ids.py)."""
    with sqlite3.connect(stack.tracker_db) as db:
        rows = db.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
            (namespaced(WEB, session),),
        ).fetchall()
    return [json.loads(row[0]) for row in rows]


# ---------- conversation, quick replies, history across reloads and tabs, page metadata in the tracker


def test_conversation_quick_reply_history_and_metadata(stack, context, page_errors):
    page = open_demo(context, stack, page_errors)
    expect(panel(page)).to_be_hidden()
    shot(page, "01-demo-page-widget-closed")

    open_widget(page)
    greeting = bot_message(page, "automated assistant")
    expect(greeting).to_be_visible(timeout=ANSWER_TIMEOUT)
    wait_online(page)
    assert focused(page).startswith("acw-input"), "opening the chat puts focus in the message field"
    buttons = greeting.get_by_role("button")
    expect(buttons.first).to_be_visible()
    shot(page, "02-welcome-with-quick-replies")

    # a quick reply sends its payload and shows its title as the user's message
    acc = greeting.get_by_role("button", name=re.compile("ACC"))
    title = acc.inner_text()
    acc.click()
    expect(user_message(page, title)).to_be_visible()
    expect(bot_message(page, "subsidised by ACC")).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(acc).to_be_disabled()  # answered quick replies are spent
    assert "/faq_acc_requirements" not in log(page).inner_text()

    send(page, "do I need a GP referral?")
    expect(user_message(page, "do I need a GP referral?")).to_be_visible()
    expect(bot_message(page, "No referral needed")).to_be_visible(timeout=ANSWER_TIMEOUT)
    shot(page, "03-answer-no-referral-needed")
    before = log(page).locator(".msg").count()
    sender = session_id(page)

    # reload: the same conversation, restored; the chat stays open; no second welcome
    page.reload()
    expect(panel(page)).to_be_visible()
    expect(bot_message(page, "No referral needed")).to_be_visible()
    expect(user_message(page, title)).to_be_visible()
    wait_online(page)
    assert session_id(page) == sender
    page.wait_for_timeout(2000)
    expect(log(page).locator(".msg")).to_have_count(before)
    expect(bot_message(page, "automated assistant")).to_have_count(1)
    shot(page, "04-history-after-reload")

    # a new tab on the same site: same conversation, and it can carry on
    tab = open_demo(context, stack, page_errors)
    expect(panel(tab)).to_be_hidden()
    open_widget(tab)
    expect(bot_message(tab, "No referral needed")).to_be_visible()
    wait_online(tab)
    assert session_id(tab) == sender
    send(tab, "can I see a physio at the same time?")
    expect(bot_message(tab, "doesn't cancel out")).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(bot_message(tab, "automated assistant")).to_have_count(1)
    shot(tab, "05-new-tab-same-conversation")
    # ... and the first tab shows what was said in the other one (shared history)
    expect(user_message(page, "can I see a physio at the same time?")).to_be_visible()
    expect(log(page).locator(".msg")).to_have_count(log(tab).locator(".msg").count())

    # page metadata reached the tracker with every message; the welcome was sent once for the conversation
    events = user_events(stack, sender)
    texts = [event["text"] for event in events]
    assert texts.count("/greet") == 1, texts
    assert "do I need a GP referral?" in texts and "/faq_acc_requirements" in texts
    for event in events:
        assert event["input_channel"] == "socketio"
        assert event["metadata"]["page_url"] == f"{stack.web_url}/"
        assert event["metadata"]["widget_version"] == WIDGET_VERSION
        assert re.fullmatch(r"[0-9a-f]{32}", event["metadata"]["message_id"]), event["metadata"]
    assert len({event["metadata"]["message_id"] for event in events}) == len(events)  # one id per message

    # "End chat", confirmed, starts afresh: new session id, history gone, a new welcome
    tab.get_by_role("button", name="End chat").click()
    tab.get_by_role("button", name="Yes, end chat").click()
    expect(bot_message(tab, "No referral needed")).to_have_count(0)
    expect(bot_message(tab, "automated assistant")).to_have_count(1, timeout=ANSWER_TIMEOUT)
    assert session_id(tab) != sender
    expect(bot_message(page, "No referral needed")).to_have_count(0)  # the other tab follows
    shot(tab, "06-new-conversation")
    assert page_errors == []


def test_a_stored_session_id_of_another_format_starts_afresh(stack, context, page_errors):
    """The server accepts only the widget's own format (32 lowercase hex digits): anything else in storage is
    dropped with its history, and the new conversation works."""
    page = open_demo(context, stack, page_errors)
    stale = {
        "sessionId": "messenger:1234567890123456",
        "history": [{"id": "x", "from": "bot", "text": "an old conversation", "t": 0}],
        "outbox": [],
        "welcomed": True,
    }
    page.evaluate("([key, value]) => localStorage.setItem(key, value)", [STORAGE_KEY, json.dumps(stale)])
    page.reload()
    open_widget(page)
    expect(bot_message(page, "automated assistant")).to_be_visible(timeout=ANSWER_TIMEOUT)
    wait_online(page)
    expect(bot_message(page, "an old conversation")).to_have_count(0)
    fresh = session_id(page)
    assert re.fullmatch(r"[0-9a-f]{32}", fresh), fresh
    send(page, "do I need a GP referral?")
    expect(bot_message(page, "No referral needed")).to_be_visible(timeout=ANSWER_TIMEOUT)
    assert [event["text"] for event in user_events(stack, fresh)] == ["/greet", "do I need a GP referral?"]
    assert page_errors == []


# ---------- Rasa down: visible offline state, queued message, reconnect and answer


def test_offline_state_queue_and_reconnect(stack, browser, page_errors):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    fresh = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = open_demo(ctx, stack, page_errors)
        open_widget(page)
        expect(bot_message(page, "automated assistant")).to_be_visible(timeout=ANSWER_TIMEOUT)
        wait_online(page)

        stack.stop_one("rasa")
        expect(status(page)).to_have_attribute("data-state", "offline", timeout=20_000)
        expect(status(page)).to_contain_text("Offline")
        expect(status(page)).to_contain_text("Retrying")
        expect(panel(page)).to_be_visible()
        shot(page, "07-offline")

        send(page, "do I need a GP referral?")
        queued = user_message(page, "do I need a GP referral?")
        expect(queued).to_have_class(re.compile(r"\bqueued\b"))
        expect(queued.locator(".note")).to_contain_text("Not sent yet")
        shot(page, "08-offline-message-queued")

        # a visitor arriving while the server is down sees the widget and the offline state, never a blank box
        other = open_demo(fresh, stack, page_errors)
        expect(launcher(other)).to_be_visible()
        open_widget(other)
        expect(status(other)).to_have_attribute("data-state", "offline", timeout=20_000)
        expect(message_input(other)).to_be_enabled()
        expect(log(other).locator(".empty")).to_contain_text("can’t be reached right now")
        shot(other, "09-offline-first-visit")

        stack.start_rasa()
        stack.wait_ready()
        wait_online(page, RECONNECT_TIMEOUT)
        expect(bot_message(page, "No referral needed")).to_be_visible(timeout=ANSWER_TIMEOUT)
        expect(queued).not_to_have_class(re.compile(r"\bqueued\b"))
        expect(queued.locator(".note")).to_be_hidden()
        shot(page, "10-reconnected-and-answered")
        # the first-time visitor's welcome, queued while offline, arrives once the server is back
        wait_online(other, RECONNECT_TIMEOUT)
        expect(bot_message(other, "automated assistant")).to_have_count(1, timeout=ANSWER_TIMEOUT)
        assert page_errors == []
    finally:
        if "rasa" not in stack.processes:
            stack.start_rasa()
            stack.wait_ready()
        ctx.close()
        fresh.close()


# ---------- phone-sized viewport


def test_phone_viewport_is_full_screen(stack, browser, page_errors):
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    try:
        page = open_demo(ctx, stack, page_errors)
        shot(page, "11-phone-closed")
        launcher(page).tap()
        expect(bot_message(page, "automated assistant")).to_be_visible(timeout=ANSWER_TIMEOUT)
        box = panel(page).bounding_box()
        assert box is not None
        assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844), box
        expect(launcher(page)).to_be_hidden()  # the panel's close button replaces it
        expect(panel(page)).to_have_attribute("aria-modal", "true")
        for _ in range(12):  # full screen, the chat is modal: Tab stays inside it
            page.keyboard.press("Tab")
            assert focused(page), "focus left the full-screen chat"
        send(page, "do I need a GP referral?")
        expect(bot_message(page, "No referral needed")).to_be_visible(timeout=ANSWER_TIMEOUT)
        shot(page, "12-phone-open")
        page.get_by_role("button", name="Close chat").tap()
        expect(panel(page)).to_be_hidden()
        expect(launcher(page)).to_be_visible()
        assert page_errors == []
    finally:
        ctx.close()


# ---------- keyboard only


def test_keyboard_only(stack, context, page_errors):
    page = open_demo(context, stack, page_errors)
    page.locator("body").focus()
    for _ in range(25):
        page.keyboard.press("Tab")
        if "launcher" in focused(page):
            break
    else:
        pytest.fail("the chat button cannot be reached with Tab")
    outline = page.evaluate(
        "getComputedStyle(document.getElementById('acute-chat-widget').shadowRoot.activeElement).outlineStyle"
    )
    assert outline != "none", "keyboard focus is visible"
    shot(page, "13-keyboard-focus-on-launcher")

    page.keyboard.press("Enter")
    expect(panel(page)).to_be_visible()
    assert focused(page).startswith("acw-input")
    expect(bot_message(page, "automated assistant")).to_be_visible(timeout=ANSWER_TIMEOUT)
    wait_online(page)

    # Shift+Tab from the message field reaches the quick replies (last one first)
    titles = bot_message(page, "automated assistant").get_by_role("button").all_inner_texts()
    assert len(titles) >= 2, titles
    page.keyboard.press("Shift+Tab")
    assert focused(page).endswith(titles[-1]), focused(page)
    for _ in titles[1:]:
        page.keyboard.press("Shift+Tab")
    assert focused(page).endswith(titles[0]), focused(page)
    shot(page, "14-keyboard-focus-on-quick-reply")
    answers = log(page).locator(".msg.bot").count()
    page.keyboard.press("Enter")
    expect(user_message(page, titles[0])).to_be_visible()
    expect(log(page).locator(".msg.bot")).not_to_have_count(answers, timeout=ANSWER_TIMEOUT)
    assert focused(page).startswith("acw-input"), "after a quick reply, focus returns to the message field"

    page.keyboard.type("can I see a physio at the same time?")
    page.keyboard.press("Enter")
    expect(bot_message(page, "doesn't cancel out")).to_be_visible(timeout=ANSWER_TIMEOUT)
    shot(page, "15-keyboard-conversation")

    page.keyboard.press("Escape")
    expect(panel(page)).to_be_hidden()
    assert "launcher" in focused(page), "closing returns focus to the chat button"
    page.keyboard.press("Enter")
    expect(panel(page)).to_be_visible()
    assert page_errors == []


# ---------- accessibility: axe-core in the page, live region


def run_axe(page: Page, name: str) -> List[Dict]:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
            resultTypes: ['violations'],
        })"""
    )
    report = OUTPUT / "axe" / f"{name}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(results["violations"], indent=2))
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_accessibility_axe_and_live_region(stack, browser, page_errors):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make widget-deps` (npm ci in web_widget)")
    # the demo page's Content-Security-Policy forbids injected scripts: let axe in
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    try:
        check_accessibility(stack, context, page_errors)
    finally:
        context.close()


def check_accessibility(stack, context: BrowserContext, page_errors: List[str]) -> None:
    page = open_demo(context, stack, page_errors)
    assert run_axe(page, "closed") == []

    open_widget(page)
    expect(bot_message(page, "automated assistant")).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(log(page)).to_have_attribute("aria-live", "polite")
    expect(status(page)).to_have_attribute("role", "status")
    send(page, "do I need a GP referral?")
    answer = bot_message(page, "No referral needed")
    expect(answer).to_be_visible(timeout=ANSWER_TIMEOUT)
    # new messages are added inside the live region, with who said them for screen readers
    assert answer.evaluate("el => el.closest('[aria-live=polite]') !== null")
    expect(answer.locator(".sr")).to_have_text("Assistant: ")
    assert run_axe(page, "open-conversation") == []
    assert page_errors == []


# ---------- rendering: links, light formatting, images, buttons; bot text is never HTML (fake socket.io server)


def png(width: int, height: int) -> bytes:
    """A plain teal PNG (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    rows = b"".join(b"\x00" + b"\x0b\x5c\x56" * width for _ in range(height))
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


FAKE_REPLIES: Dict[str, Dict] = {
    "ignore me once": {"text": "Got it this time"},
    "contact": {
        "text": "Call us on 04 123 4567 or 0800 611 116, email hello@acute.example.nz, or see "
                "https://www.facebook.com/acute.example. In an emergency call 111.",
        "quick_replies": [
            {"content_type": "text", "title": "Book online", "payload": "https://book.example.com/acute"},
            {"content_type": "text", "title": "Contact me", "payload": "/request_contact"},
        ],
    },
    "long": {"text": "The start of a long answer.\n" + "\n".join(f"Line {i} of the long answer." for i in range(60))},
}


class FakeRasa:
    """A python-socketio 5 server speaking like Rasa's socketio channel, answering with rich and hostile messages."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: List[Dict] = []
        self.sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
        self.sio.on("session_request", self.session_request)
        self.sio.on("user_uttered", self.user_uttered)
        self.host_page = ""  # served at any other path: a host page must come from a real (loopback) server
        app = socketio.ASGIApp(self.sio, other_asgi_app=self.serve_host_page)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def serve_host_page(self, scope: Dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"text/html; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.host_page.encode()})

    async def session_request(self, sid: str, data: Dict) -> None:
        await self.sio.enter_room(sid, data["session_id"])
        await self.sio.emit("session_confirm", data["session_id"], room=sid)

    async def user_uttered(self, sid: str, data: Dict) -> None:
        self.received.append(data)
        room = data["session_id"]
        if data["message"].startswith("/"):
            await self.sio.emit("bot_uttered", {"text": "Hello from the fake server"}, room=room)
            return
        reply = FAKE_REPLIES.get(data["message"])
        if data["message"] == "ignore me once" and sum(r["message"] == "ignore me once" for r in self.received) == 1:
            return  # the first one is lost: no answer
        if reply:
            await self.sio.emit("bot_uttered", reply, room=room)
            return
        if data["message"] == "take your time":
            await asyncio.sleep(2)
            await self.sio.emit("bot_uttered", {"text": "A slow answer"}, room=room)
            return
        await self.sio.emit(
            "bot_uttered",
            {"text": "**Bold** and *italic* and `code`: see [the clinic](https://example.com/clinic) or "
                     "https://example.org/page.\nSecond line <img src=x onerror=\"window.__pwned=1\">"
                     "<script>window.__pwned=2</script> [bad](javascript:window.__pwned=3)"},
            room=room,
        )
        await self.sio.emit(
            "bot_uttered",
            {"attachment": {"type": "image", "payload": {"src": "data:image/gif;base64,R0lGODlhAQABAAAAACw="}}},
            room=room,
        )
        await self.sio.emit(
            "bot_uttered",
            {"attachment": {"type": "image", "payload": {"src": "https://example.com/pic.png"}}},
            room=room,
        )
        await self.sio.emit(
            "bot_uttered",
            {"text": "Pick one", "quick_replies": [{"content_type": "text", "title": "<b>Yes</b>", "payload": "/ok"}]},
            room=room,
        )

    def __enter__(self) -> FakeRasa:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def test_rendering_is_formatted_and_never_html(stack, context, page_errors):
    """The bundle embedded directly (no loader), with data- settings, against a fake server sending rich messages."""
    with urllib.request.urlopen(f"{stack.web_url}/healthz", timeout=10) as response:  # noqa: S310 (loopback)
        bundle = json.loads(response.read())["widget"]["file"]
    with FakeRasa() as fake:
        fake.host_page = (
            "<!doctype html><html lang='en'><head><title>Host page</title></head><body><main><h1>Host</h1></main>"
            f"<script src='{stack.web_url}/widget/{bundle}' data-server-url='{fake.url}' "
            "data-title='Test Clinic' data-color='#ffd400' data-storage-key='render-test'></script></body></html>"
        )
        page = context.new_page()
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        picture = png(160, 80)
        page.route("https://example.com/pic.png", lambda route: route.fulfill(body=picture, content_type="image/png"))
        page.goto(f"{fake.url}/host.html")
        page.locator("#acute-chat-widget .launcher").click()
        expect(page.get_by_role("dialog", name="Test Clinic")).to_be_visible()
        expect(bot_message(page, "Hello from the fake server")).to_be_visible(timeout=10_000)
        # a light custom colour gets dark text (contrast), not white
        text_colour = page.locator("#acute-chat-widget .launcher").evaluate("el => getComputedStyle(el).color")
        assert text_colour == "rgb(17, 17, 17)", text_colour

        send(page, "<b>hi</b> **there** <img src=x onerror=\"window.__pwned=4\">")
        mine = user_message(page, "there")
        expect(mine).to_be_visible()
        expect(mine.locator("strong")).to_have_text("there")
        expect(mine.locator("b, img")).to_have_count(0)
        expect(mine).to_contain_text("<b>hi</b>")

        rich = bot_message(page, "Second line")
        expect(rich).to_be_visible(timeout=10_000)
        expect(rich.locator("strong")).to_have_text("Bold")
        expect(rich.locator("em")).to_have_text("italic")
        expect(rich.locator("code")).to_have_text("code")
        links = rich.locator("a")
        expect(links).to_have_count(2)
        assert links.nth(0).get_attribute("href") == "https://example.com/clinic"
        assert links.nth(1).get_attribute("href") == "https://example.org/page"  # trailing full stop left out
        assert "noopener" in links.nth(0).get_attribute("rel")
        expect(rich.locator("br")).to_have_count(1)
        expect(rich.locator("img, script, b")).to_have_count(0)
        expect(rich).to_contain_text('<img src=x onerror="window.__pwned=1">')
        expect(rich).to_contain_text("[bad](javascript:window.__pwned=3)")

        images = log(page).locator(".msg.bot img")
        expect(images).to_have_count(1)  # the data: URL is refused, the https image is shown
        assert images.first.get_attribute("src") == "https://example.com/pic.png"
        assert images.first.get_attribute("alt")

        reply = log(page).get_by_role("button", name="<b>Yes</b>")
        expect(reply).to_be_visible()
        assert reply.evaluate("el => getComputedStyle(el).color") == "rgb(17, 17, 17)"  # not yellow on white
        assert run_axe(page, "custom-colour") == []
        reply.click()
        expect(user_message(page, "<b>Yes</b>")).to_be_visible()
        shot(page, "16-rendering-fake-server")

        # the typing indicator shows while the bot is answering
        typing = page.locator("#acute-chat-widget .typing")
        expect(typing).to_be_hidden()
        send(page, "take your time")
        expect(typing).to_be_visible()
        expect(typing).to_contain_text("The assistant is typing")
        shot(page, "17-typing-indicator")
        expect(bot_message(page, "A slow answer")).to_be_visible(timeout=10_000)
        expect(typing).to_be_hidden()
        assert page.evaluate("window.__pwned") is None
        assert [r["message"] for r in fake.received][-2:] == ["/ok", "take your time"]
        assert fake.received[0]["message"] == "/greet"
        page_url = f"{fake.url}/host.html"
        metadata = fake.received[0]["metadata"]
        assert re.fullmatch(r"[0-9a-f]{32}", metadata.pop("message_id"))
        assert metadata == {"page_url": page_url, "widget_version": WIDGET_VERSION}
    assert page_errors == []
