"""Synthetic conversations for the analytics' tests and `make bench`, with the exact counts they contain.

    python -m bot.analytics.synthetic --conversations 100000 --tracker-db-url URL --days 90 --seed 1 \
        [--requests-db-url URL] [--expected-json PATH]

Writes event rows exactly as Rasa 3.6's SQLTrackerStore does (rasa/core/tracker_store.py `SQLTrackerStore.save`:
type_name, timestamp, intent_name from parse_data, action_name = the event's `name` (a slot's key, a loop's name),
data = the event's JSON; the JSON shapes copied from a tracker store written by the real servers in the tests) for
website, Messenger, Instagram and REST conversations: FAQ questions, low-confidence answers, fallbacks (NLU and
core), ACC checks with each outcome (eligible, injury too old, claim not approved, details missing, cancelled,
left unanswered, ended by a red flag), booking links, bookings in the chat, call-back / person / change requests,
red flags; some senders come back for a second session. With a requests database it also writes patients'
ratings (bot/storage/feedback.py).

The expected counts are kept by the scenarios themselves while they write (each scenario says what it did), not
by the analytics code, so a test can compare the two. The generator is deterministic for a seed and an end time.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Set, Tuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.storage.feedback import feedback_table
from bot.storage.feedback import metadata as feedback_metadata
from bot.storage.transcripts import events_table

NZ = ZoneInfo("Pacific/Auckland")
MODEL = {"model_id": "421484e00fa6421e87f103a3a378d6a2", "assistant_id": "acute-acupuncture"}
INPUT_CHANNELS = {"web": "socketio", "messenger": "facebook", "instagram": "instagram", "rest": "rest"}
CHANNEL_WEIGHTS = {"web": 55, "messenger": 25, "instagram": 15, "rest": 5}
RETURNING = 0.1  # share of conversations that are a sender's second session
INSERT_ROWS = 5000

FAQ = {  # intent -> (a question, its response)
    "faq_referral": ("do I need a referral", "utter_faq_referral"),
    "faq_acc_cover": ("does acc cover acupuncture", "utter_faq_acc_cover"),
    "faq_acc45": ("what is an acc45", "utter_faq_acc45"),
    "faq_acupuncture_what": ("what is acupuncture exactly", "utter_faq_acupuncture_what"),
    "faq_sessions": ("how many sessions will I need", "utter_faq_sessions"),
    "faq_after_treatment": ("what should I do after treatment", "utter_faq_after_treatment"),
    "faq_glute_exercises": ("any exercises for my glutes", "utter_faq_glute_exercises"),
    "faq_clinic_address": ("where are you", "utter_faq_clinic_address"),
    "faq_free_consultation": ("is the first consult free", "utter_faq_free_consultation"),
}
CLINIC = {"clinic_prices": "how much is a session", "clinic_hours": "when are you open"}
OTHER = {  # intent -> (text, response): topics that are neither FAQ nor a flow
    "ask_diagnosis": ("what is wrong with my hip", "utter_no_diagnosis"),
    "bot_challenge": ("am I talking to a bot", "utter_bot_challenge"),
    "ongoing_pain": ("my back still hurts after weeks", "utter_ongoing_pain"),
}
@dataclass
class SessionExpect:
    """What one generated session holds, as its scenario wrote it."""

    sender_id: str
    channel: str
    started_at: float
    day: str = ""
    last_at: float = 0.0
    counts: Counter = field(default_factory=Counter)
    topics: Set[str] = field(default_factory=set)
    flags: Set[str] = field(default_factory=set)  # fallback, handoff, red_flag, form_abandoned, thumbs_down
    min_confidence: Optional[float] = None
    thumbs: List[Tuple[float, str]] = field(default_factory=list)  # (at, "up" | "down")

    def to_json(self) -> Dict[str, Any]:
        return {
            "sender_id": self.sender_id,
            "channel": self.channel,
            "started_at": self.started_at,
            "day": self.day,
            "counts": dict(self.counts),
            "topics": sorted(self.topics),
            "flags": sorted(self.flags),
            "min_confidence": self.min_confidence,
            "thumbs": self.thumbs,
        }


@dataclass
class Expected:
    sessions: List[SessionExpect]
    events: int

    def totals(self) -> Dict[str, int]:
        total: Counter = Counter()
        for session in self.sessions:
            total.update(session.counts)
            total["conversations"] += 1
            for _, rating in session.thumbs:
                total[f"thumbs_{rating}"] += 1
        total["events"] = self.events
        return dict(sorted(total.items()))


class Conversation:
    """Writes one session's events the way Rasa stores them, and keeps its expected counts."""

    def __init__(self, rng: random.Random, sender_id: str, channel: str, started_at: float) -> None:
        self.rng, self.sender_id, self.channel = rng, sender_id, channel
        self.t = started_at
        self.rows: List[Dict[str, Any]] = []
        self.expect = SessionExpect(sender_id, channel, started_at)
        self.ratings: List[Dict[str, Any]] = []
        self._ranking_names = [*FAQ, *CLINIC, "affirm", "inform"]

    # ---------- events, as SQLTrackerStore.save writes them

    def _row(self, type_name: str, event: Dict[str, Any], intent: Optional[str] = None) -> None:
        self.t += self.rng.uniform(0.0005, 0.01)
        event = {"event": type_name, "timestamp": self.t, **event}
        self.rows.append(
            {
                "sender_id": self.sender_id,
                "type_name": type_name,
                "timestamp": self.t,
                "intent_name": intent,
                "action_name": event.get("name"),
                "data": json.dumps(event),
            }
        )

    def action(self, name: str, policy: Optional[str] = "RulePolicy") -> None:
        self._row(
            "action",
            {
                "metadata": dict(MODEL),
                "name": name,
                "policy": policy,
                "confidence": 1.0 if policy else None,
                "action_text": None,
                "hide_rule_turn": policy is not None,
            },
        )

    def start(self) -> None:
        self.action("action_session_start", policy=None)
        self._row("session_started", {"metadata": dict(MODEL)})
        self.expect.started_at = self.t
        self.action("action_listen", policy=None)

    def user(self, text: str, intent: str, confidence: float) -> str:
        """A patient message (a button when `text` starts with "/"); returns its message id."""
        self.t += self.rng.uniform(4, 90)
        message_id = uuid.UUID(int=self.rng.getrandbits(128)).hex
        others = [name for name in self._ranking_names if name != intent][:2]
        rest = (1 - confidence) / 2
        ranking = [{"name": intent, "confidence": confidence}] + [{"name": n, "confidence": rest} for n in others]
        meta = {"message_id": uuid.UUID(int=self.rng.getrandbits(128)).hex} if self.channel == "web" else {}
        tokens, position = [], 0
        for word in text.split(" "):
            tokens.append([position, position + len(word)])
            position += len(word) + 1
        parse_data = {
            "intent": {"name": intent, "confidence": confidence},
            "entities": [],
            "text": text,
            "message_id": message_id,
            "metadata": meta,
            "text_tokens": tokens,
            "intent_ranking": ranking if not text.startswith("/") else ranking[:1],
        }
        event = {
            "metadata": {**meta, **MODEL},
            "text": text,
            "parse_data": parse_data,
            "input_channel": INPUT_CHANNELS[self.channel],
            "message_id": message_id,
        }
        self._row("user", event, intent=intent)
        self._row("user_featurization", {"metadata": dict(MODEL), "use_text_for_featurization": False})
        self.expect.counts["patient_messages"] += 1
        self.expect.last_at = self.t
        if not text.startswith("/"):
            current = self.expect.min_confidence
            self.expect.min_confidence = confidence if current is None else min(current, confidence)
        return message_id

    def bot(self, response: str, text: str = "", buttons: Optional[List[Tuple[str, str]]] = None, **variables) -> None:
        data = {
            "elements": None,
            "quick_replies": None,
            "buttons": [{"title": t, "payload": p} for t, p in buttons] if buttons else None,
            "attachment": None,
            "image": None,
            "custom": None,
        }
        event = {
            "metadata": {"utter_action": response, **variables, **MODEL},
            "text": text or f"({response})",
            "data": data,
        }
        self._row("bot", event)
        self.expect.counts["assistant_messages"] += 1
        self.expect.last_at = self.t

    def utter(self, response: str, **variables) -> None:
        """A response run as an action (a rule's step): the action, then what it says."""
        self.action(response)
        self.bot(response, **variables)

    def listen(self) -> None:
        self.action("action_listen")

    def slot(self, name: str, value: Any) -> None:
        self._row("slot", {"metadata": dict(MODEL), "name": name, "value": value})

    def loop(self, name: Optional[str]) -> None:
        self._row("active_loop", {"metadata": dict(MODEL), "name": name})

    def topic(self, intent: str) -> None:
        self.expect.topics.add(intent)

    def rate(self, message_id: str, rating: str) -> None:
        """The patient rates the last answer a little after it came."""
        at = self.t + self.rng.uniform(2, 30)
        self.ratings.append(
            {
                "at": datetime.fromtimestamp(at, tz=timezone.utc),
                "sender_id": self.sender_id,
                "channel": INPUT_CHANNELS[self.channel],
                "message_key": message_id,
                "rating": rating,
            }
        )
        self.expect.thumbs.append((at, rating))
        if rating == "down":
            self.expect.flags.add("thumbs_down")
        self.t = at


# ---------- scenarios: each writes a conversation and says what it contains


def _confidence(rng: random.Random) -> float:
    return round(rng.uniform(0.35, 0.59), 4) if rng.random() < 0.12 else round(rng.uniform(0.7, 0.99), 4)


def faq_questions(c: Conversation, rng: random.Random, count: int) -> None:
    for _ in range(count):
        if rng.random() < 0.75:
            intent = rng.choice(list(FAQ))
            text, response = FAQ[intent]
            message_id = c.user(text, intent, _confidence(rng))
            c.utter(response)
        elif rng.random() < 0.6:
            intent = rng.choice(list(CLINIC))
            message_id = c.user(CLINIC[intent], intent, _confidence(rng))
            c.action("action_clinic_details")
            c.bot("utter_clinic_details")
        else:
            intent = rng.choice(list(OTHER))
            text, response = OTHER[intent]
            message_id = c.user(text, intent, _confidence(rng))
            c.utter(response)
        c.topic(intent)
        c.listen()
        if rng.random() < 0.15:
            c.rate(message_id, "up" if rng.random() < 0.7 else "down")


def scenario_faq(c: Conversation, rng: random.Random) -> None:
    if rng.random() < 0.4:
        c.user("/greet", "greet", 1.0)
        c.utter("utter_greet", buttons=[("Prices", "/clinic_prices")])
        c.listen()
    faq_questions(c, rng, rng.randint(1, 3))
    if rng.random() < 0.3:
        c.user("thanks heaps", "thank", 0.95)
        c.utter("utter_thank")
        c.listen()


def scenario_fallback(c: Conversation, rng: random.Random) -> None:
    if rng.random() < 0.6:  # NLU fallback: words the model does not know
        message_id = c.user("blorp qwerty zzzt", "nlu_fallback", 0.3)
    else:  # core fallback: no rule fits with enough confidence
        message_id = c.user("can my cat come too", "out_of_scope", 0.41)
        c.topic("out_of_scope")
    c.utter("utter_fallback", buttons=[("Referral needed?", "/faq_referral"), ("Talk to a person", "/human_handoff")])
    c.expect.counts["fallbacks"] += 1
    c.expect.flags.add("fallback")
    c.listen()
    if rng.random() < 0.3:
        c.rate(message_id, "down")
    if rng.random() < 0.5:
        c.user("/faq_referral", "faq_referral", 1.0)
        c.topic("faq_referral")
        c.utter("utter_faq_referral")
        c.listen()


ACC_OUTCOMES = ("eligible", "too_old", "claim_not_approved", "incomplete", "cancelled", "quiet", "red_flag")


def scenario_acc(c: Conversation, rng: random.Random) -> None:
    outcome = rng.choice(ACC_OUTCOMES)
    c.user("am I covered by ACC?", "check_acc_eligibility", _confidence(rng))
    c.topic("check_acc_eligibility")
    c.action("acc_eligibility_form")
    c.loop("acc_eligibility_form")
    c.expect.counts["acc_started"] += 1
    c.slot("requested_slot", "injury_date")
    c.bot("utter_ask_injury_date")
    c.listen()
    if outcome == "red_flag":
        c.user("crushing chest pain", "red_flag", 1.0)
        c.topic("red_flag")
        c.utter("utter_red_flag")
        c.action("action_cancel_form")
        c.loop(None)
        c.slot("requested_slot", None)
        c.listen()
        c.expect.counts["red_flags"] += 1
        c.expect.flags.update({"red_flag", "form_abandoned"})
        return
    old = outcome == "too_old"
    c.user("two years ago" if old else "three weeks ago", "inform", 0.93)
    c.action("acc_eligibility_form")
    c.bot("utter_injury_date_noted")
    c.slot("injury_date", "2024-01-01" if old else "2026-11-08")
    if outcome == "quiet":  # no answer to the next question: the form stays active
        c.slot("requested_slot", "claim_status")
        c.bot("utter_ask_claim_status", buttons=[("Yes, approved", "/affirm"), ("No / not yet", "/deny")])
        c.listen()
        c.expect.flags.add("form_abandoned")
        return
    if outcome == "cancelled":
        c.slot("requested_slot", "claim_status")
        c.bot("utter_ask_claim_status")
        c.listen()
        c.user("never mind", "stop", 0.9)
        c.utter("utter_form_cancelled")
        c.action("action_cancel_form")
        c.loop(None)
        c.slot("requested_slot", None)
        c.slot("eligibility", None)
        c.listen()
        c.expect.flags.add("form_abandoned")
        return
    if not old:
        c.slot("requested_slot", "claim_status")
        c.bot("utter_ask_claim_status")
        c.listen()
        approved = outcome != "claim_not_approved"
        c.user("/affirm" if approved else "/deny", "affirm" if approved else "deny", 1.0)
        c.action("acc_eligibility_form")
        c.slot("claim_status", "approved" if approved else "not_approved")
        if outcome in ("eligible", "incomplete"):
            c.slot("requested_slot", "acc45")
            c.bot("utter_ask_acc45")
            c.listen()
            if outcome == "eligible":
                c.user("AB 12345", "inform", 0.89)
            else:
                c.user("/dont_know", "dont_know", 1.0)
            c.action("acc_eligibility_form")
            c.slot("acc45", "AB12345" if outcome == "eligible" else None)
    c.slot("requested_slot", None)
    c.loop(None)
    c.action("action_acc_verdict")
    verdicts = {
        "eligible": ("utter_acc_verdict_eligible", "eligible"),
        "too_old": ("utter_acc_verdict_injury_too_old", "not_eligible"),
        "claim_not_approved": ("utter_acc_verdict_claim_not_approved", "not_eligible"),
        "incomplete": ("utter_acc_verdict_details_missing", "incomplete"),
    }
    response, eligibility = verdicts[outcome]
    c.bot(response)
    c.slot("eligibility", eligibility)
    c.listen()
    c.expect.counts["acc_completed"] += 1
    if eligibility == "eligible":
        c.expect.counts["acc_eligible"] += 1
    elif eligibility == "not_eligible":
        c.expect.counts["acc_not_eligible"] += 1
    if eligibility == "eligible" and rng.random() < 0.5:
        booking_link(c, rng, "/book_appointment")


def booking_link(c: Conversation, rng: random.Random, text: str = "can I book in") -> None:
    c.user(text, "book_appointment", 1.0 if text.startswith("/") else _confidence(rng))
    c.topic("book_appointment")
    c.action("action_booking")
    c.bot("utter_booking_link", buttons=[("Book online", "https://example.nz/book?appointment=treatment")])
    c.slot("appointment_type", "treatment")
    c.slot("request_kind", "booking")
    c.listen()
    c.expect.counts["booking_links"] += 1


def scenario_booking_link(c: Conversation, rng: random.Random) -> None:
    booking_link(c, rng)


def contact_form(c: Conversation, reply: str) -> None:
    """The contact form from its activation to the stored request (`reply` says it was stored)."""
    c.action("contact_form")
    c.loop("contact_form")
    c.slot("requested_slot", "contact_name")
    c.bot("utter_ask_contact_name")
    c.listen()
    c.user("Aroha Ngata", "inform", 0.8)
    c.action("contact_form")
    c.slot("contact_name", "Aroha Ngata")
    c.slot("requested_slot", "contact_detail")
    c.bot("utter_ask_contact_detail")
    c.listen()
    c.user("021 123 4567", "inform", 0.97)
    c.action("contact_form")
    c.slot("contact_detail", "021 123 4567")
    c.slot("requested_slot", None)
    c.loop(None)
    c.action("action_submit_contact_request")
    c.bot(reply, name="Aroha Ngata", contact="phone (021•••567)")
    for slot in ("contact_name", "contact_detail", "request_kind", "appointment_type", "request_note"):
        c.slot(slot, None)
    c.listen()
    c.expect.flags.add("handoff")  # a request stored: the team will contact the patient (a call-back)


def scenario_callback_to_book(c: Conversation, rng: random.Random) -> None:
    c.user("can I book in", "book_appointment", _confidence(rng))
    c.topic("book_appointment")
    c.action("action_booking")
    c.bot("utter_booking_no_link", buttons=[("Yes, call me", "/affirm")])
    c.slot("appointment_type", "treatment")
    c.slot("request_kind", "booking")
    c.listen()
    c.user("/affirm", "affirm", 1.0)
    contact_form(c, "utter_contact_request_sent")
    c.expect.counts["requests_booking"] += 1


def scenario_person(c: Conversation, rng: random.Random) -> None:
    c.user("can I talk to a human", "human_handoff", _confidence(rng))
    c.topic("human_handoff")
    c.action("action_human_handoff")
    c.bot("utter_handoff", buttons=[("Yes, call me back", "/affirm")])
    c.slot("request_kind", "handoff")
    c.listen()
    c.expect.counts["handoff_asks"] += 1
    c.expect.counts["requests_chat"] += 1
    c.expect.flags.add("handoff")
    if rng.random() < 0.5:
        c.user("/affirm", "affirm", 1.0)
        contact_form(c, "utter_contact_request_sent")
        c.expect.counts["requests_handoff"] += 1


def scenario_call_me(c: Conversation, rng: random.Random) -> None:
    c.user("please call me back", "request_contact", _confidence(rng))
    c.topic("request_contact")
    c.expect.counts["handoff_asks"] += 1
    c.expect.flags.add("handoff")
    if rng.random() < 0.25:  # gives up half-way: the form stays active
        c.action("contact_form")
        c.loop("contact_form")
        c.slot("requested_slot", "contact_name")
        c.bot("utter_ask_contact_name")
        c.listen()
        c.expect.flags.add("form_abandoned")
        return
    contact_form(c, "utter_contact_request_sent")
    c.expect.counts["requests_booking"] += 1  # no request_kind: a call-back to book


def scenario_change(c: Conversation, rng: random.Random) -> None:
    c.user("I can't make it tomorrow", "change_appointment", _confidence(rng))
    c.topic("change_appointment")
    c.slot("request_kind", "change")
    c.slot("request_note", "I can't make it tomorrow")
    contact_form(c, "utter_change_request_sent")
    c.expect.counts["requests_change"] += 1


def scenario_booking_in_chat(c: Conversation, rng: random.Random) -> None:
    c.user("book me in please", "book_appointment", _confidence(rng))
    c.topic("book_appointment")
    c.action("action_booking")
    c.slot("appointment_type", None)
    c.slot("request_kind", "booking")
    c.action("booking_form")
    c.loop("booking_form")
    c.slot("requested_slot", "appointment_type")
    c.bot("utter_ask_appointment_type")
    c.listen()
    c.user("/affirm", "affirm", 1.0)
    c.action("booking_form")
    c.slot("appointment_type", "treatment")
    c.slot("requested_slot", "booking_confirmed")
    c.bot("utter_ask_booking_confirmed")
    c.listen()
    made = rng.random() < 0.8
    if not made:  # switches to a question and leaves: the form is cancelled
        c.user("never mind", "stop", 0.92)
        c.utter("utter_form_cancelled")
        c.action("action_cancel_form")
        c.loop(None)
        c.listen()
        c.expect.flags.add("form_abandoned")
        return
    c.user("yes", "affirm", 0.94)
    c.action("booking_form")
    c.slot("booking_confirmed", True)
    c.slot("requested_slot", None)
    c.loop(None)
    c.action("action_submit_booking")
    c.bot("utter_booking_confirmed", appointment="Treatment", time="Mon 30 Nov, 10am")
    c.slot("request_kind", None)
    c.listen()
    c.expect.counts["bookings"] += 1


def scenario_red_flag(c: Conversation, rng: random.Random) -> None:
    c.user("I have crushing chest pain", "red_flag", 1.0)
    c.topic("red_flag")
    c.utter("utter_red_flag")
    c.listen()
    c.expect.counts["red_flags"] += 1
    c.expect.flags.add("red_flag")
    if rng.random() < 0.5:
        c.user("ok calling them now", "urgent_followup", 0.9)
        c.utter("utter_urgent_followup")
        c.listen()


SCENARIOS = (
    (scenario_faq, 38),
    (scenario_fallback, 10),
    (scenario_acc, 16),
    (scenario_booking_link, 9),
    (scenario_booking_in_chat, 5),
    (scenario_callback_to_book, 5),
    (scenario_person, 5),
    (scenario_call_me, 3),
    (scenario_change, 4),
    (scenario_red_flag, 5),
)


def _sender(rng: random.Random, channel: str, number: int) -> str:
    if channel == "web":
        return f"web:{rng.getrandbits(128):032x}"
    if channel == "rest":
        return f"rest:synthetic-{number}"
    return f"{channel}:{rng.randrange(10**15, 10**16)}"


def plan(rng: random.Random, conversations: int, start: float, end: float) -> List[Tuple[float, str, str]]:
    """(start time, sender id, channel) of each conversation, in time order; some senders come back."""
    channels, weights = list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values())
    firsts: List[Tuple[float, str, str]] = []
    returning = int(conversations * RETURNING)
    for number in range(conversations - returning):
        channel = rng.choices(channels, weights)[0]
        firsts.append((rng.uniform(start, end), _sender(rng, channel, number), channel))
    seconds = []
    for started, sender, channel in rng.sample(firsts, min(returning, len(firsts))):
        again = started + rng.uniform(3 * 3600, 3 * 86400)  # well after the first session expired
        if again > end:
            again = rng.uniform(start, end)
            sender = _sender(rng, channel, len(firsts) + len(seconds))
        seconds.append((again, sender, channel))
    return sorted(firsts + seconds)


def create_events_table(tracker: sa.engine.Engine) -> None:
    """Rasa's events table and its one index, as SQLTrackerStore makes them, for a database Rasa has not written."""
    events_table.create(tracker, checkfirst=True)
    with tracker.begin() as conn:
        conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_events_sender_id ON events (sender_id)"))


def generate(
    tracker_url: str,
    conversations: int,
    days: int,
    seed: int,
    requests_url: Optional[str] = None,
    end: Optional[float] = None,
) -> Expected:
    """Write the conversations (and ratings, with `requests_url`); what they contain. `end`: the latest start
    (default two hours ago, so every conversation is over)."""
    rng = random.Random(seed)
    end = end if end is not None else time.time() - 2 * 3600
    start = end - days * 86400
    tracker = sa.create_engine(tracker_url, future=True)
    create_events_table(tracker)
    requests = sa.create_engine(requests_url, future=True) if requests_url else None
    if requests is not None:
        feedback_metadata.create_all(requests)
    scenarios, weights = [s for s, _ in SCENARIOS], [w for _, w in SCENARIOS]
    sessions: List[SessionExpect] = []
    events, ratings, pending = 0, [], []
    last_end: Dict[str, float] = {}
    try:
        with tracker.begin() as conn:
            for started, sender, channel in plan(rng, conversations, start, end):
                started = max(started, last_end.get(sender, 0) + 2 * 3600)
                conversation = Conversation(rng, sender, channel, started)
                conversation.start()
                rng.choices(scenarios, weights)[0](conversation, rng)
                expect = conversation.expect
                expect.last_at = expect.last_at or expect.started_at
                expect.day = datetime.fromtimestamp(expect.started_at, tz=NZ).date().isoformat()
                last_end[sender] = conversation.t
                sessions.append(expect)
                pending.extend(conversation.rows)
                ratings.extend(conversation.ratings)
                if len(pending) >= INSERT_ROWS:
                    conn.execute(events_table.insert(), pending)
                    events += len(pending)
                    pending = []
            if pending:
                conn.execute(events_table.insert(), pending)
                events += len(pending)
        if requests is not None and ratings:
            with requests.begin() as conn:
                for index in range(0, len(ratings), INSERT_ROWS):
                    conn.execute(feedback_table.insert(), ratings[index : index + INSERT_ROWS])
    finally:
        tracker.dispose()
        if requests is not None:
            requests.dispose()
    return Expected(sessions=sessions, events=events)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.analytics.synthetic", description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--tracker-db-url", required=True, help="e.g. sqlite:////tmp/conversations.sqlite")
    parser.add_argument("--requests-db-url", help="where the patients' ratings go (none without it)")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--expected-json", help="write every session's expected facts to this file")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    expected = generate(args.tracker_db_url, args.conversations, args.days, args.seed, args.requests_db_url)
    if args.expected_json:
        with open(args.expected_json, "w", encoding="utf-8") as out:
            json.dump({"totals": expected.totals(), "sessions": [s.to_json() for s in expected.sessions]}, out)
    json.dump({**expected.totals(), "seconds": round(time.perf_counter() - began, 1)}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
