"""The intents staff can choose for a patient message (annotation, bot/staff/annotations.py), in staff's words.

`LABELS` is the one table of intents in staff's words: the review page, the review list's topics and the analytics'
top topics (bot/analytics/reports.py) use it too.

Read from domain/*.yml with plain YAML (the web service never imports Rasa), so a new intent appears in the console
as soon as it is in the domain. Each domain file is a group of the choice list ("Questions", "Booking and
contact", ...); `LABELS` gives each intent a readable name ("out_of_scope" -> "Out of scope"), and an intent
without one is shown by its name made readable ("faq_new_topic" -> "Faq new topic"): add it here.
The channels' own intents (a shared photo, a story mention) never come from typed text, so they are no choice.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import yaml

DOMAIN_DIR = Path(__file__).resolve().parent.parent.parent / "domain"
NOT_TYPED = frozenset({"shared_attachment", "story_mention"})  # made by bot/channels/ from attachments and mentions
GROUPS = {  # domain file -> the group's heading in the choice list
    "faq": "Questions",
    "clinic": "Clinic details",
    "booking": "Booking and contact",
    "acc_check": "ACC check",
    "safety": "Health and safety",
    "basics": "Conversation",
    "privacy": "Privacy",
}
LABELS = {
    "check_acc_eligibility": "Check my ACC eligibility",
    "inform": "Gives details (answers a question)",
    "dont_know": "Doesn't know",
    "stop": "Stop / never mind",
    "greet": "Hello",
    "goodbye": "Goodbye",
    "thank": "Thanks",
    "affirm": "Yes",
    "deny": "No",
    "bot_challenge": "Are you a bot?",
    "ask_if_human": "Am I talking to a person?",
    "ask_capabilities": "What can you do?",
    "out_of_scope": "Out of scope",
    "human_handoff": "Wants to talk to a person",
    "book_appointment": "Book an appointment",
    "request_contact": "Asks for a call-back",
    "change_appointment": "Change or cancel an appointment",
    "clinic_prices": "Prices",
    "clinic_hours": "Opening hours",
    "clinic_contact": "The clinic's phone or e-mail",
    "clinic_practitioners": "Practitioners",
    "faq_referral": "GP referral needed?",
    "faq_other_treatment": "Physio or other treatment alongside",
    "faq_acc_requirements": "What ACC needs",
    "faq_acc45": "The ACC45 form",
    "faq_read_codes": "Read codes",
    "faq_acc_time_limit": "ACC's 12-month limit",
    "faq_acc_cover": "Does ACC cover acupuncture?",
    "faq_acupuncture_what": "What acupuncture is",
    "faq_acupuncture_glute": "Acupuncture for a glute injury",
    "faq_cupping_moxibustion": "Cupping and moxibustion",
    "faq_sessions": "How many sessions",
    "faq_after_treatment": "How you feel after treatment",
    "faq_athletes": "Athletes",
    "faq_acute_injury": "A new injury: see a doctor first?",
    "faq_suitability": "Is acupuncture right for me?",
    "faq_glute_muscles": "The gluteal muscles",
    "faq_gluteus_maximus": "Gluteus maximus",
    "faq_gluteus_medius": "Gluteus medius",
    "faq_gluteus_minimus": "Gluteus minimus",
    "faq_glutes_together": "How the glutes work together",
    "faq_glutes_importance": "Why the glutes matter",
    "faq_glute_exercises": "Glute exercises",
    "faq_clinic_address": "The clinic's address",
    "faq_free_consultation": "The free 15-minute consultation",
    "faq_social_media": "Facebook and Instagram",
    "forget_me": "Delete my data (forget me)",
    "red_flag": "Red flag (emergency symptoms)",
    "urgent_followup": "Reply after urgent-care advice",
    "ongoing_pain": "Pain that has lasted weeks",
    "ask_other_body_part": "About another body part",
    "ask_diagnosis": "Asks for a diagnosis",
    "nlu_fallback": "Not understood (fallback)",  # predicted, never chosen: not in the domain
    "shared_attachment": "Sent a photo or file",  # the channels' own (NOT_TYPED): topics, never a choice
    "story_mention": "Instagram story mention",
}


@dataclass(frozen=True)
class IntentChoice:
    name: str
    label: str


def label(intent: str) -> str:
    """The intent in staff's words."""
    return LABELS.get(intent) or intent.replace("_", " ").strip().capitalize()


def _intents_of(path: Path) -> List[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    names = []
    for item in data.get("intents") or []:  # a name, or {name: {use_entities: ...}}
        names.extend([item] if isinstance(item, str) else list(item) if isinstance(item, dict) else [])
    return [str(name) for name in names if str(name) not in NOT_TYPED]


@functools.lru_cache(maxsize=4)
def intent_groups(domain_dir: Path = DOMAIN_DIR) -> Tuple[Tuple[str, Tuple[IntentChoice, ...]], ...]:
    """(group heading, choices sorted by label) for each domain file that has intents, in the order of GROUPS."""
    groups: Dict[str, List[IntentChoice]] = {}
    for path in sorted(domain_dir.glob("*.yml")):
        heading = GROUPS.get(path.stem, path.stem.replace("_", " ").capitalize())
        for name in _intents_of(path):
            groups.setdefault(heading, []).append(IntentChoice(name, label(name)))
    order = list(GROUPS.values())
    ordered = sorted(groups.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order))
    return tuple((heading, tuple(sorted(choices, key=lambda c: c.label.casefold()))) for heading, choices in ordered)


def domain_intents(domain_dir: Path = DOMAIN_DIR) -> frozenset:
    """Every intent staff may choose (the domain's, less the channels' own)."""
    return frozenset(choice.name for _, choices in intent_groups(domain_dir) for choice in choices)
