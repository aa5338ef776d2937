"""The forms' questions: Rasa asks a form's slot through `action_ask_<slot>`, found before `utter_ask_<slot>`.

Each action below utters its question, the domain response `utter_ask_<slot>` (domain/acc_check.yml,
domain/booking.yml), and says nothing for all but the last part of a message with several questions
(`part: [i, n]` in the parse data, bot/rasa_patches.py 6), so the question is asked once, after every answer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.clinic.acc_codes import ACC45_EXAMPLES


def more_parts_follow(tracker: Tracker) -> bool:
    """True when the latest message has more questions after this part (`part: [i, n]` with i < n)."""
    part = (tracker.latest_message or {}).get("part")
    return bool(part) and part[0] < part[1]


class AskForSlot(Action, ABC):
    """Asks for `slot` with the response `utter_ask_<slot>`, or `utter_ask_<form>_<slot>` for a question asked
    differently in one form (`form` set; Rasa then looks for `action_ask_<form>_<slot>` first). Abstract: rasa_sdk
    registers only the subclasses."""

    form: Optional[str] = None

    @property
    @abstractmethod
    def slot(self) -> str:
        """The form's slot this action asks for."""

    def name(self) -> str:
        return f"action_ask_{self.form}_{self.slot}" if self.form else f"action_ask_{self.slot}"

    def response(self, tracker: Tracker) -> str:
        """The response that asks."""
        return self.name().replace("action_ask_", "utter_ask_", 1)

    def variables(self, tracker: Tracker) -> Dict[str, Any]:
        """Values for the response's `{variables}` (and `buttons` added to the response's own)."""
        return {}

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List:
        if more_parts_follow(tracker):
            return []  # asked once, after the last question of the message
        dispatcher.utter_message(response=self.response(tracker), **self.variables(tracker))
        return []


# --- acc_eligibility_form ---


class ActionAskInjuryDate(AskForSlot):
    slot = "injury_date"


class ActionAskClaimStatus(AskForSlot):
    slot = "claim_status"


class ActionAskAcc45(AskForSlot):
    slot = "acc45"

    def variables(self, tracker: Tracker) -> Dict[str, Any]:
        return {"acc45_examples": ", ".join(ACC45_EXAMPLES)}


class ActionAskReadCode(AskForSlot):
    slot = "read_code"


# --- contact_form ---


class ActionAskContactName(AskForSlot):
    slot = "contact_name"

    def response(self, tracker: Tracker) -> str:
        # a change or cancellation: the chat changes nothing itself, and says so
        return (
            "utter_ask_change_contact_name"
            if tracker.get_slot("request_kind") == "change"
            else super().response(tracker)
        )


class ActionAskContactDetail(AskForSlot):
    slot = "contact_detail"


class ActionAskShareAccDetails(AskForSlot):
    slot = "share_acc_details"
