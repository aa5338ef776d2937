"""Who is asking: the staff session cookie, CSRF checks, log-in and log-out.

- The cookie is HttpOnly, SameSite=Lax (a link in the notification e-mail opens the page logged in) and holds only
  a random token (bot/staff/sessions.py). Behind TLS it is `__Host-staff_session`: Secure, Path=/, and no other
  site or port of the same host can plant one of that name; over plain http (a local `make run`) `staff_session`.
- The pages' automatic refreshes (the script routes polling for news) do not count as use: an open tab nobody
  touches is logged out after the idle time like any other.
- Every POST carries the session's CSRF token (a form field, or the `X-CSRF-Token` header from console.js) and,
  when the browser sends one, an Origin of this service. The log-in form has its own token in a short-lived
  cookie (double submit), so nobody can log a staff member's browser into another account.
- No session: a page redirects to the log-in (303, back to the page afterwards); a JSON route answers 401.
"""

from __future__ import annotations

import secrets
import threading
from typing import Annotated, Optional
from urllib.parse import quote, urlsplit

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from bot.metrics import web_service as web_metrics
from bot.staff import audit
from bot.staff.sessions import StaffSession
from bot.web.console.services import StaffServices
from bot.web.console.templates import CLINIC_TIME, render
from bot.web.dependencies import web_state

COOKIE = "staff_session"
SECURE_COOKIE = "__Host-staff_session"  # the name behind TLS (the prefix makes browsers require Secure and Path=/)
LOGIN_CHECKS = threading.BoundedSemaphore(2)  # argon2 takes 64 MiB and ~0.2 s a check: at most two at a time
LOGIN_COOKIE = "staff_login_csrf"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """Raised by `staff_page` without a session; answered with a redirect to the log-in page (bot/web/app.py)."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def services(request: Request) -> StaffServices:
    return web_state(request).staff()


Services = Annotated[StaffServices, Depends(services)]


def cookie_name(request: Request) -> str:
    return SECURE_COOKIE if secure_cookie(request) else COOKIE


def session_token(request: Request) -> Optional[str]:
    return request.cookies.get(cookie_name(request))


def current_session(request: Request, staff: Services) -> Optional[StaffSession]:
    return staff.sessions.find(session_token(request))


def page_after_login(request: Request) -> str:
    """Where the log-in leads back to: this page, or for a form sent after the session ended, the page of the form
    (its URL without the last part: /staff/requests/7/status -> /staff/requests/7)."""
    path = request.url.path
    return path if request.method == "GET" else path.rsplit("/", 1)[0] + ("/" if path.count("/") <= 2 else "")


def staff_page(request: Request, session: Annotated[Optional[StaffSession], Depends(current_session)]) -> StaffSession:
    """A page's session; without one, the log-in page (coming back here afterwards)."""
    if session is None:
        raise LoginRequired(page_after_login(request))
    return session


def staff_json(request: Request, staff: Services) -> StaffSession:
    """A script route's session (a page polling for news: not counted as use); 401 without one."""
    session = staff.sessions.find(session_token(request), touch=False)
    if session is None:
        raise HTTPException(status_code=401, detail="log in first", headers={"Cache-Control": "no-store"})
    return session


def same_origin(request: Request) -> bool:
    """No Origin header (old browsers, curl with a session) or this service's own origin."""
    origin = request.headers.get("origin")
    if not origin:
        return True
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return urlsplit(origin).netloc == host


async def csrf_checked(request: Request, session: Annotated[StaffSession, Depends(staff_page)]) -> StaffSession:
    """A POST's session, with its CSRF token (form field or header) and origin checked: 403 otherwise."""
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        form = await request.form()
        value = form.get("csrf_token")
        presented = value if isinstance(value, str) else None
    if not session.csrf_ok(presented) or not same_origin(request):
        raise HTTPException(status_code=403, detail="this form has expired: reload the page and try again")
    return session


Staff = Annotated[StaffSession, Depends(staff_page)]
StaffJson = Annotated[StaffSession, Depends(staff_json)]
StaffPost = Annotated[StaffSession, Depends(csrf_checked)]


def safe_next(path: Optional[str]) -> str:
    """Only a path of this console (no scheme, no host, no //): anything else goes to the inbox."""
    if path and path.startswith("/staff/") and not path.startswith("//") and "\\" not in path and "\n" not in path:
        return path
    return "/staff/"


def secure_cookie(request: Request) -> bool:
    configured = web_state(request).settings.staff_cookie_secure
    return configured if configured is not None else request.url.scheme == "https"


def login_page(
    request: Request, next_path: str = "/staff/", error: Optional[str] = None, status: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", {"next": safe_next(next_path), "error": error, "login_csrf": token}, status_code=status
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=1800,
        httponly=True,
        samesite="strict",
        secure=secure_cookie(request),
        path="/staff/login",
    )
    return response


def redirect_to_login(request: Request, next_path: str) -> Response:
    return RedirectResponse(f"/staff/login?next={quote(safe_next(next_path))}", status_code=303)


def log_in(
    request: Request,
    staff: Services,
    username: str = Form("", max_length=200),
    password: str = Form("", max_length=1000),
    login_csrf: str = Form("", max_length=100),
    next: str = Form("/staff/", max_length=500),
) -> Response:
    """A plain `def`: FastAPI runs it in a thread, so the password check never holds up the event loop."""
    expected = request.cookies.get(LOGIN_COOKIE)
    if not expected or not secrets.compare_digest(expected.encode(), login_csrf.encode()) or not same_origin(request):
        web_metrics.staff_login("form_expired")
        return login_page(request, next, "The log-in form had expired. Please try again.", status=403)
    with LOGIN_CHECKS:
        result = staff.accounts.log_in(username, password)
    if result.user is None:
        if result.locked_until:
            staff.audit.record(result.account, audit.LOCKED_OUT if result.account else audit.LOCKED_OUT_UNKNOWN)
            web_metrics.staff_login("locked_out")
            until = result.locked_until.astimezone(CLINIC_TIME).strftime("%-I:%M %p").lower()
            message = (
                f"Too many failed log-ins for this user name: try again after {until}, "
                "or ask whoever runs the assistant to set a new password."
            )
            return login_page(request, next, message, status=429)
        staff.audit.record(result.account, audit.LOGIN_FAILED if result.account else audit.LOGIN_FAILED_UNKNOWN)
        web_metrics.staff_login("wrong_credentials")
        return login_page(request, next, "The user name or password is not right.", status=401)
    staff.sessions.end(session_token(request))  # a cookie from before the log-in never becomes a logged-in session
    token, _ = staff.sessions.start(result.user)
    staff.audit.record(result.user.username, audit.LOGGED_IN)
    web_metrics.staff_login("success")
    response = RedirectResponse(safe_next(next), status_code=303)
    secure = secure_cookie(request)
    response.set_cookie(
        cookie_name(request), token, httponly=True, samesite="lax", secure=secure, path="/" if secure else "/staff"
    )
    response.delete_cookie(LOGIN_COOKIE, path="/staff/login")
    return response


def log_out(request: Request, staff: Services, session: StaffPost) -> Response:
    staff.sessions.end(session_token(request))
    staff.audit.record(session.user.username, audit.LOGGED_OUT)
    response = RedirectResponse("/staff/login?logged_out=1", status_code=303)
    secure = secure_cookie(request)
    response.delete_cookie(cookie_name(request), path="/" if secure else "/staff", secure=secure, httponly=True)
    return response
