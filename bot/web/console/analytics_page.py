"""The analytics page (/staff/analytics): how many patients the assistant helps, what they ask, where it fails.

Numbers come from the stored aggregates (bot/analytics/reports.py), caught up with the latest conversations just
before the page is made (bot/analytics/service.py); charts are server-made SVG (bot/web/console/charts.py).
A staff session is needed, as for every console page.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Dict, List, Optional

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from bot.analytics import markers
from bot.analytics.reports import DAY, WEEK, Report, report
from bot.analytics.service import Analytics, shared_analytics
from bot.storage.feedback import DOWN, UP
from bot.web.console.auth import Services, Staff
from bot.web.console.charts import Chart, Series, horizontal_bars, stacked_bars
from bot.web.console.templates import CLINIC_TIME, channel_label, render

router = APIRouter(prefix="/staff", tags=["staff console"], include_in_schema=False)

PERIODS = {"7": 7, "30": 30, "90": 90}
MAX_DAYS = 366
CHANNEL_COLOURS = {"web": "#0b5c56", "messenger": "#1a5fb4", "instagram": "#a0306e", "rest": "#7a5a00"}
UP_COLOUR, DOWN_COLOUR, BAR_COLOUR, FALLBACK_COLOUR = "#0b5c56", "#8a1c1c", "#0b5c56", "#7a4b00"
CHANNEL_PATTERN = f"^({'|'.join(markers.ANALYTICS_CHANNELS)})?$"
DATE_PATTERN = r"^(\d{4}-\d{2}-\d{2})?$"  # what <input type="date"> sends; "" when left empty


def date_or_none(value: str) -> Optional[date]:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:  # "2026-02-31"
        return None


def analytics_of(staff: Services) -> Analytics:
    """The analytics of the console's databases (one per process: bot/analytics/service.py)."""
    return shared_analytics(staff.requests.engine, staff.transcripts.engine)


AnalyticsService = Annotated[Analytics, Depends(analytics_of)]


def clinic_today() -> date:
    return datetime.now(CLINIC_TIME).date()


def period_of(period: str, start: Optional[date], end: Optional[date]) -> tuple:
    """(first day, last day, period name) in New Zealand days: the last 7 / 30 / 90 days up to today, or from-to."""
    today = clinic_today()
    if period == "custom" and start and end:
        start, end = min(start, end), max(start, end)
        return max(start, end - timedelta(days=MAX_DAYS - 1)), end, "custom"
    days = PERIODS.get(period, 7)
    return today - timedelta(days=days - 1), today, str(days) if period in PERIODS else "7"


def percent(value: float) -> str:
    return f"{value * 100:.0f}%" if value >= 0.1 or value == 0 else f"{value * 100:.1f}%"


def charts_of(result: Report) -> List[Chart]:
    labels = [bucket.label for bucket in result.buckets]
    per = "week" if result.granularity == WEEK else "day"
    conversations = stacked_bars(
        "chart-conversations",
        f"Conversations per {per}, by channel",
        "Each bar is a period; its parts are the channels (website chat, Messenger, Instagram, REST).",
        labels,
        [
            Series(channel_label(channel), CHANNEL_COLOURS[channel], values)
            for channel, values in result.by_channel["conversations"].items()
        ],
    )
    rates = [rate or 0.0 for rate in result.fallback_rates()]
    fallback = stacked_bars(
        "chart-fallbacks",
        f"Fallback rate per {per}",
        "Share of patient messages the assistant did not understand (it asked them to rephrase).",
        labels,
        [Series("Fallback rate", FALLBACK_COLOUR, rates)],
        formatter=percent,
    )
    topics = horizontal_bars(
        "chart-topics",
        "Top topics",
        "What patients asked about most: conversations that asked each topic.",
        [(label, count) for _, label, count in result.topics],
        BAR_COLOUR,
        headers=("Topic", "Conversations"),
    )
    t = result.totals
    funnel = horizontal_bars(
        "chart-acc",
        "ACC eligibility checks",
        "ACC checks started, completed (a verdict given), and the verdicts: eligible or not eligible.",
        [
            ("Started", t["acc_started"]),
            ("Completed", t["acc_completed"]),
            ("Eligible", t["acc_eligible"]),
            ("Not eligible", t["acc_not_eligible"]),
        ],
        BAR_COLOUR,
        headers=("Step", "Checks"),
    )
    thumbs = stacked_bars(
        "chart-thumbs",
        f"Patients' ratings per {per}",
        "Answers patients rated helpful (thumbs up) and not helpful (thumbs down).",
        labels,
        [Series("Thumbs up", UP_COLOUR, result.thumbs[UP]), Series("Thumbs down", DOWN_COLOUR, result.thumbs[DOWN])],
    )
    bookings = stacked_bars(
        "chart-bookings",
        f"Bookings per {per}",
        "Booking links given and appointments booked in the chat.",
        labels,
        [
            Series("Booking links", CHANNEL_COLOURS["messenger"], result.series("booking_links")),
            Series("Bookings made", CHANNEL_COLOURS["web"], result.series("bookings")),
        ],
    )
    return [conversations, topics, fallback, funnel, bookings, thumbs]


def headline(result: Report) -> List[Dict[str, Any]]:
    t = result.totals
    rate = result.fallback_rate
    return [
        {"label": "Conversations", "value": f"{t['conversations']:,}"},
        {"label": "Patient messages", "value": f"{t['patient_messages']:,}"},
        {"label": "Fallback rate", "value": percent(rate) if rate is not None else "–"},
        {"label": "ACC checks (eligible)", "value": f"{t['acc_started']:,} ({t['acc_eligible']:,})"},
        {"label": "Booking links", "value": f"{t['booking_links']:,}"},
        {"label": "Bookings made", "value": f"{t['bookings']:,}"},
        {"label": "Call-backs to book", "value": f"{t['requests_booking']:,}"},
        {"label": "Wanted a person", "value": f"{t['requests_handoff'] + t['requests_chat']:,}"},
        {"label": "Red flags", "value": f"{t['red_flags']:,}"},
        {"label": "Thumbs up / down", "value": f"{sum(result.thumbs[UP]):,} / {sum(result.thumbs[DOWN]):,}"},
    ]


@router.get("/analytics")
def analytics_page(
    request: Request,
    staff: Services,
    session: Staff,
    analytics: AnalyticsService,
    period: str = Query("7", regex="^(7|30|90|custom)$"),
    start: str = Query("", alias="from", regex=DATE_PATTERN),
    end: str = Query("", alias="to", regex=DATE_PATTERN),
    by: str = Query(DAY, regex=f"^({DAY}|{WEEK})$"),
    channel: str = Query("", regex=CHANNEL_PATTERN),
) -> Response:
    current = analytics.catch_up()
    first, last, period = period_of(period, date_or_none(start), date_or_none(end))
    result = report(analytics.requests_engine, first, last, by, channel or None)
    t = result.totals
    requests_table = [
        ("Call-back to book", t["requests_booking"]),
        ("Call-back: wants a person", t["requests_handoff"]),
        ("Wants a person in the chat", t["requests_chat"]),
        ("Change or cancel an appointment", t["requests_change"]),
    ]
    context = {
        "session": session,
        "page": "analytics",
        "report": result,
        "headline": headline(result),
        "charts": charts_of(result),
        "requests_table": requests_table,
        "period": period,
        "first": first,
        "last": last,
        "by": by,
        "channel": channel,
        "channels": markers.ANALYTICS_CHANNELS,
        "current": current,
    }
    return render(request, "analytics.html", context)
