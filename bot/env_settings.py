"""What every settings class of the project shares: read from environment variables (pydantic 1 `BaseSettings`),
a variable set to "" counts as unset, frozen, and errors that name the variable but never its value.

Subclasses: bot/web/settings.py (the web service), bot/staff/mail_settings.py (e-mail notifications),
bot/channels/settings.py (Messenger, Instagram).
"""

from __future__ import annotations

from typing import ClassVar, Tuple, Type, TypeVar

from pydantic import BaseSettings, ValidationError
from pydantic.env_settings import SettingsSourceCallable

S = TypeVar("S", bound="EnvSettings")


class SettingsError(ValueError):
    """Environment variables with values the settings cannot take; the message names each variable."""


def readable(error: ValidationError, settings: type, what: str) -> SettingsError:
    """'WEB_PORT: value is not a valid integer' for each wrong field (values left out: some are secrets)."""
    fields = settings.__fields__  # type: ignore[attr-defined]
    problems = []
    for item in error.errors():
        field = fields.get(str(item["loc"][0]))
        env = field.field_info.extra.get("env", field.name) if field else item["loc"][0]
        problems.append(f"{env}: {item['msg']}")
    return SettingsError(f"invalid settings of {what}: " + "; ".join(problems))


def set_only(source: SettingsSourceCallable) -> SettingsSourceCallable:
    """The environment source without variables set to "" (`WEB_PORT=` means the default)."""
    return lambda settings: {name: value for name, value in source(settings).items() if value != ""}


class EnvSettings(BaseSettings):
    """Settings from the environment; `from_env()` raises SettingsError naming each wrong variable."""

    WHAT: ClassVar[str] = "the settings"  # "invalid settings of {WHAT}: ..."

    class Config:
        frozen = True
        case_sensitive = True

        @classmethod
        def customise_sources(
            cls,
            init_settings: SettingsSourceCallable,
            env_settings: SettingsSourceCallable,
            file_secret_settings: SettingsSourceCallable,
        ) -> Tuple[SettingsSourceCallable, ...]:
            return init_settings, set_only(env_settings)

    @classmethod
    def from_env(cls: Type[S]) -> S:
        """The settings from the environment variables; SettingsError naming each variable that is wrong."""
        try:
            return cls()
        except ValidationError as error:
            raise readable(error, cls, cls.WHAT) from None
