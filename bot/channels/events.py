"""Turn a Messenger / Instagram webhook payload into the user messages the assistant should see.

Pure functions, no I/O. Every entry and every event of a batch is looked at. What the assistant sees:

- typed text as it is; a quick-reply or postback payload as it is (so "/book_appointment" triggers
  that intent, like a button on the website);
- an attachment (photo, video, voice message, file, shared post...) as "/shared_attachment",
  an Instagram story mention as "/story_mention", a thumbs-up sticker or Instagram heart as "/affirm".
  Attachment URLs are never passed on or stored: patients may send photos of injuries or documents.

Patients' ratings of the assistant's replies are not messages: a reaction (Messenger's `message_reactions`,
Instagram's `reaction`) or Messenger's `response_feedback` ("Good response" / "Bad response") on one of the page's
messages becomes an `IncomingRating` (bot/channels/feedback.py maps it: 👍 ❤️ like love up, 👎 dislike down, unreact
takes it back; any other reaction is ignored).

Ignored without error: echoes of the page's own messages (any type), deleted and unsupported edits,
read/delivery receipts, reactions that say nothing about the answer, referrals, handover events, entries that only
carry `standby` (another app owns the thread) or `changes` (comments, mentions in posts).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from bot.channels.feedback import reaction_rating, response_feedback_rating

SHARED_ATTACHMENT = "/shared_attachment"
STORY_MENTION = "/story_mention"
AFFIRM = "/affirm"

# Messenger's built-in "like" (thumbs-up) stickers, small / medium / large.
THUMBS_UP_STICKERS = {369239263222822, 369239343222814, 369239383222810}

# Event keys that never carry something for the assistant to answer.
IGNORED_EVENT_KEYS = (
    "read",
    "delivery",
    "messaging_seen",
    "reaction",
    "message_edit",
    "referral",
    "optin",
    "account_linking",
    "pass_thread_control",
    "take_thread_control",
    "request_thread_control",
    "app_roles",
    "policy_enforcement",
    "game_play",
    "response_feedback",
)


@dataclass(frozen=True)
class IncomingMessage:
    """One user message for the assistant."""

    sender_id: str  # PSID (Messenger) or IGSID (Instagram); the channel namespaces it for Rasa ("messenger:<PSID>")
    text: str  # what Rasa parses
    kind: str  # text | quick_reply | postback | attachment | story_mention | unsupported
    mid: Optional[str]  # Meta's message id (postbacks may lack one on old API versions)
    dedup_key: str  # mid, or sender + timestamp + kind when there is no mid
    account_id: str  # entry id: the Page id or Instagram professional account id
    timestamp: Optional[int] = None
    metadata: Dict[str, Any] = field(default_factory=dict)  # no text, no URLs


@dataclass(frozen=True)
class IncomingRating:
    """A patient's rating of one of the page's messages (bot/channels/feedback.py)."""

    sender_id: str  # PSID / IGSID of the patient
    mid: str  # the page's message that was rated (the Send API's `message_id` for it)
    rating: str  # "up", "down" or "remove" (an unreact)
    account_id: str


@dataclass
class ParsedWebhook:
    """The messages to handle, the ratings to store and, for logging, how many events were ignored and why."""

    messages: List[IncomingMessage] = field(default_factory=list)
    ratings: List[IncomingRating] = field(default_factory=list)
    ignored: Counter = field(default_factory=Counter)


def _attachment_types(message: Dict[str, Any]) -> List[str]:
    attachments = message.get("attachments")
    if not isinstance(attachments, list):
        return []
    return [str(a.get("type", "unknown")) for a in attachments if isinstance(a, dict)]


def _is_like(message: Dict[str, Any]) -> bool:
    """A thumbs-up sticker (Messenger) or the heart Instagram sends with a double tap / like button."""
    if message.get("sticker_id") in THUMBS_UP_STICKERS:
        return True
    for attachment in message.get("attachments") or []:
        if not isinstance(attachment, dict):
            continue
        if attachment.get("type") == "like_heart":
            return True
        payload = attachment.get("payload")
        if isinstance(payload, dict) and payload.get("sticker_id") in THUMBS_UP_STICKERS:
            return True
    return False


def _message_text(message: Dict[str, Any]) -> Optional[Tuple[str, str]]:
    """(text for Rasa, kind) for a user's `message` event, or None if there is nothing to answer."""
    quick_reply = message.get("quick_reply")
    if isinstance(quick_reply, dict):
        payload = quick_reply.get("payload")
        if isinstance(payload, str) and payload.strip():
            return payload.strip(), "quick_reply"
    text = message.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip(), "text"
    types = _attachment_types(message)
    if "story_mention" in types:
        return STORY_MENTION, "story_mention"
    if _is_like(message):
        return AFFIRM, "attachment"
    if types:
        return SHARED_ATTACHMENT, "attachment"
    if message.get("is_unsupported"):
        return SHARED_ATTACHMENT, "unsupported"
    return None


def _parse_rating(event: Dict[str, Any], sender_id: str, account_id: str, result: ParsedWebhook) -> None:
    """A `reaction` or `response_feedback` event: a rating, or counted as ignored."""
    kind = "reaction" if isinstance(event.get("reaction"), dict) else "response_feedback"
    body = event[kind]
    rating = reaction_rating(body) if kind == "reaction" else response_feedback_rating(body.get("feedback"))
    mid = body.get("mid")
    if rating is None or not isinstance(mid, str) or not mid or not sender_id or sender_id == account_id:
        result.ignored[kind] += 1
        return
    result.ratings.append(IncomingRating(sender_id=sender_id, mid=mid, rating=rating, account_id=account_id))


def _parse_event(event: Dict[str, Any], account_id: str, result: ParsedWebhook) -> None:
    sender_id = str((event.get("sender") or {}).get("id") or "")
    if isinstance(event.get("reaction"), dict) or isinstance(event.get("response_feedback"), dict):
        _parse_rating(event, sender_id, account_id, result)
        return
    timestamp = event.get("timestamp") if isinstance(event.get("timestamp"), int) else None
    message = event.get("message")
    postback = event.get("postback")

    if isinstance(message, dict):
        if message.get("is_echo"):
            result.ignored["echo"] += 1
            return
        if message.get("is_deleted"):
            result.ignored["deleted"] += 1
            return
        parsed = _message_text(message)
        if parsed is None:
            result.ignored["empty message"] += 1
            return
        text, kind = parsed
        mid = message.get("mid")
    elif isinstance(postback, dict):
        payload = postback.get("payload") or postback.get("title")
        if not isinstance(payload, str) or not payload.strip():
            result.ignored["empty postback"] += 1
            return
        text, kind, mid = payload.strip(), "postback", postback.get("mid")
    else:
        known = next((key for key in IGNORED_EVENT_KEYS if key in event), "unknown event")
        result.ignored[known] += 1
        return

    if not sender_id:
        result.ignored["no sender"] += 1
        return
    if account_id and sender_id == account_id:  # the page/account itself: an echo without the flag
        result.ignored["echo"] += 1
        return

    metadata: Dict[str, Any] = {"kind": kind, "account_id": account_id}
    if isinstance(message, dict):
        types = _attachment_types(message)
        if types:
            metadata["attachment_types"] = types
        reply_to = message.get("reply_to")
        if isinstance(reply_to, dict):
            if "story" in reply_to:
                metadata["story_reply"] = True
            elif reply_to.get("mid"):
                metadata["reply_to_mid"] = str(reply_to["mid"])
    mid = str(mid) if mid else None
    result.messages.append(
        IncomingMessage(
            sender_id=sender_id,
            text=text,
            kind=kind,
            mid=mid,
            dedup_key=mid or f"{sender_id}:{timestamp}:{kind}:{text[:100]}",
            account_id=account_id,
            timestamp=timestamp,
            metadata=metadata,
        )
    )


def parse_webhook(payload: Dict[str, Any]) -> ParsedWebhook:
    """All user messages in a webhook payload, in delivery order. The `object` is checked by the caller."""
    result = ParsedWebhook()
    entries = payload.get("entry")
    if not isinstance(entries, list):
        result.ignored["no entries"] += 1
        return result
    for entry in entries:
        if not isinstance(entry, dict):
            result.ignored["malformed entry"] += 1
            continue
        account_id = str(entry.get("id") or "")
        messaging = entry.get("messaging")
        if isinstance(messaging, list):
            for event in messaging:
                if isinstance(event, dict):
                    _parse_event(event, account_id, result)
                else:
                    result.ignored["malformed event"] += 1
        for other in ("standby", "changes"):
            if isinstance(entry.get(other), list):
                result.ignored[other] += len(entry[other])
    return result
