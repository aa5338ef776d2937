"""The web service (FastAPI): the chat widget's files, the demo page, /healthz, /readyz and the staff API.

Run it with `python -m bot.web` (bot/processes/launcher.py starts it as the third process of the stack).
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bot.clinic.profile import load_profile
from bot.processes.request_limits import WEB_MAX_BYTES
from bot.storage.booking_requests import BookingRequestStore, shared_store
from bot.web import readiness
from bot.web.assets import Asset, MissingWidgetDependency, WidgetBundle, build_bundle, loader_script
from bot.web.demo_page import render_demo_page
from bot.web.settings import WebSettings
from bot.web.staff_api import staff_router

logger = logging.getLogger(__name__)

IMMUTABLE = "public, max-age=31536000, immutable"
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin"}


def _serve(request: Request, asset: Asset, cache_control: str) -> Response:
    """An in-memory asset with its ETag (304 when unchanged) and its gzipped copy when the browser accepts it."""
    headers = {"Cache-Control": cache_control, "ETag": asset.etag, "Vary": "Accept-Encoding"}
    if asset.etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(asset.gzipped, media_type=asset.media_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def _content_security_policy(settings: WebSettings) -> str:
    rasa = settings.browser_rasa_url
    websocket = rasa.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return (
        "default-src 'self'; "
        f"connect-src 'self' {rasa} {websocket}; "
        "img-src 'self' https: data:; "
        "style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )


def create_app(
    settings: Optional[WebSettings] = None,
    bundle: Optional[WidgetBundle] = None,
    store_factory: Optional[Callable[[], BookingRequestStore]] = None,
) -> FastAPI:
    """The application; by default settings come from the environment and the bundle from web_widget/."""
    settings = settings or WebSettings.from_env()
    if bundle is None:
        try:
            bundle = build_bundle(settings.widget_dir)
        except MissingWidgetDependency as error:
            logger.error("chat widget unavailable: %s", error)
    loader = loader_script(bundle, {"serverUrl": settings.browser_rasa_url}) if bundle else None
    if not settings.staff_api_token:
        logger.warning("STAFF_API_TOKEN is not set: the staff API refuses every request")

    app = FastAPI(title="Acute Acupuncture web service", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_methods=["GET"],
        allow_headers=["Authorization"],
        max_age=600,
    )

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable) -> Response:
        if int(request.headers.get("content-length") or 0) > WEB_MAX_BYTES or (
            "chunked" in request.headers.get("transfer-encoding", "").lower()
        ):
            return JSONResponse({"detail": "request body too large"}, status_code=413)  # no route takes a body
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.get("/", response_class=HTMLResponse)
    def demo_page() -> HTMLResponse:
        """A page of the clinic with the widget on it."""
        html = render_demo_page(load_profile(), "/widget.js", widget_available=bundle is not None)
        return HTMLResponse(
            html,
            headers={
                "Cache-Control": "no-cache",
                "Content-Security-Policy": _content_security_policy(settings),
                "X-Frame-Options": "DENY",
            },
        )

    @app.get("/widget.js")
    def widget_loader(request: Request) -> Response:
        """The one <script> tag's target: short-cached, loads the current versioned bundle."""
        if loader is None:
            return Response(
                "console.error('Acute Acupuncture chat widget: not installed on the server (npm ci in web_widget)');",
                status_code=503,
                media_type="text/javascript",
                headers={"Cache-Control": "no-store"},
            )
        return _serve(request, loader, f"public, max-age={settings.loader_max_age}")

    @app.get("/widget/{filename}")
    def widget_bundle(filename: str, request: Request) -> Response:
        """The bundle under its content-hashed name, cached for a year."""
        if bundle is None or filename != bundle.filename:
            return JSONResponse({"detail": "not found"}, status_code=404, headers={"Cache-Control": "no-store"})
        return _serve(request, bundle.script, IMMUTABLE)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """The web service itself answers."""
        return JSONResponse(
            {
                "status": "ok",
                "widget": {"version": bundle.version, "file": bundle.filename} if bundle else "missing",
            },
            headers={"Cache-Control": "no-store"},
        )

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        """Ready when the Rasa server and the action server both answer; 503 otherwise."""
        ready, checks = await readiness.check(settings)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
            headers={"Cache-Control": "no-store"},
        )

    app.include_router(
        staff_router(settings, store_factory or (lambda: shared_store(settings.booking_requests_db_url)))
    )
    return app
