"""`python -m bot.web`: run the web service with uvicorn, settings from the environment (bot/web/settings.py)."""

from __future__ import annotations

import logging

import uvicorn

from bot.privacy import log_redaction
from bot.web.app import create_app
from bot.web.settings import WebSettings

LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s  - %(message)s"


def main() -> None:
    # the format of Rasa's and the action server's lines (coloredlogs'), which the launcher's terminal reads
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per readiness probe (/readyz asks Rasa and actions)
    log_redaction.install()  # the same redaction as the Rasa servers (health information never in a log)
    settings = WebSettings.from_env()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=None,  # uvicorn's messages through the root logger above, in its format
        access_log=settings.access_log,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
