"""What counts as what in a stored conversation: the one table the analytics and the review list read.

Every name here is this project's own (checked against domain/, data/rules/, config.yml and actions/, and by
tests/unit/test_analytics_markers.py against the domain), so a renamed response or intent fails a test instead of
silently counting nothing:

- a fallback is the assistant's `utter_fallback`: the `nlu_fallback` intent (FallbackClassifier,
  UnknownWordsFallback) is answered with it (data/rules/answers.yml) and so is a core fallback (RulePolicy's
  `core_fallback_action_name` in config.yml); a bot event names its response in `metadata.utter_action`;
- low confidence: the confidence of the intent the assistant acted on (`parse_data.intent.confidence` of a user
  event), except for buttons, whose payload ("/affirm") Rasa keeps as the text with confidence 1;
- a red flag: the intent `red_flag` (bot/nlu/red_flag_detector.py) or the urgent-care reply `utter_red_flag`;
- requests: the replies that say a request was stored (actions/booking.py, actions/booking_form.py,
  actions/clinic_details.py), with its kind as in bot/storage/booking_requests.py;
- the ACC check: the form `acc_eligibility_form` activated (started), `action_acc_verdict` run (completed), and the
  verdict it keeps in the `eligibility` slot (eligible / not_eligible / incomplete: details missing);
- a form abandoned: activated, then ended without its submit action (cancelled, switched, a red flag, a new
  session), or still active when the conversation has been quiet for over an hour.

No Rasa import: the web service reads this (it never loads Rasa).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Dict, FrozenSet, Optional

from bot.channels.sender_ids import CHANNELS, REST, channel_of
from bot.dialogue.intents import FORMS

FALLBACK_RESPONSE = "utter_fallback"
RED_FLAG_INTENT = "red_flag"
RED_FLAG_RESPONSE = "utter_red_flag"
# "Talk to a person" and "call me back": the patient asked for a human
HANDOFF_INTENTS: FrozenSet[str] = frozenset({"human_handoff", "request_contact"})
BUTTON_PREFIX = "/"  # a button's payload, kept by Rasa as the message text

ACC_FORM = "acc_eligibility_form"
ACC_VERDICT_ACTION = "action_acc_verdict"
ELIGIBILITY_SLOT = "eligibility"
ELIGIBLE, NOT_ELIGIBLE, INCOMPLETE = "eligible", "not_eligible", "incomplete"  # actions/acc_eligibility.py

BOOKING_LINK_RESPONSE = "utter_booking_link"
BOOKING_MADE_RESPONSE = "utter_booking_confirmed"

REQUEST_KIND_SLOT = "request_kind"
DEFAULT_REQUEST_KIND = "booking"  # action_submit_contact_request: no request_kind = a call-back to book
# The replies that say a request was stored, and its kind (None: the `request_kind` slot's value at that moment,
# as action_submit_contact_request reads it). "utter_handoff" is said only when the "chat" request was noted.
REQUEST_STORED: Dict[str, Optional[str]] = {
    "utter_contact_request_sent": None,
    "utter_contact_request_sent_with_acc": None,
    "utter_booking_failed_request_sent": "booking",
    "utter_change_request_sent": "change",
    "utter_handoff": "chat",
}
REQUEST_KINDS = ("booking", "handoff", "change", "chat")  # bot/storage/booking_requests.py KINDS
PERSON_REQUEST_KINDS = ("handoff", "chat")  # the patient wants a person (the review's "hand-off" flag)

# Each form and the action its rule runs when the form is complete (data/rules/*.yml)
FORM_SUBMITS: Dict[str, str] = {
    "acc_eligibility_form": ACC_VERDICT_ACTION,
    "contact_form": "action_submit_contact_request",
    "booking_form": "action_submit_booking",
}
assert set(FORM_SUBMITS) == set(FORMS), "every form of bot/dialogue/intents.py needs its submit action here"
QUIET_AFTER = timedelta(hours=1)  # a form still active after this long without a message was abandoned
SESSION_START_ACTION = "action_session_start"  # stored just before `session_started`: not part of a conversation

# Intents that are answers, small talk or Rasa's own: not a topic of the conversation.
NOT_TOPICS: FrozenSet[str] = frozenset(
    {
        "affirm",
        "deny",
        "dont_know",
        "inform",
        "stop",
        "greet",
        "goodbye",
        "thank",
        "urgent_followup",
        "nlu_fallback",
        "back",
        "restart",
        "session_start",
    }
)
# Names for staff where the intent's own name would not read well ("faq_acc45" -> "ACC45 number").
TOPIC_LABELS: Dict[str, str] = {
    "faq_acc45": "ACC45 number",
    "faq_read_codes": "Read codes",
    "faq_acc_cover": "ACC cover",
    "faq_acupuncture_what": "What acupuncture is",
    "faq_acupuncture_glute": "Acupuncture for glutes",
    "faq_cupping_moxibustion": "Cupping and moxibustion",
    "faq_sessions": "How many sessions",
    "faq_free_consultation": "Free consultation",
    "clinic_prices": "Prices",
    "clinic_hours": "Opening hours",
    "clinic_contact": "Contact details",
    "clinic_practitioners": "Practitioners",
    "book_appointment": "Booking",
    "check_acc_eligibility": "ACC eligibility check",
    "request_contact": "Call-back request",
    "change_appointment": "Change an appointment",
    "human_handoff": "Talk to a person",
    "red_flag": "Emergency symptoms (red flag)",
    "forget_me": "Forget me",
    "bot_challenge": "Is this a bot?",
    "ask_if_human": "Am I talking to a person?",
    "ask_capabilities": "What can you do?",
    "ask_diagnosis": "Asked for a diagnosis",
    "ask_other_body_part": "Other body part",
    "ongoing_pain": "Ongoing pain",
    "out_of_scope": "Out of scope",
    "shared_attachment": "Sent a photo or file",
    "story_mention": "Instagram story mention",
}
WORDS = {"acc": "ACC", "acc45": "ACC45"}


def is_topic(intent: Optional[str]) -> bool:
    return bool(intent) and intent not in NOT_TOPICS


def topic_label(intent: str) -> str:
    """A readable name for staff: the override, else the intent's words ("faq_glute_exercises" -> "Glute
    exercises")."""
    if intent in TOPIC_LABELS:
        return TOPIC_LABELS[intent]
    words = [WORDS.get(word, word) for word in intent.removeprefix("faq_").removeprefix("clinic_").split("_")]
    text = " ".join(word for word in words if word)
    return text[:1].upper() + text[1:]


def channel_key(sender_id: str) -> str:
    """The analytics' channel of a conversation: "web", "messenger", "instagram", or "rest" (REST and any id
    without a known prefix)."""
    return channel_of(sender_id) or REST


ANALYTICS_CHANNELS = tuple(channel for channel in ("web", "messenger", "instagram", "rest") if channel in CHANNELS)
