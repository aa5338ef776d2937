"""`python -m bot.web`: run the web service with uvicorn, settings from the environment (bot/web/settings.py)."""

from __future__ import annotations

import logging

import uvicorn

from bot.privacy import log_redaction
from bot.web.app import create_app
from bot.web.settings import WebSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_redaction.install()  # the same redaction as the Rasa servers (health information never in a log)
    settings = WebSettings.from_env()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=settings.access_log,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
