"""The clinic's ACC rule (bot/clinic/eligibility.py), table-driven.

Under twelve months = the injury happened AFTER the same calendar date twelve months before today
(29 February clamps to 28 February): exactly twelve months ago is too old, one day later is eligible.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date, datetime, timezone

import pytest

import bot.clinic.eligibility as eligibility
from bot.clinic.acc_codes import normalise_acc45
from bot.clinic.eligibility import REASONS, Verdict, assess, is_under_twelve_months, twelve_months_before
from bot.clinic.injury_dates import clinic_today, parse_injury_date

TODAY = date(2026, 4, 3)
GOOD_ACC45 = "AB12345"


@pytest.mark.parametrize(
    "today, expected",
    [
        (date(2026, 4, 3), date(2025, 4, 3)),
        (date(2026, 1, 1), date(2025, 1, 1)),
        (date(2026, 12, 31), date(2025, 12, 31)),
        (date(2026, 3, 31), date(2025, 3, 31)),
        (date(2026, 4, 5), date(2025, 4, 5)),
        (date(2026, 9, 27), date(2025, 9, 27)),
        (date(2025, 2, 28), date(2024, 2, 28)),
        (date(2025, 3, 1), date(2024, 3, 1)),
        (date(2028, 2, 29), date(2027, 2, 28)),  # clamp: no 29 February in 2027
        (date(2028, 2, 28), date(2027, 2, 28)),
        (date(2028, 3, 1), date(2027, 3, 1)),
        (date(2024, 2, 29), date(2023, 2, 28)),
        (date(2029, 2, 28), date(2028, 2, 28)),
    ],
)
def test_twelve_months_before(today, expected):
    assert twelve_months_before(today) == expected


@pytest.mark.parametrize(
    "injury, today, expected",
    [
        (date(2025, 4, 3), TODAY, False),  # exactly twelve months
        (date(2025, 4, 4), TODAY, True),  # twelve months minus one day
        (date(2025, 4, 2), TODAY, False),  # twelve months and a day
        (date(2026, 4, 3), TODAY, True),  # today
        (date(2026, 4, 2), TODAY, True),
        (date(2025, 10, 3), TODAY, True),
        (date(2016, 4, 3), TODAY, False),  # ten years
        (date(2024, 2, 28), date(2025, 2, 28), False),
        (date(2024, 2, 29), date(2025, 2, 28), True),
        (date(2024, 3, 1), date(2025, 2, 28), True),
        (date(2024, 2, 29), date(2025, 3, 1), False),
        (date(2024, 3, 1), date(2025, 3, 1), False),
        (date(2024, 3, 2), date(2025, 3, 1), True),
        (date(2027, 2, 27), date(2028, 2, 29), False),
        (date(2027, 2, 28), date(2028, 2, 29), False),  # twelve months before 29 Feb 2028 is 28 Feb 2027
        (date(2027, 3, 1), date(2028, 2, 29), True),
        (date(2027, 2, 28), date(2028, 2, 28), False),
        (date(2027, 3, 1), date(2028, 2, 28), True),
        (date(2027, 3, 1), date(2028, 3, 1), False),
        (date(2027, 3, 2), date(2028, 3, 1), True),
        (date(2023, 2, 28), date(2024, 2, 29), False),
        (date(2023, 3, 1), date(2024, 2, 29), True),
        (date(2024, 12, 31), date(2026, 1, 1), False),
        (date(2025, 1, 1), date(2026, 1, 1), False),
        (date(2025, 1, 2), date(2026, 1, 1), True),
    ],
)
def test_is_under_twelve_months(injury, today, expected):
    assert is_under_twelve_months(injury, today) is expected
    assert assess(injury, True, GOOD_ACC45, today).eligible is expected


@pytest.mark.parametrize(
    "injury, expected",
    [
        (date(2026, 4, 3), Verdict(True, ())),  # today
        (date(2025, 4, 4), Verdict(True, ())),  # twelve months minus one day
        (date(2025, 4, 3), Verdict(False, ("injury_too_old",))),  # exactly twelve months
        (date(2016, 4, 3), Verdict(False, ("injury_too_old",))),  # ten years
        (date(1990, 1, 1), Verdict(False, ("injury_too_old",))),
        (date(2026, 4, 4), Verdict(False, ("injury_in_future",))),  # tomorrow
        (date(2027, 4, 3), Verdict(False, ("injury_in_future",))),  # not also "too old"
        (None, Verdict(False, ("injury_date_missing",))),
    ],
)
def test_injury_date_conditions(injury, expected):
    assert assess(injury, True, GOOD_ACC45, TODAY) == expected


INJURIES = {
    "ok": (date(2026, 1, 15), None),
    "missing": (None, "injury_date_missing"),
    "too_old": (date(2025, 4, 3), "injury_too_old"),
    "future": (date(2026, 4, 4), "injury_in_future"),
}
CLAIMS = {"approved": (True, None), "declined": (False, "claim_not_approved"), "unknown": (None, "claim_not_approved")}
ACC45S = {
    "valid": ("ab 12345", None),
    "missing": (None, "acc45_missing_or_invalid"),
    "empty": ("", "acc45_missing_or_invalid"),
    "invalid": ("AB1234", "acc45_missing_or_invalid"),
}


@pytest.mark.parametrize("injury_key, claim_key, acc45_key", list(itertools.product(INJURIES, CLAIMS, ACC45S)))
def test_every_combination_of_failing_conditions(injury_key, claim_key, acc45_key):
    (injury, injury_reason), (claim, claim_reason), (acc45, acc45_reason) = (
        INJURIES[injury_key],
        CLAIMS[claim_key],
        ACC45S[acc45_key],
    )
    expected = tuple(r for r in (injury_reason, claim_reason, acc45_reason) if r)
    verdict = assess(injury, claim, acc45, TODAY)
    assert verdict == Verdict(eligible=not expected, reasons=expected)
    assert set(verdict.reasons) <= set(REASONS)


@pytest.mark.parametrize(
    "acc45",
    [
        "AB12345", "ab12345", "ab 12345", "Ab 12345", " AB12345 ", "AB 123 45", "AB-12345", "zz99999",
        "12345AB", "12345ab", "12345 ab", "12345-AB", "00000AA",
        "1234ABC", "1234abc", "1234 abc", "1234-ABC", "0000aaa", "9999 ZZZ",
    ],
)  # fmt: skip
def test_valid_acc45_shapes(acc45):
    assert assess(TODAY, True, acc45, TODAY) == Verdict(True, ())
    assert normalise_acc45(acc45) is not None


@pytest.mark.parametrize(
    "acc45",
    [
        None, "", "   ", "AB1234", "AB123456", "A123456", "ABC1234", "A1B2345", "123456A", "1234AB1",
        "12345ABC", "1234ABCD", "123ABCD", "ABCDEFG", "1234567", "12345", "AB", "AB12 34X", "AB1234%",
        "AB12345.", "AB_12345", "ÀB12345", "AB１２３４５", "ACC45", "my number is AB12345", "AB12345 thanks",
    ],
)  # fmt: skip
def test_invalid_acc45(acc45):
    assert assess(TODAY, True, acc45, TODAY) == Verdict(False, ("acc45_missing_or_invalid",))
    assert normalise_acc45(acc45) is None


def test_acc45_validity_comes_from_acc_codes(monkeypatch):
    monkeypatch.setattr(eligibility, "normalise_acc45", lambda text: None)
    assert assess(TODAY, True, GOOD_ACC45, TODAY).reasons == ("acc45_missing_or_invalid",)
    monkeypatch.setattr(eligibility, "normalise_acc45", lambda text: "AB12345")
    assert assess(TODAY, True, "anything", TODAY).eligible


def utc(text: str) -> datetime:
    """An aware UTC datetime from "2026-04-04T11:30"."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "now, injury, expected_reasons",
    [
        # End of NZDT: 2026-04-04T11:00Z is midnight starting Sunday 5 April in Auckland.
        ("2026-04-04T10:30", date(2025, 4, 4), ("injury_too_old",)),  # today is 4 April
        ("2026-04-04T10:30", date(2025, 4, 5), ()),
        ("2026-04-04T10:30", date(2026, 4, 5), ("injury_in_future",)),
        ("2026-04-04T11:30", date(2025, 4, 5), ("injury_too_old",)),  # today is 5 April
        ("2026-04-04T11:30", date(2025, 4, 6), ()),
        ("2026-04-04T11:30", date(2026, 4, 5), ()),
        ("2026-04-04T14:00", date(2025, 4, 5), ("injury_too_old",)),  # 02:00 NZST, still 5 April
        ("2026-04-04T14:00", date(2025, 4, 6), ()),
        ("2026-04-05T11:30", date(2025, 4, 6), ()),  # 23:30 NZST on 5 April
        ("2026-04-05T11:30", date(2026, 4, 6), ("injury_in_future",)),
        ("2026-04-05T12:00", date(2025, 4, 6), ("injury_too_old",)),  # 6 April
        ("2026-04-05T12:00", date(2026, 4, 6), ()),
        # Start of NZDT: 2026-09-26T12:00Z is midnight starting Sunday 27 September.
        ("2026-09-26T11:59", date(2025, 9, 26), ("injury_too_old",)),
        ("2026-09-26T11:59", date(2025, 9, 27), ()),
        ("2026-09-26T11:59", date(2026, 9, 27), ("injury_in_future",)),
        ("2026-09-26T12:00", date(2025, 9, 27), ("injury_too_old",)),
        ("2026-09-26T12:00", date(2025, 9, 28), ()),
        ("2026-09-26T12:00", date(2026, 9, 27), ()),
        ("2026-09-27T10:59", date(2026, 9, 28), ("injury_in_future",)),  # 23:59 NZDT on 27 September
        ("2026-09-27T11:00", date(2026, 9, 28), ()),
        ("2026-09-27T11:00", date(2025, 9, 28), ("injury_too_old",)),
        # 29 February 2028 in Auckland starts at 2028-02-28T11:00Z.
        ("2028-02-28T11:00", date(2027, 2, 28), ("injury_too_old",)),
        ("2028-02-28T11:00", date(2027, 3, 1), ()),
        ("2028-02-28T10:59", date(2027, 2, 28), ("injury_too_old",)),  # 28 February 2028
        ("2028-02-28T10:59", date(2027, 3, 1), ()),
    ],
)
def test_dst_boundary_todays(now, injury, expected_reasons):
    verdict = assess(injury, True, GOOD_ACC45, clinic_today(utc(now)))
    assert verdict == Verdict(not expected_reasons, expected_reasons)


@pytest.mark.parametrize(
    "answer, expected_reasons",
    [
        ("yesterday", ()),
        ("today", ()),
        ("a year ago", ("injury_too_old",)),
        ("11 months ago", ()),
        ("4/4/2025", ()),
        ("3/4/2025", ("injury_too_old",)),
        ("tomorrow", ("injury_in_future",)),
        ("dunno", ("injury_date_missing",)),
    ],
)
def test_parsed_answers_feed_assess(answer, expected_reasons):
    assert assess(parse_injury_date(answer, TODAY).value, True, GOOD_ACC45, TODAY).reasons == expected_reasons


def test_verdict_is_frozen():
    verdict = assess(TODAY, True, GOOD_ACC45, TODAY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.eligible = False  # type: ignore[misc]
    assert isinstance(verdict.reasons, tuple)
