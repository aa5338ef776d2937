"""Rasa's REST channel (still named "rest": POST /webhooks/rest/webhook) with the message-length limit."""

from __future__ import annotations

from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint

from bot.message_limits import OnNewMessage, limited


class RestInput(RasaRestInput):
    """REST input channel; messages over `bot.message_limits.MAX_MESSAGE_CHARS` get a clear answer instead."""

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        return super().blueprint(limited(on_new_message))
