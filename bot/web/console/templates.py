"""Jinja2 templates of the console (bot/web/console/templates/), with the filters they use and the headers every
console page gets: never cached, never framed, scripts and styles only from this service (CSP)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Optional
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from bot.clinic.appointments import APPOINTMENT_NAMES
from bot.staff.request_kinds import REQUEST_KINDS

CLINIC_TIME = ZoneInfo("Pacific/Auckland")
HERE = Path(__file__).resolve().parent
CONSOLE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}

templates = Jinja2Templates(directory=str(HERE / "templates"))

KIND_LABELS = {kind: row.label for kind, row in REQUEST_KINDS.items()}
STATUS_LABELS = {"new": "New", "in_progress": "In progress", "done": "Done"}
CHANNEL_LABELS = {
    "web": "Website chat",
    "socketio": "Website chat",
    "messenger": "Messenger",
    "facebook": "Messenger",
    "instagram": "Instagram",
    "rest": "REST (staff/tests)",
}


# The review's flags (bot/analytics/markers.py FLAGS): the list's filter and column, and the marks of a message
FLAG_LABELS = {
    "fallback": "Fallback",
    "low_confidence": "Low confidence",
    "handoff": "Hand-off or call-back asked",
    "red_flag": "Red flag",
    "form_abandoned": "Form abandoned",
    "thumbs_down": "Thumbs down",
}


def channel_label(channel: Any) -> str:
    return CHANNEL_LABELS.get(str(channel or ""), str(channel or "unknown"))


def clinic_time(value: Optional[datetime]) -> str:
    """'Sat 29 Nov, 10:32 am' in New Zealand time."""
    if value is None:
        return ""
    local = (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(CLINIC_TIME)
    return local.strftime("%a %-d %b, %-I:%M ") + local.strftime("%p").lower()


templates.env.filters["clinic_time"] = clinic_time
templates.env.filters["appointment"] = lambda kind: APPOINTMENT_NAMES.get(kind, str(kind or "").replace("_", " "))


def render(request: Request, name: str, context: Dict[str, Any], status_code: int = 200) -> Response:
    response = templates.TemplateResponse(
        name,
        {
            "request": request,
            "kind_labels": KIND_LABELS,
            "status_labels": STATUS_LABELS,
            "channel_label": channel_label,
            "flag_labels": FLAG_LABELS,
            **context,
        },
        status_code=status_code,
    )
    response.headers.update(CONSOLE_HEADERS)
    return response
