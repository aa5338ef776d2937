"""The review list (/staff/review): recent conversations, newest first, filterable by day, channel and flag.

A conversation is one Rasa session (bot/analytics/__init__.py). The list shows no patient text (times, channel,
counts, topics and flags only), so nothing on it needs masking; each row links to the conversation's review page
(/staff/review/{ref}, by its opaque reference: bot/staff/conversation_refs.py). Rows come from the stored
aggregates (bot/analytics/reports.py), caught up just before; conversations deleted since ("forget me", retention)
are not listed (`listed`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, List, Tuple

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from bot.analytics.markers import ANALYTICS_CHANNELS, FLAGS
from bot.analytics.reports import ReviewItem, missing_senders, review_list
from bot.analytics.service import Analytics
from bot.analytics.store import forget_sender
from bot.staff.intent_choices import label
from bot.web.console.analytics_page import CHANNEL_PATTERN, DATE_PATTERN, AnalyticsService, date_or_none
from bot.web.console.auth import Services, Staff
from bot.web.console.templates import render
from bot.web.dependencies import Settings

router = APIRouter(prefix="/staff", tags=["staff console"], include_in_schema=False)

PER_PAGE = 50
MAX_TOPICS = 4  # on a row; the review page has them all
ROUNDS = 3  # reads of the page at most, each after finishing the forgetting of conversations found gone


def listed(analytics: Analytics, **filters: Any) -> Tuple[List[ReviewItem], int]:
    """One page of the review list and the total (reports.review_list), without conversations deleted since.

    Not in the SQL: the rows are in the requests' database and the conversations in the tracker store, two databases
    (two servers, possibly). Nor needed as a rule: retention unlinks its rows itself, and "forget me" deletes them
    (bot/staff/forget.py, again once Rasa has saved the turn). A linked row whose conversation is gone is one whose
    forgetting did not finish (the action server stopped half-way): it is finished here (store.forget_sender) and
    the page read again, so it is full and the total right."""
    for _ in range(ROUNDS):
        items, total = review_list(analytics.requests_engine, **filters)
        gone = missing_senders(analytics.tracker_engine, (item.sender_id for item in items))
        if not gone:
            return items, total
        for sender_id in gone:
            forget_sender(analytics.requests_engine, sender_id, analytics.tracker_engine)
    return [item for item in items if item.sender_id not in gone], total - len(gone)


@router.get("/review")
def review_page(
    request: Request,
    staff: Services,
    session: Staff,
    analytics: AnalyticsService,
    settings: Settings,
    day: str = Query("", regex=DATE_PATTERN),
    channel: str = Query("", regex=CHANNEL_PATTERN),
    flag: str = Query("", regex=f"^({'|'.join(FLAGS)})?$"),
    page: int = Query(1, ge=1, le=10_000),
) -> Response:
    current = analytics.catch_up()
    chosen_day = date_or_none(day)
    items, total = listed(
        analytics,
        threshold=settings.review_low_confidence,
        day=chosen_day,
        channel=channel or None,
        flag=flag or None,
        offset=(page - 1) * PER_PAGE,
        limit=PER_PAGE,
        now=datetime.now(timezone.utc),
    )
    refs = staff.refs.refs_for(item.sender_id for item in items)
    rows = [
        {
            "item": item,
            "ref": refs[item.sender_id],
            "topics": [label(intent) for intent in item.topics[:MAX_TOPICS]],
            "more_topics": max(len(item.topics) - MAX_TOPICS, 0),
        }
        for item in items
    ]
    context = {
        "session": session,
        "page": "review",
        "rows": rows,
        "total": total,
        "page_number": page,
        "pages": max((total + PER_PAGE - 1) // PER_PAGE, 1),
        "day": chosen_day.isoformat() if chosen_day else "",
        "channel": channel,
        "flag": flag,
        "flags": FLAGS,
        "channels": ANALYTICS_CHANNELS,
        "threshold": round(settings.review_low_confidence * 100),
        "current": current,
    }
    return render(request, "review.html", context)
