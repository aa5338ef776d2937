"""What the assistant can offer, declared once, and which offer the last reply made.

A reply offers something by carrying `offer: <name>` in its metadata: responses in domain/
(`metadata: {offer: acc_check}`), custom actions through `offer_metadata(...)`. Accepting an offer is the
same as asking for it: the patient's "yep" becomes the offer's intent (with its entities), so the rules that
already answer "check my eligibility" or "book the free consultation" do the rest. Adding an offer means
declaring it here and tagging the reply that makes it; no rules per path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence


@dataclass(frozen=True)
class Offer:
    """What saying yes to an offer asks for: an intent and the entities it carries."""

    intent: str
    entities: Dict[str, str] = field(default_factory=dict)


OFFERS: Dict[str, Offer] = {
    "acc_check": Offer("check_acc_eligibility"),
    "booking": Offer("book_appointment"),
    "acc_booking": Offer("book_appointment", {"appointment_type": "acc_treatment"}),
    "free_consult": Offer("book_appointment", {"appointment_type": "free_consult"}),
    "contact": Offer("request_contact"),
    "person": Offer("human_handoff"),
}
URGENT = "urgent"  # `context: urgent`: urgent-care advice was just given


def offer_metadata(offer: str) -> Dict[str, Any]:
    """Keyword arguments for `dispatcher.utter_message` that mark a custom action's reply as an offer."""
    if offer not in OFFERS:
        raise ValueError(f"unknown offer {offer!r}")
    return {"metadata": {"offer": offer}}


def _tags(event: Dict[str, Any]) -> Dict[str, Any]:
    """A bot message's tags: its response's `metadata` (a domain response's, or `offer_metadata`'s)."""
    return (event.get("metadata") or {}).get("metadata") or {}


def last_bot_turn(events: Iterable[Any]) -> List[Dict[str, Any]]:
    """The bot messages sent since the patient's previous message (as event dicts, oldest first)."""
    turn: List[Dict[str, Any]] = []
    for event in reversed(events if isinstance(events, Sequence) else list(events)):
        data = event.as_dict() if hasattr(event, "as_dict") else event
        kind = data.get("event")
        if kind == "user":
            part = (data.get("parse_data") or {}).get("part") or [1, 1]
            if part[0] > 1:
                continue  # a later question of the same message: its replies and the earlier ones are one reply
            break
        if kind == "bot":
            turn.append(data)
    return list(reversed(turn))


def offer_in(turn: List[Dict[str, Any]]) -> Optional[str]:
    """The offer made in a reply (the latest one if it made several), or None."""
    offers = [_tags(e).get("offer") for e in turn]
    return next((o for o in reversed(offers) if o in OFFERS), None)


def context_in(turn: List[Dict[str, Any]]) -> Optional[str]:
    """A reply's `context` tag (e.g. "urgent" after urgent-care advice), or None."""
    contexts = [_tags(e).get("context") for e in turn]
    return next((c for c in reversed(contexts) if c), None)


def pending_offer(events: Iterable[Any]) -> Optional[str]:
    """The offer made in the last reply, or None."""
    return offer_in(last_bot_turn(events))
