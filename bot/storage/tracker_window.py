"""Bounded working trackers: each message costs the same at message 5 and at message 200.

Rasa 3.6 rebuilds the whole session for every message: it loads and replays every event since the session
started, and its policies turn that whole history into dialogue states several times per message. So the
cost of a message grows with the length of the conversation (`make bench-production` measured message 200
at 4.2x message 5).

The policies only look back a few turns: RulePolicy as far as its longest rule, a policy with `max_history` that far
(none is configured now); tests/unit/test_tracker_window.py keeps `WINDOW_TURNS` above what each configured policy
reads, and fails on a policy it does not know or an unbounded `max_history`. So the tracker store hands Rasa a
*working tracker* made of:

- a snapshot of the state before the window: `SlotSet` for every slot that had been set (and the active
  loop, should one be active there, and the pause of a conversation staff took over), so slots and forms
  are exactly what the full session gives;
- the events of the last `WINDOW_TURNS` user turns (the window).

The window is only cut at a turn boundary where no form is active, so a form's history is never split.
A conversation's `CachedSession` keeps the state at the cut (`base`, all folded events applied) and the
window, and is extended with new events only. Where the window holds an undo (`UserUtteranceReverted`,
`ActionReverted`), which may reach back past the cut, the working tracker is the full session instead.

tests/integration/test_long_conversations.py runs a 68-message conversation through the trained model with Rasa's
own store and with this one: every reply and every stored event is the same. What sees the window and not the whole
session: actions (the tracker they get); the trackers that Rasa's HTTP API returns after appending events,
`trigger_intent` and `predict`, and `GET /conversations/<id>/story` without `all_sessions=true`. (A
MemoizationPolicy, were one configured, leaves out rule-only turns and so, after a run of rule-only FAQs, would see
a conversation start where the full session shows older story turns.) `GET /conversations/<id>/tracker` (and so
`rasa interactive`) still reads the whole conversation from the database. A reminder scheduled before the window
would not be found (none is used).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence

from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    ConversationPaused,
    Event,
    LoopInterrupted,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker


@dataclass
class StoredUpTo:
    """How much of a working tracker the database already holds."""

    events: int  # the tracker's first `events` events are stored
    last_id: int  # id of the last stored row of the session


class WorkingTracker(DialogueStateTracker):
    """A tracker built from a session's window (or the whole session), knowing how much of it is stored.

    The tracker store saves only the events after `stored.events` (a working tracker starts with a snapshot, so
    counting the session's rows, as Rasa's SQLTrackerStore does, would find nothing new to write).
    """

    stored: StoredUpTo


WINDOW_TURNS = 5  # user turns the working tracker keeps; must exceed the policies' look-back (see the test)
UNDO_EVENTS = (UserUtteranceReverted, ActionReverted)


def turn_starts(events: Sequence[Event]) -> List[int]:
    """Indices where a user turn starts: the `action_listen` right before a user message, else the message."""
    starts = []
    for i, event in enumerate(events):
        if isinstance(event, UserUttered):
            before = events[i - 1] if i else None
            listen = isinstance(before, ActionExecuted) and before.action_name == ACTION_LISTEN_NAME
            starts.append(i - 1 if listen else i)
    return starts


def _loop_after(events: Iterable[Event], loop: Optional[str]) -> Optional[str]:
    """Name of the loop active after `events`, starting from `loop` (read from the events, not replayed)."""
    for event in events:
        if isinstance(event, ActiveLoop):
            loop = event.name
        elif isinstance(event, (Restarted, SessionStarted)):
            loop = None
    return loop


def cut_index(events: Sequence[Event], loop_before: Optional[str], turns: int = WINDOW_TURNS) -> int:
    """Where to cut `events` so that at least `turns` user turns remain after it and no loop is active there.

    Returns 0 (no cut) when there is no such place.
    """
    starts = turn_starts(events)
    candidates = starts[1 : max(1, len(starts) - turns + 1)]  # each leaves >= `turns` user turns after it
    best, previous, loop = 0, 0, loop_before
    for start in candidates:
        loop = _loop_after(events[previous:start], loop)
        previous = start
        if loop is None:
            best = start
    return best


def snapshot(state: DialogueStateTracker, timestamp: Optional[float]) -> List[Event]:
    """Events that recreate `state`'s slots, active loop and pause on an empty tracker."""
    events: List[Event] = [
        SlotSet(slot.name, slot.value, timestamp=timestamp) for slot in state.slots.values() if slot.has_been_set
    ]
    if state.active_loop_name:  # not where the window is cut, unless an undo hid the loop from `cut_index`
        events.append(ActiveLoop(state.active_loop_name, timestamp=timestamp))
        if state.active_loop and state.active_loop.is_interrupted:
            events.append(LoopInterrupted(True, timestamp=timestamp))
    if state.is_paused():  # e.g. staff took over the conversation through Rasa's HTTP API
        events.append(ConversationPaused(timestamp=timestamp))
    return events


@dataclass
class CachedSession:
    """One conversation's current session: the state before the window, the window, and its rows' ids."""

    base: DialogueStateTracker  # every session event before the window, applied
    window: List[Event]
    first_id: int  # ids of the session's first and last rows in the events table
    last_id: int
    rows: int  # rows of the session in the table

    @classmethod
    def build(cls, sender_id: str, slots: Iterable[Slot], events: List[Event], ids: Sequence[int]) -> CachedSession:
        """Cache entry for a session loaded from the database (`ids`: its rows' ids, in order)."""
        base = DialogueStateTracker(sender_id, slots)
        session = cls(base=base, window=list(events), first_id=ids[0], last_id=ids[-1], rows=len(ids))
        session._slide()
        return session

    @property
    def size(self) -> int:
        """Events held in memory."""
        return len(self.base.events) + len(self.window)

    def extend(self, events: List[Event], ids: Sequence[int]) -> None:
        """Add the rows written after `last_id` (by this process or another one); `ids` in order."""
        self.window.extend(events)
        self.rows += len(ids)
        self.last_id = ids[-1] if ids else self.last_id
        self._slide()

    def _slide(self) -> None:
        """Fold the turns before the cut into `base`."""
        cut = cut_index(self.window, self.base.active_loop_name)
        for event in self.window[:cut]:
            self.base.update(event)
        del self.window[:cut]

    def working_tracker(self, slots: Iterable[Slot]) -> WorkingTracker:
        """A new tracker for Rasa to work on: snapshot of `base` + window (the full session after an undo)."""
        sender_id = self.base.sender_id
        if not self.base.events:
            events = self.window
        elif any(isinstance(event, UNDO_EVENTS) for event in self.window):
            events = [*self.base.events, *self.window]
        else:
            first = self.window[0].timestamp if self.window else None
            events = [*snapshot(self.base, first), *self.window]
        tracker = WorkingTracker.from_events(sender_id, events, slots)
        tracker.stored = StoredUpTo(len(tracker.events), self.last_id)
        return tracker


class SessionCache:
    """Least-recently-used `CachedSession`s of one process: at most `max_events` events in all, and none
    unused for more than `max_idle` seconds (a conversation deleted by another process leaves memory then)."""

    def __init__(self, max_events: int, max_idle: float) -> None:
        self.max_events = max_events
        self.max_idle = max_idle
        self._sessions: OrderedDict[str, CachedSession] = OrderedDict()
        self._used: Dict[str, float] = {}
        self._sizes: Dict[str, int] = {}  # each session's size when it was last put (sessions grow in place)
        self._total = 0

    def get(self, sender_id: str) -> Optional[CachedSession]:
        """The cached session, if any."""
        return self._sessions.get(sender_id)

    def put(self, sender_id: str, session: CachedSession, now: Optional[float] = None) -> None:
        """Keep `session` as the most recently used; drop the idle ones and the oldest beyond `max_events`."""
        now = time.monotonic() if now is None else now
        self._sessions[sender_id] = session
        self._sessions.move_to_end(sender_id)
        self._used[sender_id] = now
        self._total += session.size - self._sizes.get(sender_id, 0)
        self._sizes[sender_id] = session.size
        for oldest in list(self._sessions):
            if now - self._used[oldest] <= self.max_idle:
                break
            self.pop(oldest)
        while self._total > self.max_events and len(self._sessions) > 1:
            self.pop(next(iter(self._sessions)))

    def pop(self, sender_id: str) -> None:
        """Forget the sender's session (it changed in ways only a reload can follow)."""
        self._sessions.pop(sender_id, None)
        self._used.pop(sender_id, None)
        self._total -= self._sizes.pop(sender_id, 0)

    def __len__(self) -> int:
        return len(self._sessions)
