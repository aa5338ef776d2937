"""Meta's messaging window: may a message reach a Messenger / Instagram user now, and on which terms.

Meta lets a Page or an Instagram account message a person only after that person wrote to it:
- within 24 hours of the person's last message, any reply (Messenger: `messaging_type: RESPONSE`; Instagram takes
  the same without a `messaging_type`, as the assistant's own replies are sent);
- after 24 hours and up to 7 days, only a message written by a person (not automated) with the human-agent tag:
  `messaging_type: MESSAGE_TAG`, `tag: HUMAN_AGENT`, on Messenger and Instagram alike (the app needs Meta's
  "Human Agent" permission, given through App Review);
- after 7 days, nothing.
Sources: developers.facebook.com/docs/messenger-platform/send-messages (messaging types, message tags) and
/docs/messenger-platform/instagram/features/human-agent-escalation.

The time is measured from the last `UserUttered` Rasa stored, which is a little later than Meta's own receipt,
so each edge is taken `MARGIN` early: the tag a few minutes before 24 h (it is valid from the first minute), and
nothing sent in the last minutes of the 7 days (Meta would refuse it anyway).
"""

from __future__ import annotations

from enum import Enum
from typing import Optional

HOUR = 3600.0
RESPONSE_WINDOW = 24 * HOUR
HUMAN_AGENT_WINDOW = 7 * 24 * HOUR
MARGIN = 600.0  # seconds: Rasa stores a message a little after Meta received it
HUMAN_AGENT_TAG = "HUMAN_AGENT"


class Window(Enum):
    """On which terms a message may be sent now."""

    RESPONSE = "response"  # the standard 24-hour window
    HUMAN_AGENT = "human_agent"  # 24 h to 7 days: a person's message, with the HUMAN_AGENT tag
    CLOSED = "closed"  # over 7 days, or no message from the person known: nothing may be sent


def messaging_window(last_user_message_at: Optional[float], now: float) -> Window:
    """The window a message sent at `now` falls in, from the person's last message (Unix times, seconds).

    No last message known: CLOSED. A last message in the future (clock skew): RESPONSE.
    """
    if last_user_message_at is None:
        return Window.CLOSED
    age = now - last_user_message_at
    if age < RESPONSE_WINDOW - MARGIN:
        return Window.RESPONSE
    if age < HUMAN_AGENT_WINDOW - MARGIN:
        return Window.HUMAN_AGENT
    return Window.CLOSED


def message_tag(window: Window) -> Optional[str]:
    """The Send API `tag` a message in `window` needs (None: none, or nothing may be sent)."""
    return HUMAN_AGENT_TAG if window is Window.HUMAN_AGENT else None
