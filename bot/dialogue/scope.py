"""What the clinic's knowledge covers: glute injuries. Other body parts are not answered with glute facts."""

from __future__ import annotations

import re

# Answers that state glute facts (exercises, muscles, acupuncture for a glute injury).
GLUTE_ANSWER_INTENTS = frozenset(
    {
        "faq_glute_exercises",
        "faq_glute_muscles",
        "faq_gluteus_maximus",
        "faq_gluteus_medius",
        "faq_gluteus_minimus",
        "faq_glutes_together",
        "faq_glutes_importance",
        "faq_acupuncture_glute",
    }
)
_GLUTE_AREA = re.compile(
    r"\b(glute\w*|buttocks?|butt|bum|backside|hips?|piriformis|sciatic\w*|tailbone|coccyx)\b", re.I
)
_OTHER_PART = re.compile(
    r"\b(knees?|shoulders?|neck|ankles?|wrists?|elbows?|feet|foot|heels?|toes?|hands?|fingers?|thumbs?|arms?|"
    r"calf|calves|shins?|hamstrings?|quads?|achilles|plantar|rotator cuff|jaw|head|headaches?|migraines?|"
    r"(?:lower|upper|my|sore|bad) back|back pain|spine|ribs?|stomach|abs)\b",
    re.I,
)


def asks_about_other_body_part(text: str) -> bool:
    """True when the message names a body part the clinic's knowledge does not cover, and no glute area."""
    return bool(_OTHER_PART.search(text or "")) and not _GLUTE_AREA.search(text or "")
