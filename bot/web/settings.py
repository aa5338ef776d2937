"""Settings of the web service: one place, read from environment variables with defaults that work locally.

A pydantic `BaseSettings` (bot/env_settings.py): each field names its environment variable; a variable set to ""
counts as unset.
Documented in web_widget/README.md ("Settings"). The allowed origins are parsed by bot/web/origins.py, which the
launcher uses too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from pydantic import Field, validator

from bot.env_settings import EnvSettings
from bot.web.origins import default_allowed_origins, parse_origins

__all__ = ["WebSettings", "default_allowed_origins", "parse_origins"]

ROOT = Path(__file__).resolve().parent.parent.parent


class WebSettings(EnvSettings):
    """Everything the web service can be told, with the environment variable of each."""

    WHAT = "the web service"

    host: str = Field("127.0.0.1", env="WEB_HOST")
    port: int = Field(8000, env="WEB_PORT")
    rasa_url: str = Field("http://127.0.0.1:5005", env="RASA_URL")
    rasa_public_url: str = Field("", env="RASA_PUBLIC_URL")  # what browsers connect to; "" = rasa_url
    action_server_url: str = Field("http://127.0.0.1:5055", env="ACTION_SERVER_URL")
    # browsers' origins allowed by CORS and the socket.io channel; empty = the demo page's own (default_allowed_origins)
    allowed_origins: Tuple[str, ...] = Field((), env="WEB_ALLOWED_ORIGINS")
    # unset = the staff API refuses every request
    staff_api_token: Optional[str] = Field(None, env="STAFF_API_TOKEN", repr=False)
    # None = BookingRequestStore's default ($BOOKING_REQUESTS_DB_URL, else .data/requests.sqlite)
    booking_requests_db_url: Optional[str] = Field(None, env="BOOKING_REQUESTS_DB_URL", repr=False)
    widget_dir: Path = Field(ROOT / "web_widget", env="WIDGET_DIR")
    loader_max_age: int = Field(300, env="WEB_LOADER_MAX_AGE")  # seconds browsers may cache /widget.js
    readiness_timeout: float = Field(2.0, env="WEB_READINESS_TIMEOUT")
    # staff console (bot/web/console/): sessions end after this long without a request, and after this many hours
    staff_session_idle_minutes: int = Field(30, env="STAFF_SESSION_IDLE_MINUTES")
    staff_session_hours: int = Field(12, env="STAFF_SESSION_HOURS")
    # the session cookie's Secure flag: None = when the request came over https (X-Forwarded-Proto behind nginx)
    staff_cookie_secure: Optional[bool] = Field(None, env="STAFF_COOKIE_SECURE")
    # the Rasa process's staff routes (live takeover, bot/channels/staff.py); unset = takeover unavailable
    staff_channel_token: Optional[str] = Field(None, env="STAFF_CHANNEL_TOKEN", repr=False)
    # uvicorn's per-request log (off: quieter, and URLs can carry sender ids); 1/true/yes turn it on
    access_log: bool = Field(False, env="WEB_ACCESS_LOG")
    # review (bot/web/console/): a patient message whose intent confidence is below this is flagged "low confidence"
    review_low_confidence: float = Field(0.6, env="REVIEW_LOW_CONFIDENCE", ge=0.0, le=1.0)
    # seconds between two updates of the analytics' stored aggregates from the conversations (bot/analytics/)
    analytics_interval: float = Field(60.0, env="ANALYTICS_INTERVAL", gt=0)
    # GET /metrics (Prometheus): with a token, only `Authorization: Bearer <token>`; unset, only loopback clients
    # that did not come through a proxy (docs/production.md)
    metrics_token: Optional[str] = Field(None, env="METRICS_TOKEN", repr=False)

    class Config:
        @classmethod
        def parse_env_var(cls, field_name: str, raw_val: str) -> Any:
            return parse_origins(raw_val) if field_name == "allowed_origins" else raw_val

    @validator("rasa_url", "rasa_public_url", "action_server_url")
    def _no_trailing_slash(cls, url: str) -> str:
        return url.rstrip("/")

    @validator("allowed_origins", pre=True, always=True)
    def _origins(cls, origins: Any, values: Dict[str, Any]) -> Tuple[str, ...]:
        if isinstance(origins, str):
            origins = parse_origins(origins)
        return tuple(origins or ()) or default_allowed_origins(values.get("port", 8000))

    @validator("staff_api_token", "booking_requests_db_url", "staff_channel_token", "metrics_token")
    def _blank_is_unset(cls, value: Optional[str]) -> Optional[str]:
        return value or None

    @property
    def browser_rasa_url(self) -> str:
        return (self.rasa_public_url or self.rasa_url).rstrip("/")

