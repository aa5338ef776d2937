"""Rasa's REST channel (still named "rest": POST /webhooks/rest/webhook), made strict.

REST is the staff and testing channel: `make run` serves it on loopback only; the production profile requires
`Authorization: Bearer $REST_CHANNEL_TOKEN` (bot/processes/production.py sets one). Changes to Rasa 3.6.21's RestInput,
guarded by tests/e2e/test_security.py (and, for the token, tests/e2e/test_production.py):
- the body must be a JSON object (`Content-Type: application/json`, else 415: a cross-site form or a
  `text/plain` POST from another origin is refused before anything runs) with a string `sender` of the REST
  format (`bot.channels.sender_ids.REST_SENDER`) and a string `message`; otherwise 400 with a clear error
  instead of Rasa's 500 or a shared "default" conversation;
- the conversation id is `rest:<sender>` (bot/channels/sender_ids.py): REST can never address a Messenger,
  Instagram or website conversation; the input channel is always "rest", whatever the body says;
- when $REST_CHANNEL_TOKEN is set, a request without that bearer token gets 401;
- the message-length limit and text clean-up of every channel (bot/channels/message_limits.py).
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional, Text

from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.message_limits import OnNewMessage, limited
from bot.channels.sender_ids import REST, REST_SENDER, namespaced
from bot.channels.webhook_auth import bearer_matches

TOKEN_ENV = "REST_CHANNEL_TOKEN"


def body_problem(request: Request) -> Optional[HTTPResponse]:
    """A 4xx answer for a request the channel must not process, or None."""
    if request.content_type.split(";")[0].strip().lower() != "application/json":
        return response.json({"error": "send JSON with Content-Type: application/json"}, status=415)
    try:
        body = json.loads(request.body or b"")
    except ValueError:
        return response.json({"error": "the body is not valid JSON"}, status=400)
    if not isinstance(body, dict):
        return response.json({"error": 'send a JSON object: {"sender": "...", "message": "..."}'}, status=400)
    sender = body.get("sender")
    if not isinstance(sender, str) or not REST_SENDER.fullmatch(sender):
        return response.json(
            {"error": '"sender" is required: 1 to 128 letters, digits or . _ @ + - (it names the conversation)'},
            status=400,
        )
    if not isinstance(body.get("message"), str):
        return response.json({"error": '"message" is required and must be a string'}, status=400)
    if body.get("metadata") is not None and not isinstance(body["metadata"], dict):
        return response.json({"error": '"metadata" must be a JSON object'}, status=400)
    request.parsed_json = body  # Rasa's handler reads `request.json`: parsed once
    return None


class RestInput(RasaRestInput):
    """REST input channel with the checks described in this module's docstring."""

    def __init__(self, token: Optional[str] = None) -> None:
        self.token = token if token is not None else (os.environ.get(TOKEN_ENV) or "").strip()

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> RestInput:
        return cls()

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        return namespaced(REST, req.json["sender"])

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        blueprint = super().blueprint(limited(on_new_message))

        @blueprint.middleware("request")
        async def check(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            if self.token and not bearer_matches(request.headers.get("authorization"), self.token):
                return response.json({"error": "unauthorized"}, status=401)
            return body_problem(request)

        return blueprint
