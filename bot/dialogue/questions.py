"""Messages with several questions ("do I need a referral, and will it clash with my physio?"): the parts.

bot/rasa_patches.py (6) handles each part as its own turn, in order, so every question gets its answer in
the same reply. A message is split only when at least two parts are each confidently a *different*
question or request (`ANSWERABLE`); "what are the origin and insertion of gluteus medius" stays whole
because both halves are the same question, "hi, do I need a referral?" because a greeting is not a question.
"""

from __future__ import annotations

import re
from typing import Any, Awaitable, Callable, Dict, List

MIN_CONFIDENCE = 0.5
MAX_PARTS = 4
# Sentence ends, then joining words: ", and", " and also", " also", " plus", "&", ";".
_SENTENCES = re.compile(r"(?<=[?!.])\s+|\?(?=\w)")
_JOINS = re.compile(r"\s*(?:[,;]\s*(?:and\s+)?(?:also\s+)?|\s+and\s+(?:also\s+)?|\s+also\s+|\s+plus\s+|\s*&\s*)", re.I)
_ANSWERABLE_PREFIXES = ("faq_", "clinic_")
_ANSWERABLE = frozenset(
    {"book_appointment", "check_acc_eligibility", "request_contact", "human_handoff", "bot_challenge",
     "ask_if_human", "ask_other_body_part", "ask_diagnosis"}
)  # fmt: skip
Parse = Callable[[str], Awaitable[Dict[str, Any]]]


# A part is a question or request when it ends with "?" or starts like one ("kinda nervous about needles" is not).
_QUESTION_START = re.compile(
    r"^(?:(?:and|also|plus|oh|so|ok|okay|hi|hey|kia ora|sorry)\b[\s,]*)*"
    r"(?:what|whats|what's|how|when|where|who|why|which|do|does|did|is|isn't|are|aren't|can|could|will|would|"
    r"should|may|shall|have|has|any|i'd like|id like|"
    r"i want|i wanna|i need|i would like|i'd love|book|tell|please|pls|give|send|let me|need)\b",
    re.I,
)


def looks_like_question(part: str) -> bool:
    """True for "do you open on Sundays", "i'd like to book", "will it clash?"; False for statements."""
    return part.rstrip().endswith("?") or bool(_QUESTION_START.match(part.strip()))


def answerable(intent: str) -> bool:
    """An intent with its own answer or flow (not chit-chat, not an answer to a question)."""
    return intent.startswith(_ANSWERABLE_PREFIXES) or intent in _ANSWERABLE


def candidate_parts(text: str) -> List[str]:
    """The message cut at sentence ends and joining words; one part when there is nothing to cut."""
    if len(text) < 12 or not re.search(r"[?!.;,&]|\band\b|\balso\b|\bplus\b", text, re.I):
        return [text]
    parts: List[str] = []
    for sentence in _SENTENCES.split(text):
        parts += [p.strip(" ,;") for p in _JOINS.split(sentence) if p and p.strip(" ,;")]
    return parts if 1 < len(parts) <= 2 * MAX_PARTS else [text]


async def split_questions(text: str, parse: Parse) -> List[str]:
    """The message's questions in order (each a piece of the text), or `[text]` when it asks one thing.

    Parts that are not questions on their own (a greeting, a short "and also") are joined to the question
    that follows them, so no words are lost.
    """
    parts = candidate_parts(text)
    if len(parts) < 2:
        return [text]
    questions: List[str] = []
    intents: List[str] = []
    pending = ""
    for part in parts:
        reading = (await parse(part)).get("intent") or {}
        name, confidence = reading.get("name") or "", reading.get("confidence") or 0.0
        if (
            answerable(name)
            and confidence >= MIN_CONFIDENCE
            and name not in intents
            and len(part.split()) >= 2
            and looks_like_question(part)
        ):
            questions.append(f"{pending} {part}".strip())
            intents.append(name)
            pending = ""
        elif questions and not pending:
            questions[-1] = f"{questions[-1]} {part}"  # e.g. "and when?" belongs to the question before
        else:
            pending = f"{pending} {part}".strip()
    if pending and questions:
        questions[-1] = f"{questions[-1]} {pending}"
    if not 2 <= len(questions) <= MAX_PARTS:
        return [text]
    whole = await parse(text)  # only now: most messages with joining words ask one thing
    if (whole.get("intent") or {}).get("name") == "red_flag":
        return [text]  # an emergency anywhere in the message: urgent-care advice first, as one message
    return questions
