"""The action server: rasa-sdk's app, bound to loopback and refusing any caller without the shared secret.

    ACTION_SERVER_TOKEN=... python -m bot.processes.action_server --actions actions --port 5055 [--host 127.0.0.1]

What `rasa run actions` (rasa-sdk 3.6.2) does, with three differences, each guarded by tests/e2e/test_security.py:
- it binds `--host` (default $ACTION_SERVER_HOST or 127.0.0.1); rasa-sdk binds $SANIC_HOST, default 0.0.0.0,
  i.e. every interface;
- every request except `GET /health` must carry `Authorization: Bearer $ACTION_SERVER_TOKEN` (compared in
  constant time), else 401 and nothing runs. Rasa sends it: `action_endpoint.headers` in endpoints.yml. Without
  a token the server refuses to start. `/health` stays open for readiness probes: it runs nothing, says "ok";
- no CORS (no browser ever calls it) and a request body limit (`ACTION_SERVER_MAX_BYTES`, 413).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import List, Optional

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app, create_argument_parser
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.webhook_auth import bearer_matches
from bot.processes.request_limits import ACTION_SERVER_MAX_BYTES

logger = logging.getLogger(__name__)

TOKEN_ENV = "ACTION_SERVER_TOKEN"
HOST_ENV = "ACTION_SERVER_HOST"
OPEN_PATHS = frozenset({"/health"})


def require_token(app: Sanic, token: str) -> None:
    """Refuse (401) every request but `GET /health` that lacks the token, before any action runs."""
    if not token:
        raise ValueError(f"${TOKEN_ENV} is empty")

    @app.on_request
    async def check_token(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS and request.method in ("GET", "HEAD"):
            return None
        if bearer_matches(request.headers.get("authorization"), token):
            return None
        logger.warning("action server: %s %s refused (missing or wrong token)", request.method, request.path)
        return response.json({"error": "unauthorized"}, status=401)


def build_app(actions: str, token: str) -> Sanic:
    """rasa-sdk's action server app with the token check and the body limit."""
    app = create_app(actions, cors_origins=None)
    app.config.REQUEST_MAX_SIZE = ACTION_SERVER_MAX_BYTES
    require_token(app, token)

    @app.exception(SanicException)
    async def http_error(request: Request, error: SanicException) -> HTTPResponse:
        """Sanic's own 4xx (413 body too large, 404, 405) keep their status; rasa-sdk would turn them into 500."""
        return response.json({"error": type(error).__name__}, status=getattr(error, "status_code", 500))

    return app


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = create_argument_parser()  # rasa-sdk's: --port, --actions, logging options, ...
    parser.add_argument("--host", default=os.environ.get(HOST_ENV) or "127.0.0.1", help="interface to bind")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        print(f"Set {TOKEN_ENV}: the secret Rasa sends to the action server (`make run` makes one).", file=sys.stderr)
        return 2
    utils.configure_colored_logging(args.loglevel)  # as `rasa run actions` does
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel, args.logging_config_file
    )
    utils.update_sanic_log_level()
    app = build_app(args.actions or "actions", token)
    logger.info("Action server on http://%s:%s (token required)", args.host, args.port)
    app.run(args.host, int(args.port), workers=1, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
