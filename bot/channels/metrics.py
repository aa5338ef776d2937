"""`GET /metrics` on the Rasa server: this process's Prometheus metrics (bot/metrics/assistant.py).

A channel only because channels are how `rasa run` takes extra routes (credentials.yml, as bot/channels/readiness.py);
it handles no message. The path is `/metrics` (Prometheus' default), not under /webhooks/: `url_prefix` is joined to
Rasa's "/webhooks/" route with `urljoin`, so an absolute prefix replaces it. Who may read it: bot/metrics/access.py
($METRICS_TOKEN as a bearer token, else loopback clients that did not come through a proxy); the production nginx
answers 404 for it (deploy/nginx.conf.template): each Rasa process is scraped on its own port.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.metrics import assistant  # noqa: F401 (the metrics exist, at 0, before the first message)
from bot.metrics.access import CHALLENGE, UNAUTHORIZED, refusal, token_from_env

PATH = "/metrics"
TEXT_FORMAT = CONTENT_TYPE_PLAIN_0_0_4  # Prometheus' classic text format, as bot/web/metrics.py serves it


class MetricsInput(InputChannel):
    """Adds `GET /metrics`; handles no messages."""

    @classmethod
    def name(cls) -> str:
        return "metrics"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> MetricsInput:
        return cls()

    def __init__(self, token: Optional[str] = None) -> None:
        self.token = token if token is not None else token_from_env()

    def url_prefix(self) -> str:
        return PATH

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("clinic_metrics", __name__)

        @blueprint.route("", methods=["GET"])
        async def metrics(request: Request) -> HTTPResponse:
            client_ip = getattr(request.conn_info, "client_ip", None)  # the socket's peer, never a header
            status = refusal(request.headers.get("authorization"), request.headers.keys(), client_ip, self.token)
            if status is not None:
                headers = CHALLENGE if status == UNAUTHORIZED else {}
                return response.text("metrics: not allowed\n", status=status, headers=headers)
            headers = {"Cache-Control": "no-store"}
            return response.raw(generate_latest(), content_type=TEXT_FORMAT, headers=headers)

        return blueprint
