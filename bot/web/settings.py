"""Settings of the web service: one place, read from environment variables with defaults that work locally.

Documented in web_widget/README.md ("Settings"). Kept free of web framework imports: bot/processes/launcher.py
uses it too.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent.parent


def default_allowed_origins(port: int) -> Tuple[str, ...]:
    """The demo page's own origins: what a local `make run` needs."""
    return (f"http://127.0.0.1:{port}", f"http://localhost:{port}")


def parse_origins(value: Optional[str]) -> Tuple[str, ...]:
    """'https://a.nz, https://b.nz/' -> ('https://a.nz', 'https://b.nz'); commas or spaces separate."""
    return tuple(origin.rstrip("/") for origin in re.split(r"[,\s]+", value or "") if origin.strip())


@dataclass(frozen=True)
class WebSettings:
    """Everything the web service can be told; see `from_env` for the environment variable of each."""

    host: str = "127.0.0.1"
    port: int = 8000
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_public_url: str = ""  # what browsers connect to; "" = rasa_url
    action_server_url: str = "http://127.0.0.1:5055"
    allowed_origins: Tuple[str, ...] = field(default_factory=lambda: default_allowed_origins(8000))
    staff_api_token: Optional[str] = None  # unset = the staff API refuses every request
    booking_requests_db_url: Optional[str] = None  # None = BookingRequestStore's default ($BOOKING_REQUESTS_DB_URL)
    widget_dir: Path = ROOT / "web_widget"
    loader_max_age: int = 300  # seconds browsers may cache /widget.js (the versioned bundle: a year)
    readiness_timeout: float = 2.0
    access_log: bool = False  # uvicorn's per-request log (off: quieter, and URLs can carry sender ids)

    @property
    def browser_rasa_url(self) -> str:
        return (self.rasa_public_url or self.rasa_url).rstrip("/")

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> WebSettings:
        env = os.environ if environ is None else environ
        port = int(env.get("WEB_PORT") or 8000)
        return cls(
            host=env.get("WEB_HOST") or "127.0.0.1",
            port=port,
            rasa_url=(env.get("RASA_URL") or "http://127.0.0.1:5005").rstrip("/"),
            rasa_public_url=(env.get("RASA_PUBLIC_URL") or "").rstrip("/"),
            action_server_url=(env.get("ACTION_SERVER_URL") or "http://127.0.0.1:5055").rstrip("/"),
            allowed_origins=parse_origins(env.get("WEB_ALLOWED_ORIGINS")) or default_allowed_origins(port),
            staff_api_token=env.get("STAFF_API_TOKEN") or None,
            booking_requests_db_url=env.get("BOOKING_REQUESTS_DB_URL") or None,
            widget_dir=Path(env.get("WIDGET_DIR") or ROOT / "web_widget"),
            loader_max_age=int(env.get("WEB_LOADER_MAX_AGE") or 300),
            readiness_timeout=float(env.get("WEB_READINESS_TIMEOUT") or 2.0),
            access_log=(env.get("WEB_ACCESS_LOG") or "").lower() in ("1", "true", "yes"),
        )
