"""What a custom action's messages become once Rasa has filled them: `rendered(dispatcher.messages)`.

An action names a domain response and gives its variables (`utter_message(response=..., name=...)`); Rasa
fills the response from the domain, the tracker's slots (the facts of domain/facts.yml) and those variables.
This runs Rasa's own code for that (`RemoteAction._utter_responses`) on a new conversation's tracker.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any, Dict, List

from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.trackers import DialogueStateTracker

from bot.responses import DOMAIN


def rendered(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Each message as Rasa sends it: its text, buttons and `metadata` (offers, context) filled in."""
    tracker = DialogueStateTracker("unit-test", DOMAIN.slots)  # slots at their initial values
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    bot_messages = asyncio.run(
        RemoteAction._utter_responses(copy.deepcopy(messages), CollectingOutputChannel(), nlg, tracker)
    )
    return [{"text": m.text, "buttons": m.data.get("buttons") or [], **m.metadata} for m in bot_messages]


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    """The texts of `rendered(messages)`."""
    return [m["text"] for m in rendered(messages)]
