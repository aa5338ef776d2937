"""ACC details inside a patient's own words: the injury date, the claim status and the ACC45 number.

Used by the ACC check (actions/acc_eligibility.py) to take what an opening message already says ("hurt my
glute 2 weeks back, claim is approved, acc45 12345AB") and to notice corrections ("hang on, it's not approved
yet"), and by bot/dialogue/context.py to see that such a message asks for the check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Optional

from bot.clinic.acc_codes import find_acc45, without_acc45
from bot.clinic.injury_dates import parse_injury_date

APPROVED, NOT_APPROVED, UNKNOWN = "approved", "not_approved", "unknown"

# Said about the claim, in any message: only explicit words count ("approved", "declined", "no claim yet").
_CLAIM_NOT_APPROVED = re.compile(
    r"\b(?:(?:not|n't|never|isn'?t|hasn'?t|wasn'?t|haven'?t)\s+(?:been\s+|yet\s+|got\s+it\s+)?(?:approved|accepted)"
    r"|not\s+yet\s+approved|(?:claim|acc)\b[^.?!]{0,30}\b(?:declined|rejected|pending|turned down)"
    r"|(?:declined|rejected)\s+(?:my\s+)?claim|still\s+waiting\s+(?:on|for)\s+(?:acc|the\s+claim|approval)"
    r"|no\s+claim(?:\s+yet)?|haven'?t\s+(?:made|lodged|got|put\s+in)\s+a\s+claim)\b",
    re.I,
)
_CLAIM_APPROVED = re.compile(
    r"\b(?:approved|accepted)\b|\bclaim(?:'s|\s+is|\s+has\s+been|\s+was)?\s+(?:ok|okayed|through)\b", re.I
)
_CLAIM_UNKNOWN = re.compile(
    r"\b(?:not\s+sure|don'?t\s+know|dunno|no\s+idea)\s+(?:if|whether)\s+(?:the\s+|my\s+)?(?:claim|acc|it)", re.I
)
_CLAUSES = re.compile(r"[,;.!?]+|\s+(?:and|but)\s+", re.I)
_ABOUT_THE_CLAIM = re.compile(r"\b(?:approved|accepted|declined|rejected|lodged|claim)\b", re.I)
_INJURY = re.compile(
    r"\b(?:hurt|injur\w*|fell|fall|fallen|tore|torn|tear|strain\w*|sprain\w*|pulled|twisted|happened|accident|"
    r"crash\w*|slipped|tripped|did it|done it)\b",
    re.I,
)
# Words that say a date is a correction of the injury date given earlier.
_CORRECTION = re.compile(
    r"\b(?:sorry|actually|i\s+mean|i\s+meant|meant|oops|wait|correction|it\s+was|was\s+on|happened|hurt\s+it)\b", re.I
)


def find_claim_status(text: str) -> Optional[str]:
    """approved / not_approved / unknown when the message says so about the claim, else None."""
    if _CLAIM_UNKNOWN.search(text or ""):
        return UNKNOWN
    if _CLAIM_NOT_APPROVED.search(text or ""):
        return NOT_APPROVED
    return APPROVED if _CLAIM_APPROVED.search(text or "") else None


def find_injury_date(text: str, today: date) -> Optional[str]:
    """The part of the message that reads as a date ("2 weeks back", "the 3rd of June"), or None.

    Returns the text without any ACC45 number (digits of "12345AB" are not a date; the year of "3 March 2024 and"
    is), for the form's own validation to parse and confirm.
    """
    without_codes = without_acc45(text)
    clauses = [c for c in _CLAUSES.split(without_codes) if c and not _ABOUT_THE_CLAIM.search(c)]
    about_injury = " , ".join(clauses)  # "my claim got approved last week": not the injury's date
    return about_injury if parse_injury_date(about_injury, today).value is not None else None


_ACC = re.compile(r"\bacc\b", re.I)


def mentions_acc(text: str) -> bool:
    """"am i eligible for acc?": the message names ACC (so a dated injury in it is for the ACC check)."""
    return bool(_ACC.search(text or ""))


def mentions_injury(text: str) -> bool:
    """"hurt my butt", "fell", "tore my glute": the message talks about an injury (so a date in it is its date)."""
    return bool(_INJURY.search(text or ""))


def is_correction(text: str) -> bool:
    """"sorry, I mean...", "actually it was...": the patient corrects something said before."""
    return bool(_CORRECTION.search(text or ""))


@dataclass(frozen=True)
class AccDetails:
    """What a message says about the ACC check (None where it says nothing)."""

    injury_date: Optional[str]
    claim_status: Optional[str]
    acc45: Optional[str]

    def count(self) -> int:
        return sum(x is not None for x in (self.injury_date, self.claim_status, self.acc45))


def acc_details_in(text: str, today: date) -> AccDetails:
    """Every ACC detail the message gives."""
    return AccDetails(find_injury_date(text, today), find_claim_status(text), find_acc45(text))
