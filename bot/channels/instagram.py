"""Instagram Direct channel: webhook /webhooks/instagram/webhook, conversation ids `instagram:<the user's IGSID>`.

credentials.yml: `bot.channels.instagram.InstagramInput:` (see docs/meta-setup.md). Reads
META_APP_SECRET, META_VERIFY_TOKEN, INSTAGRAM_ACCESS_TOKEN, META_GRAPH_BASE_URL and
META_GRAPH_API_VERSION from the environment (each name can be changed with a `*_env` key, e.g.
`graph_base_url_env: INSTAGRAM_GRAPH_BASE_URL` for graph.instagram.com with Instagram Login).
"""

from __future__ import annotations

from bot.channels.formatting import INSTAGRAM_LIMITS
from bot.channels.meta import MetaInput, MetaOutput
from bot.channels.sender_ids import INSTAGRAM as INSTAGRAM_IDS
from bot.channels.settings import Platform

INSTAGRAM = Platform(
    name="instagram",
    webhook_object="instagram",
    limits=INSTAGRAM_LIMITS,
    access_token_env="INSTAGRAM_ACCESS_TOKEN",
    buttons="quick_replies",
    messaging_type=None,
)


class InstagramOutput(MetaOutput):
    """Sends responses to Instagram users (1000-character parts, buttons as quick replies)."""

    platform = INSTAGRAM
    id_channel = INSTAGRAM_IDS


class InstagramInput(MetaInput):
    """Receives Instagram webhooks (`object: instagram`)."""

    platform = INSTAGRAM
    output_class = InstagramOutput
