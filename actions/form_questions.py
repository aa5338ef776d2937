"""The forms' questions (Rasa's `action_ask_<slot>`): each says why it is asked.

Kept as actions rather than `utter_ask_*` responses so a question can adapt (e.g. repeat the ACC45
formats after a wrong answer) and `rasa data validate --fail-on-warnings` stays clean.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.clinic.acc_codes import ACC45_EXAMPLES

YES_NO_DONT_KNOW = [
    {"title": "Yes, approved", "payload": "/affirm"},
    {"title": "No / not yet", "payload": "/deny"},
    {"title": "I don't know", "payload": "/dont_know"},
]

QUESTIONS: Dict[str, Dict[str, Any]] = {
    "injury_date": {
        "text": 'What was the date of your injury? For example 14/03/2026, 14 March or "three weeks ago". '
        "ACC only subsidises treatment for injuries under 12 months old, so I need the date to check. "
        '(Say "cancel" any time to stop.)',
    },
    "claim_status": {
        "text": "Has ACC approved a claim for this injury? ACC needs an approved claim before it subsidises treatment.",
        "buttons": YES_NO_DONT_KNOW,
    },
    "acc45": {
        "text": f"What's your ACC45 claim number? It has 7 characters, like {', '.join(ACC45_EXAMPLES)}. "
        "The clinic needs it to bill ACC; I only use it for this check.",
        "buttons": [{"title": "I don't know", "payload": "/dont_know"}],
    },
    "read_code": {
        "text": "Do you know the Read code for your injury? It's 5 characters, like S57.. — if not, that's fine: "
        "the clinic can take it from your claim.",
        "buttons": [{"title": "I don't know", "payload": "/dont_know"}],
    },
    "contact_name": {"text": 'What name should the clinic ask for? (Say "cancel" to stop.)'},
    "contact_detail": {
        "text": "What's the best phone number or email to reach you? "
        "The clinic uses it only to get back to you about this request.",
    },
    "share_acc_details": {
        "text": "Shall I include your ACC check details (date of injury, claim status and ACC45 number) in the "
        "request, so the clinic can prepare? They're health information, so it's your choice.",
        "buttons": [
            {"title": "Yes, include them", "payload": "/affirm"},
            {"title": "No, leave them out", "payload": "/deny"},
        ],
    },
}


class _AskQuestion(Action):
    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List:
        part = (tracker.latest_message or {}).get("part")
        if part and part[0] < part[1]:
            return []  # more questions of the same message follow: ask once, after the last one
        question = QUESTIONS[self.slot]
        dispatcher.utter_message(text=question["text"], buttons=question.get("buttons", []))
        return []


# One action class per question, e.g. ActionAskInjuryDate -> action_ask_injury_date (found by rasa_sdk).
for _slot in QUESTIONS:
    _cls = type(f"ActionAsk{''.join(p.title() for p in _slot.split('_'))}", (_AskQuestion,), {"slot": _slot})
    globals()[_cls.__name__] = _cls
