"""What each intent gets: the action that answers it, and what it does to a form that is asking a question.

The one table for these rules. `python -m bot.dialogue.rule_files` (`make rules`) writes the dialogue rules from it
(data/rules/answers.yml, data/rules/form_interruptions.yml), and the forms' validation actions read it through
bot/dialogue/interruptions.py to leave a question, a "stop" or another flow alone instead of taking it as an answer.
Every intent of domain/ has a row (tests/unit/test_rule_files.py checks it); a row may stand for a family of
intents ("faq_*"), and a name's own row wins over a family's. Python rather than YAML: the action server reads it
for every answer to a form with nothing to locate or parse, and a mistyped mode or field fails at import.

During a form an intent:
- INTERRUPTS: it is answered, then the form asks its question again;
- ENDS the form: it is answered, then the form stops (nothing kept);
- SWITCHES to another flow: the form stops (nothing kept, the patient is told), then it is answered, which may start
  another form; asking for the form that is already running is not a switch (the form reads it);
- GOES_TO_FORM: the form's validation reads it (yes / no / a date / don't know, or anything else it must judge).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from fnmatch import fnmatchcase
from typing import Dict, Optional


class DuringForm(Enum):
    """What an intent does to a form that is asking a question."""

    INTERRUPTS = "interrupts"
    ENDS = "ends"
    SWITCHES = "switches"
    GOES_TO_FORM = "goes to the form"


INTERRUPTS, ENDS, SWITCHES, GOES_TO_FORM = DuringForm


@dataclass(frozen=True)
class Intent:
    """One row: `answer` answers the intent (a rule "intent -> answer"; `{intent}` is the intent's name; a form's name
    starts that form; None: no generated rule), `during_form` says what it does to a running form, `in_form_answer`
    answers it during a form when that differs, `outside_forms_only` limits the answer's rule to when no form runs."""

    answer: Optional[str]
    during_form: DuringForm
    in_form_answer: Optional[str] = None
    outside_forms_only: bool = False
    runs_form: Optional[str] = None  # a form the answer may start itself: asked for during it, the form reads it

    def answer_for(self, intent: str) -> Optional[str]:
        """The action that answers `intent` (this row's `answer` with the intent's name filled in)."""
        return self.answer.format(intent=intent) if self.answer else None

    def in_form_answer_for(self, intent: str) -> Optional[str]:
        """The action that answers `intent` during a form."""
        return self.in_form_answer or self.answer_for(intent)

    def starts_form(self, intent: str) -> Optional[str]:
        """The form that answering `intent` starts (its rule activates it), or None."""
        answer = self.answer_for(intent)
        return answer if answer in FORMS else None

    def flow_form(self, intent: str) -> Optional[str]:
        """The form of the flow `intent` asks for: the one its rule starts or the one its action may start."""
        return self.starts_form(intent) or self.runs_form


# The forms whose questions these rules interrupt (the forms of domain/, tests/unit/test_rule_files.py checks).
FORMS = ("acc_eligibility_form", "booking_form", "contact_form")

# Names other modules look for, written once here (no Rasa import: the web service and the metrics read them too).
RED_FLAG_INTENT = "red_flag"  # emergency symptoms; bot/nlu/red_flag_detector.py makes it win
RED_FLAG_RESPONSE = "utter_red_flag"  # the urgent-care advice
FALLBACK_RESPONSE = "utter_fallback"  # "please rephrase": also config.yml's core_fallback_action_name


# fmt: off
INTENTS: Dict[str, Intent] = {
    # Questions: answered wherever they are asked; during a form, the form then asks its question again.
    "faq_*":                Intent("utter_{intent}", INTERRUPTS),  # every FAQ has its own response
    "clinic_*":             Intent("action_clinic_details", INTERRUPTS),  # from clinic_profile.yml
    "bot_challenge":        Intent("utter_bot_challenge", INTERRUPTS),
    "ask_if_human":         Intent("utter_human_challenge", INTERRUPTS),
    "ask_capabilities":     Intent("utter_capabilities", INTERRUPTS),
    "ask_diagnosis":        Intent("utter_no_diagnosis", INTERRUPTS),
    # Pain that keeps going, without emergency signs: GP / physio / Healthline, not the 111 template.
    "ongoing_pain":         Intent("utter_ongoing_pain", INTERRUPTS),
    # The clinic's knowledge is about glute injuries: other body parts are not answered with glute facts.
    "ask_other_body_part":  Intent("utter_other_body_part", INTERRUPTS),
    # "Talk to a person": the contact route, and an offer to record a hand-off request (a "yes" starts the contact
    # form, bot/dialogue/offers.py; the request keeps request_kind=handoff).
    "human_handoff":        Intent("action_human_handoff", INTERRUPTS, outside_forms_only=True),

    # Emergency symptoms come first, whatever else the message says (bot/nlu/red_flag_detector.py); during a form,
    # urgent-care advice first, then the form stops with nothing half-kept.
    RED_FLAG_INTENT:        Intent(RED_FLAG_RESPONSE, ENDS),
    # "Never mind": outside a form a kind word; during a form, the form is cancelled.
    "stop":                 Intent("utter_no_worries", ENDS, in_form_answer="utter_form_cancelled"),

    # Other flows: each starts here; asked for during another form, that form stops first.
    # Booking: a link or a call-back offer; with the "cliniko" provider the action starts booking_form itself
    # (bot/booking/settings.py), so "book" during it is the form's to read ("book the free one").
    "book_appointment":     Intent("action_booking", SWITCHES, runs_form="booking_form"),
    "check_acc_eligibility": Intent("acc_eligibility_form", SWITCHES),
    "request_contact":      Intent("contact_form", SWITCHES),
    # "I need to move my appointment": the chat changes nothing itself; the contact form records a request for staff
    # with what the patient said (request_kind "change", actions/booking.py).
    "change_appointment":   Intent("contact_form", SWITCHES),
    # "Forget me": confirm first, then actions/privacy.py deletes the conversation and the requests (the answers
    # to the confirmation are in data/rules/privacy.yml).
    "forget_me":            Intent("utter_ask_forget_me", SWITCHES),

    # What a form reads as an answer: outside a form they get their own reply.
    "affirm":               Intent("utter_anything_else", GOES_TO_FORM),
    "deny":                 Intent("utter_no_worries", GOES_TO_FORM),
    "dont_know":            Intent("utter_no_worries", GOES_TO_FORM, outside_forms_only=True),
    # A date or number out of the blue.
    "inform":               Intent("utter_inform_outside_form", GOES_TO_FORM, outside_forms_only=True),
    # Small talk and the rest: never an interruption (a form judges them itself).
    "greet":                Intent("utter_greet", GOES_TO_FORM),  # the first greeting: data/rules/basics.yml
    "goodbye":              Intent("utter_goodbye", GOES_TO_FORM),
    "thank":                Intent("utter_thank", GOES_TO_FORM),
    "out_of_scope":         Intent("utter_out_of_scope", GOES_TO_FORM),
    # Low NLU confidence: ask to rephrase and offer the main topics instead of guessing.
    "nlu_fallback":         Intent(FALLBACK_RESPONSE, GOES_TO_FORM),
    # After urgent-care advice, "ok ringing 111 now" gets a kind word, not an offer (bot/dialogue/context.py).
    "urgent_followup":      Intent("utter_urgent_followup", GOES_TO_FORM),
    # Messenger / Instagram events the channels turn into intents (bot/channels/events.py).
    "shared_attachment":    Intent("utter_shared_attachment", GOES_TO_FORM),  # a photo, video, voice message, file
    "story_mention":        Intent("utter_story_mention", GOES_TO_FORM),  # thanks for an Instagram story mention
    # Rasa's own intents, answered by Rasa's default rules.
    "back":                 Intent(None, GOES_TO_FORM),
    "restart":              Intent(None, GOES_TO_FORM),
    "session_start":        Intent(None, GOES_TO_FORM),
}
# fmt: on


def row_key(intent: str) -> Optional[str]:
    """The key of the row for `intent`: its own, else the first family that matches it, else None."""
    if intent in INTENTS:
        return intent
    return next((key for key in INTENTS if "*" in key and fnmatchcase(intent, key)), None)


def row(intent: Optional[str]) -> Optional[Intent]:
    """The row for `intent`, or None when the table does not know it."""
    key = row_key(intent) if intent else None
    return INTENTS[key] if key else None
