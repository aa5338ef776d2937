"""`GET /metrics` of the web service (Prometheus), and the middleware that counts every request.

The metrics are bot/metrics/web_service.py's plus prometheus-client's process metrics (memory, CPU, open files).
Who may read them: bot/metrics/access.py, as a dependency (`MetricsReader`): `METRICS_TOKEN` as a bearer token, else
loopback clients that did not come through a proxy; 401/403 otherwise.
"""

from __future__ import annotations

import time
from typing import Annotated, Awaitable, Callable

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from bot.metrics import web_service as metrics
from bot.metrics.access import CHALLENGE, UNAUTHORIZED, refusal
from bot.web.dependencies import Settings

router = APIRouter()
# Prometheus' classic text format (what `generate_latest` writes), named as the library's own HTTP handler names it
# for a scraper that asks for nothing else (its CONTENT_TYPE_LATEST says "version=1.0.0", newer than older scrapers)
TEXT_FORMAT = CONTENT_TYPE_PLAIN_0_0_4


def metrics_reader(request: Request, settings: Settings) -> None:
    """Lets the request through only under the rule of bot/metrics/access.py (401 or 403 otherwise)."""
    client_ip = request.client.host if request.client else None  # uvicorn: the socket's peer unless a proxy header
    status = refusal(request.headers.get("authorization"), request.headers.keys(), client_ip, settings.metrics_token)
    if status is not None:
        raise HTTPException(status, "metrics: not allowed", headers=CHALLENGE if status == UNAUTHORIZED else None)


MetricsReader = Annotated[None, Depends(metrics_reader)]


@router.get("/metrics", include_in_schema=False)
def scrape(_: MetricsReader) -> Response:
    return Response(generate_latest(), headers={"Content-Type": TEXT_FORMAT, "Cache-Control": "no-store"})


def route_label(request: Request) -> str:
    """The template of the route that answered (`/staff/conversations/{ref}`), a mount's `<prefix>/{path}`, or
    "unmatched": never the path as requested."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if "endpoint" in request.scope and request.scope.get("root_path"):  # a mount (the console's static files)
        return f"{request.scope['root_path']}/{{path}}"
    return metrics.UNMATCHED


async def count_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Counts each request by route template, method and status class, and times it."""
    started = time.perf_counter()
    status = 500  # what the client gets if the route raised
    try:
        response = await call_next(request)
        status = response.status_code
        return response
    finally:
        route = route_label(request)
        metrics.REQUESTS.labels(route, metrics.method_label(request.method), metrics.status_class(status)).inc()
        metrics.REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)
