"""What a Rasa process counts, for Prometheus (served by bot/channels/metrics.py on `GET /metrics`).

Updated by bot/rasa_patches.py (messages, replies, fallbacks, technical problems, action server failures, time to
answer, lock waits: see its patches 2, 3 and 11) and bot/channels/graph_client.py (Meta send failures). Every
labelled series is created here at import, from closed sets, so each one exists (at 0) before its first event
(rate() and alerts see a start) and no request can add a series. Per message the hooks cost about 10 µs
(docs/production.md, "Metrics").
"""

from __future__ import annotations

from typing import Dict, Optional

from prometheus_client import Counter, Histogram

from bot.dialogue.intents import FALLBACK_RESPONSE

# the input channels of credentials.yml that handle patients' messages (Rasa's names); anything else is "other"
CHANNELS = ("rest", "socketio", "facebook", "instagram")
OTHER = "other"

# why a patient got the technical-problem answer (bot/service_messages.py)
NO_MODEL = "no_model"
CONVERSATIONS_DATABASE = "conversations_database"
LOCK_STORE = "lock_store"
ACTION_SERVER = "action_server"
PROBLEM_REASONS = (NO_MODEL, CONVERSATIONS_DATABASE, LOCK_STORE, ACTION_SERVER, OTHER)

# why a call to the action server failed (bot/rasa_patches.py, 3)
ACTION_FAILURE_REASONS = ("unreachable", "error_status", "timeout", OTHER)

# Meta's Send API (bot/channels/graph_client.py): which platform, what was sent, why it was given up
META_PLATFORMS = ("facebook", "instagram", "meta")
META_KINDS = ("message", "sender_action")
META_REASONS = ("no_token", "refused", "rate_limited", "server_error", "network", OTHER)

MESSAGES_RECEIVED = Counter(
    "clinic_rasa_messages_received", "Patients' messages the assistant started to handle.", ["channel"]
)
REPLIES_SENT = Counter(
    "clinic_rasa_replies_sent", "Bot messages sent to patients (the technical-problem answer included).", ["channel"]
)
FALLBACKS = Counter(
    "clinic_rasa_fallbacks", "Replies that were the assistant's fallback (utter_fallback: not understood).", ["channel"]
)
TECHNICAL_PROBLEMS = Counter(
    "clinic_rasa_technical_problems", "Messages answered with the technical-problem answer, by cause.", ["reason"]
)
ACTION_SERVER_FAILURES = Counter(
    "clinic_rasa_action_server_failures", "Custom action calls that failed (turn not stored).", ["reason"]
)
META_SEND_FAILURES = Counter(
    "clinic_meta_send_failures",
    "Send API calls given up (after any retries), by platform, kind and reason.",
    ["platform", "kind", "reason"],
)
MESSAGE_SECONDS = Histogram(
    "clinic_rasa_message_duration_seconds",
    "Time from a message's arrival in the assistant to its last reply sent (lock wait included).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LOCK_WAIT_SECONDS = Histogram(
    "clinic_rasa_lock_wait_seconds",
    "Time a message waited for its conversation's lock (another message of it being handled; Redis in production).",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

# the children, bound once: the per-message path does a dict lookup and an increment, nothing more
_received: Dict[str, Counter] = {name: MESSAGES_RECEIVED.labels(name) for name in (*CHANNELS, OTHER)}
_replies: Dict[str, Counter] = {name: REPLIES_SENT.labels(name) for name in (*CHANNELS, OTHER)}
_fallbacks: Dict[str, Counter] = {name: FALLBACKS.labels(name) for name in (*CHANNELS, OTHER)}
_problems: Dict[str, Counter] = {reason: TECHNICAL_PROBLEMS.labels(reason) for reason in PROBLEM_REASONS}
_action_failures: Dict[str, Counter] = {
    reason: ACTION_SERVER_FAILURES.labels(reason) for reason in ACTION_FAILURE_REASONS
}
for _platform in META_PLATFORMS:
    for _kind in META_KINDS:
        for _reason in META_REASONS:
            META_SEND_FAILURES.labels(_platform, _kind, _reason)


def channel_label(input_channel: Optional[str]) -> str:
    """The channel's name if it is one of CHANNELS, else "other"."""
    return input_channel if input_channel in _received else OTHER


def message_received(channel: str) -> None:
    _received[channel].inc()


def reply_sent(channel: str, response: Optional[str] = None) -> None:
    """One bot message sent; `response` is the domain response it came from (`utter_action`), if any."""
    _replies[channel].inc()
    if response == FALLBACK_RESPONSE:
        _fallbacks[channel].inc()


def technical_problem(reason: str) -> None:
    _problems[reason if reason in _problems else OTHER].inc()


def action_server_failed(reason: str) -> None:
    _action_failures[reason if reason in _action_failures else OTHER].inc()


def meta_send_failed(platform: str, what: str, reason: str) -> None:
    """A Send API call given up; `what` is the call ("message", "typing_on", ...)."""
    platform = platform if platform in META_PLATFORMS else "meta"
    kind = "message" if what == "message" else "sender_action"
    META_SEND_FAILURES.labels(platform, kind, reason if reason in META_REASONS else OTHER).inc()
