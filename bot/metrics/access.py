"""Who may read `/metrics` (Rasa's and the web service's): the one rule, applied by both servers.

- `METRICS_TOKEN` set: only a request with `Authorization: Bearer <token>` (constant-time comparison); anything else
  gets 401 (with `WWW-Authenticate: Bearer`), wherever it comes from.
- unset: only a client on loopback that did not come through a proxy. Behind nginx every request arrives from
  127.0.0.1, so a request carrying any proxy header (`Forwarded`, `X-Forwarded-*`, `X-Real-IP`) is refused too;
  anything else gets 403 (no credential is accepted: set a token to scrape from elsewhere).
The production nginx also answers 404 for `/metrics` (deploy/nginx.conf.template): Prometheus scrapes each server's
own port. The metrics hold no patient data, but they show the clinic's traffic and failures: not public.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Iterable, Optional

from bot.channels.webhook_auth import bearer_matches

TOKEN_ENV = "METRICS_TOKEN"  # the web service reads it through WebSettings.metrics_token
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="metrics"'}
UNAUTHORIZED, FORBIDDEN = 401, 403


def token_from_env() -> Optional[str]:
    """$METRICS_TOKEN, or None when unset or blank (as WebSettings reads it)."""
    return (os.environ.get(TOKEN_ENV) or "").strip() or None


def is_loopback(client_ip: Optional[str]) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback; False for anything else (names, empty, None)."""
    try:
        address = ipaddress.ip_address((client_ip or "").strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def proxied(header_names: Iterable[str]) -> bool:
    """True if any header says a proxy passed the request on."""
    for name in header_names:
        name = name.lower()
        if name in ("forwarded", "x-real-ip") or name.startswith("x-forwarded-"):
            return True
    return False


def refusal(
    authorization: Optional[str], header_names: Iterable[str], client_ip: Optional[str], token: Optional[str]
) -> Optional[int]:
    """None when the request may read the metrics, else the HTTP status to answer (401 or 403)."""
    if token:
        return None if bearer_matches(authorization, token) else UNAUTHORIZED
    if proxied(header_names) or not is_loopback(client_ip):
        return FORBIDDEN
    return None
