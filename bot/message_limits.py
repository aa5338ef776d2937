"""One limit on the length of a patient's message, for every channel (REST, widget, Messenger, Instagram).

A longer message is not processed and not stored; the patient is asked to send it in parts, and the
reply repeats the urgent-care numbers in case the long message was about an emergency. The widget's
input field has the same limit (web_widget/src/widget.js, `maxlength`); Instagram's own is 1000 too.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import UserMessage

logger = logging.getLogger(__name__)
MAX_MESSAGE_CHARS = 1000
TOO_LONG = (
    f"Sorry, that message is too long for me (more than {MAX_MESSAGE_CHARS} characters), so I haven't read "
    "it. Could you send it in shorter parts, one question at a time? If this is urgent: call 111 in an "
    "emergency, or Healthline on 0800 611 116."
)
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def too_long(text: Any) -> bool:
    """True when `text` is over the limit."""
    return isinstance(text, str) and len(text) > MAX_MESSAGE_CHARS


def limited(on_new_message: OnNewMessage) -> OnNewMessage:
    """`on_new_message` that answers an over-long message with `TOO_LONG` instead of processing it."""

    async def handle(message: UserMessage) -> Any:
        if not too_long(message.text):
            return await on_new_message(message)
        logger.info("message of %d characters not processed (limit %d)", len(message.text), MAX_MESSAGE_CHARS)
        await message.output_channel.send_text_message(message.sender_id, TOO_LONG)
        return None

    return handle
