"""Patients' "Was this helpful?" in the website widget (issue #16): Chromium against the real stack, a fake socket.io
server for what the real one cannot easily produce (a staff message, a refused rating), and a python-socketio client
for the attacks on the channel's `feedback` event (bot/channels/socketio.py, bot/channels/feedback.py).

A rating is stored in the requests' database (`message_feedback`) against the `message_id` of the patient's `user`
event in the tracker store. Screenshot: tests/output/screenshots/widget-feedback.png (copied to web_widget/docs/).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bot.channels.sender_ids import WEB, namespaced
from tests.e2e.test_socketio_channel import NO_REFERRAL, REFERRAL, Client
from tests.e2e.test_widget_browser import (
    ANSWER_TIMEOUT,
    FakeRasa,
    bot_message,
    focused,
    log,
    message_input,
    open_demo,
    open_widget,
    run_axe,
    send,
    session_id,
    shot,
    user_events,
    wait_online,
)

pytestmark = pytest.mark.e2e

QUESTION, THANKS = "Was this helpful?", "Thanks for your feedback."
PHYSIO, NOT_CANCELLED = "can I see a physio at the same time?", "doesn't cancel out"


@pytest.fixture()
def errors() -> List[str]:
    return []


@pytest.fixture()
def context(browser: Browser) -> Iterator[BrowserContext]:
    # the demo page's Content-Security-Policy forbids injected scripts: bypass_csp lets axe-core in
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-NZ", bypass_csp=True)
    yield ctx
    ctx.close()


def ratings(stack, sender_id: str) -> Dict[str, str]:
    """message_key -> rating of the conversation in the stack's requests' database."""
    path = Path(stack.tracker_db).parent / "requests.sqlite"
    with sqlite3.connect(path) as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'message_feedback'").fetchone():
            return {}
        rows = db.execute("SELECT message_key, rating FROM message_feedback WHERE sender_id = ?", (sender_id,))
        return dict(rows.fetchall())


def wait_ratings(stack, sender_id: str, expected: Dict[str, str], timeout: float = 15) -> Dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        found = ratings(stack, sender_id)
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def message_id_of(stack, session: str, text: str) -> str:
    """The `message_id` of the patient's user event with this text (the key ratings are stored under)."""
    [event] = [e for e in user_events(stack, session) if e["text"] == text]
    assert event["message_id"] == event["metadata"]["message_id"], "the widget's id is the user event's message id"
    return event["message_id"]


def rate_row(page: Page):
    return log(page).locator(".rate")


def pressed(row) -> List[str]:
    buttons = row.get_by_role("button").all()
    return [b.get_attribute("aria-label") for b in buttons if b.get_attribute("aria-pressed") == "true"]


# ---------- the real stack in Chromium


def test_thumbs_down_under_the_answer_is_stored_changed_and_kept(stack, context, errors):
    page = open_demo(context, stack, errors)
    open_widget(page)
    expect(bot_message(page, "automated assistant")).to_be_visible(timeout=ANSWER_TIMEOUT)
    wait_online(page)
    expect(rate_row(page)).to_have_count(0)  # not under the welcome

    send(page, REFERRAL)
    expect(bot_message(page, NO_REFERRAL)).to_be_visible(timeout=ANSWER_TIMEOUT)
    row = rate_row(page)
    expect(row).to_have_count(1)
    expect(log(page).locator(".msg.bot").last.locator(".rate")).to_have_count(1)  # under the answer's last message
    expect(row).to_contain_text(QUESTION)
    helpful = row.get_by_role("button", name="Helpful", exact=True)
    not_helpful = row.get_by_role("button", name="Not helpful", exact=True)
    expect(helpful).to_have_attribute("aria-pressed", "false")
    expect(not_helpful).to_have_attribute("aria-pressed", "false")

    session = session_id(page)
    sender = namespaced(WEB, session)
    not_helpful.click()
    expect(not_helpful).to_have_attribute("aria-pressed", "true")
    expect(row).to_contain_text(THANKS)
    key = message_id_of(stack, session, REFERRAL)
    assert wait_ratings(stack, sender, {key: "down"}) == {key: "down"}

    helpful.click()  # changed: replaces the thumbs-down
    expect(helpful).to_have_attribute("aria-pressed", "true")
    expect(not_helpful).to_have_attribute("aria-pressed", "false")
    assert wait_ratings(stack, sender, {key: "up"}) == {key: "up"}
    shot(page, "widget-feedback")

    page.reload()  # kept in the widget's stored history
    row = rate_row(page)
    expect(row).to_contain_text(THANKS)
    assert pressed(row) == ["Helpful"]
    wait_online(page)

    # a new answer takes the row; the earlier one keeps the choice as a mark
    send(page, PHYSIO)
    expect(bot_message(page, NOT_CANCELLED)).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(QUESTION)
    assert pressed(row) == []
    expect(bot_message(page, NO_REFERRAL).locator(".rated")).to_have_text("Helpful")
    expect(log(page).locator(".rated")).to_have_count(1)

    # keyboard: Shift+Tab from the message box reaches the buttons, Enter rates; the focus ring shows
    message_input(page).focus()
    page.keyboard.press("Shift+Tab")
    assert focused(page).startswith("down|"), focused(page)
    outline = page.evaluate(
        "getComputedStyle(document.getElementById('acute-chat-widget').shadowRoot.activeElement).outlineStyle"
    )
    assert outline != "none"
    page.keyboard.press("Enter")
    expect(row.get_by_role("button", name="Not helpful")).to_have_attribute("aria-pressed", "true")
    physio = message_id_of(stack, session, PHYSIO)
    assert wait_ratings(stack, sender, {key: "up", physio: "down"}) == {key: "up", physio: "down"}

    assert run_axe(page, "feedback") == []
    page.emulate_media(color_scheme="dark")
    assert run_axe(page, "feedback-dark") == []
    page.emulate_media(forced_colors="active")
    border = row.get_by_role("button", name="Not helpful").evaluate("el => getComputedStyle(el).borderStyle")
    assert border == "solid"  # the pressed one keeps its (thicker) outline in Windows high contrast
    assert errors == []


# ---------- a fake server: the welcome, a staff member's message, a refused rating


class RatingFakeRasa(FakeRasa):
    """Answers like the real channel (each reply carries `reply_to`), sends a staff message without it on "staff",
    and acknowledges ratings (refusing the message id in `refuse`)."""

    def __init__(self) -> None:
        super().__init__()
        self.ratings: List[Dict[str, Any]] = []
        self.refuse: Optional[str] = None
        self.delays: Dict[str, float] = {}  # rating -> seconds the server takes over it
        self.stored: Dict[str, str] = {}  # message id -> the rating stored last (the last one to finish wins)
        self.in_flight = self.most_in_flight = 0
        self.sio.on("feedback", self.feedback)

    async def user_uttered(self, sid: str, data: Dict) -> None:
        self.received.append(data)
        room, mid = data["session_id"], data["metadata"]["message_id"]
        if data["message"].startswith("/"):
            await self.sio.emit("bot_uttered", {"text": "Hello from the fake server", "reply_to": mid}, room=room)
            return
        await self.sio.emit("bot_uttered", {"text": f"Answer to {data['message']}", "reply_to": mid}, room=room)
        await self.sio.emit("bot_uttered", {"text": f"More about {data['message']}", "reply_to": mid}, room=room)
        if data["message"] == "staff":
            await asyncio.sleep(0.3)
            await self.sio.emit("bot_uttered", {"text": "Hi, Anna from the clinic here"}, room=room)

    async def feedback(self, sid: str, data: Dict) -> Dict[str, Any]:
        """Like the real channel, ratings are handled concurrently (python-socketio runs each event in a task)."""
        self.ratings.append(data)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delays.get(data.get("rating"), 0))
            if data.get("message_id") == self.refuse:
                return {"ok": False, "reason": "unknown_message"}
            self.stored[data["message_id"]] = data["rating"]
            return {"ok": True}
        finally:
            self.in_flight -= 1

    def message_id(self, text: str) -> str:
        return next(r["metadata"]["message_id"] for r in self.received if r["message"] == text)


@contextmanager
def fake_host_page(stack, context, attributes: str = "") -> Iterator:
    """(page, fake server): the stack's widget bundle (no loader: its built-in words) on a host page, talking to a
    RatingFakeRasa; `attributes`: more data- attributes of its <script> tag."""
    with urllib.request.urlopen(f"{stack.web_url}/healthz", timeout=10) as response:  # noqa: S310 (loopback)
        bundle = json.loads(response.read())["widget"]["file"]
    with RatingFakeRasa() as fake:
        fake.host_page = (
            "<!doctype html><html lang='en'><head><title>Host page</title></head><body><main><h1>Host</h1></main>"
            f"<script src='{stack.web_url}/widget/{bundle}' data-server-url='{fake.url}' {attributes}></script>"
            "</body></html>"
        )
        page = context.new_page()
        page.goto(f"{fake.url}/host.html")
        open_widget(page)
        expect(bot_message(page, "Hello from the fake server")).to_be_visible(timeout=10_000)
        yield page, fake


@pytest.fixture()
def fake_page(stack, context) -> Iterator:
    with fake_host_page(stack, context) as page_and_fake:
        yield page_and_fake


def wait_until(check: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return check()


def test_no_row_under_the_welcome_or_a_staff_message_and_a_refused_rating_is_taken_back(fake_page):
    page, fake = fake_page
    expect(rate_row(page)).to_have_count(0)  # the welcome answers no message of the patient's
    send(page, "staff")
    expect(bot_message(page, "Anna from the clinic")).to_be_visible(timeout=10_000)
    # the row is under the answer's last message, not under the staff member's message after it
    expect(bot_message(page, "More about staff").locator(".rate")).to_have_count(1)
    expect(bot_message(page, "Answer to staff").locator(".rate")).to_have_count(0)
    expect(bot_message(page, "Anna from the clinic").locator(".rate")).to_have_count(0)
    rate_row(page).get_by_role("button", name="Helpful", exact=True).click()
    expect(rate_row(page)).to_contain_text(THANKS)
    deadline = time.monotonic() + 10
    while not fake.ratings and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.ratings == [{"message_id": fake.message_id("staff"), "rating": "up"}]

    # the server refuses it for good (not a message of this conversation): the choice is taken back
    send(page, "again")
    expect(bot_message(page, "More about again").locator(".rate")).to_have_count(1, timeout=10_000)
    fake.refuse = fake.message_id("again")
    rate_row(page).get_by_role("button", name="Not helpful").click()
    expect(rate_row(page)).to_contain_text(QUESTION, timeout=10_000)
    assert pressed(rate_row(page)) == []
    expect(bot_message(page, "More about staff").locator(".rated")).to_have_text("Helpful")


def test_a_quick_change_of_mind_stores_the_choice_shown(fake_page):
    """👍 then 👎 at once: the server handles ratings concurrently, so two in flight could be stored in either order
    (here the 👍 takes longer: it would be stored last). The widget sends one at a time per message: the shown
    choice is the stored one."""
    page, fake = fake_page
    send(page, "quick")
    expect(bot_message(page, "More about quick").locator(".rate")).to_have_count(1, timeout=10_000)
    mid, row = fake.message_id("quick"), rate_row(page)
    fake.delays = {"up": 0.8, "down": 0.05}
    row.get_by_role("button", name="Helpful", exact=True).click()
    row.get_by_role("button", name="Not helpful").click()
    assert pressed(row) == ["Not helpful"]
    assert wait_until(lambda: len(fake.ratings) == 2 and fake.in_flight == 0), fake.ratings
    time.sleep(1.0)  # nothing more is sent
    assert fake.stored == {mid: "down"} and pressed(row) == ["Not helpful"]  # the one shown is the one stored
    assert [r["rating"] for r in fake.ratings] == ["up", "down"]  # the 👎 went once the 👍 was answered
    assert fake.most_in_flight == 1

    # 👍, 👎, 👍 while the first is in flight: the shown choice is the one already sent, nothing more goes
    row.get_by_role("button", name="Helpful", exact=True).click()
    row.get_by_role("button", name="Not helpful").click()
    row.get_by_role("button", name="Helpful", exact=True).click()
    assert wait_until(lambda: len(fake.ratings) == 3 and fake.in_flight == 0), fake.ratings
    time.sleep(1.0)
    assert [r["rating"] for r in fake.ratings] == ["up", "down", "up"] and fake.most_in_flight == 1
    assert fake.stored == {mid: "up"} and pressed(row) == ["Helpful"]

    page.reload()  # the stored choice is known as stored: nothing is sent again once the widget is back online
    expect(rate_row(page)).to_contain_text(THANKS, timeout=10_000)
    wait_online(page, 10_000)
    time.sleep(1.0)
    assert len(fake.ratings) == 3 and pressed(rate_row(page)) == ["Helpful"]


def test_the_rows_words_are_settings(stack, context):
    """The buttons' names and the marks are the feedbackUp / feedbackDown settings (the loader gives the domain's
    words: tests/unit/test_web_assets.py); here the <script> tag's data- attributes."""
    words = "data-feedback-up='Yes, it helped' data-feedback-down='It did not help' data-feedback-question='Any use?'"
    with fake_host_page(stack, context, words) as (page, fake):
        send(page, "first")
        row = rate_row(page)
        expect(row).to_contain_text("Any use?", timeout=10_000)
        expect(row.get_by_role("button", name="Helpful", exact=True)).to_have_count(0)
        row.get_by_role("button", name="It did not help").click()
        assert wait_until(lambda: fake.ratings == [{"message_id": fake.message_id("first"), "rating": "down"}])
        send(page, "second")
        expect(bot_message(page, "More about second").locator(".rate")).to_have_count(1, timeout=10_000)
        expect(bot_message(page, "More about first").locator(".rated")).to_have_text("It did not help")
        expect(row.get_by_role("button", name="Yes, it helped")).to_have_attribute("aria-pressed", "false")


# ---------- the socket.io channel: the message id, reply_to, and the attacks on `feedback`


def test_replies_carry_the_message_they_answer_and_a_rating_is_stored(stack):
    session, message_id = uuid.uuid4().hex, uuid.uuid4().hex
    client = Client(stack.rasa_url, stack.allowed_origins()[0])
    try:
        client.join(session)
        answers = client.say(REFERRAL, session, expect=NO_REFERRAL, metadata={"message_id": message_id})
        assert answers and {a.get("reply_to") for a in answers} == {message_id}
        assert client.sio.call("feedback", {"message_id": message_id, "rating": "down"}, timeout=15) == {"ok": True}
    finally:
        client.close()
    [event] = user_events(stack, session)
    assert event["message_id"] == message_id
    assert ratings(stack, namespaced(WEB, session)) == {message_id: "down"}


def test_attacks_on_the_feedback_event_are_refused(stack):
    origin = stack.allowed_origins()[0]
    victim_session, victim_message = uuid.uuid4().hex, uuid.uuid4().hex
    victim = Client(stack.rasa_url, origin)
    attacker = Client(stack.rasa_url, origin)
    try:
        victim.join(victim_session)
        victim.say(REFERRAL, victim_session, expect=NO_REFERRAL, metadata={"message_id": victim_message})
        attacker_session = attacker.join(uuid.uuid4().hex)
        attack = attacker.sio.call
        # another session's message (its id seen somehow), a made-up one, malformed and huge payloads
        assert attack("feedback", {"message_id": victim_message, "rating": "down"}, timeout=15) == {
            "ok": False,
            "reason": "unknown_message",
        }
        assert attack("feedback", {"message_id": uuid.uuid4().hex, "rating": "down"}, timeout=15)["reason"] == (
            "unknown_message"
        )
        for bad in ("down", {"message_id": victim_message}, {"message_id": "x" * 500_000, "rating": "down"}):
            assert attack("feedback", bad, timeout=15) == {"ok": False, "reason": "malformed"}
        # a flood: cut off at 30 a minute per socket (these 5 counted too), before anything else is looked at
        answers = [attack("feedback", {"rating": "up"}, timeout=15) for _ in range(40)]
        assert [a["reason"] for a in answers] == ["malformed"] * 25 + ["too_many"] * 15
        victim_answer = victim.sio.call("feedback", {"message_id": victim_message, "rating": "up"}, timeout=15)
        assert victim_answer == {"ok": True}  # the victim is not affected
    finally:
        victim.close()
        attacker.close()
    assert ratings(stack, namespaced(WEB, victim_session)) == {victim_message: "up"}
    assert ratings(stack, namespaced(WEB, attacker_session)) == {}
