"""One limit on the length of a patient's message, and one clean-up of its text, for every channel.

Every channel (REST, widget, Messenger, Instagram) wraps Rasa's message handler in `limited`.
Clean-up: lone UTF-16 surrogates (e.g. JSON "\ud83d", half an emoji) become U+FFFD and control characters
other than newline and tab are dropped, so odd Unicode gets an answer instead of an error deep in Rasa or the
database driver; the text is put in NFC form.

A longer message is not processed and not stored; the patient is asked to send it in parts, and the
reply (`utter_message_too_long`, domain/service.yml) repeats the urgent-care numbers in case the long
message was about an emergency. The widget's input field has the same limit (web_widget/src/widget.js,
`maxlength`); Instagram's own is 1000 too.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import UserMessage

from bot.responses import response_text

logger = logging.getLogger(__name__)
MAX_MESSAGE_CHARS = 1000
TOO_LONG = response_text("utter_message_too_long", max_chars=MAX_MESSAGE_CHARS)
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(text: Any) -> Any:
    """`text` with lone surrogates replaced, control characters dropped, in NFC; non-strings unchanged."""
    if not isinstance(text, str):
        return text
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")  # pairs joined, lone ones -> U+FFFD
    return unicodedata.normalize("NFC", _CONTROL.sub("", text))


def too_long(text: Any) -> bool:
    """True when `text` is over the limit."""
    return isinstance(text, str) and len(text) > MAX_MESSAGE_CHARS


def limited(on_new_message: OnNewMessage) -> OnNewMessage:
    """`on_new_message` that answers an over-long message with `TOO_LONG` instead of processing it."""

    async def handle(message: UserMessage) -> Any:
        message.text = clean_text(message.text)
        if not too_long(message.text):
            return await on_new_message(message)
        logger.info("message of %d characters not processed (limit %d)", len(message.text), MAX_MESSAGE_CHARS)
        await message.output_channel.send_text_message(message.sender_id, TOO_LONG)
        return None

    return handle
