"""Free-text dates of injury, NZ style (bot/clinic/injury_dates.py), table-driven."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone

import pytest

from bot.clinic.injury_dates import CLINIC_TZ, DateAnswer, clinic_today, format_date, parse_injury_date

FRI = date(2026, 4, 3)  # Friday 3 April 2026
TUE31 = date(2026, 3, 31)  # Tuesday 31 March 2026: month arithmetic clamps to 28 Feb
NEW_YEAR = date(2026, 1, 1)  # Thursday 1 January 2026: "14 December" is last year
LEAP = date(2028, 2, 29)  # Tuesday 29 February 2028
LEAP_EVE = date(2028, 2, 28)  # Monday 28 February 2028
SUN31 = date(2024, 3, 31)  # Sunday 31 March 2024 (leap year)


def utc(text: str) -> datetime:
    """An aware UTC datetime from "2026-04-04T11:30"."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "text, today, expected",
    [
        ("3/4/2026", FRI, date(2026, 4, 3)),
        ("03/04/26", FRI, date(2026, 4, 3)),
        ("03/04/2026", FRI, date(2026, 4, 3)),
        ("3-4-2026", FRI, date(2026, 4, 3)),
        ("3.4.2026", FRI, date(2026, 4, 3)),
        ("03.04.26", FRI, date(2026, 4, 3)),
        ("1-3-26", FRI, date(2026, 3, 1)),
        ("25/12/25", FRI, date(2025, 12, 25)),
        ("31/12/2025", FRI, date(2025, 12, 31)),
        ("29/2/2024", FRI, date(2024, 2, 29)),
        ("It happened on 3/4/2026", FRI, date(2026, 4, 3)),
        ("it was 3/4.", FRI, date(2026, 4, 3)),
        ("about 2/1/2026 I think", FRI, date(2026, 1, 2)),
        ("3/4", FRI, date(2026, 4, 3)),  # today itself, not a year ago
        ("4/4", FRI, date(2025, 4, 4)),  # 4 April 2026 is tomorrow: the most recent one was last year
        ("1/4", FRI, date(2026, 4, 1)),
        ("3-4", FRI, date(2026, 4, 3)),
        ("I think around 14/3", FRI, date(2026, 3, 14)),
        ("25/12", FRI, date(2025, 12, 25)),
        ("29/2", FRI, date(2024, 2, 29)),  # no 29 February in 2026 or 2025
        ("2026-04-03", FRI, date(2026, 4, 3)),
        ("2026-4-3", FRI, date(2026, 4, 3)),
        ("on 2025-12-24", FRI, date(2025, 12, 24)),
        ("1/1", NEW_YEAR, date(2026, 1, 1)),
        ("2/1", NEW_YEAR, date(2025, 1, 2)),
        ("31/12", NEW_YEAR, date(2025, 12, 31)),
        ("14/12", NEW_YEAR, date(2025, 12, 14)),
        ("01/01/2026", NEW_YEAR, date(2026, 1, 1)),
        ("29/2", LEAP, date(2028, 2, 29)),
        ("28/2", LEAP, date(2028, 2, 28)),
        ("1/3", LEAP, date(2027, 3, 1)),
        ("29/2", LEAP_EVE, date(2024, 2, 29)),
    ],
)
def test_numeric_dates_are_day_first(text, today, expected):
    assert parse_injury_date(text, today) == DateAnswer(expected, None)


@pytest.mark.parametrize(
    "text, today, expected",
    [
        ("14 March", FRI, date(2026, 3, 14)),
        ("14th March", FRI, date(2026, 3, 14)),
        ("14th of March 2026", FRI, date(2026, 3, 14)),
        ("March 14th 2026", FRI, date(2026, 3, 14)),
        ("March 14th, 2026", FRI, date(2026, 3, 14)),
        ("14 March, 2026", FRI, date(2026, 3, 14)),
        ("march 14", FRI, date(2026, 3, 14)),
        ("mar 14", FRI, date(2026, 3, 14)),
        ("14 mar 26", FRI, date(2026, 3, 14)),
        ("MARCH 14", FRI, date(2026, 3, 14)),
        ("around March the 20th", FRI, date(2026, 3, 20)),
        ("It happened on the 14th of March I think", FRI, date(2026, 3, 14)),
        ("sept 3", FRI, date(2025, 9, 3)),
        ("Sept. 3rd", FRI, date(2025, 9, 3)),
        ("sep 3", FRI, date(2025, 9, 3)),
        ("3 september 2025", FRI, date(2025, 9, 3)),
        ("the 2nd of April", FRI, date(2026, 4, 2)),
        ("April 3", FRI, date(2026, 4, 3)),
        ("april 4", FRI, date(2025, 4, 4)),
        ("1st jan", FRI, date(2026, 1, 1)),
        ("22 Feb 2025", FRI, date(2025, 2, 22)),
        ("february 2nd", FRI, date(2026, 2, 2)),
        ("MAY 5", FRI, date(2025, 5, 5)),
        ("June 30", FRI, date(2025, 6, 30)),
        ("jun 1", FRI, date(2025, 6, 1)),
        ("jul 1st", FRI, date(2025, 7, 1)),
        ("23rd july", FRI, date(2025, 7, 23)),
        ("aug 21 2025", FRI, date(2025, 8, 21)),
        ("oct 10", FRI, date(2025, 10, 10)),
        ("Nov 11th", FRI, date(2025, 11, 11)),
        ("dec 25th", FRI, date(2025, 12, 25)),
        ("Tuesday 31 March", FRI, date(2026, 3, 31)),
        ("14 December", NEW_YEAR, date(2025, 12, 14)),
        ("December 31st", NEW_YEAR, date(2025, 12, 31)),
        ("1 January", NEW_YEAR, date(2026, 1, 1)),
        ("2 jan", NEW_YEAR, date(2025, 1, 2)),
        ("29 February", LEAP, date(2028, 2, 29)),
        ("feb 29", LEAP_EVE, date(2024, 2, 29)),
        ("1 March", LEAP, date(2027, 3, 1)),
    ],
)
def test_written_dates(text, today, expected):
    assert parse_injury_date(text, today) == DateAnswer(expected, None)


@pytest.mark.parametrize(
    "text, today, expected",
    [
        ("today", FRI, date(2026, 4, 3)),
        ("Today", FRI, date(2026, 4, 3)),
        ("earlier today", FRI, date(2026, 4, 3)),
        ("this morning", FRI, date(2026, 4, 3)),
        ("yesterday", FRI, date(2026, 4, 2)),
        ("it was yesterday I think", FRI, date(2026, 4, 2)),
        ("last night", FRI, date(2026, 4, 2)),
        ("the day before yesterday", FRI, date(2026, 4, 1)),
        ("day before yesterday", FRI, date(2026, 4, 1)),
        ("0 days ago", FRI, date(2026, 4, 3)),
        ("1 day ago", FRI, date(2026, 4, 2)),
        ("3 days ago", FRI, date(2026, 3, 31)),
        ("three days ago", FRI, date(2026, 3, 31)),
        ("ten days ago", FRI, date(2026, 3, 24)),
        ("twenty-one days ago", FRI, date(2026, 3, 13)),
        ("thirty days ago", FRI, date(2026, 3, 4)),
        ("a week ago", FRI, date(2026, 3, 27)),
        ("1 week ago", FRI, date(2026, 3, 27)),
        ("three weeks ago", FRI, date(2026, 3, 13)),
        ("about 3 weeks ago", FRI, date(2026, 3, 13)),
        ("3 weeks ago today", FRI, date(2026, 3, 13)),
        ("3-4 weeks ago", FRI, date(2026, 3, 6)),  # a range: the older end, not 3 April
        ("a couple of weeks ago", FRI, date(2026, 3, 20)),
        ("a couple weeks ago", FRI, date(2026, 3, 20)),
        ("couple of weeks ago", FRI, date(2026, 3, 20)),
        ("two weeks back", FRI, date(2026, 3, 20)),
        ("a fortnight ago", FRI, date(2026, 3, 20)),
        ("two fortnights ago", FRI, date(2026, 3, 6)),
        ("a month ago", FRI, date(2026, 3, 3)),
        ("2 months ago", FRI, date(2026, 2, 3)),
        ("six months ago", FRI, date(2025, 10, 3)),
        ("half a year ago", FRI, date(2025, 10, 3)),
        ("eleven months ago", FRI, date(2025, 5, 3)),
        ("12 months ago", FRI, date(2025, 4, 3)),
        ("a year ago", FRI, date(2025, 4, 3)),
        ("2 years ago", FRI, date(2024, 4, 3)),
        ("last week", FRI, date(2026, 3, 27)),
        ("last fortnight", FRI, date(2026, 3, 20)),
        ("last month", FRI, date(2026, 3, 3)),
        ("last year", FRI, date(2025, 4, 3)),
        ("a month ago", TUE31, date(2026, 2, 28)),
        ("one month ago", TUE31, date(2026, 2, 28)),
        ("last month", TUE31, date(2026, 2, 28)),
        ("2 months ago", TUE31, date(2026, 1, 31)),
        ("a year ago", TUE31, date(2025, 3, 31)),
        ("a month ago", SUN31, date(2024, 2, 29)),
        ("a year ago", LEAP, date(2027, 2, 28)),
        ("last year", LEAP, date(2027, 2, 28)),
        ("4 years ago", LEAP, date(2024, 2, 29)),
        ("a month ago", LEAP, date(2028, 1, 29)),
        ("yesterday", LEAP, date(2028, 2, 28)),
        ("a week ago", LEAP, date(2028, 2, 22)),
        ("yesterday", NEW_YEAR, date(2025, 12, 31)),
        ("last month", NEW_YEAR, date(2025, 12, 1)),
        ("a week ago", NEW_YEAR, date(2025, 12, 25)),
    ],
)
def test_relative_dates(text, today, expected):
    assert parse_injury_date(text, today) == DateAnswer(expected, None)


@pytest.mark.parametrize(
    "text, today, expected",
    [
        ("last Tuesday", FRI, date(2026, 3, 31)),
        ("tuesday", FRI, date(2026, 3, 31)),
        ("on Tuesday", FRI, date(2026, 3, 31)),
        ("I think it was last Wednesday", FRI, date(2026, 4, 1)),
        ("last thursday", FRI, date(2026, 4, 2)),
        ("last friday", FRI, date(2026, 3, 27)),  # today is Friday: a week ago
        ("friday", FRI, date(2026, 3, 27)),
        ("Saturday", FRI, date(2026, 3, 28)),
        ("last sunday", FRI, date(2026, 3, 29)),
        ("monday", FRI, date(2026, 3, 30)),
        ("last tuesday", TUE31, date(2026, 3, 24)),  # today is Tuesday
        ("tuesday", TUE31, date(2026, 3, 24)),
        ("monday", TUE31, date(2026, 3, 30)),
        ("wednesday", TUE31, date(2026, 3, 25)),
        ("last friday", NEW_YEAR, date(2025, 12, 26)),
        ("last thursday", NEW_YEAR, date(2025, 12, 25)),
        ("last monday", LEAP, date(2028, 2, 28)),
    ],
)
def test_weekdays_are_strictly_before_today(text, today, expected):
    assert parse_injury_date(text, today) == DateAnswer(expected, None)


@pytest.mark.parametrize(
    "text, today, expected",
    [
        ("4/4/2026", FRI, date(2026, 4, 4)),
        ("5/4/26", FRI, date(2026, 4, 5)),
        ("1/1/30", FRI, date(2030, 1, 1)),
        ("03/04/99", FRI, date(2099, 4, 3)),  # two-digit years are 20xx
        ("2026-12-25", FRI, date(2026, 12, 25)),
        ("3 april 2027", FRI, date(2027, 4, 3)),
        ("14 March 2027", FRI, date(2027, 3, 14)),
        ("tomorrow", FRI, date(2026, 4, 4)),
        ("next friday", FRI, date(2026, 4, 10)),
        ("next monday", FRI, date(2026, 4, 6)),
        ("2 jan 2026", NEW_YEAR, date(2026, 1, 2)),
        ("1/3/2028", LEAP, date(2028, 3, 1)),
        ("march 1st 2028", LEAP, date(2028, 3, 1)),
    ],
)
def test_future_dates_are_flagged(text, today, expected):
    assert parse_injury_date(text, today) == DateAnswer(expected, "future")


@pytest.mark.parametrize(
    "text",
    [
        "", "   ", "dunno", "blah", "the 45th", "I don't remember", "a while ago", "weeks ago", "ages ago",
        "recently", "some time last spring", "in 2025", "March 2026", "may", "12345", "3/4/202",
        "31/2/2026", "13/13/2026", "0/4/2026", "3/0/2026", "32/1/2026", "31/2", "30/2", "3.4",
        "2026-13-01", "2026-02-30", "31 February", "feb 30", "45 march", "31 april", "10000 years ago",
    ],
)  # fmt: skip
def test_unparseable(text):
    assert parse_injury_date(text, FRI) == DateAnswer(None, "unparseable")


def test_none_text_is_unparseable():
    assert parse_injury_date(None, FRI) == DateAnswer(None, "unparseable")  # type: ignore[arg-type]


def test_date_answer_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse_injury_date("today", FRI).value = NEW_YEAR  # type: ignore[misc]


@pytest.mark.parametrize(
    "now, expected",
    [
        # NZDT (UTC+13) ends Sunday 5 April 2026 at 03:00 local = 2026-04-04T14:00Z.
        ("2026-04-04T10:59", date(2026, 4, 4)),  # 23:59 NZDT
        ("2026-04-04T11:00", date(2026, 4, 5)),  # midnight NZDT
        ("2026-04-04T11:30", date(2026, 4, 5)),  # still 4 April in UTC, already 5 April in Auckland
        ("2026-04-04T13:59", date(2026, 4, 5)),  # 02:59 NZDT
        ("2026-04-04T14:00", date(2026, 4, 5)),  # 02:00 NZST
        ("2026-04-05T11:30", date(2026, 4, 5)),  # 23:30 NZST (would be the 6th under NZDT)
        ("2026-04-05T11:59", date(2026, 4, 5)),
        ("2026-04-05T12:00", date(2026, 4, 6)),  # midnight NZST
        # NZST (UTC+12) ends Sunday 27 September 2026 at 02:00 local = 2026-09-26T14:00Z.
        ("2026-09-26T11:30", date(2026, 9, 26)),  # 23:30 NZST
        ("2026-09-26T11:59", date(2026, 9, 26)),
        ("2026-09-26T12:00", date(2026, 9, 27)),  # midnight NZST
        ("2026-09-26T13:59", date(2026, 9, 27)),  # 01:59 NZST
        ("2026-09-26T14:00", date(2026, 9, 27)),  # 03:00 NZDT
        ("2026-09-27T10:59", date(2026, 9, 27)),  # 23:59 NZDT
        ("2026-09-27T11:00", date(2026, 9, 28)),  # midnight NZDT
        ("2026-09-27T11:30", date(2026, 9, 28)),  # (would still be the 27th under NZST)
        # UTC midnight and the year's end.
        ("2026-04-03T00:00", date(2026, 4, 3)),
        ("2026-04-03T23:59", date(2026, 4, 4)),
        ("2026-06-30T11:59", date(2026, 6, 30)),
        ("2026-06-30T12:00", date(2026, 7, 1)),
        ("2025-12-31T10:59", date(2025, 12, 31)),
        ("2025-12-31T11:00", date(2026, 1, 1)),
        ("2028-02-28T11:00", date(2028, 2, 29)),
        ("2028-02-29T10:59", date(2028, 2, 29)),
        ("2028-02-29T11:00", date(2028, 3, 1)),
    ],
)
def test_clinic_today_is_auckland_date(now, expected):
    assert clinic_today(utc(now)) == expected


def test_clinic_today_accepts_any_aware_time():
    new_york_ish = timezone(timedelta(hours=-5))
    assert clinic_today(datetime(2026, 4, 4, 6, 30, tzinfo=new_york_ish)) == date(2026, 4, 5)
    assert clinic_today(datetime(2026, 4, 5, 0, 30, tzinfo=CLINIC_TZ)) == date(2026, 4, 5)


def test_clinic_today_rejects_naive_time():
    with pytest.raises(ValueError):
        clinic_today(datetime(2026, 4, 4, 11, 30))


def test_clinic_today_defaults_to_now():
    before = datetime.now(CLINIC_TZ).date()
    today = clinic_today()
    assert today in (before, datetime.now(CLINIC_TZ).date())


@pytest.mark.parametrize(
    "d, expected",
    [
        (date(2026, 4, 3), "Friday 3 April 2026"),
        (date(2026, 1, 1), "Thursday 1 January 2026"),
        (date(2028, 2, 29), "Tuesday 29 February 2028"),
        (date(2025, 12, 25), "Thursday 25 December 2025"),
        (date(2026, 4, 5), "Sunday 5 April 2026"),
        (date(2026, 9, 27), "Sunday 27 September 2026"),
        (date(2026, 11, 30), "Monday 30 November 2026"),
        (date(2026, 7, 4), "Saturday 4 July 2026"),
        (date(2026, 10, 21), "Wednesday 21 October 2026"),
        (date(2026, 5, 6), "Wednesday 6 May 2026"),
        (date(2026, 8, 10), "Monday 10 August 2026"),
        (date(2026, 3, 31), "Tuesday 31 March 2026"),
    ],
)
def test_format_date(d, expected):
    assert format_date(d) == expected
    assert parse_injury_date(format_date(d), date(2030, 1, 1)).value == d  # what we show, we can read back
