"""Keeps the stored aggregates (bot/analytics/store.py) up to date from the tracker store, incrementally by event id.

Each update reads the events after the watermark in id order, thousands per query (only the rows and columns the
facts need: no `user_featurization`, no JSON of an action), folds them into their sessions
(bot/analytics/session_facts.py) and writes the sessions and topic counts it changed with multi-row statements,
together with the new watermark, in one transaction. A sender's session that is still going on is read back from
`conversation_sessions` (its counts and folding state), so the next update goes on where this one stopped: updating
in any number of steps gives the same rows as one pass.

Each write is a compare-and-set on the state read before the update read anything (bot/analytics/store.py): the
watermark, and the count of deletions from the tracker store. If another web process updated meanwhile, or events
were deleted ("forget me": a conversation's events and rows gone, and what this update read may be theirs;
retention), the write rolls back and the update starts again from the state as it is now. Reading is read-only
(the tracker's engine of bot/storage/transcripts.py); before Rasa has stored anything there is no events table, and
nothing to do.

On PostgreSQL ids are handed out before commit, so a row can become visible after one with a higher id: the update
stops at rows younger than SETTLE_SECONDS (a turn's events are committed in one short transaction), so it does not
step over a row still being written. SQLite writes one transaction at a time, so it reads up to the last row.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import sqlalchemy as sa

from bot.analytics.session_facts import (
    COUNTERS,
    FOLDED_SLOTS,
    FOLDED_TYPES,
    EventRow,
    SessionFacts,
    fold_row,
)
from bot.analytics.store import (
    DELETIONS,
    WATERMARK,
    State,
    create_tables,
    read_state,
    sessions_table,
    state_table,
    topics_table,
    tracker_has_events,
)
from bot.storage.transcripts import events_table

BATCH_ROWS = 20_000  # events per query
IN_CHUNK = 500  # sender ids per IN (...) when reading their current sessions back
SETTLE_SECONDS = 5.0
ATTEMPTS = 3  # an update whose state changed under it starts again, this many times at most


@dataclass
class UpdateResult:
    rows: int = 0  # events read
    sessions: int = 0  # session rows written
    caught_up: bool = True  # False: stopped at max_rows with more to read


class StateChanged(Exception):
    """Another process updated the aggregates, or events were deleted ("forget me", retention), since this update
    read the state: its write is rolled back."""


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


class Aggregator:
    """Updates the aggregates in `requests_engine` from the events in `tracker_engine` (read-only)."""

    def __init__(
        self,
        requests_engine: sa.engine.Engine,
        tracker_engine: sa.engine.Engine,
        batch_rows: int = BATCH_ROWS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine, self.tracker, self.batch_rows, self.clock = requests_engine, tracker_engine, batch_rows, clock
        self._has_events = False
        create_tables(requests_engine)

    def update(self, max_rows: Optional[int] = None) -> UpdateResult:
        """Fold the events after the watermark; at most about `max_rows` of them (None: all)."""
        result = UpdateResult()
        if not self._has_events:
            self._has_events = tracker_has_events(self.tracker)
            if not self._has_events:
                return result
        for _ in range(ATTEMPTS):
            try:
                self._update(result, max_rows)
                return result
            except StateChanged:
                continue  # what it read may be stale: read again, from the state as it is now
        result.caught_up = False
        return result

    def _update(self, result: UpdateResult, max_rows: Optional[int]) -> None:
        with self.engine.connect() as conn:
            seen = read_state(conn)  # before anything else is read
            conn.commit()
        end = self._last_id()
        current: Dict[str, SessionFacts] = {}  # each sender's latest session, as folded so far
        while seen.watermark < end:
            if max_rows is not None and result.rows >= max_rows:
                result.caught_up = False
                return
            rows = self._read(seen.watermark, end)
            upto = rows[-1].id if len(rows) == self.batch_rows else end
            touched = self._fold(rows, current)
            self._write(touched, seen, upto)
            result.rows += len(rows)
            result.sessions += len(touched)
            seen = State(upto, seen.deletions)
            for facts in touched:
                facts.stored, facts.new_topics = True, []

    def _last_id(self) -> int:
        t = events_table.c
        query = sa.select(sa.func.max(t.id))
        if self.tracker.dialect.name != "sqlite":
            query = query.where(t.timestamp < self.clock() - SETTLE_SECONDS)
        with self.tracker.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def _read(self, after: int, upto: int) -> List[EventRow]:
        t = events_table.c
        data = sa.case((t.type_name.in_(("user", "bot", "slot")), t.data), else_=sa.null())  # no JSON otherwise
        query = (
            sa.select(t.id, t.sender_id, t.type_name, t.timestamp, t.intent_name, t.action_name, data)
            .where(
                t.id > after,
                t.id <= upto,
                t.type_name.in_(FOLDED_TYPES),
                sa.or_(t.type_name != "slot", t.action_name.in_(FOLDED_SLOTS)),
            )
            .order_by(t.id)
            .limit(self.batch_rows)
        )
        with self.tracker.connect() as conn:
            return [EventRow(*row) for row in conn.execute(query)]

    def _fold(self, rows: Sequence[EventRow], current: Dict[str, SessionFacts]) -> List[SessionFacts]:
        """Fold the rows into the senders' sessions (read back from the table when not in memory); the sessions
        changed, in the order they were first touched."""
        unknown = {row.sender_id for row in rows} - current.keys()
        current.update(self._stored_sessions(unknown))
        touched: Dict[int, SessionFacts] = {}
        for row in rows:
            before = current.get(row.sender_id)
            facts = fold_row(before, row)
            if facts is None:
                continue
            if before is not None and facts is not before:
                touched[id(before)] = before  # ended: its `ended_at` changed
            current[row.sender_id] = facts
            touched[id(facts)] = facts
        return list(touched.values())

    def _stored_sessions(self, senders: Iterable[str]) -> Dict[str, SessionFacts]:
        """Each sender's latest stored session, with its folding state."""
        senders = list(senders)
        found: Dict[str, SessionFacts] = {}
        s = sessions_table.c
        with self.engine.connect() as conn:
            for index in range(0, len(senders), IN_CHUNK):
                chunk = senders[index : index + IN_CHUNK]
                query = sa.select(sessions_table).where(s.sender_id.in_(chunk), s.ended_at.is_(None))
                for row in conn.execute(query):
                    facts = _facts_of(row)
                    known = found.get(facts.sender_id)
                    if known is None or known.start_event_id < facts.start_event_id:
                        found[facts.sender_id] = facts
        return found

    def _write(self, touched: Sequence[SessionFacts], seen: State, upto: int) -> None:
        """The sessions, topics and new watermark, if the state is still `seen` (else StateChanged, rolled back).
        The deletions row first, as a deletion (bot/analytics/store.py `_events_deleted`) takes it first: on
        PostgreSQL this waits for a deletion in progress, then sees its count."""
        s, state = sessions_table.c, state_table.c
        new = [_values(facts) for facts in touched if not facts.stored]
        old = [{"b_start": facts.start_event_id, **_values(facts)} for facts in touched if facts.stored]
        topics = Counter((f.day, f.channel, intent) for f in touched for intent in f.new_topics)
        with self.engine.begin() as conn:
            for name, before, after in ((DELETIONS, seen.deletions, state.value), (WATERMARK, seen.watermark, upto)):
                query = state_table.update().where(state.name == name, state.value == before).values(value=after)
                if conn.execute(query).rowcount != 1:
                    raise StateChanged()
            if new:
                conn.execute(sessions_table.insert(), new)
            if old:
                columns = {key: sa.bindparam(key) for key in old[0] if key not in ("b_start", "start_event_id")}
                conn.execute(
                    sessions_table.update().where(s.start_event_id == sa.bindparam("b_start")).values(columns), old
                )
            if topics:
                _add_topics(conn, topics)


def _add_topics(conn: sa.engine.Connection, counts: Counter) -> None:
    """Add the counts to `daily_topics`: existing keys updated, the others inserted (multi-row each)."""
    t = topics_table.c
    days = sorted({day for day, _, _ in counts})
    existing = set()
    for index in range(0, len(days), IN_CHUNK):
        query = sa.select(t.day, t.channel, t.intent).where(t.day.in_(days[index : index + IN_CHUNK]))
        existing.update(tuple(row) for row in conn.execute(query))
    updates = [
        {"b_day": d, "b_channel": c, "b_intent": i, "n": n} for (d, c, i), n in counts.items() if (d, c, i) in existing
    ]
    inserts = [
        {"day": d, "channel": c, "intent": i, "conversations": n}
        for (d, c, i), n in counts.items()
        if (d, c, i) not in existing
    ]
    if updates:
        conn.execute(
            topics_table.update()
            .where(t.day == sa.bindparam("b_day"), t.channel == sa.bindparam("b_channel"))
            .where(t.intent == sa.bindparam("b_intent"))
            .values(conversations=t.conversations + sa.bindparam("n")),
            updates,
        )
    if inserts:
        conn.execute(topics_table.insert(), inserts)


def _values(facts: SessionFacts) -> Dict[str, object]:
    return {
        "start_event_id": facts.start_event_id,
        "sender_id": facts.sender_id,
        "channel": facts.channel,
        "day": facts.day,
        "started_at": _utc(facts.started_at),
        "last_at": _utc(facts.last_at),
        "ended_at": _utc(facts.ended_at) if facts.ended_at is not None else None,
        "last_event_id": facts.last_event_id,
        "min_confidence": facts.min_confidence,
        **facts.counts,
        "topics": " ".join(facts.topics),
        "open_form": facts.open_form,
        "closing_form": facts.closing_form,
        "request_kind": facts.request_kind,
        "last_intent": facts.last_intent,
    }


def _facts_of(row: sa.engine.Row) -> SessionFacts:
    facts = SessionFacts(
        sender_id=row.sender_id,
        start_event_id=row.start_event_id,
        started_at=_epoch(row.started_at),
        channel=row.channel,
        last_at=_epoch(row.last_at),
        last_event_id=row.last_event_id,
        min_confidence=row.min_confidence,
        topics=row.topics.split(),
        stored=True,
        counts={name: int(getattr(row, name) or 0) for name in COUNTERS},
        open_form=row.open_form,
        closing_form=row.closing_form,
        request_kind=row.request_kind,
        last_intent=row.last_intent,
    )
    return facts


def aggregate(requests_engine: sa.engine.Engine, tracker_engine: sa.engine.Engine) -> Tuple[UpdateResult, float]:
    """Everything up to now, and how long it took (seconds): the benchmark's first full aggregation."""
    began = time.perf_counter()
    result = Aggregator(requests_engine, tracker_engine).update()
    return result, time.perf_counter() - began
