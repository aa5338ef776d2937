"""Settings of the e-mail notifications of new requests, read from environment variables.

A pydantic `BaseSettings` with the project's conventions (bot/env_settings.py): each field names its environment
variable, a variable set to "" counts as unset, `MailSettings.from_env()` raises `SettingsError` naming each wrong
variable (never its value: the password is one).

| Variable | Default | Meaning |
|---|---|---|
| SMTP_HOST | unset | the mail server; unset = notifications are off (nothing is recorded or sent) |
| SMTP_PORT | 587 | its port (465 = TLS from the first byte, see SMTP_TLS) |
| SMTP_USERNAME, SMTP_PASSWORD | unset | log in when set (both or neither); only over TLS unless SMTP_TLS=off |
| SMTP_FROM | required with SMTP_HOST | the sender, `notify@clinic.nz` or `Clinic assistant <notify@clinic.nz>` |
| STAFF_NOTIFY_TO | required with SMTP_HOST | who is told, addresses separated by commas |
| STAFF_CONSOLE_URL | http://127.0.0.1:8000 | the console's public base URL, for the link in the e-mail |
| SMTP_TLS | auto | auto: STARTTLS when offered (TLS from the start on port 465); require: never without TLS; |
|  |  | implicit: TLS from the start on any port; off: plain text (a relay on loopback) |
| SMTP_CA_FILE | unset | certificates (PEM) to trust instead of the system's, for a private mail server |
| SMTP_TIMEOUT | 10 | seconds to wait for the server at each step |

The server's certificate is always verified when TLS is used.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import Any, Dict, Literal, Optional, Tuple
from urllib.parse import urlsplit

from pydantic import Field, FilePath, validator

from bot.env_settings import EnvSettings, SettingsError

__all__ = ["MailSettings", "SettingsError", "parse_addresses"]

_ADDRESS = re.compile(r"[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+")


def parse_addresses(value: Optional[str]) -> Tuple[str, ...]:
    """'a@clinic.nz, b@clinic.nz' -> ('a@clinic.nz', 'b@clinic.nz'); commas or spaces separate."""
    return tuple(part for part in re.split(r"[,\s]+", value or "") if part)


def _checked_address(value: str, allow_name: bool) -> str:
    """The value if it is one e-mail address (`Name <address>` too when allow_name); ValueError otherwise."""
    if "\r" in value or "\n" in value:
        raise ValueError("must be on one line")
    name, address = parseaddr(value)
    if not _ADDRESS.fullmatch(address) or (not allow_name and value.strip() != address):
        raise ValueError("is not an e-mail address")
    return value.strip()


class MailSettings(EnvSettings):
    """Where and how notifications are sent, with the environment variable of each setting."""

    WHAT = "the e-mail notifications"

    smtp_host: Optional[str] = Field(None, env="SMTP_HOST")
    smtp_port: int = Field(587, env="SMTP_PORT", gt=0, lt=65536)
    smtp_username: Optional[str] = Field(None, env="SMTP_USERNAME")
    smtp_password: Optional[str] = Field(None, env="SMTP_PASSWORD", repr=False)
    smtp_from: Optional[str] = Field(None, env="SMTP_FROM")
    notify_to: Tuple[str, ...] = Field((), env="STAFF_NOTIFY_TO")
    console_url: str = Field("http://127.0.0.1:8000", env="STAFF_CONSOLE_URL")
    smtp_tls: Literal["auto", "require", "implicit", "off"] = Field("auto", env="SMTP_TLS")
    smtp_ca_file: Optional[FilePath] = Field(None, env="SMTP_CA_FILE")
    smtp_timeout: float = Field(10.0, env="SMTP_TIMEOUT", gt=0)
    # how often the web service looks for new requests to e-mail (seconds); a resend asked in the console is at once
    notify_interval: float = Field(15.0, env="STAFF_NOTIFY_INTERVAL", gt=0)

    class Config:
        @classmethod
        def parse_env_var(cls, field_name: str, raw_val: str) -> Any:
            return parse_addresses(raw_val) if field_name == "notify_to" else raw_val

    @validator("smtp_host", "smtp_username", "smtp_from")
    def _blank_is_unset(cls, value: Optional[str]) -> Optional[str]:
        return value.strip() if value and value.strip() else None

    @validator("smtp_password", always=True)
    def _login_needs_both(cls, password: Optional[str], values: Dict[str, Any]) -> Optional[str]:
        if bool(password) != bool(values.get("smtp_username")):
            raise ValueError("SMTP_USERNAME and SMTP_PASSWORD are set together or not at all")
        return password

    @validator("smtp_from", always=True)
    def _sender(cls, sender: Optional[str], values: Dict[str, Any]) -> Optional[str]:
        if sender is None:
            if values.get("smtp_host"):
                raise ValueError("required when SMTP_HOST is set")
            return None
        return _checked_address(sender, allow_name=True)

    @validator("notify_to", pre=True, always=True)
    def _recipients(cls, recipients: Any, values: Dict[str, Any]) -> Tuple[str, ...]:
        if isinstance(recipients, str):
            recipients = parse_addresses(recipients)
        recipients = tuple(_checked_address(str(address), allow_name=False) for address in recipients or ())
        if not recipients and values.get("smtp_host"):
            raise ValueError("required when SMTP_HOST is set")
        return recipients

    @validator("console_url")
    def _base_url(cls, url: str) -> str:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("must be an http(s) URL without a query, e.g. https://clinic.nz")
        return url.strip().rstrip("/")

    @property
    def enabled(self) -> bool:
        """False when SMTP_HOST is unset: notifications are off."""
        return bool(self.smtp_host)

    @property
    def implicit_tls(self) -> bool:
        """TLS from the first byte (SMTPS): SMTP_TLS=implicit, or port 465 unless SMTP_TLS=off."""
        return self.smtp_tls == "implicit" or (self.smtp_port == 465 and self.smtp_tls != "off")

    def summary(self) -> str:
        """'smtp.clinic.nz:587, TLS auto, login, 2 recipients' for the log (no address, no password)."""
        tls = "implicit" if self.implicit_tls else self.smtp_tls
        login = ", login" if self.smtp_username else ""
        return f"{self.smtp_host}:{self.smtp_port}, TLS {tls}{login}, {len(self.notify_to)} recipient(s)"

