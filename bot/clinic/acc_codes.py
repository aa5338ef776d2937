"""ACC45 claim numbers and Read codes: the one place that says what a valid one looks like.

Formats from ../shared/knowledge/acc-facts.md: an ACC45 number is 7 characters once spaces are
removed and letters upper-cased: two letters + five digits (AB12345, older format), five digits +
two letters (12345AB) or four digits + three letters (1234ABC). A Read code is 5 characters,
padded with dots where shorter (e.g. "S57..", "14L..").

Written in two parts, an ACC45 shape can also be a number followed by a word: "in march 2024 and it still
hurts", "since 2023 for my back", "paid 1200 for it". `reads_as_words` tells them apart: the letters are a common
word (any case), or lower-case letters follow a year (19xx/20xx). A shape written as one ("2024AND") is always a
number; a shape the message labels ("my acc45 is 2024 abc", "claim number: 1234 AND") is a number unless its
letters are a common word not in capitals ("claim number is 1234 and ..."). The trade-off, as a number the patient
never gave must not be kept: an unlabelled "it's 2024 abc" or "no 12345" inside a sentence is not found. The ACC
check still takes such a number when it is the whole answer to its question (`normalise_acc45`), else asks again.
"""

from __future__ import annotations

import re
from typing import Collection, Iterator, Optional

# The three formats as (first part, second part); a space or hyphen may stand between the parts.
ACC45_FORMATS = ((r"[A-Z]{2}", r"[0-9]{5}"), (r"[0-9]{5}", r"[A-Z]{2}"), (r"[0-9]{4}", r"[A-Z]{3}"))
ACC45_REGEX = "|".join(a + b for a, b in ACC45_FORMATS)
ACC45_EXAMPLES = ("AB12345", "12345AB", "1234ABC")
_ACC45 = re.compile(rf"^(?:{ACC45_REGEX})$")
ACC45_IN_TEXT = re.compile(
    r"(?<![A-Za-z0-9])(?:" + "|".join(a + r"[ -]?" + b for a, b in ACC45_FORMATS) + r")(?![A-Za-z0-9])",
    re.IGNORECASE | re.ASCII,
)

# Words that follow a number in patients' messages ("2024 and", "1200 for", "12345 km", "since 2024 ACC ...").
WORDS_AFTER_NUMBERS = frozenset(
    (  # noqa: SIM905 (a word list reads better as text)
        "am an as at be by do go he if in is it km kg me my no nz of ok on or so to up us we pm gp hr yr wk mo "
        "ago all and any are but can did for got had has her his how its not now off one our out per pls "
        "the too two was who why yet you day hrs wks yrs jan feb mar apr may jun jul aug sep oct nov dec "
        "acc ish til min max etc aka lol omg btw fyi tbh idk thx plz bro"
    ).split()
)
_YEAR = re.compile(r"(?:19|20)[0-9]{2}")
_TWO_PARTS = re.compile(r"^([A-Za-z]+|[0-9]+)[ -]([A-Za-z]+|[0-9]+)$")
# The message names the number just before it: "my acc45 is", "ACC45:", "acc 45 no.", "claim number is", "claim #".
_LABEL = re.compile(
    r"(?:\bacc\s*-?\s*45(?:\s*(?:claim\s*)?(?:number|no\.?|num|#))?|\b(?:claim|acc)\s*(?:number|no\.?|num|#))"
    r"\s*(?:(?:is|was|it'?s|[:=#-])\s*)*$",
    re.IGNORECASE,
)
_LABEL_REACH = 40  # characters before a number where its label is looked for

# 5 characters: letters/digits, then dot padding. A digit among the first two characters, or dot
# padding, is required so that words such as "hello" or "acc45" are never taken for a code.
READ_CODE_REGEX = r"(?=[A-Z0-9.]{5}$)(?=.?[0-9]|.*\.)[A-Z0-9]{1,5}\.{0,4}"
_READ_CODE = re.compile(rf"^(?:{READ_CODE_REGEX})$")


def _compact(text: str) -> str:
    return re.sub(r"[\s-]+", "", text or "").upper()


def normalise_acc45(text: Optional[str]) -> Optional[str]:
    """Return the ACC45 number in canonical form (upper case, no spaces), or None if invalid."""
    candidate = _compact(text or "")
    return candidate if _ACC45.match(candidate) else None


def is_valid_acc45(text: Optional[str]) -> bool:
    """True when `text` is an ACC45 number in one of the three accepted formats."""
    return normalise_acc45(text) is not None


def reads_as_words(match: re.Match[str]) -> bool:
    """True when an ACC45_IN_TEXT match is a number then a word ("2024 and", "1200 for"), not a claim number."""
    parts = _TWO_PARTS.match(match.group(0))
    if not parts:
        return False  # "2024AND", "AB12345": written as one, a number
    digits, letters = sorted(parts.groups(), key=str.isdigit, reverse=True)
    labelled = bool(_LABEL.search(match.string[max(0, match.start() - _LABEL_REACH) : match.start()]))
    if letters.lower() in WORDS_AFTER_NUMBERS:
        return not (labelled and letters.isupper())
    return bool(_YEAR.fullmatch(digits)) and letters.islower() and not labelled


def acc45_matches(text: Optional[str], known: Collection[str] = ()) -> Iterator[re.Match[str]]:
    """The ACC45 numbers written in `text`, in order, skipping numbers followed by words ("march 2024 and").

    `known`: canonical numbers the patient gave (e.g. in a slot), matched even where they read as words.
    """
    text, pos = text or "", 0
    while True:
        match = ACC45_IN_TEXT.search(text, pos)
        if match is None:
            return
        if normalise_acc45(match.group(0)) in known or not reads_as_words(match):
            yield match
            pos = match.end()
        else:
            pos = match.start() + 1  # "in 12345 ab": "12345 ab" may still follow inside the skipped words


def find_acc45(text: Optional[str]) -> Optional[str]:
    """Find an ACC45 number inside a sentence ("my number is ab 12345"): canonical form or None."""
    match = next(acc45_matches(text), None)
    return normalise_acc45(match.group(0)) if match else None


def without_acc45(text: Optional[str], replacement: str = " ") -> str:
    """`text` with each ACC45 number (as `acc45_matches` finds them) replaced by `replacement`."""
    text, out, done = text or "", [], 0
    for match in acc45_matches(text):
        out += [text[done : match.start()], replacement]
        done = match.end()
    return "".join(out) + text[done:]


def mask_acc45(number: str) -> str:
    """Partly mask a canonical ACC45 number for display: AB12345 -> AB•••45."""
    return number[:2] + "•" * (len(number) - 4) + number[-2:]


def normalise_read_code(text: Optional[str]) -> Optional[str]:
    """Return the Read code upper-cased without spaces, or None if it is not a 5-character Read code."""
    candidate = _compact(text or "")
    return candidate if _READ_CODE.match(candidate) else None
