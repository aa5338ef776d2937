"""The analytics page's numbers and the review list: SQL over the stored aggregates (bot/analytics/store.py), never
over the events, so a page costs the same with 100 or 100,000 conversations in the period.

- `report(...)`: for a period of New Zealand days, per day or ISO week, one channel or all: conversations, messages,
  top topics, fallback rate, the ACC funnel, booking links, bookings, requests by kind, red flags, and the patients'
  thumbs up / down (bot/storage/feedback.py, by the New Zealand day of the rating).
- `review_list(...)`: recent conversations with their flags, filtered by day, channel and flag, a page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import sqlalchemy as sa

from bot.analytics import markers as m
from bot.analytics.markers import FALLBACK, FLAGS, FORM_ABANDONED, HANDOFF, LOW_CONFIDENCE, RED_FLAG, THUMBS_DOWN
from bot.analytics.session_facts import CLINIC_TIME, COUNTERS
from bot.analytics.store import sessions_table, topics_table, tracker_has_events
from bot.staff.intent_choices import label
from bot.storage.feedback import DOWN, UP, feedback_table
from bot.storage.times import as_utc
from bot.storage.transcripts import events_table

DAY, WEEK = "day", "week"
GRANULARITIES = (DAY, WEEK)
METRICS = ("conversations", *COUNTERS)
TOP_TOPICS = 10


@dataclass(frozen=True)
class Bucket:
    key: str  # "2026-11-29" or "2026-W48"
    label: str  # "Sat 29 Nov" or "Week of 23 Nov"
    first: date
    last: date


@dataclass
class Report:
    start: date
    end: date
    granularity: str
    channel: Optional[str]  # None: every channel
    buckets: List[Bucket]
    # metric -> channel -> one number per bucket
    by_channel: Dict[str, Dict[str, List[int]]]
    totals: Dict[str, int]
    topics: List[Tuple[str, str, int]]  # (intent, label, conversations), most asked first
    thumbs: Dict[str, List[int]]  # "up" / "down" -> one number per bucket
    channels: Tuple[str, ...] = m.ANALYTICS_CHANNELS

    def series(self, metric: str) -> List[int]:
        """The metric per bucket, all channels together."""
        per_channel = self.by_channel[metric].values()
        return [sum(values) for values in zip(*per_channel)] if per_channel else [0] * len(self.buckets)

    @property
    def fallback_rate(self) -> Optional[float]:
        """Fallback replies per patient message (None without messages)."""
        messages = self.totals["patient_messages"]
        return self.totals["fallbacks"] / messages if messages else None

    def fallback_rates(self) -> List[Optional[float]]:
        return [f / p if p else None for f, p in zip(self.series("fallbacks"), self.series("patient_messages"))]


def buckets(start: date, end: date, granularity: str) -> List[Bucket]:
    """The days, or the ISO weeks (Monday to Sunday, cut to the period), from `start` to `end` inclusive."""
    out: List[Bucket] = []
    day = start
    while day <= end:
        if granularity == WEEK:
            year, week, weekday = day.isocalendar()
            last = min(end, day + timedelta(days=7 - weekday))
            monday = day - timedelta(days=weekday - 1)
            out.append(Bucket(f"{year}-W{week:02d}", f"Week of {monday.day} {monday:%b}", day, last))
        else:
            last = day
            out.append(Bucket(day.isoformat(), f"{day:%a} {day.day} {day:%b}", day, day))
        day = last + timedelta(days=1)
    return out


def _bucket_of(buckets_: Sequence[Bucket]) -> Dict[str, int]:
    """NZ day ("2026-11-29") -> index of its bucket."""
    index: Dict[str, int] = {}
    for position, bucket in enumerate(buckets_):
        day = bucket.first
        while day <= bucket.last:
            index[day.isoformat()] = position
            day += timedelta(days=1)
    return index


def nz_midnight(day: date) -> datetime:
    """The start of a New Zealand day, in UTC."""
    return datetime.combine(day, time(0), tzinfo=CLINIC_TIME).astimezone(timezone.utc)


def report(
    engine: sa.engine.Engine, start: date, end: date, granularity: str = DAY, channel: Optional[str] = None
) -> Report:
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}")
    periods = buckets(start, end, granularity)
    position = _bucket_of(periods)
    s = sessions_table.c
    where = [s.day >= start.isoformat(), s.day <= end.isoformat()]
    if channel:
        where.append(s.channel == channel)
    sums = [sa.func.count().label("conversations"), *(sa.func.sum(s[name]).label(name) for name in COUNTERS)]
    query = sa.select(s.day, s.channel, *sums).where(*where).group_by(s.day, s.channel)
    channels = (channel,) if channel else m.ANALYTICS_CHANNELS
    by_channel = {metric: {c: [0] * len(periods) for c in channels} for metric in METRICS}
    t = topics_table.c
    topic_where = [t.day >= start.isoformat(), t.day <= end.isoformat()] + ([t.channel == channel] if channel else [])
    asked = sa.func.sum(t.conversations).label("asked")
    topic_query = sa.select(t.intent, asked).where(*topic_where).group_by(t.intent).order_by(asked.desc(), t.intent)
    with engine.connect() as conn:
        for row in conn.execute(query):
            values = by_channel
            where_to = position.get(row.day)
            if where_to is None or row.channel not in values["conversations"]:
                continue
            for metric in METRICS:
                values[metric][row.channel][where_to] += int(getattr(row, metric) or 0)
        topics = [(intent, label(intent), int(n)) for intent, n in conn.execute(topic_query.limit(TOP_TOPICS))]
        thumbs = _thumbs(conn, periods, position, start, end, channel)
    totals = {metric: sum(sum(values) for values in by_channel[metric].values()) for metric in METRICS}
    return Report(start, end, granularity, channel, periods, by_channel, totals, topics, thumbs, channels)


def _thumbs(
    conn: sa.engine.Connection,
    periods: Sequence[Bucket],
    position: Dict[str, int],
    start: date,
    end: date,
    channel: Optional[str],
) -> Dict[str, List[int]]:
    """Ratings per bucket, by the New Zealand day they were given (a few per conversation at most: read, then
    bucketed here, as the day of a time zone is not portable SQL)."""
    f = feedback_table.c
    counts = {UP: [0] * len(periods), DOWN: [0] * len(periods)}
    query = sa.select(f.at, f.sender_id, f.rating).where(
        f.at >= nz_midnight(start), f.at < nz_midnight(end + timedelta(days=1))
    )
    for at, sender_id, rating in conn.execute(query):
        if channel and m.channel_key(sender_id) != channel:
            continue
        where_to = position.get(as_utc(at).astimezone(CLINIC_TIME).date().isoformat())
        if where_to is not None and rating in counts:
            counts[rating][where_to] += 1
    return counts


# ---------- the review list (its flags: bot/analytics/markers.py FLAGS)


@dataclass
class ReviewItem:
    sender_id: str
    session: int  # the id of the event that started the session (names it in a link)
    started_at: datetime
    last_at: datetime
    channel: str
    patient_messages: int
    assistant_messages: int
    topics: List[str]
    flags: List[str] = field(default_factory=list)


def flag_conditions(threshold: float, now: datetime) -> Dict[str, sa.sql.ColumnElement]:
    """Each flag as a condition on a `conversation_sessions` row (markers.py says what each counts): the one
    definition of each, which the list filters by and shows."""
    s, f = sessions_table.c, feedback_table.c
    quiet_since = now - m.QUIET_AFTER
    thumbs_down = (
        sa.select(f.id)
        .where(f.sender_id == s.sender_id, f.rating == DOWN, f.at >= s.started_at)
        .where(sa.or_(s.ended_at.is_(None), f.at < s.ended_at))
        .exists()
    )
    return {
        FALLBACK: s.fallbacks > 0,
        LOW_CONFIDENCE: s.min_confidence < threshold,
        HANDOFF: sa.or_(s.handoff_asks > 0, *(s[f"requests_{kind}"] > 0 for kind in m.REQUEST_KINDS)),
        RED_FLAG: s.red_flags > 0,
        FORM_ABANDONED: sa.or_(
            s.forms_abandoned > 0,
            sa.and_(sa.or_(s.open_form.is_not(None), s.closing_form.is_not(None)), s.last_at < quiet_since),
        ),
        THUMBS_DOWN: thumbs_down,
    }


def review_list(
    engine: sa.engine.Engine,
    *,
    threshold: float,
    day: Optional[date] = None,
    channel: Optional[str] = None,
    flag: Optional[str] = None,
    offset: int = 0,
    limit: int = 50,
    now: Optional[datetime] = None,
) -> Tuple[List[ReviewItem], int]:
    """Conversations still linked to their patient, newest first, with their flags; and how many match."""
    conditions = flag_conditions(threshold, now or datetime.now(timezone.utc))
    if flag is not None and flag not in conditions:
        raise ValueError(f"flag must be one of {FLAGS}")
    s = sessions_table.c
    where = [s.sender_id.is_not(None)]
    if day is not None:
        where.append(s.day == day.isoformat())
    if channel:
        where.append(s.channel == channel)
    if flag:
        where.append(conditions[flag])
    flags = [sa.case((condition, 1), else_=0).label(name) for name, condition in conditions.items()]
    columns = (s.sender_id, s.start_event_id, s.started_at, s.last_at, s.channel, s.patient_messages)
    columns += (s.assistant_messages, s.topics)
    query = (
        sa.select(*columns, *flags)
        .where(*where)
        .order_by(s.started_at.desc(), s.id.desc())
        .offset(offset)
        .limit(limit)
    )
    with engine.connect() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(sessions_table).where(*where)).scalar() or 0)
        rows = conn.execute(query).all()
    items = [
        ReviewItem(
            sender_id=row.sender_id,
            session=row.start_event_id,
            started_at=as_utc(row.started_at),
            last_at=as_utc(row.last_at),
            channel=row.channel,
            patient_messages=row.patient_messages,
            assistant_messages=row.assistant_messages,
            topics=row.topics.split(),
            flags=[name for name in FLAGS if getattr(row, name)],
        )
        for row in rows
    ]
    return items, total


def missing_senders(tracker_engine: sa.engine.Engine, sender_ids: Iterable[str]) -> Set[str]:
    """Which of these conversations the tracker store no longer holds (one query); none when it cannot tell (no
    events table: a tracker store not yet written, or the wrong one)."""
    senders = sorted(set(sender_ids))
    if not senders or not tracker_has_events(tracker_engine):
        return set()
    t = events_table.c
    query = sa.select(t.sender_id).where(t.sender_id.in_(senders)).group_by(t.sender_id)
    try:
        with tracker_engine.connect() as conn:
            return set(senders) - set(conn.execute(query).scalars())
    except sa.exc.SQLAlchemyError:  # the tracker store cannot be read just now: cannot tell
        return set()
