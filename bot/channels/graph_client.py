"""Async client for the Send API (POST {base}/{version}/me/messages) with retries and backoff.

Errors are logged with Meta's error code, subcode, type and fbtrace_id and the recipient id, never
with the message text, Meta's error message or the access token (which travels in the query string,
as Meta documents, so URLs are not logged either). Retried with exponential backoff and jitter:
HTTP 5xx and 429, Graph rate limits and transient errors, network errors and timeouts. Not retried:
other 4xx (bad request, expired token, user outside the 24-hour window...): retrying cannot help.
A call given up is counted for Prometheus (`clinic_meta_send_failures_total`, bot/metrics/assistant.py) by platform,
kind and `failure_reason`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any, Dict, Optional

import aiohttp

from bot.channels.webhook_auth import appsecret_proof
from bot.metrics.assistant import meta_send_failed

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v26.0"  # current in Nov 2026: developers.facebook.com/docs/graph-api/changelog

# Graph error codes worth retrying: rate limits (app, user, page, per-call, business use case for
# Pages / Instagram / Messenger) and transient failures (unknown, service unavailable, temporary send failure).
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001, 80002, 80006})
TRANSIENT_CODES = frozenset({1, 2, 1200})


def should_retry(status: int, error: Dict[str, Any]) -> bool:
    """Whether a failed Send API call may succeed if repeated later."""
    if status >= 500 or status == 429:
        return True
    code = error.get("code")
    return code in RATE_LIMIT_CODES or code in TRANSIENT_CODES or error.get("is_transient") is True


def failure_reason(status: int, error: Dict[str, Any]) -> str:
    """The metrics' reason of a failed call: rate limited, Meta's server failing, or refused (any other 4xx)."""
    if status == 429 or error.get("code") in RATE_LIMIT_CODES:
        return "rate_limited"
    if status >= 500 or error.get("code") in TRANSIENT_CODES or error.get("is_transient") is True:
        return "server_error"
    return "refused"


def backoff_delay(attempt: int, base: float, cap: float, retry_after: Optional[float] = None) -> float:
    """Seconds to wait before attempt `attempt + 1`: exponential with jitter, at least Retry-After, at most `cap`."""
    delay = min(cap, base * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)  # noqa: S311 (jitter)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, cap)


def _retry_after(headers: Any) -> Optional[float]:
    try:
        return float(headers.get("Retry-After"))
    except (TypeError, ValueError):
        return None


class GraphClient:
    """Posts Send API bodies for one access token. One aiohttp session, created on first use."""

    def __init__(
        self,
        access_token: Optional[str],
        base_url: str = DEFAULT_BASE_URL,
        api_version: str = DEFAULT_API_VERSION,
        app_secret: Optional[str] = None,
        max_attempts: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        timeout: float = 10.0,
        platform: str = "meta",
    ) -> None:
        """`platform`: the channel's name ("facebook", "instagram"), for the metrics."""
        self.access_token = access_token
        self.platform = platform
        self.url = f"{base_url.rstrip('/')}/{api_version.strip('/')}/me/messages"
        self.app_secret = app_secret
        self.max_attempts = max(1, max_attempts)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: Optional[aiohttp.ClientSession] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._warned_no_token = False

    def _params(self) -> Dict[str, str]:
        params = {"access_token": self.access_token or ""}
        if self.app_secret and self.access_token:
            params["appsecret_proof"] = appsecret_proof(self.access_token, self.app_secret)
        return params

    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
            self._loop = loop
        return self._session

    async def close(self) -> None:
        """Close the HTTP session (the next call opens a new one)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def send(self, body: Dict[str, Any], what: str, retry: bool = True) -> Optional[Dict[str, Any]]:
        """POST one Send API body; return Meta's answer, or None if it failed (the failure is logged).

        `what` names the call in logs ("message", "typing_on"...). With `retry=False` (sender actions,
        where a late retry is worse than nothing) a failure is logged and not repeated.
        """
        recipient = (body.get("recipient") or {}).get("id", "?")
        if not self.access_token:
            if not self._warned_no_token:  # once, not for every typing indicator
                logger.error("Graph %s to %s not sent: no access token configured", what, recipient)
                self._warned_no_token = True
            meta_send_failed(self.platform, what, "no_token")
            return None
        attempts = self.max_attempts if retry else 1
        reason = "network"
        for attempt in range(1, attempts + 1):
            retry_after: Optional[float] = None
            try:
                session = self._get_session()
                async with session.post(self.url, params=self._params(), json=body) as response:
                    status = response.status
                    try:
                        answer = await response.json(content_type=None)
                    except ValueError:
                        answer = None
                    if 200 <= status < 300:
                        return answer if isinstance(answer, dict) else {}
                    error = answer.get("error") if isinstance(answer, dict) else None
                    error = error if isinstance(error, dict) else {}
                    retry_after = _retry_after(response.headers)
                    retryable = should_retry(status, error)
                    reason = failure_reason(status, error)
                    logger.log(
                        logging.WARNING if retryable and attempt < attempts else logging.ERROR,
                        "Graph %s to %s failed: HTTP %s, code %s, subcode %s, type %s, fbtrace_id %s (attempt %d/%d%s)",
                        what,
                        recipient,
                        status,
                        error.get("code"),
                        error.get("error_subcode"),
                        error.get("type"),
                        error.get("fbtrace_id"),
                        attempt,
                        attempts,
                        ", retrying" if retryable and attempt < attempts else ", giving up",
                    )
                    if not retryable:
                        meta_send_failed(self.platform, what, reason)
                        return None
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                reason = "network"
                logger.log(
                    logging.WARNING if attempt < attempts else logging.ERROR,
                    "Graph %s to %s failed: %s (attempt %d/%d%s)",
                    what,
                    recipient,
                    type(exc).__name__,
                    attempt,
                    attempts,
                    ", retrying" if attempt < attempts else ", giving up",
                )
            if attempt < attempts:
                await asyncio.sleep(backoff_delay(attempt, self.base_delay, self.max_delay, retry_after))
        meta_send_failed(self.platform, what, reason)
        return None
