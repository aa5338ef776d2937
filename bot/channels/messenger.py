"""Facebook Messenger channel: webhook /webhooks/facebook/webhook, conversation ids `messenger:<the user's PSID>`.

credentials.yml: `bot.channels.messenger.MessengerInput:` (see docs/meta-setup.md). Reads
META_APP_SECRET, META_VERIFY_TOKEN, MESSENGER_PAGE_ACCESS_TOKEN, META_GRAPH_BASE_URL and
META_GRAPH_API_VERSION from the environment.
"""

from __future__ import annotations

from bot.channels.formatting import MESSENGER_LIMITS
from bot.channels.meta import MetaInput, MetaOutput
from bot.channels.sender_ids import MESSENGER as MESSENGER_IDS
from bot.channels.settings import Platform

MESSENGER = Platform(
    name="facebook",
    webhook_object="page",
    limits=MESSENGER_LIMITS,
    access_token_env="MESSENGER_PAGE_ACCESS_TOKEN",
    buttons="template",
    messaging_type="RESPONSE",
)


class MessengerOutput(MetaOutput):
    """Sends responses to Messenger users (button template for up to 3 buttons, else quick replies)."""

    platform = MESSENGER
    id_channel = MESSENGER_IDS


class MessengerInput(MetaInput):
    """Receives Messenger webhooks (`object: page`)."""

    platform = MESSENGER
    output_class = MessengerOutput
