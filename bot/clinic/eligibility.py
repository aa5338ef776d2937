"""The clinic's ACC rule: is acupuncture for this injury ACC-subsidised?

From the clinic's article (../shared/knowledge/acc-facts.md): the injury must be UNDER twelve months
old from the date of injury, the ACC claim must be approved, and the patient must give their ACC45
number. Pure Python, no Rasa imports; ACC45 validity is decided only by `bot.clinic.acc_codes.normalise_acc45`.

Reading of "under twelve months" (tested in tests/unit/test_eligibility.py): the injury is under twelve
months old when it happened AFTER the same calendar date twelve months before today. An injury exactly
twelve months ago (same day and month last year) is NOT under twelve months; one a day later is; one
dated today is. Twelve months before a 29 February is clamped to 28 February of the year before
(29 Feb 2028 -> 28 Feb 2027); 28 Feb 2025 -> 28 Feb 2024 and 1 Mar 2025 -> 1 Mar 2024.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.clinic.acc_codes import normalise_acc45
from bot.clinic.injury_dates import months_before

INJURY_DATE_MISSING = "injury_date_missing"
INJURY_TOO_OLD = "injury_too_old"
INJURY_IN_FUTURE = "injury_in_future"
CLAIM_NOT_APPROVED = "claim_not_approved"
ACC45_MISSING_OR_INVALID = "acc45_missing_or_invalid"

# Every reason `assess` can give, in the order it gives them.
REASONS = (INJURY_DATE_MISSING, INJURY_TOO_OLD, INJURY_IN_FUTURE, CLAIM_NOT_APPROVED, ACC45_MISSING_OR_INVALID)


@dataclass(frozen=True)
class Verdict:
    """Eligible or not, and the conditions that failed (a subset of REASONS, in that order)."""

    eligible: bool
    reasons: tuple[str, ...]


def twelve_months_before(today: date) -> date:
    """The same calendar date twelve months before `today`, clamped to 28 Feb when today is 29 Feb."""
    return months_before(today, 12)


def is_under_twelve_months(injury: date, today: date) -> bool:
    """True when the injury happened after `twelve_months_before(today)`.

    Only the lower bound: a date after today is "under twelve months" here too; `assess` reports it
    as "injury_in_future" instead.
    """
    return injury > twelve_months_before(today)


def _injury_date_problem(injury: date | None, today: date) -> str | None:
    """The failed date condition, if any: missing, in the future, or twelve months old or more."""
    if injury is None:
        return INJURY_DATE_MISSING
    if injury > today:
        return INJURY_IN_FUTURE
    if not is_under_twelve_months(injury, today):
        return INJURY_TOO_OLD
    return None


def assess(injury: date | None, claim_approved: bool | None, acc45: str | None, today: date) -> Verdict:
    """Apply the clinic's rule. An unknown claim status (None) counts as not approved."""
    failed = (
        _injury_date_problem(injury, today),
        None if claim_approved is True else CLAIM_NOT_APPROVED,
        None if normalise_acc45(acc45) else ACC45_MISSING_OR_INVALID,
    )
    reasons = tuple(reason for reason in failed if reason is not None)
    return Verdict(eligible=not reasons, reasons=reasons)
