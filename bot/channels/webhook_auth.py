"""Authenticity checks: Meta webhooks (the subscription handshake, the payload signature), and the bearer token the
action server, the REST channel (production) and the staff routes require (`bearer_matches`)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Mapping, Optional

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="


def bearer_matches(header: Optional[str], token: Optional[str]) -> bool:
    """True only if a token is configured and `header` is exactly "Bearer <token>" (constant-time comparison)."""
    if not token:
        return False
    return hmac.compare_digest((header or "").encode(), f"Bearer {token}".encode())


def sign(app_secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta sends for `body`: "sha256=" + hex HMAC-SHA256 with the app secret."""
    return SIGNATURE_PREFIX + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_is_valid(app_secret: Optional[str], body: bytes, header: Optional[str]) -> bool:
    """True only if a secret is configured and `header` is the SHA-256 signature of the exact raw `body`.

    The comparison is constant-time. No secret, no header, another algorithm (e.g. the legacy sha1
    X-Hub-Signature) or a malformed value all count as invalid.
    """
    if not app_secret or not header:
        return False
    value = header.strip()
    if value[: len(SIGNATURE_PREFIX)].lower() != SIGNATURE_PREFIX:
        return False
    received = value[len(SIGNATURE_PREFIX) :].strip().lower().encode("utf-8", "replace")
    expected = sign(app_secret, body)[len(SIGNATURE_PREFIX) :].encode("ascii")
    return hmac.compare_digest(expected, received)


def subscription_challenge(params: Mapping[str, str], verify_token: Optional[str]) -> Optional[str]:
    """The `hub.challenge` to answer to Meta's GET verification request, or None to refuse it.

    Refused unless `hub.mode` is "subscribe", a verify token is configured and `hub.verify_token`
    matches it (constant-time).
    """
    if not verify_token or params.get("hub.mode") != "subscribe":
        return None
    given = (params.get("hub.verify_token") or "").encode("utf-8")
    if not hmac.compare_digest(verify_token.encode("utf-8"), given):
        return None
    challenge = params.get("hub.challenge")
    return challenge if challenge else None


def appsecret_proof(access_token: str, app_secret: str) -> str:
    """The `appsecret_proof` Graph API parameter: hex HMAC-SHA256 of the access token with the app secret."""
    return hmac.new(app_secret.encode("utf-8"), access_token.encode("utf-8"), hashlib.sha256).hexdigest()
