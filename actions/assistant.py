"""What the assistant says about itself: "are you a bot?" gets yes, "are you a real person?" gets no."""

from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

# "are u a real person", "is this a human", "am I talking to someone real?" -> the answer starts with "No".
_ASKS_IF_PERSON = re.compile(r"\b(person|persons|human|humans|real|someone|somebody|people|staff|receptionist)\b", re.I)


def bot_challenge_response(text: str) -> str:
    """The response that answers the question as asked (both say the assistant is automated)."""
    return "utter_human_challenge" if _ASKS_IF_PERSON.search(text or "") else "utter_bot_challenge"


class ActionBotChallenge(Action):
    """Answers "are you a bot / a person?" with the right yes or no first."""

    def name(self) -> str:
        return "action_bot_challenge"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        dispatcher.utter_message(response=bot_challenge_response(tracker.latest_message.get("text") or ""))
        return []
