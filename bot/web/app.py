"""The web service (FastAPI): the chat widget's files, the demo page, /healthz, /readyz, the staff API and console.

Run it with `python -m bot.web` (bot/processes/launcher.py starts it as the third process of the stack).
One router per concern (bot/web/widget_files.py, demo_page.py, readiness.py, staff_api.py, metrics.py); what the routes
need comes through the dependencies of bot/web/dependencies.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import AsyncIterator, Awaitable, Callable, Dict, Optional

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from bot.analytics.service import shared_analytics
from bot.clinic.profile import load_profile
from bot.processes.request_limits import WEB_MAX_BYTES
from bot.responses import response_text
from bot.staff.mail_settings import MailSettings
from bot.storage.booking_requests import BookingRequestStore, shared_store
from bot.web import console, demo_page, metrics, readiness, staff_api, widget_files
from bot.web.assets import MissingWidgetDependency, WidgetBundle, build_bundle, loader_script
from bot.web.console.auth import LoginRequired, redirect_to_login
from bot.web.console.templates import HERE as CONSOLE_DIR
from bot.web.dependencies import WebState
from bot.web.settings import WebSettings

logger = logging.getLogger(__name__)

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin"}


async def limit_body_and_add_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """413 for any request with a body over WEB_MAX_BYTES (no route takes one); security headers on every answer."""
    if int(request.headers.get("content-length") or 0) > WEB_MAX_BYTES or (
        "chunked" in request.headers.get("transfer-encoding", "").lower()
    ):
        return JSONResponse({"detail": "request body too large"}, status_code=413)
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def widget_defaults(settings: WebSettings) -> Dict[str, str]:
    """What the loader tells the widget when the page's <script> tag does not say otherwise."""
    return {
        "serverUrl": settings.browser_rasa_url,
        "footnote": response_text("utter_widget_footnote"),
        # under a message that got no answer in time (with Retry): the clinic's other routes, from the clinic profile
        "contactText": response_text("utter_widget_no_answer", contact_route=load_profile().contact_route()),
        # "Was this helpful?" under the latest answer, the thanks once the patient rated it, the 👍 / 👎 buttons' names
        "feedbackQuestion": response_text("utter_widget_feedback_question"),
        "feedbackThanks": response_text("utter_widget_feedback_thanks"),
        "feedbackUp": response_text("utter_widget_feedback_up"),
        "feedbackDown": response_text("utter_widget_feedback_down"),
    }


def widget_files_or_none(settings: WebSettings) -> Optional[WidgetBundle]:
    """The widget bundle built from settings.widget_dir; None (logged) when its dependencies are not installed."""
    try:
        return build_bundle(settings.widget_dir)
    except MissingWidgetDependency as error:
        logger.error("chat widget unavailable: %s", error)
        return None


async def update_analytics(state: WebState, stop: asyncio.Event) -> None:
    """The analytics' stored aggregates, kept current from the conversations (bot/analytics/service.py). If the
    databases cannot be reached at the start (a database still starting), it tries again every interval."""
    interval = state.settings.analytics_interval
    while not stop.is_set():
        try:
            staff = await asyncio.to_thread(state.staff)
            analytics = await asyncio.to_thread(shared_analytics, staff.requests.engine, staff.transcripts.engine)
        except Exception as error:  # noqa: BLE001 - the console says the numbers are not current; the service runs on
            logger.error("analytics: cannot start updating the aggregates, trying again: %s", type(error).__name__)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
            continue
        await analytics.run(stop, interval)
        return


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While the service runs: the analytics' updates and, when set up, the e-mail notifications of new requests
    (bot/staff/notifications.py)."""
    state: WebState = app.state.web
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    workers = [loop.create_task(update_analytics(state, stop))]
    if state.mail.enabled:
        workers.append(loop.create_task(state.staff().outbox.run(stop, state.mail.notify_interval)))
    else:
        logger.info("e-mail notifications of new requests are off (SMTP_HOST is not set)")
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):  # a send still going: cut short
            await asyncio.wait_for(asyncio.gather(*workers), timeout=15)


def create_app(
    settings: Optional[WebSettings] = None,
    bundle: Optional[WidgetBundle] = None,
    store_factory: Optional[Callable[[], BookingRequestStore]] = None,
    mail: Optional[MailSettings] = None,
) -> FastAPI:
    """The application; by default settings come from the environment and the bundle from web_widget/."""
    settings = settings or WebSettings.from_env()
    bundle = bundle if bundle is not None else widget_files_or_none(settings)
    if not settings.staff_api_token:
        logger.warning("STAFF_API_TOKEN is not set: the staff API refuses every request")

    app = FastAPI(
        title="Acute Acupuncture web service", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.web = WebState(
        settings=settings,
        bundle=bundle,
        loader=loader_script(bundle, widget_defaults(settings)) if bundle else None,
        store_factory=store_factory or functools.partial(shared_store, settings.booking_requests_db_url),
        mail=mail or MailSettings.from_env(),  # wrong mail settings stop the start, naming the variable
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_methods=["GET"],
        allow_headers=["Authorization"],
        max_age=600,
    )
    app.middleware("http")(limit_body_and_add_headers)
    app.middleware("http")(metrics.count_requests)  # outermost: counts the 413s too
    for router in (demo_page.router, widget_files.router, readiness.router, staff_api.router, console.router):
        app.include_router(router)
    app.include_router(metrics.router)  # GET /metrics (Prometheus), not public: bot/metrics/access.py
    app.mount("/staff/static", StaticFiles(directory=CONSOLE_DIR / "static"), name="console-static")

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, error: LoginRequired) -> Response:
        return redirect_to_login(request, error.next_path)

    return app
