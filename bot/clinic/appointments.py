"""The clinic's kinds of appointment, and how each is named: inside a patient-facing sentence ({appointment} in
domain responses, actions/booking.py) and on the staff console's pages."""

from __future__ import annotations

import re
from typing import Optional

# inside a response's sentence: "To book your {appointment} at ..."
APPOINTMENT_LABELS = {
    "acc_treatment": "ACC treatment",
    "free_consult": "free 15-minute consultation",
    "treatment": "appointment",
}
# on the staff console: a heading-like name
APPOINTMENT_NAMES = {
    "acc_treatment": "ACC treatment",
    "free_consult": "Free 15-minute consultation",
    "treatment": "Standard treatment",
}

# Words that name a kind of appointment, in the order they are tried ("acc treatment" is ACC, "free chat" free).
_KIND_WORDS = (
    ("free_consult", re.compile(r"\bfree\b|\bcomplimentary\b|\b15[- ]?min|\bconsult(ation)?s?\b|\bchat\b", re.I)),
    ("acc_treatment", re.compile(r"\bacc\b", re.I)),
    ("treatment", re.compile(r"\b(standard|normal|regular|private|full|non[- ]?acc)\b", re.I)),
)
# An answer to "which appointment?" may also just say "treatment" or "acupuncture".
_ANSWER_WORDS = re.compile(r"\btreatment\b|\bacupuncture\b|\bsession\b", re.I)


def kind_in_words(text: str, answering: bool = False) -> Optional[str]:
    """The kind of appointment the patient's words name ("book the free consult", "a standard treatment"), or None;
    `answering`: the words answer "which appointment?", where "just a treatment" is enough."""
    found = next((kind for kind, words in _KIND_WORDS if words.search(text or "")), None)
    if found is None and answering and _ANSWER_WORDS.search(text or ""):
        return "treatment"
    return found
