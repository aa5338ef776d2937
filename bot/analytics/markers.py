"""What counts as what in a stored conversation: the one table the analytics and the review list read.

Every name here is this project's own (checked against domain/, data/rules/, config.yml and actions/, and by
tests/unit/test_analytics_sessions.py against the domain), so a renamed response or intent fails a test instead of
silently counting nothing:

- a fallback is the assistant's `utter_fallback`: the `nlu_fallback` intent (FallbackClassifier,
  UnknownWordsFallback) is answered with it (data/rules/answers.yml) and so is a core fallback (RulePolicy's
  `core_fallback_action_name` in config.yml); a bot event names its response in `metadata.utter_action`;
- low confidence: the confidence of the intent the assistant acted on (`parse_data.intent.confidence` of a user
  event) below the threshold of the settings, except for buttons, whose payload ("/affirm") Rasa keeps as the text
  with confidence 1;
- a red flag: the intent `red_flag` (bot/nlu/red_flag_detector.py) or the urgent-care reply `utter_red_flag`
  (also given when the conversation's context reads a message as one);
- requests: the replies that say a request was stored (actions/booking.py, actions/booking_form.py,
  actions/clinic_details.py), with its kind as in bot/storage/booking_requests.py; each means the team will contact
  the patient (a call-back: to book, about an appointment, or to talk to a person) or join the chat;
- the ACC check: the form `acc_eligibility_form` activated (started), `action_acc_verdict` run (completed), and the
  verdict it keeps in the `eligibility` slot (eligible / not_eligible / incomplete: details missing);
- a form abandoned: activated, then ended without its submit action (cancelled, switched, a red flag, a new
  session), or still active when the conversation has been quiet for over an hour;
- hand-off or call-back asked: the intents of HANDOFF_INTENTS, or any request stored (whatever its kind).

The review list's flags (bot/analytics/reports.py `flag_conditions`, on the stored counts) and the marks of one
message on the review page (`message_marks`) follow these rules, so a conversation flagged in the list shows the
mark on the message that made it. Intent names are shown to staff in the words of bot/staff/intent_choices.py.

No Rasa import: the web service reads this (it never loads Rasa).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Dict, FrozenSet, List, Optional, Sequence

from bot.channels.sender_ids import CHANNELS, REST, channel_of
from bot.dialogue.intents import FALLBACK_RESPONSE, FORMS, RED_FLAG_INTENT, RED_FLAG_RESPONSE

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


def is_topic(intent: Optional[str]) -> bool:
    return bool(intent) and intent not in NOT_TOPICS


def channel_key(sender_id: str) -> str:
    """The analytics' channel of a conversation: "web", "messenger", "instagram", or "rest" (REST and any id
    without a known prefix)."""
    return channel_of(sender_id) or REST


ANALYTICS_CHANNELS = tuple(channel for channel in ("web", "messenger", "instagram", "rest") if channel in CHANNELS)


# ---------- the review list's flags, and the marks of one patient message on the review page

FALLBACK, LOW_CONFIDENCE, HANDOFF, RED_FLAG, FORM_ABANDONED, THUMBS_DOWN = FLAGS = (
    "fallback",
    "low_confidence",
    "handoff",  # hand-off or call-back: HANDOFF_INTENTS asked, or any request stored (REQUEST_KINDS)
    "red_flag",
    "form_abandoned",
    "thumbs_down",
)


def is_button(text: str) -> bool:
    """A button's payload ("/affirm"), kept by Rasa as the message's text: its confidence is not the classifier's."""
    return text.startswith(BUTTON_PREFIX)


def message_marks(
    intent: Optional[str], confidence: Optional[float], button: bool, replies: Sequence[Optional[str]], threshold: float
) -> List[str]:
    """The flags one patient message raises, from its intent, confidence and the responses it got
    (`utter_action`s): those that session_facts.py counts for the list's flags."""
    marks = []
    if FALLBACK_RESPONSE in replies:
        marks.append(FALLBACK)
    if intent == RED_FLAG_INTENT or RED_FLAG_RESPONSE in replies:
        marks.append(RED_FLAG)
    if confidence is not None and not button and confidence < threshold:
        marks.append(LOW_CONFIDENCE)
    return marks
