"""The review list (/staff/review): recent conversations, newest first, filterable by day, channel and flag.

A conversation is one Rasa session (bot/analytics/__init__.py). The list shows no patient text (times, channel,
counts, topics and flags only), so nothing on it needs masking; each row links to the conversation's review page
(/staff/review/{ref}, by its opaque reference: bot/staff/conversation_refs.py). Rows come from the stored
aggregates (bot/analytics/reports.py), caught up just before; conversations deleted since ("forget me", retention)
are not listed.
"""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from bot.analytics.markers import topic_label
from bot.analytics.reports import FLAGS, existing_senders, review_list
from bot.web.console.analytics_page import CHANNEL_PATTERN, DATE_PATTERN, AnalyticsService, date_or_none
from bot.web.console.auth import Services, Staff
from bot.web.console.templates import render
from bot.web.dependencies import Settings

router = APIRouter(prefix="/staff", tags=["staff console"], include_in_schema=False)

PER_PAGE = 50
MAX_TOPICS = 4  # on a row; the review page has them all


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
    freshness = analytics.catch_up()
    chosen_day = date_or_none(day)
    items, total = review_list(
        analytics.requests_engine,
        threshold=settings.review_low_confidence,
        day=chosen_day,
        channel=channel or None,
        flag=flag or None,
        offset=(page - 1) * PER_PAGE,
        limit=PER_PAGE,
        now=datetime.now(timezone.utc),
    )
    still_there = existing_senders(analytics.tracker_engine, (item.sender_id for item in items)) if items else set()
    items = [item for item in items if item.sender_id in still_there]
    refs = staff.refs.refs_for(item.sender_id for item in items)
    rows = [
        {
            "item": item,
            "ref": refs[item.sender_id],
            "topics": [topic_label(intent) for intent in item.topics[:MAX_TOPICS]],
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
        "threshold": round(settings.review_low_confidence * 100),
        "current": freshness.current,
    }
    return render(request, "review.html", context)
