"""Delete conversations and booking/hand-off requests older than a number of days (`make retention`).

    python -m bot.privacy.retention --days 90 [--tracker-db-url URL] [--requests-db-url URL]

Conversations: the events of Rasa's SQL tracker store (table `events`): --tracker-db-url, else
$RASA_TRACKER_DB_URL, else the database of endpoints.yml, a SQLite file for local use (bot/storage/database_urls.py).
An event older than the cut-off is deleted unless it belongs to the conversation's current session, which Rasa
still reads (with sessions expiring after 60 minutes, that only keeps a session that is still going on).
Requests: bot/storage/booking_requests.py, $BOOKING_REQUESTS_DB_URL or --requests-db-url.
The staff console's records in that database follow the same rule: audit entries and conversation references older
than the cut-off, expired staff sessions, stale counts of failed log-ins and patients' ratings older than the cut-off
are deleted (e-mail notifications go with their requests). The analytics' conversation sessions older than the
cut-off lose their link to the patient (sender id set to NULL): their counts stay, they hold no personal details
(and the analytics learn that events were deleted: bot/analytics/store.py `events_deleted`);
staff's annotations of messages older than the cut-off lose their link to the conversation and keep only the
placeholder-masked text and intents (training data).
Why 90 days: docs/production.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import List, Optional

import sqlalchemy as sa

from bot.analytics import store as analytics_store
from bot.staff.accounts import StaffAccounts
from bot.staff.annotations import AnnotationStore
from bot.staff.audit import AuditLog
from bot.staff.conversation_refs import ConversationRefs
from bot.staff.sessions import SessionStore
from bot.storage.booking_requests import BookingRequestStore
from bot.storage.database_urls import TRACKER_DB_URL_ENV, tracker_db_url
from bot.storage.feedback import FeedbackStore
from bot.storage.sent_messages import SentMessages

DEFAULT_DAYS = 90


def _events(engine: sa.engine.Engine) -> Optional[sa.Table]:
    if not sa.inspect(engine).has_table("events"):
        return None  # Rasa has not written a conversation yet
    return sa.Table("events", sa.MetaData(), autoload_with=engine)


def delete_old_events(url: str, days: int, now: Optional[float] = None) -> int:
    """Delete tracker events older than `days` days, except those of a conversation's current session."""
    cutoff = (now if now is not None else time.time()) - days * 86400
    engine = sa.create_engine(url, future=True)
    try:
        events = _events(engine)
        if events is None:
            return 0
        other = events.alias("other")
        current_session_start = (
            sa.select(sa.func.max(other.c.id))
            .where(other.c.sender_id == events.c.sender_id, other.c.type_name == "session_started")
            .scalar_subquery()
        )
        recent_senders = sa.select(other.c.sender_id).where(other.c.timestamp >= cutoff)
        query = events.delete().where(
            events.c.timestamp < cutoff,
            sa.or_(
                events.c.sender_id.not_in(recent_senders),
                events.c.id < sa.func.coalesce(current_session_start, 0),
            ),
        )
        with engine.begin() as conn:
            return conn.execute(query).rowcount
    finally:
        engine.dispose()


def delete_sender_events(url: str, sender_id: str) -> int:
    """Delete every tracker event of one conversation ("forget me")."""
    engine = sa.create_engine(url, future=True)
    try:
        events = _events(engine)
        if events is None:
            return 0
        with engine.begin() as conn:
            return conn.execute(events.delete().where(events.c.sender_id == sender_id)).rowcount
    finally:
        engine.dispose()


@dataclass
class RetentionResult:
    events: int
    requests: int
    console: int = 0  # audit entries, conversation references and expired staff sessions


def apply_retention(
    days: int, tracker_url: str, requests_url: Optional[str] = None, now: Optional[float] = None
) -> RetentionResult:
    """Delete old conversation events and old requests; return how many rows went."""
    if days < 1:
        raise ValueError("days must be at least 1")
    events = delete_old_events(tracker_url, days, now)
    store = BookingRequestStore(requests_url)
    tracker = sa.create_engine(tracker_url, future=True)
    try:
        if events:
            analytics_store.events_deleted(store.engine, tracker)
        when = None if now is None else datetime.fromtimestamp(now, tz=timezone.utc)
        requests = store.delete_older_than(days, now=when)
        clock = (lambda: when) if when else None
        console = (
            AuditLog(store.engine, **({"clock": clock} if clock else {})).delete_older_than(days)
            + ConversationRefs(store.engine).delete_older_than(days, now=when)
            + SessionStore(store.engine, **({"clock": clock} if clock else {})).delete_expired()
            + StaffAccounts(store.engine, **({"clock": clock} if clock else {})).delete_stale_failures()
            + FeedbackStore(store.engine).delete_older_than(days, now=when)
            + analytics_store.unlink_older_than(store.engine, days, now=when)  # counts kept, patient link gone
            + SentMessages(store.engine).delete_older_than(days, now=when)  # the replies' ids kept for ratings
            + AnnotationStore(store.engine).unlink_older_than(days, now=when)
        )
    finally:
        tracker.dispose()
        store.engine.dispose()
    return RetentionResult(events=events, requests=requests, console=console)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.privacy.retention", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=int(os.environ.get("RETENTION_DAYS", DEFAULT_DAYS)))
    parser.add_argument("--tracker-db-url", help=f"default: ${TRACKER_DB_URL_ENV}, else endpoints.yml")
    parser.add_argument("--requests-db-url", help="default: $BOOKING_REQUESTS_DB_URL, else .data/requests.sqlite")
    args = parser.parse_args(argv)
    try:
        result = apply_retention(args.days, args.tracker_db_url or tracker_db_url(), args.requests_db_url)
    except (ValueError, sa.exc.SQLAlchemyError) as error:
        print(f"retention failed: {error}", file=sys.stderr)
        return 1
    print(
        f"retention {args.days} days: deleted {result.events} conversation events, {result.requests} requests, "
        f"{result.console} staff console records"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
