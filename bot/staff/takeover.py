"""The console's client for live takeover: calls the staff routes of a Rasa process (bot/channels/staff.py).

    client = TakeoverClient(settings.rasa_url, os.environ.get("STAFF_CHANNEL_TOKEN"))
    delivery = await client.take_over("web:0123...", "Aroha")   # the patient is told Aroha joined; bot paused
    delivery = await client.send("web:0123...", "Aroha", "Hi, I can book that for you.")
    delivery = await client.hand_back("web:0123...", "Aroha")   # the patient is told; the assistant answers again

Each call answers a `Delivery`: whether the message reached the patient, on which channel (web, messenger,
instagram, rest, other), why not (`reason`), the HTTP status and whether the conversation is paused afterwards. A
refusal about the request itself (unknown conversation 404, a message to a conversation not taken over 409, a
body Rasa does not take 400/413) is a `Delivery` too, with `delivered=False`, its status, a reason and Rasa's
`error` text. `TakeoverUnavailable` is raised when Rasa cannot do it at all: unreachable, timed out, 5xx, 401
(the token is missing or not Rasa's), or an answer that is not the routes' JSON. The sender id travels in the
body, never in the URL, and nothing is logged here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

import httpx

PATH = "/webhooks/staff"

# reasons for the console (the staff channel's own, plus the refusals mapped from their status)
UNKNOWN_CONVERSATION = "unknown_conversation"  # 404
NOT_TAKEN_OVER = "not_taken_over"  # 409: a message to a conversation that is not paused
INVALID = "invalid"  # 400 / 413: the name or text is not what the route takes
REFUSALS = {404: UNKNOWN_CONVERSATION, 409: NOT_TAKEN_OVER, 400: INVALID, 413: INVALID}


class TakeoverUnavailable(RuntimeError):
    """Rasa could not be asked, or could not do it (unreachable, 5xx, 401, not the routes' answer)."""


@dataclass(frozen=True)
class Delivery:
    """What became of one takeover, message or hand-back."""

    delivered: bool
    channel: Optional[str]
    reason: Optional[str]  # None when delivered; see bot/channels/staff.py and REFUSALS
    status: int
    paused: Optional[bool] = None  # the conversation afterwards (None: not said)
    error: Optional[str] = None  # Rasa's explanation of a refusal


class TakeoverClient:
    """Async client of the staff routes of one Rasa process (`rasa_url`: loopback, not the public nginx)."""

    def __init__(self, rasa_url: str, token: Optional[str], timeout: float = 5.0) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        self.token = (token or "").strip()
        self.timeout = timeout

    @property
    def available(self) -> bool:
        """False without a token: the console says takeover is not set up."""
        return bool(self.token)

    async def take_over(self, sender_id: str, staff_name: str) -> Delivery:
        """Pause the assistant in the conversation and tell the patient `staff_name` (a first name) joined."""
        return await self._post("takeover", {"sender_id": sender_id, "staff_name": staff_name})

    async def send(self, sender_id: str, staff_name: str, text: str) -> Delivery:
        """Send `text` (1 to 1000 characters) to the patient of a conversation taken over."""
        return await self._post("message", {"sender_id": sender_id, "staff_name": staff_name, "text": text})

    async def hand_back(self, sender_id: str, staff_name: str) -> Delivery:
        """Tell the patient the assistant is back, and resume it."""
        return await self._post("handback", {"sender_id": sender_id, "staff_name": staff_name})

    async def _post(self, route: str, body: Dict[str, Any]) -> Delivery:
        if not self.token:
            raise TakeoverUnavailable("no STAFF_CHANNEL_TOKEN configured for the staff routes")
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with httpx.AsyncClient(timeout=self.timeout, trust_env=False) as client:
                answer = await client.post(f"{self.rasa_url}{PATH}/{route}", json=body, headers=headers)
        except httpx.HTTPError as error:
            raise TakeoverUnavailable(f"Rasa's staff routes did not answer ({type(error).__name__})") from None
        if answer.status_code == 401:
            raise TakeoverUnavailable("Rasa refused the staff token (401): check STAFF_CHANNEL_TOKEN")
        if answer.status_code >= 500:
            raise TakeoverUnavailable(f"Rasa could not do it (HTTP {answer.status_code})")
        try:
            data = answer.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise TakeoverUnavailable(f"Rasa's answer is not the staff routes' JSON (HTTP {answer.status_code})")
        paused = data.get("paused") if isinstance(data.get("paused"), bool) else None
        if answer.status_code == 200 and isinstance(data.get("delivered"), bool):
            return Delivery(data["delivered"], data.get("channel"), data.get("reason"), 200, paused)
        if answer.status_code in REFUSALS:
            error = data.get("error") if isinstance(data.get("error"), str) else None
            return Delivery(False, None, REFUSALS[answer.status_code], answer.status_code, paused, error)
        raise TakeoverUnavailable(f"unexpected answer from Rasa's staff routes (HTTP {answer.status_code})")
