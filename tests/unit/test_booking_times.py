"""Booking times said in NZ time, the search, and the patient's words (bot/booking/times.py), table-driven."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import List, Optional

import pytest

from bot.booking.provider import Slot
from bot.booking.times import (
    TimeSearch,
    part_of_day,
    read_choice,
    read_search,
    say_day,
    say_time,
    say_time_only,
    select,
)
from bot.clinic.injury_dates import CLINIC_TZ

MON1 = date(2025, 12, 1)  # Monday 1 December 2025 (NZDT, UTC+13)
SUN7 = date(2025, 12, 7)  # Sunday 7 December 2025


def nz(month: int, day: int, hour: int, minute: int = 0, year: int = 2025) -> datetime:
    """A UTC-aware datetime from a wall-clock time in Wellington."""
    return datetime(year, month, day, hour, minute, tzinfo=CLINIC_TZ).astimezone(timezone.utc)


def utc(text: str) -> datetime:
    """An aware UTC datetime from "2025-12-01T20:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def slot(month: int, day: int, hour: int, minute: int = 0, who: str = "Mere") -> Slot:
    ids = {"Mere": "101", "Tane": "102", "Mēre": "103"}
    return Slot(nz(month, day, hour, minute), ids[who], who)


# What the patient was shown: three on Tuesday 2 December (two with Mere), one on Wednesday evening.
SHOWN = [slot(12, 2, 9), slot(12, 2, 10, 30), slot(12, 2, 14, who="Tane"), slot(12, 3, 17, 30)]
LAST = SHOWN[-1].starts_at


# --- Saying times ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment, expected",
    [
        (nz(12, 2, 10, 30), "Tue 2 Dec, 10:30am"),
        (utc("2025-12-01T21:30"), "Tue 2 Dec, 10:30am"),  # NZDT: UTC+13, the next day in NZ
        (utc("2025-12-01T20:00"), "Tue 2 Dec, 9am"),
        (utc("2026-06-08T21:00"), "Tue 9 Jun, 9am"),  # NZST: UTC+12
        (utc("2026-06-09T00:00"), "Tue 9 Jun, 12pm"),
        (utc("2025-12-02T04:05"), "Tue 2 Dec, 5:05pm"),
        (utc("2025-12-01T11:15"), "Tue 2 Dec, 12:15am"),
        (utc("2026-04-04T13:30"), "Sun 5 Apr, 2:30am"),  # the last half hour of daylight saving (NZDT)
        (utc("2026-04-04T14:30"), "Sun 5 Apr, 2:30am"),  # the same clock time again, an hour later (NZST)
        (utc("2026-09-26T14:30"), "Sun 27 Sep, 3:30am"),  # daylight saving starts: 2am becomes 3am
        (datetime(2025, 12, 2, 10, 30, tzinfo=CLINIC_TZ), "Tue 2 Dec, 10:30am"),  # already in NZ time
    ],
)
def test_say_time_in_new_zealand_time(moment: datetime, expected: str) -> None:
    assert say_time(moment) == expected


@pytest.mark.parametrize(
    "moment, expected",
    [(nz(12, 2, 10, 30), "10:30am"), (nz(12, 2, 9), "9am"), (nz(12, 2, 12), "12pm"), (nz(12, 2, 0, 5), "12:05am")],
)
def test_say_time_only(moment: datetime, expected: str) -> None:
    assert say_time_only(moment) == expected


@pytest.mark.parametrize(
    "day, expected",
    [(date(2025, 12, 2), "Tue 2 Dec"), (date(2026, 1, 10), "Sat 10 Jan"), (date(2026, 6, 28), "Sun 28 Jun")],
)
def test_say_day(day: date, expected: str) -> None:
    assert say_day(day) == expected


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        say_time(datetime(2025, 12, 2, 10, 30))


@pytest.mark.parametrize(
    "moment, expected",
    [
        (nz(12, 2, 11, 59), "morning"),
        (utc("2025-12-01T23:00"), "afternoon"),  # 12:00 NZDT
        (nz(12, 2, 16, 59), "afternoon"),
        (nz(12, 2, 17), "evening"),
        (utc("2026-06-09T05:00"), "evening"),  # 17:00 NZST
        (utc("2026-06-09T04:59"), "afternoon"),
    ],
)
def test_part_of_day_in_nz_time(moment: datetime, expected: str) -> None:
    assert part_of_day(moment) == expected


# --- The search -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "search",
    [
        TimeSearch(MON1),
        TimeSearch(date(2025, 12, 3), "morning"),
        TimeSearch(date(2025, 12, 3), "evening", LAST),
        TimeSearch(date(2025, 12, 2), None, datetime(2025, 12, 2, 10, 30, tzinfo=CLINIC_TZ)),  # kept in UTC
    ],
)
def test_search_round_trip_through_text(search: TimeSearch) -> None:
    text = search.to_text()
    assert "|" in text and len(text) < 50
    assert TimeSearch.from_text(text, MON1) == search


def test_search_text_is_compact_and_in_utc() -> None:
    search = TimeSearch(date(2025, 12, 2), "morning", nz(12, 2, 10, 30))
    assert search.to_text() == "2025-12-02|morning|2025-12-01T21:30:00Z"


@pytest.mark.parametrize(
    "text",
    [None, "", "garbage", "2025-13-01||", "2025-12-02|brunch|", "2025-12-02||10:30", "a|b|c|d", "2025-12-02|", 42],
)
def test_search_from_garbage_is_the_first_search(text: object) -> None:
    assert TimeSearch.from_text(text, MON1) == TimeSearch(MON1)  # type: ignore[arg-type]


def test_a_stale_search_starts_again_from_today_keeping_its_part() -> None:
    stale = TimeSearch(date(2025, 11, 20), "morning", nz(11, 20, 10)).to_text()
    assert TimeSearch.from_text(stale, MON1) == TimeSearch(MON1, "morning")


def test_search_looks_at_seven_days_and_checks_its_fields() -> None:
    assert TimeSearch(MON1).days == 7
    assert TimeSearch.starting(MON1) == TimeSearch(MON1, None, None)
    with pytest.raises(ValueError):
        TimeSearch(MON1, "brunch")
    with pytest.raises(ValueError):
        TimeSearch(MON1, None, datetime(2025, 12, 2, 10))


# Bookable times as a booking system lists them (not in order; 10:30 on Tuesday with two practitioners).
OFFERED = [
    slot(12, 2, 14, who="Tane"),
    slot(12, 1, 16),  # today, Monday
    slot(12, 2, 9),
    slot(12, 2, 10, 30, who="Tane"),
    slot(12, 2, 10, 30, who="Mere"),
    slot(12, 2, 11),
    slot(12, 3, 17, 30),
    slot(12, 4, 8),
]


def keys(slots: List[Slot]) -> List[str]:
    return [f"{say_time(s.starts_at)} {s.practitioner_first_name}" for s in slots]


@pytest.mark.parametrize(
    "search, count, expected",
    [
        (
            TimeSearch(MON1),
            4,
            ["Mon 1 Dec, 4pm Mere", "Tue 2 Dec, 9am Mere", "Tue 2 Dec, 10:30am Tane", "Tue 2 Dec, 11am Mere"],
        ),
        (TimeSearch(MON1), 2, ["Mon 1 Dec, 4pm Mere", "Tue 2 Dec, 9am Mere"]),
        (
            TimeSearch(date(2025, 12, 2)),  # 9am on Tuesday is Monday 20:00 in UTC: still Tuesday in NZ
            4,
            ["Tue 2 Dec, 9am Mere", "Tue 2 Dec, 10:30am Tane", "Tue 2 Dec, 11am Mere", "Tue 2 Dec, 2pm Tane"],
        ),
        (
            TimeSearch(MON1, "morning"),
            4,
            ["Tue 2 Dec, 9am Mere", "Tue 2 Dec, 10:30am Tane", "Tue 2 Dec, 11am Mere", "Thu 4 Dec, 8am Mere"],
        ),
        (TimeSearch(MON1, "afternoon"), 4, ["Mon 1 Dec, 4pm Mere", "Tue 2 Dec, 2pm Tane"]),
        (TimeSearch(MON1, "evening"), 4, ["Wed 3 Dec, 5:30pm Mere"]),
        (
            TimeSearch(date(2025, 12, 2), None, nz(12, 2, 10, 30)),  # strictly after 10:30
            4,
            ["Tue 2 Dec, 11am Mere", "Tue 2 Dec, 2pm Tane", "Wed 3 Dec, 5:30pm Mere", "Thu 4 Dec, 8am Mere"],
        ),
        (TimeSearch(date(2025, 12, 5)), 4, []),
    ],
)
def test_select(search: TimeSearch, count: int, expected: List[str]) -> None:
    assert keys(select(OFFERED, search, count)) == expected


def test_select_fills_with_a_second_practitioner_when_times_run_out() -> None:
    offered = [slot(12, 2, 11), slot(12, 2, 10, 30, who="Tane"), slot(12, 2, 10, 30, who="Mere")]
    assert keys(select(offered, TimeSearch(MON1))) == [
        "Tue 2 Dec, 10:30am Tane",
        "Tue 2 Dec, 10:30am Mere",
        "Tue 2 Dec, 11am Mere",
    ]


# --- Words that move the search -------------------------------------------------------------------------------

START = TimeSearch(MON1)
MORNINGS = TimeSearch(MON1, "morning")
D = date


@pytest.mark.parametrize(
    "text, current, expected",
    [
        # later times: strictly after the last time shown, from its day
        ("later times", START, TimeSearch(D(2025, 12, 3), None, LAST)),
        ("Later", START, TimeSearch(D(2025, 12, 3), None, LAST)),
        ("laterr", START, TimeSearch(D(2025, 12, 3), None, LAST)),
        ("anything later?", START, TimeSearch(D(2025, 12, 3), None, LAST)),
        ("more times", START, TimeSearch(D(2025, 12, 3), None, LAST)),
        ("other times pls", START, TimeSearch(D(2025, 12, 3), None, LAST)),
        ("show me more", START, TimeSearch(D(2025, 12, 3), None, LAST)),
        ("any others?", START, TimeSearch(D(2025, 12, 3), None, LAST)),
        ("l8r", MORNINGS, TimeSearch(D(2025, 12, 3), "morning", LAST)),
        ("later in the afternoon", START, TimeSearch(D(2025, 12, 3), "afternoon", LAST)),
        ("Good morning! any later times?", START, TimeSearch(D(2025, 12, 3), None, LAST)),
        # another day: the day after the last time shown
        ("another day", START, TimeSearch(D(2025, 12, 4))),
        ("a different day please", START, TimeSearch(D(2025, 12, 4))),
        ("other days?", START, TimeSearch(D(2025, 12, 4))),
        ("next day", MORNINGS, TimeSearch(D(2025, 12, 4), "morning")),
        ("another day, mornings", START, TimeSearch(D(2025, 12, 4), "morning")),
        ("I can't do tuesday", START, TimeSearch(D(2025, 12, 4))),
        ("not wednesday, I'm working", MORNINGS, TimeSearch(D(2025, 12, 4), "morning")),
        # parts of the day: from the same first day, "later" forgotten
        ("a morning", START, MORNINGS),
        ("mornings", START, MORNINGS),
        ("in the morning", START, MORNINGS),
        ("morning please", START, MORNINGS),
        ("mornign", START, MORNINGS),
        ("morning", TimeSearch(MON1, None, LAST), MORNINGS),
        ("arvo", START, TimeSearch(MON1, "afternoon")),
        ("an afternoon", START, TimeSearch(MON1, "afternoon")),
        ("afternon", START, TimeSearch(MON1, "afternoon")),
        ("evening", START, TimeSearch(MON1, "evening")),
        ("after work", START, TimeSearch(MON1, "evening")),
        ("after 5pm", START, TimeSearch(MON1, "evening")),
        ("any time is fine", MORNINGS, START),
        ("morning or afternoon", MORNINGS, START),
        # days from today (Monday 1 December)
        ("next week", START, TimeSearch(D(2025, 12, 8))),
        ("nxt week", START, TimeSearch(D(2025, 12, 8))),
        ("next wk", MORNINGS, TimeSearch(D(2025, 12, 8), "morning")),
        ("week after next", START, TimeSearch(D(2025, 12, 15))),
        ("next month", START, TimeSearch(D(2026, 1, 1))),
        ("tomorrow", START, TimeSearch(D(2025, 12, 2))),
        ("tomoro", START, TimeSearch(D(2025, 12, 2))),
        ("tmrw morning", START, TimeSearch(D(2025, 12, 2), "morning")),
        ("today", TimeSearch(D(2025, 12, 4)), START),
        ("tonight", START, TimeSearch(MON1, "evening")),
        ("this arvo", START, TimeSearch(MON1, "afternoon")),
        ("day after tomorrow", START, TimeSearch(D(2025, 12, 3))),
        ("thursday", START, TimeSearch(D(2025, 12, 4))),
        ("thurs", START, TimeSearch(D(2025, 12, 4))),
        ("thrusday", START, TimeSearch(D(2025, 12, 4))),
        ("on fri", START, TimeSearch(D(2025, 12, 5))),
        ("Wensday?", START, TimeSearch(D(2025, 12, 3))),
        ("monday", START, TimeSearch(D(2025, 12, 8))),  # a weekday is the next one after today
        ("next tuesday", START, TimeSearch(D(2025, 12, 9))),  # next week's Tuesday, not tomorrow
        ("tuesday next week", START, TimeSearch(D(2025, 12, 9))),
        # dates, day first
        ("the 5th", START, TimeSearch(D(2025, 12, 5))),
        ("on the 30th", START, TimeSearch(D(2025, 12, 30))),
        ("5 dec", START, TimeSearch(D(2025, 12, 5))),
        ("Dec 5th", START, TimeSearch(D(2025, 12, 5))),
        ("5th of December", START, TimeSearch(D(2025, 12, 5))),
        ("5/12", START, TimeSearch(D(2025, 12, 5))),
        ("9/1", START, TimeSearch(D(2026, 1, 9))),  # January next year
        ("tue 9 dec", START, TimeSearch(D(2025, 12, 9))),
        ("on the first", START, START),  # the 1st of December is today
        ("the first of jan", START, TimeSearch(D(2026, 1, 1))),
        ("december the 9th", START, TimeSearch(D(2025, 12, 9))),
        ("dec 9 2025 pls", START, TimeSearch(D(2025, 12, 9))),
        ("9/12/25", START, TimeSearch(D(2025, 12, 9))),
        ("31/11", START, None),  # no such day
        ("anything later this week?", START, TimeSearch(D(2025, 12, 3), None, LAST)),
        # combinations
        ("a morning next week", START, TimeSearch(D(2025, 12, 8), "morning")),
        ("thursday arvo", START, TimeSearch(D(2025, 12, 4), "afternoon")),
        ("wed arvo", START, TimeSearch(D(2025, 12, 3), "afternoon")),
        ("an evening on the 5th", START, TimeSearch(D(2025, 12, 5), "evening")),
        ("next week", TimeSearch(MON1, "evening", LAST), TimeSearch(D(2025, 12, 8), "evening")),
    ],
)
def test_read_search(text: str, current: TimeSearch, expected: Optional[TimeSearch]) -> None:
    assert read_search(text, current, SHOWN, MON1) == expected


@pytest.mark.parametrize(
    "text",
    ["", "ok", "hmm", "yes please", "2", "what's the address?", "the second one", "who is Mere?", "water",
     "not in the morning"],
)
def test_read_search_without_a_change(text: str) -> None:
    assert read_search(text, START, SHOWN, MON1) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("30/11", MON1),  # yesterday: the soonest times, never a year on
        ("30/11/2025", MON1),
        ("1/1/2025", MON1),
        ("today", MON1),
        ("mornings", MON1),  # a stale first day (20 November) moves to today
    ],
)
def test_read_search_never_goes_into_the_past(text: str, expected: date) -> None:
    found = read_search(text, TimeSearch(date(2025, 11, 20)), [], MON1)
    assert found is not None and found.first_day == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("next week", date(2025, 12, 8)),  # on a Sunday, next week is tomorrow
        ("monday", date(2025, 12, 8)),
        ("next monday", date(2025, 12, 8)),
        ("next tuesday", date(2025, 12, 9)),
        ("sunday", date(2025, 12, 14)),
        ("the 5th", date(2026, 1, 5)),  # the 5th of December has passed: January's
    ],
)
def test_read_search_on_a_sunday(text: str, expected: date) -> None:
    found = read_search(text, TimeSearch(SUN7), [], SUN7)
    assert found == TimeSearch(expected)


def test_with_nothing_shown_later_and_another_day_look_at_the_next_days() -> None:
    current = TimeSearch(date(2025, 12, 2), "morning")
    assert read_search("later times", current, [], MON1) == TimeSearch(date(2025, 12, 9), "morning")
    assert read_search("another day", current, [], MON1) == TimeSearch(date(2025, 12, 9), "morning")


def test_later_times_after_the_last_shown_reach_into_the_next_window() -> None:
    found = read_search("later", START, SHOWN, MON1)
    assert found is not None
    assert keys(select(OFFERED, found)) == ["Thu 4 Dec, 8am Mere"]


# --- Words that pick a time -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        (SHOWN[1].key(), 1),
        (f"  {SHOWN[3].key()} ", 3),
        ("the first one", 0),
        ("1st", 0),
        ("one", 0),
        ("first please", 0),
        ("2", 1),
        ("#2", 1),
        ("second", 1),
        ("the 2nd one", 1),
        ("the 2nd", 1),
        ("option 3", 2),
        ("I'll take the third one thanks", 2),
        ("4", 3),
        ("last", 3),
        ("the last one", 3),
        ("10:30", 1),
        ("10.30am", 1),
        ("1030", 1),
        ("10:30 am", 1),
        ("10:30 a.m.", 1),
        ("9am", 0),
        ("at 9", 0),
        ("9 oclock", 0),
        ("the 2pm", 2),
        ("2 pm", 2),
        ("2pm with Tane", 2),
        ("14:00", 2),
        ("5:30pm", 3),
        ("5.30", 3),
        ("tue 10:30", 1),
        ("Tuesday at 9", 0),
        ("2 dec 10:30", 1),
        ("the wednesday one", 3),
        ("wed please", 3),
        ("3 dec please", 3),
        ("3/12 works", 3),
        ("3 dec 2025 at 5:30", 3),
        ("dec 2 at 2", 2),
        ("with tane", 2),
        ("Tane please", 2),
        ("the afternoon one", 2),
        ("the evening one", 3),
    ],
)
def test_read_choice_picks_one(text: str, expected: int) -> None:
    assert read_choice(text, SHOWN) == SHOWN[expected]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "5",  # only four shown
        "9",
        "the tuesday one",  # three on Tuesday
        "with mere",  # three with Mere
        "the morning one",  # two mornings
        "wednesday",  # a day alone is a search, not a choice
        "thursday arvo",
        "wed 10:30",  # no such time
        "2:45pm",
        "tue 2",  # 2 what?
        "that one",
        "not the first one",
        "none of those",
        "later",
        "another day",
        "10:30 next week",
        "tomorrow 9am",  # no today given: cannot tell which day
        "ok",
        "5 dec 2025 please",  # not shown
        "2026-01-01T00:00:00Z@101",  # a key of no slot shown
    ],
)
def test_read_choice_none_when_not_exactly_one(text: str) -> None:
    assert read_choice(text, SHOWN) is None


@pytest.mark.parametrize(
    "text, expected",
    [("tomorrow 9am", 0), ("tomorrow at 2", 2), ("tomorrow morning", None), ("today 9am", None)],
)
def test_read_choice_with_today(text: str, expected: Optional[int]) -> None:
    found = read_choice(text, SHOWN, today=MON1)
    assert found == (None if expected is None else SHOWN[expected])


def test_read_choice_at_one_time_with_two_practitioners() -> None:
    shown = [slot(12, 2, 10, 30, who="Mere"), slot(12, 2, 10, 30, who="Tane"), slot(12, 2, 12)]
    assert read_choice("10:30", shown) is None
    assert read_choice("10:30 with Tane", shown) == shown[1]
    assert read_choice("2", shown) == shown[1]
    assert read_choice("noon", shown) == shown[2]
    assert read_choice("12pm", shown) == shown[2]


def test_read_choice_names_without_macrons() -> None:
    shown = [slot(12, 2, 9, who="Mēre"), slot(12, 2, 9, who="Tane")]
    assert read_choice("with mere", shown) == shown[0]
    assert read_choice("Mēre please", shown) == shown[0]


def test_read_choice_with_nothing_shown() -> None:
    assert read_choice("the first one", []) is None


def test_times_round_the_clock_are_read_in_nz_time_across_daylight_saving() -> None:
    winter = [Slot(utc("2026-06-08T21:00"), "101", "Mere"), Slot(utc("2026-06-08T22:30"), "101", "Mere")]
    assert [say_time(s.starts_at) for s in winter] == ["Tue 9 Jun, 9am", "Tue 9 Jun, 10:30am"]
    assert read_choice("10:30", winter) == winter[1]
    found = read_search("tuesday morning", TimeSearch(date(2026, 6, 8)), winter, date(2026, 6, 8))
    assert found == TimeSearch(date(2026, 6, 9), "morning")
    assert select(winter, found) == winter
    assert select(winter, TimeSearch(date(2026, 6, 9), None, winter[0].starts_at + timedelta(minutes=1))) == [
        winter[1]
    ]


@pytest.mark.parametrize(
    "text, expected",
    [("2moro", date(2025, 12, 2)), ("2morrow arvo", date(2025, 12, 2)), ("2day", MON1), ("l8er", date(2025, 12, 3))],
)
def test_short_forms_with_digits(text: str, expected: date) -> None:
    found = read_search(text, START, SHOWN, MON1)
    assert found is not None and found.first_day == expected
