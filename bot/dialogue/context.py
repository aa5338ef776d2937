"""Reading a message in the context of the conversation, before Rasa's policies pick a reply.

The NLU classifies each message on its own; patients do not talk that way. `resolve` looks at what the
assistant's last reply did and rewrites the intent when the context changes its meaning:

- an offer was made (bot/dialogue/offers.py): "yep" / "go on then" / "sounds good" asks for what was offered;
  "nah" / "not now" declines it (`deny`, acknowledged);
- urgent-care advice was just given: "ok ringing 111 now", "ok", "thanks" get a kind word (`urgent_followup`),
  never an offer of booking or an ACC check;
- a form is active: "never mind", "leave it", "I'll sort ACC later" back out (`stop`) whatever the classifier
  read into them (a name, "claim not approved");
- a message that already gives ACC details (two of injury date, claim status, ACC45) asks for the check;
- a glute answer for a message about another body part ("exercises for a sore knee") becomes
  `ask_other_body_part`.

Emergencies (`red_flag`) and button payloads ("/intent") are never rewritten. The original intent is kept in
`parse_data["context"]` for review. Hooked in by bot/rasa_patches.py (5); guarded by tests/unit/test_dialogue_context.py
and the conversation suite (tests/e2e/test_conversations.py).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Dict, Iterable, Optional

from bot.clinic.acc_details import acc_details_in, mentions_acc, mentions_injury
from bot.dialogue.offers import OFFERS, URGENT, context_in, last_bot_turn, offer_in
from bot.dialogue.scope import GLUTE_ANSWER_INTENTS, asks_about_other_body_part
from bot.dialogue.short_replies import backs_out, is_acceptance, is_refusal

NEVER_REWRITTEN = frozenset({"red_flag", "forget_me", "human_handoff", "ask_if_human", "bot_challenge"})
# After urgent-care advice, these get a kind word instead of their usual reply (which may offer something).
URGENT_ACKNOWLEDGEMENTS = frozenset(
    {"affirm", "deny", "inform", "dont_know", "nlu_fallback", "out_of_scope", "stop", "urgent_followup"}
)
# A message read as one of these that gives ACC details asks for the check ("check my acc, claim approved...").
_ACC_CHECK_READINGS = frozenset(
    {"inform", "affirm", "greet", "nlu_fallback", "out_of_scope", "dont_know", "faq_acute_injury", "faq_read_codes"}
)


def resolve(
    parse_data: Dict[str, Any], events: Iterable[Any], active_loop: Optional[str], today: date
) -> Dict[str, Any]:
    """The parse data with the intent the message has in this conversation (a new dict if it changed)."""
    text = parse_data.get("text") or ""
    intent = (parse_data.get("intent") or {}).get("name")
    if text.startswith("/") or intent in NEVER_REWRITTEN:
        return parse_data
    if active_loop:
        return _rewrite(parse_data, "stop", "backs out of the form") if backs_out(text) else parse_data
    last_reply = last_bot_turn(events)
    offer = offer_in(last_reply)
    if offer and (is_refusal(text) or (intent == "deny" and not is_acceptance(text))):
        return _rewrite(parse_data, "deny", f"declines the offer {offer}")  # checked first: "all good", "yeah nah"
    if offer and (is_acceptance(text) or intent == "affirm"):
        chosen = OFFERS[offer]
        return _rewrite(parse_data, chosen.intent, f"accepts the offer {offer}", chosen.entities)
    if context_in(last_reply) == URGENT and (
        intent in URGENT_ACKNOWLEDGEMENTS or is_acceptance(text) or is_refusal(text)
    ):
        return _rewrite(parse_data, "urgent_followup", "after urgent-care advice")
    if intent in _ACC_CHECK_READINGS or (intent or "").startswith("faq_acc"):
        details = acc_details_in(text, today)
        dated_injury = details.injury_date is not None and mentions_injury(text)  # "hurt it 3 weeks ago, acc?"
        about_acc = (intent or "").startswith("faq_acc") or mentions_acc(text)
        if details.count() >= 2 or details.acc45 or (dated_injury and about_acc):
            return _rewrite(parse_data, "check_acc_eligibility", "gives ACC details")
    if intent in GLUTE_ANSWER_INTENTS and asks_about_other_body_part(text):
        return _rewrite(parse_data, "ask_other_body_part", "asks about another body part")
    return parse_data


def _rewrite(
    parse_data: Dict[str, Any], intent: str, reason: str, entities: Optional[Dict[str, str]] = None
) -> Dict[str, Any]:
    original = (parse_data.get("intent") or {}).get("name")
    if original == intent and not entities:
        return parse_data
    extra = [{"entity": name, "value": value, "extractor": "context"} for name, value in (entities or {}).items()]
    return {
        **parse_data,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": [*(parse_data.get("entities") or []), *extra],
        "context": {"original_intent": original, "reason": reason},
    }
