"""Rasa's socketio channel, fixed for python-socketio 5.x and restricted to the website's origins.

credentials.yml names this class instead of `socketio`; the channel keeps the name "socketio" and its settings.

- Rasa 3.6.21 calls `sio.enter_room(...)` without `await` (RasaHQ/rasa#13027), but python-socketio >= 5.10
  made it a coroutine: with `session_persistence: true` the socket never joins its session's room, so every bot
  answer is emitted to nobody. The `session_request` handler is replaced by one that awaits it.
- Rasa builds its Socket.IO server with `cors_allowed_origins=[]`, which turns Engine.IO's Origin check off:
  `rasa run --cors` then limits HTTP long-polling only, not WebSocket connections. The `connect` handler is
  wrapped to refuse a browser (a request with an Origin header) from an origin not in $WEB_ALLOWED_ORIGINS,
  the same list `rasa run --cors` gets from bot/launcher.py.
- A session id must look like one (letters, digits, - or _, 8 to 128 characters); anything else gets a new one.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, Iterable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint

from bot.message_limits import limited
from bot.web.settings import default_allowed_origins, parse_origins

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,128}")


def allowed_origins_from_env() -> tuple:
    """$WEB_ALLOWED_ORIGINS, or the local demo page's origins (as the web service defaults)."""
    configured = parse_origins(os.environ.get("WEB_ALLOWED_ORIGINS"))
    return configured or default_allowed_origins(int(os.environ.get("WEB_PORT") or 8000))


def origin_allowed(origin: Optional[str], allowed: Iterable[str]) -> bool:
    """No Origin header (not a browser) or a listed origin ("*" lists all)."""
    allowed = tuple(allowed)
    return not origin or "*" in allowed or origin.rstrip("/") in allowed


def valid_session_id(data: Any) -> Optional[str]:
    session_id = data.get("session_id") if isinstance(data, dict) else None
    return session_id if isinstance(session_id, str) and SESSION_ID.fullmatch(session_id) else None


class SocketIOInput(RasaSocketIOInput):
    """Rasa's socket.io input channel with the fixes described in this module's docstring."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(limited(on_new_message))
        sio = self.sio
        assert sio is not None  # set by super().blueprint
        namespace = self.namespace or "/"
        rasa_connect = sio.handlers[namespace]["connect"]
        allowed = allowed_origins_from_env()

        async def connect(sid: str, environ: Dict, auth: Optional[Dict] = None) -> bool:
            origin = environ.get("HTTP_ORIGIN")
            if not origin_allowed(origin, allowed):
                logger.warning("socket.io connection refused: origin %r is not allowed", origin)
                return False
            return await rasa_connect(sid, environ, auth)

        async def session_request(sid: str, data: Optional[Dict]) -> None:
            session_id = valid_session_id(data) or uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        sio.on("connect", connect, namespace=self.namespace)
        sio.on("session_request", session_request, namespace=self.namespace)
        return blueprint
