"""ACC details in a patient's own words (bot/clinic/acc_details.py): a year followed by a word is no ACC45 number,
and the date keeps its year."""

from __future__ import annotations

from datetime import date
from typing import Optional

import pytest

from bot.clinic.acc_details import acc_details_in, find_injury_date
from bot.clinic.injury_dates import parse_injury_date
from bot.dialogue.context import resolve

TODAY = date(2026, 11, 28)


def read_date(text: str) -> Optional[date]:
    """The injury date the ACC check would confirm for `text` (what find_injury_date keeps, parsed)."""
    found = find_injury_date(text, TODAY)
    return parse_injury_date(found, TODAY).value if found else None


@pytest.mark.parametrize(
    "text",
    [
        "I hurt my knee in march 2024 and it still hurts",
        "since 2023 for my back",
        "sore since 2025 but worse now, claim is approved",
        "I HURT MY KNEE IN MARCH 2024 AND IT STILL HURTS",
        "paid 1200 for it",
    ],
)
def test_a_year_or_number_then_a_word_is_no_acc45(text: str) -> None:
    assert acc_details_in(text, TODAY).acc45 is None


@pytest.mark.parametrize(
    ("text", "injury"),
    [
        ("I hurt my knee on 3 March 2024 and it still hurts", date(2024, 3, 3)),  # was read as 3 March 2026
        ("hurt my glute on 14 October 2026 and it still hurts", date(2026, 10, 14)),
        ("fell on the 2nd of june 2026 for the second time", date(2026, 6, 2)),
    ],
)
def test_the_injury_date_keeps_the_year_a_word_follows(text: str, injury: date) -> None:
    details = acc_details_in(text, TODAY)
    assert details.acc45 is None
    assert read_date(text) == injury


def test_real_numbers_are_still_found_and_not_read_as_dates() -> None:
    details = acc_details_in("hurt my glute 2 weeks back, claim is approved, acc45 1234 abc", TODAY)
    assert (details.acc45, details.claim_status, details.count()) == ("1234ABC", "approved", 3)
    assert acc_details_in("acc45 is 2024 abc, hurt it yesterday", TODAY).acc45 == "2024ABC"
    assert read_date("my acc45 is 12345 ab, hurt it on 3/11") == date(2026, 11, 3)


@pytest.mark.parametrize(
    "text",
    ["I hurt my knee in march 2024 and it still hurts", "since 2023 for my back, claim is approved"],
)
def test_a_story_with_a_year_does_not_start_the_acc_check(text: str) -> None:
    parse_data = {"text": text, "intent": {"name": "inform", "confidence": 0.9}, "entities": []}
    assert resolve(parse_data, [], None, TODAY)["intent"]["name"] == "inform"
