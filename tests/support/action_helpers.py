"""Rasa SDK trackers, dispatcher and the real domain for action tests."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

from rasa.shared.core.domain import Domain
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from tests.conftest import ROOT

DOMAIN: Dict[str, Any] = Domain.load(ROOT / "domain").as_dict()  # as Rasa sends it to actions


def tracker(
    text: str = "",
    intent: Optional[str] = None,
    slots: Optional[Dict[str, Any]] = None,
    form: Optional[str] = None,
    requested: Optional[str] = None,
    channel: str = "rest",
    sender: str = "unit-test",
) -> Tracker:
    """A tracker whose latest message is `text` (classified as `intent`) with `slots` set."""
    all_slots = {name: None for name in DOMAIN["slots"]}
    all_slots.update({"acc45_attempts": 0, **(slots or {}), "requested_slot": requested})
    return Tracker(
        sender_id=sender,
        slots=all_slots,
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9} if intent else {}},
        events=[{"event": "user", "text": text, "input_channel": channel}],
        paused=False,
        followup_action=None,
        active_loop={"name": form} if form else {},
        latest_action_name="action_listen",
    )


def run(action: Action, t: Tracker) -> tuple:
    """Run an action; return (events, texts, all messages)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, DOMAIN))
    return events, [m.get("text") or m.get("response") for m in dispatcher.messages], dispatcher.messages


def slots_set(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def ask_actions() -> Dict[str, Any]:
    """The forms' ask actions rasa_sdk's action server registers from actions/ (AskForSlot subclasses), by name."""
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    registered = {name: executor.actions[name] for name in executor.actions if name.startswith("action_ask")}
    return {name: getattr(run, "__self__", run) for name, run in registered.items()}  # the executor keeps `run`
