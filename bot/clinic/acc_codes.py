"""ACC45 claim numbers and Read codes: the one place that says what a valid one looks like.

Formats from ../shared/knowledge/acc-facts.md: an ACC45 number is 7 characters once spaces are
removed and letters upper-cased: two letters + five digits (AB12345, older format), five digits +
two letters (12345AB) or four digits + three letters (1234ABC). A Read code is 5 characters,
padded with dots where shorter (e.g. "S57..", "14L..").
"""

from __future__ import annotations

import re
from typing import Optional

# The three formats as (first part, second part); a space or hyphen may stand between the parts.
ACC45_FORMATS = ((r"[A-Z]{2}", r"[0-9]{5}"), (r"[0-9]{5}", r"[A-Z]{2}"), (r"[0-9]{4}", r"[A-Z]{3}"))
ACC45_REGEX = "|".join(a + b for a, b in ACC45_FORMATS)
ACC45_EXAMPLES = ("AB12345", "12345AB", "1234ABC")
_ACC45 = re.compile(rf"^(?:{ACC45_REGEX})$")
ACC45_IN_TEXT = re.compile(
    r"(?<![A-Za-z0-9])(?:" + "|".join(a + r"[ -]?" + b for a, b in ACC45_FORMATS) + r")(?![A-Za-z0-9])",
    re.IGNORECASE | re.ASCII,
)

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


def find_acc45(text: Optional[str]) -> Optional[str]:
    """Find an ACC45 number inside a sentence ("my number is ab 12345"): canonical form or None."""
    match = ACC45_IN_TEXT.search(text or "")
    return normalise_acc45(match.group(0)) if match else None


def mask_acc45(number: str) -> str:
    """Partly mask a canonical ACC45 number for display: AB12345 -> AB•••45."""
    return number[:2] + "•" * (len(number) - 4) + number[-2:]


def normalise_read_code(text: Optional[str]) -> Optional[str]:
    """Return the Read code upper-cased without spaces, or None if it is not a 5-character Read code."""
    candidate = _compact(text or "")
    return candidate if _READ_CODE.match(candidate) else None
