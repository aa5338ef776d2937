"""One conversation session's stored events folded into the facts the analytics and the review list count.

The rows are those of Rasa's SQLTrackerStore (table `events`: id, sender_id, type_name, timestamp, intent_name,
action_name, data = the event as JSON), in id order. A `session_started` row starts a new session: a
"conversation" in the console is one Rasa session (the patient's messages until 60 minutes without one).

Folding is incremental: `SessionFacts` holds every count plus the little state needed to go on (the form that is
active or just ended, the request kind slot, the last intent), so the updater (bot/analytics/aggregates.py) can
stop after any row, store the facts and go on from them later with the next rows, giving the same result as one
pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, List, NamedTuple, Optional
from zoneinfo import ZoneInfo

from bot.analytics import markers as m
from bot.storage.transcripts import json_object

CLINIC_TIME = ZoneInfo("Pacific/Auckland")
COUNTERS = (
    "patient_messages",
    "assistant_messages",
    "fallbacks",
    "red_flags",
    "handoff_asks",
    "requests_booking",
    "requests_handoff",
    "requests_change",
    "requests_chat",
    "acc_started",
    "acc_completed",
    "acc_eligible",
    "acc_not_eligible",
    "booking_links",
    "bookings",
    "forms_abandoned",
)


class EventRow(NamedTuple):
    """A row of the `events` table (`data` may be None when the reader did not need it)."""

    id: int
    sender_id: str
    type_name: str
    timestamp: Optional[float]
    intent_name: Optional[str]
    action_name: Optional[str]
    data: Optional[str]


def nz_day(timestamp: float) -> str:
    """The New Zealand date of an epoch time, "2026-11-29"."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).astimezone(CLINIC_TIME).date().isoformat()


@dataclass
class SessionFacts:
    """The facts of one session: the counters are COUNTERS; `open_form`, `closing_form`, `request_kind` and
    `last_intent` are the state to go on folding."""

    sender_id: str
    start_event_id: int
    started_at: float  # epoch seconds
    channel: str = ""
    last_at: float = 0.0  # last patient or assistant message (the start when there is none)
    last_event_id: int = 0
    ended_at: Optional[float] = None  # when the sender's next session started (None: the latest)
    min_confidence: Optional[float] = None
    topics: List[str] = field(default_factory=list)  # intents, in the order first asked
    new_topics: List[str] = field(default_factory=list)  # asked since loaded (the updater counts them per day)
    stored: bool = False  # a row exists already (update it rather than insert)
    counts: Dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    open_form: Optional[str] = None
    closing_form: Optional[str] = None  # ended just now: abandoned unless its submit action comes next
    request_kind: Optional[str] = None
    last_intent: Optional[str] = None

    def __post_init__(self) -> None:
        self.channel = self.channel or m.channel_key(self.sender_id)
        self.last_at = self.last_at or self.started_at

    @property
    def day(self) -> str:
        return nz_day(self.started_at)

    def add(self, counter: str, n: int = 1) -> None:
        self.counts[counter] += n

    # ---------- folding

    def fold(self, row: EventRow) -> None:
        """Take one more event of this session into account."""
        self.last_event_id = max(self.last_event_id, row.id)
        kind = row.type_name
        if kind == "user":
            self._user(row)
        elif kind == "bot":
            self._bot(row)
        elif kind == "action":
            self._action(row.action_name)
        elif kind == "active_loop":
            self._loop(row.action_name)
        elif kind == "slot":
            self._slot(row)

    def _user(self, row: EventRow) -> None:
        self._form_not_submitted()
        self._message_at(row.timestamp)
        self.add("patient_messages")
        data = json_object(row.data)
        intent = (data.get("parse_data") or {}).get("intent") or {}
        name = row.intent_name or intent.get("name")
        confidence = intent.get("confidence")
        if confidence is not None and not m.is_button(str(data.get("text") or "")):
            confidence = float(confidence)
            self.min_confidence = confidence if self.min_confidence is None else min(self.min_confidence, confidence)
        if name == m.RED_FLAG_INTENT:
            self.add("red_flags")
        if name in m.HANDOFF_INTENTS:
            self.add("handoff_asks")
        if m.is_topic(name) and name not in self.topics:
            self.topics.append(name)
            self.new_topics.append(name)
        self.last_intent = name

    def _bot(self, row: EventRow) -> None:
        data = json_object(row.data)
        metadata = data.get("metadata") or {}
        if not isinstance(metadata, dict) or metadata.get("staff"):
            return  # a staff member's message during a takeover: not the assistant's
        self._message_at(row.timestamp)
        self.add("assistant_messages")
        response = metadata.get("utter_action")
        if response == m.FALLBACK_RESPONSE:
            self.add("fallbacks")
        elif response == m.RED_FLAG_RESPONSE and self.last_intent != m.RED_FLAG_INTENT:
            self.add("red_flags")  # urgent-care advice without the intent (e.g. read in context)
            self.last_intent = m.RED_FLAG_INTENT
        elif response == m.BOOKING_LINK_RESPONSE:
            self.add("booking_links")
        elif response == m.BOOKING_MADE_RESPONSE:
            self.add("bookings")
        elif response in m.REQUEST_STORED:
            kind = m.REQUEST_STORED[response] or self.request_kind or m.DEFAULT_REQUEST_KIND
            if kind in m.REQUEST_KINDS:
                self.add(f"requests_{kind}")

    def _action(self, name: Optional[str]) -> None:
        if name == m.SESSION_START_ACTION:
            return
        if self.closing_form is not None:
            if name != m.FORM_SUBMITS.get(self.closing_form):
                self.add("forms_abandoned")
            self.closing_form = None
        if name == m.ACC_VERDICT_ACTION:
            self.add("acc_completed")

    def _loop(self, name: Optional[str]) -> None:
        if name in m.FORM_SUBMITS:
            self._form_not_submitted()
            if self.open_form is not None and self.open_form != name:
                self.add("forms_abandoned")  # another form took over
            if self.open_form != name and name == m.ACC_FORM:
                self.add("acc_started")
            self.open_form = name
        elif not name and self.open_form is not None:
            self.closing_form, self.open_form = self.open_form, None

    def _slot(self, row: EventRow) -> None:
        if row.action_name == m.REQUEST_KIND_SLOT:
            value = json_object(row.data).get("value")
            self.request_kind = value if isinstance(value, str) else None
        elif row.action_name == m.ELIGIBILITY_SLOT:
            value = json_object(row.data).get("value")
            if value == m.ELIGIBLE:
                self.add("acc_eligible")
            elif value == m.NOT_ELIGIBLE:
                self.add("acc_not_eligible")

    def _message_at(self, timestamp: Optional[float]) -> None:
        if timestamp is not None:
            self.last_at = max(self.last_at, float(timestamp))

    def _form_not_submitted(self) -> None:
        if self.closing_form is not None:
            self.add("forms_abandoned")
            self.closing_form = None

    def end(self, next_started_at: float) -> None:
        """The sender's next session started: Rasa forgets an active form then, so it was abandoned."""
        self._form_not_submitted()
        if self.open_form is not None:
            self.add("forms_abandoned")
            self.open_form = None
        self.ended_at = next_started_at


# Rows that matter to the facts; the others (user_featurization, most slots, ...) need not be read at all.
FOLDED_TYPES = ("user", "bot", "action", "active_loop", "session_started", "slot")
FOLDED_SLOTS = (m.REQUEST_KIND_SLOT, m.ELIGIBILITY_SLOT)


def fold_sessions(rows: List[EventRow]) -> List[SessionFacts]:
    """The sessions of one sender's rows (in id order), from scratch: what the updater does, in one go.
    Events stored before the first `session_started` make a session of their own."""
    sessions: List[SessionFacts] = []
    for row in rows:
        current = fold_row(sessions[-1] if sessions else None, row)
        if current is not None and (not sessions or current is not sessions[-1]):
            sessions.append(current)
    return sessions


def fold_row(current: Optional[SessionFacts], row: EventRow) -> Optional[SessionFacts]:
    """Fold `row` into the sender's current session; returns the session it went into (a new one when the row
    starts a session; None for a row that belongs to none, the action that precedes `session_started`)."""
    if row.type_name == "session_started":
        started = float(row.timestamp or 0)
        if current is not None:
            current.end(started)
        return SessionFacts(sender_id=row.sender_id, start_event_id=row.id, started_at=started, last_event_id=row.id)
    if current is None:
        if row.type_name == "action" and row.action_name == m.SESSION_START_ACTION:
            return None
        current = SessionFacts(
            sender_id=row.sender_id, start_event_id=row.id, started_at=float(row.timestamp or 0), last_event_id=row.id
        )
    current.fold(row)
    return current
