"""HTTP to Cliniko's API (aiohttp): the headers its readme requires, paging by `links.next`, and each failure
turned into a `BookingUnavailable` reason.

What the readme of github.com/redguava/cliniko-api asks, and where it is done here:
- "HTTP Basic authentication ... provide the Cliniko API Key ... as the basic auth username. There is no need to
  provide a password": `aiohttp.BasicAuth(api_key, "")`.
- "send the `User-Agent` header ... `APP_VENDOR_NAME (APP_VENDOR_EMAIL)`" and "Make sure to send the `Accept`
  header with `application/json`"; `Content-Type: application/json` on writes (the curl examples of each POST).
- "Requests exceeding the rate limit will receive a response with a 429 status": `Retry-After` (seconds or an
  HTTP date), else the documented `X-RateLimit-Reset` (a UNIX time), is waited for once if it is short.
- Pagination: "It is recommended to follow these links instead of constructing your own URLs" (`ClinikoSession.pages`).

Logs name the method, the path template ("/patients/:id"), the status and the reason: never the URL (its query
may hold a patient's name), a body, an exception's text, nor the key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import asynccontextmanager
from email.utils import parsedate_to_datetime
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, NoReturn, Optional, Sequence, Tuple
from urllib.parse import quote, urlsplit

import aiohttp
from yarl import URL

from bot.booking.provider import BookingUnavailable

logger = logging.getLogger(__name__)

MAX_RETRY_WAIT = 3.0  # seconds: a longer Retry-After is "rate_limited" (the patient should not wait for it)
MAX_PAGES = 50  # a runaway `links.next` chain is an unexpected answer, not an endless loop

Query = Sequence[Tuple[str, str]]
Sleep = Callable[[float], Awaitable[None]]


def retry_delay(headers: Any, now: Optional[float] = None) -> Optional[float]:
    """Seconds a 429 asks to wait: `Retry-After` (seconds or HTTP date), else `X-RateLimit-Reset` (UNIX time)."""
    now = time.time() if now is None else now
    value = headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError, IndexError):
                return None
    reset = headers.get("X-RateLimit-Reset")
    try:
        return max(0.0, float(reset) - now) if reset else None
    except ValueError:
        return None


def fill(template: str, ids: Sequence[str]) -> str:
    """'/patients/:id' with ("12",) -> '/patients/12' (each `:name` segment in turn, percent-encoded)."""
    values = iter(ids)
    parts = [quote(str(next(values)), safe="") if part.startswith(":") else part for part in template.split("/")]
    return "/".join(parts)


class ClinikoSession:
    """Requests of one provider call, sharing one aiohttp session."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, timeout: float, sleep: Sleep) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._sleep = sleep

    async def get(self, template: str, *ids: str, query: Query = ()) -> Any:
        return await self.request("GET", template, *ids, query=query)

    async def request(
        self, method: str, template: str, *ids: str, query: Query = (), body: Optional[Dict[str, Any]] = None
    ) -> Any:
        """One call of `template` filled with `ids`: the JSON answer (None for 204). Raises BookingUnavailable."""
        url = URL(self._base + fill(template, ids), encoded=True)
        if query:
            url = url.with_query(list(query))
        return await self._send(method, template, url, body)

    async def pages(self, key: str, template: str, *ids: str, query: Query = ()) -> List[Any]:
        """Every item under `key` of a list answer, following `links.next` (never building page URLs)."""
        answer = await self.request("GET", template, *ids, query=query)
        items: List[Any] = []
        for _ in range(MAX_PAGES):
            if not isinstance(answer, dict) or not isinstance(answer.get(key), list):
                self._fail("GET", template, None, "bad_answer")
            items.extend(answer[key])
            links = answer.get("links")
            link = links.get("next") if isinstance(links, dict) else None
            if not link:
                return items
            answer = await self._send("GET", template, self._same_origin(link, template), None)
        self._fail("GET", template, None, "bad_answer")

    def _same_origin(self, link: Any, template: str) -> URL:
        """The next page's URL; only on the API's own scheme, host and port (the key is never sent elsewhere)."""
        if not isinstance(link, str):
            self._fail("GET", template, None, "bad_answer")
        base = URL(self._base)
        if link.startswith("/"):  # available_times' documented example gives a path without /v1
            path = link if link.startswith(base.path.rstrip("/") + "/") else base.path.rstrip("/") + link
            return URL(str(base.origin()).rstrip("/") + path, encoded=True)
        parts = urlsplit(link)
        if (parts.scheme, parts.netloc) != (base.scheme, base.raw_authority):
            self._fail("GET", template, None, "bad_answer")
        return URL(link, encoded=True)

    async def _send(self, method: str, template: str, url: URL, body: Optional[Dict[str, Any]]) -> Any:
        for attempt in (1, 2):
            status, headers, raw = await self._exchange(method, template, url, body)
            if status == 429:
                wait = retry_delay(headers)
                if attempt == 1 and wait is not None and wait <= MAX_RETRY_WAIT:
                    logger.info("Cliniko %s %s: 429, retrying once in %.1f s", method, template, wait)
                    await self._sleep(wait)
                    continue
                self._fail(method, template, status, "rate_limited")
            if status in (401, 403):
                self._fail(method, template, status, "unauthorised")
            if status >= 500:
                self._fail(method, template, status, "server_error")
            if not 200 <= status < 300:  # other 4xx; a 3xx is not followed (it could lead the key elsewhere)
                self._fail(method, template, status, "refused")
            logger.debug("Cliniko %s %s: %s", method, template, status)
            if status == 204 or not raw.strip():
                return None
            try:
                return json.loads(raw.decode("utf-8"))
            except ValueError:  # UnicodeDecodeError included
                self._fail(method, template, status, "bad_answer")
        raise AssertionError("unreachable")  # pragma: no cover

    async def _exchange(
        self, method: str, template: str, url: URL, body: Optional[Dict[str, Any]]
    ) -> Tuple[int, Any, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else None
        try:
            async with self._http.request(
                method, url, json=body, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as answer:
                return answer.status, answer.headers, await answer.read()
        except asyncio.TimeoutError:
            reason = "timeout"
        except aiohttp.ClientError:  # refused, reset, DNS, TLS: Cliniko cannot be reached
            reason = "server_error"
        self._fail(method, template, None, reason)

    @staticmethod
    def _fail(method: str, template: str, status: Optional[int], reason: str) -> NoReturn:
        """Log the failure (no URL, body nor exception text) and raise it without its cause attached."""
        logger.warning("Cliniko %s %s failed: %s (HTTP %s)", method, template, reason, status or "-")
        error = BookingUnavailable(reason)
        error.__suppress_context__ = True  # tracebacks must not carry aiohttp's message (it names the URL)
        raise error


class ClinikoClient:
    """Opens `ClinikoSession`s for one account: key, base URL, User-Agent, per-request timeout."""

    def __init__(
        self, api_key: str, base_url: str, user_agent: str, timeout_seconds: float, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._auth = aiohttp.BasicAuth(api_key, "")
        self._base_url = base_url
        self._headers = {"Accept": "application/json", "User-Agent": user_agent}
        self._timeout = timeout_seconds
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"ClinikoClient({self._base_url!r})"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[ClinikoSession]:
        """One aiohttp session for the requests of one provider call, closed at the end of it.

        A session per call rather than one per process: the action server and the tests run calls on different
        event loops, and an aiohttp session belongs to the loop it was made on.
        """
        async with aiohttp.ClientSession(auth=self._auth, headers=self._headers) as http:
            yield ClinikoSession(http, self._base_url, self._timeout, self._sleep)
