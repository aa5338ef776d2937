"""Per-platform constants and the settings of a channel, read from environment variables.

Secrets never come from credentials.yml: a channel entry there may only rename the environment
variables it reads (`app_secret_env: INSTAGRAM_APP_SECRET`) or choose non-secret options.
Unset variables leave the channel loaded but locked: every webhook is refused with 403.
`ChannelSettings` is a pydantic `BaseSettings` (bot/env_settings.py): `ChannelSettings()` reads the default variable
names from the environment; `ChannelSettings.load` reads the names a credentials.yml entry chose.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from pydantic import Field, validator

from bot.channels.formatting import Limits
from bot.channels.graph_client import DEFAULT_API_VERSION, DEFAULT_BASE_URL
from bot.env_settings import EnvSettings

logger = logging.getLogger(__name__)

# credentials.yml keys that hold environment variable names, and the names used when a key is absent.
ENV_KEYS = {
    "app_secret_env": "META_APP_SECRET",
    "verify_token_env": "META_VERIFY_TOKEN",
    "graph_base_url_env": "META_GRAPH_BASE_URL",
    "graph_api_version_env": "META_GRAPH_API_VERSION",
}
OPTION_KEYS = {"access_token_env", "buttons", "appsecret_proof"}
BUTTON_STYLES = {"template", "quick_replies"}


@dataclass(frozen=True)
class Platform:
    """What differs between Messenger and Instagram Direct."""

    name: str  # channel name in the tracker and in the webhook URL: /webhooks/<name>/webhook
    webhook_object: str  # the `object` of its webhook payloads
    limits: Limits
    access_token_env: str
    buttons: str  # default button style: "template" (button template when it fits) or "quick_replies"
    messaging_type: Optional[str]  # Send API `messaging_type`, where the platform wants one


class ChannelSettings(EnvSettings):
    """Everything a channel needs at run time; the default environment variable of each setting."""

    app_secret: Optional[str] = Field(None, env=ENV_KEYS["app_secret_env"], repr=False)
    verify_token: Optional[str] = Field(None, env=ENV_KEYS["verify_token_env"], repr=False)
    access_token: Optional[str] = Field(None, repr=False)  # its variable is the platform's (Platform.access_token_env)
    graph_base_url: str = Field(DEFAULT_BASE_URL, env=ENV_KEYS["graph_base_url_env"])
    graph_api_version: str = Field(DEFAULT_API_VERSION, env=ENV_KEYS["graph_api_version_env"])
    prefer_template: bool = True
    use_appsecret_proof: bool = True

    @validator("app_secret", "verify_token", "access_token", "graph_base_url", "graph_api_version", pre=True)
    def _blank_is_unset(cls, value: Optional[str]) -> Optional[str]:
        """Surrounding spaces dropped; blank = unset."""
        return (value or "").strip() or None

    @validator("graph_base_url", "graph_api_version", pre=True, always=True)
    def _default_when_unset(cls, value: Optional[str], field: Any) -> str:
        return value or field.default

    @classmethod
    def load(
        cls,
        platform: Platform,
        credentials: Optional[Mapping[str, Any]] = None,
        environ: Optional[Mapping[str, str]] = None,
    ) -> ChannelSettings:
        """Settings from the environment, using the variable names and options in `credentials`.

        Every variable is read here (a renamed one never falls back to its default name), then validated.
        """
        environ = os.environ if environ is None else environ
        credentials = dict(credentials or {})
        for key in sorted(set(credentials) - set(ENV_KEYS) - OPTION_KEYS):
            logger.warning(
                "%s channel: credentials.yml key %r ignored (secrets are read from environment variables only)",
                platform.name,
                key,
            )
        names: Dict[str, str] = {key: str(credentials.get(key) or default) for key, default in ENV_KEYS.items()}
        names["access_token_env"] = str(credentials.get("access_token_env") or platform.access_token_env)
        buttons = str(credentials.get("buttons") or platform.buttons)
        if buttons not in BUTTON_STYLES:
            logger.warning("%s channel: unknown buttons style %r, using %r", platform.name, buttons, platform.buttons)
            buttons = platform.buttons
        return cls(
            **{key[: -len("_env")]: environ.get(name) for key, name in names.items()},
            prefer_template=buttons == "template",
            use_appsecret_proof=credentials.get("appsecret_proof", True) is not False,
        )
