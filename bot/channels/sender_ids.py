"""Conversation ids are namespaced by channel: `<channel>:<id the channel knows>`.

One rule for every channel, so an id from one channel can never address another channel's conversation:
a Messenger user is `messenger:<PSID>`, an Instagram user `instagram:<IGSID>`, a website visitor
`web:<32 hex digits>` (the widget's random session id) and a REST caller `rest:<sender>`. The prefix is added
by the input channel that received the message (never taken from what the client sent) and removed by the
output channel before it addresses the platform. docs/security.md explains why.
"""

from __future__ import annotations

import re
from typing import Optional

SEPARATOR = ":"
MESSENGER = "messenger"
INSTAGRAM = "instagram"
WEB = "web"
REST = "rest"
CHANNELS = (MESSENGER, INSTAGRAM, WEB, REST)

# what each channel accepts as the id it knows (before the prefix)
WEB_SESSION_ID = re.compile(r"[0-9a-f]{32}")  # the widget's randomId(): 16 random bytes in hex
REST_SENDER = re.compile(r"[A-Za-z0-9_.@+-]{1,128}")  # no ":" so nothing can pose as a prefix
META_ID = re.compile(r"[0-9]{1,40}")  # Meta's page-scoped / Instagram-scoped ids are numeric


def namespaced(channel: str, raw_id: str) -> str:
    """The conversation id of `raw_id` on `channel` ("messenger", "1234" -> "messenger:1234")."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    return f"{channel}{SEPARATOR}{raw_id}"


def channel_of(conversation_id: str) -> Optional[str]:
    """The channel a conversation id belongs to, or None if it has no known prefix."""
    channel, separator, _ = conversation_id.partition(SEPARATOR)
    return channel if separator and channel in CHANNELS else None


def raw_id(channel: str, conversation_id: str) -> str:
    """The id the channel knows: the conversation id without its prefix (unchanged if it has another prefix)."""
    prefix = f"{channel}{SEPARATOR}"
    return conversation_id[len(prefix) :] if conversation_id.startswith(prefix) else conversation_id
