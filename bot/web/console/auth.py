"""Who is asking: the staff session cookie, CSRF checks, log-in and log-out.

- The cookie `staff_session` is HttpOnly, SameSite=Lax (a link in the notification e-mail opens the page logged
  in), Secure behind TLS, and holds only a random token (bot/staff/sessions.py).
- Every POST carries the session's CSRF token (a form field, or the `X-CSRF-Token` header from console.js) and,
  when the browser sends one, an Origin of this service. The log-in form has its own token in a short-lived
  cookie (double submit), so nobody can log a staff member's browser into another account.
- No session: a page redirects to the log-in (303, back to the page afterwards); a JSON route answers 401.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Optional
from urllib.parse import quote, urlsplit

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from bot.staff import audit
from bot.staff.sessions import StaffSession
from bot.web.console.services import StaffServices
from bot.web.console.templates import CLINIC_TIME, render
from bot.web.dependencies import web_state

COOKIE = "staff_session"
LOGIN_COOKIE = "staff_login_csrf"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """Raised by `staff_page` without a session; answered with a redirect to the log-in page (bot/web/app.py)."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def services(request: Request) -> StaffServices:
    return web_state(request).staff()


Services = Annotated[StaffServices, Depends(services)]


def current_session(request: Request, staff: Services) -> Optional[StaffSession]:
    return staff.sessions.find(request.cookies.get(COOKIE))


def staff_page(request: Request, session: Annotated[Optional[StaffSession], Depends(current_session)]) -> StaffSession:
    """A page's session; without one, the log-in page (coming back here afterwards)."""
    if session is None:
        raise LoginRequired(request.url.path)
    return session


def staff_json(session: Annotated[Optional[StaffSession], Depends(current_session)]) -> StaffSession:
    """A script route's session; 401 without one."""
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


async def log_in(
    request: Request,
    staff: Services,
    username: str = Form("", max_length=200),
    password: str = Form("", max_length=1000),
    login_csrf: str = Form("", max_length=100),
    next: str = Form("/staff/", max_length=500),
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE)
    if not expected or not secrets.compare_digest(expected.encode(), login_csrf.encode()) or not same_origin(request):
        return login_page(request, next, "The log-in form had expired. Please try again.", status=403)
    result = staff.accounts.log_in(username, password)
    if result.user is None:
        if result.locked_until:
            until = result.locked_until.astimezone(CLINIC_TIME).strftime("%-I:%M %p").lower()
            message = (
                f"Too many failed log-ins for this user name: try again after {until}, or ask a colleague to reset it."
            )
            return login_page(request, next, message, status=429)
        return login_page(request, next, "The user name or password is not right.", status=401)
    old = request.cookies.get(COOKIE)
    staff.sessions.end(old)  # a cookie from before the log-in never becomes a logged-in session
    token, _ = staff.sessions.start(result.user)
    staff.audit.record(result.user.username, audit.LOGGED_IN)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=secure_cookie(request), path="/staff")
    response.delete_cookie(LOGIN_COOKIE, path="/staff/login")
    return response


def log_out(request: Request, staff: Services, session: StaffPost) -> Response:
    staff.sessions.end(request.cookies.get(COOKIE))
    staff.audit.record(session.user.username, audit.LOGGED_OUT)
    response = RedirectResponse("/staff/login?logged_out=1", status_code=303)
    response.delete_cookie(COOKIE, path="/staff")
    return response
