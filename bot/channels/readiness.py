"""`GET /webhooks/ready/` on the Rasa server: 200 when it can answer patients, 503 and what is wrong otherwise.

Rasa 3.6 answers its channels' routes even when it has no model (every message then got no reply) or when its
conversations database fails, so "the server answers" says nothing about whether patients are served. This
route checks that a model is loaded and that the conversations database takes a write (a rolled-back delete of
no row, bot/storage/tracker_store.py). The web service's /readyz and bot/processes/launcher.py ask it.
It is a channel only
because channels are how `rasa run` takes extra routes (credentials.yml); it never handles a message.
The answer names the problem, never a path, URL or error text (those are in the log).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

NO_MODEL = "no model is loaded"
DATABASE = "the conversations database cannot be written"


def tracker_store_problem(agent: Any) -> Optional[str]:
    """Why the agent's tracker store cannot take a write, or None (stores without a probe count as fine)."""
    store = getattr(agent, "tracker_store", None)
    store = getattr(store, "_tracker_store", store)  # Rasa wraps it in a FailSafeTrackerStore
    probe: Optional[Callable[[], Optional[str]]] = getattr(store, "write_problem", None)
    return probe() if probe else None


async def problems(agent: Any) -> Dict[str, str]:
    """{"model": ..., "conversations": ...} for what keeps the server from answering; empty when ready."""
    if agent is None or not agent.is_ready():
        return {"model": NO_MODEL}
    problem = await asyncio.get_running_loop().run_in_executor(None, tracker_store_problem, agent)
    if problem:
        logger.error("not ready: %s (%s)", DATABASE, problem)
        return {"conversations": DATABASE}
    return {}


class ReadinessInput(InputChannel):
    """Adds the readiness route; handles no messages."""

    @classmethod
    def name(cls) -> str:
        return "ready"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("clinic_readiness", __name__)

        @blueprint.route("/", methods=["GET"])
        async def ready(request: Request) -> HTTPResponse:
            found = await problems(getattr(request.app.ctx, "agent", None))
            body = {"status": "not ready", "problems": found} if found else {"status": "ready"}
            return response.json(body, status=503 if found else 200, headers={"Cache-Control": "no-store"})

        return blueprint
