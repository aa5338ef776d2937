"""What the web service counts, for Prometheus (served by bot/web/metrics.py on `GET /metrics`).

Requests are counted by the middleware of bot/web/metrics.py under their route template (`/staff/conversations/{ref}`,
never the path as requested: it may hold a conversation reference); a request no route matched is "unmatched".
Staff log-ins are counted by bot/web/console/auth.py, e-mail notifications by bot/staff/notifications.py.
Labelled series with closed sets of values are created here at import, so they exist (at 0) before their first event.
"""

from __future__ import annotations

from typing import Dict

from prometheus_client import Counter, Histogram

UNMATCHED = "unmatched"  # the route label of a request no route matched (404, redirects to a trailing slash)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # any other method: "other"

REQUESTS = Counter(
    "clinic_web_requests",
    "Requests answered, by route template, method and status class.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "clinic_web_request_duration_seconds",
    "Time to answer a request, by route template.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# staff log-ins (POST /staff/login): signed in, wrong user name or password, name locked out, log-in form expired
LOGIN_RESULTS = ("success", "wrong_credentials", "locked_out", "form_expired")
STAFF_LOGINS = Counter("clinic_web_staff_logins", "Staff log-in attempts, by result.", ["result"])
_logins: Dict[str, Counter] = {result: STAFF_LOGINS.labels(result) for result in LOGIN_RESULTS}

# e-mails of new requests to the clinic (bot/staff/notifications.py): accepted by the mail server, an attempt failed
# (tried again later), or the last attempt failed (given up, shown in the console)
EMAIL_OUTCOMES = ("sent", "failed", "given_up")
EMAIL_NOTIFICATIONS = Counter(
    "clinic_web_email_notifications", "E-mail notifications of new requests, by outcome of each attempt.", ["outcome"]
)
_emails: Dict[str, Counter] = {outcome: EMAIL_NOTIFICATIONS.labels(outcome) for outcome in EMAIL_OUTCOMES}


def status_class(status: int) -> str:
    """200 -> "2xx"."""
    return f"{status // 100}xx"


def method_label(method: str) -> str:
    """The HTTP method if it is a standard one, else "other" (a client chooses the method)."""
    return method if method in METHODS else "other"


def staff_login(result: str) -> None:
    _logins[result].inc()


def email_notification(outcome: str) -> None:
    _emails[outcome].inc()
