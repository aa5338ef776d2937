"""A patient's free-text "date of injury", read the way a New Zealander writes it.

Pure Python (standard library only, no Rasa imports). `parse_injury_date` understands:

- day-first numeric dates: 3/4/2026 and 3-4-2026 and 3.4.2026 are 3 April 2026; 03/04/26 (two-digit
  years are 20xx); 3/4 or 3-4 without a year (the most recent such date not after today; a dotted date
  needs a year, as "3.4" is as likely a decimal or a time); ISO 2026-04-03;
- written dates: "14 March", "14th of March 2026", "March 14th, 2026", "mar 14", "14 mar 26", "sept 3";
  without a year, the most recent occurrence not after today;
- relative dates: "today", "yesterday", "the day before yesterday", "last night", "tomorrow",
  "N days/weeks/fortnights/months/years ago" with digits or words ("three weeks ago", "a couple of weeks
  ago", "a fortnight ago", "twenty-one days ago"), "half a year ago", "last week/fortnight/month/year",
  weekday names ("last Tuesday" and "Tuesday" are the most recent Tuesday strictly before today;
  "next Tuesday" the next one after today).

Month and year arithmetic clamps to the end of the month: 31 March minus one month is 28 (or 29)
February, 29 February 2028 minus one year is 28 February 2027. A date after `today` comes back with
problem "future"; anything not understood (or an impossible date such as 31/2/2026) as "unparseable".
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Optional, Tuple
from zoneinfo import ZoneInfo  # standard library since 3.9 (ruff sorts it as third-party for py38)

CLINIC_TZ = ZoneInfo("Pacific/Auckland")

PROBLEM_UNPARSEABLE = "unparseable"
PROBLEM_FUTURE = "future"

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# Written month names and the abbreviations people use ("sept" as well as "sep"); an optional dot follows.
_MONTH_PATTERNS = (
    "jan(?:uary)?", "feb(?:ruary)?", "mar(?:ch)?", "apr(?:il)?", "may", "june?",
    "july?", "aug(?:ust)?", "sep(?:t(?:ember)?)?", "oct(?:ober)?", "nov(?:ember)?", "dec(?:ember)?",
)  # fmt: skip
_MONTH = r"(?P<month>" + "|".join(_MONTH_PATTERNS) + r")\b\.?"
_DAY = r"(?<![\w/\-])(?<!\d\.)(?P<day>\d{1,2})(?:st|nd|rd|th)?(?!\d)"
_YEAR = r"(?:,?\s+(?P<year>\d{4}|\d{2})(?!\d))?"

_ISO_DATE = re.compile(r"(?<!\d)(?P<year>\d{4})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})(?!\d)")
_NUMERIC_DATE = re.compile(
    r"(?<![\w/\-])(?<!\d\.)(?P<day>\d{1,2})(?P<sep>[/.\-])(?P<month>\d{1,2})"
    r"(?:(?P=sep)(?P<year>\d{4}|\d{2}))?(?![\d/\-]|\.\d)"
    r"(?!\s*(?:days?|weeks?|fortnights?|months?|years?)\b)"  # "3-4 weeks ago" is a range, not 3 April
)
_DAY_MONTH = re.compile(_DAY + r"\s+(?:of\s+)?" + _MONTH + _YEAR)
_MONTH_DAY = re.compile(r"\b" + _MONTH + r"\s+(?:the\s+)?" + _DAY + _YEAR)

_UNITS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_NUMBER_WORDS = (
    r"a\s+couple(?:\s+of)?|couple\s+of|an?"
    r"|(?:" + "|".join(_TENS) + r")(?:[\s-]+(?:" + "|".join(_UNITS[1:10]) + r"))?"
    r"|" + "|".join(sorted(_UNITS, key=len, reverse=True))
)
_UNIT_DAYS = {"day": 1, "week": 7, "fortnight": 14}
_UNIT_MONTHS = {"month": 1, "year": 12}
_AMOUNT_AGO = re.compile(
    r"\b(?P<amount>\d+|" + _NUMBER_WORDS + r")\s+(?P<unit>day|week|fortnight|month|year)s?\s+(?:ago|back)\b"
)
_HALF_A_YEAR_AGO = re.compile(r"\bhalf\s+an?\s+year\s+(?:ago|back)\b")
_LAST_PERIOD = re.compile(r"\blast\s+(?P<unit>week|fortnight|month|year)\b")
_DAY_BEFORE_YESTERDAY = re.compile(r"\b(?:the\s+)?day\s+before\s+yesterday\b")
_YESTERDAY = re.compile(r"\b(?:yesterday|last\s+night)\b")
_TODAY = re.compile(r"\b(?:today|tonight|this\s+(?:morning|afternoon|evening))\b")
_TOMORROW = re.compile(r"\btomorrow\b")
_WEEKDAY = re.compile(r"\b(?:(?P<next>next)\s+)?(?P<weekday>" + "|".join(_DAY_NAMES).lower() + r")s?\b")

# A reader looks for one kind of date in the cleaned text: the date, or None when that kind is absent.
# It raises ValueError (as `date()` does) when it finds its kind of date but the date is impossible.
Reader = Callable[[str, date], Optional[date]]


@dataclass(frozen=True)
class DateAnswer:
    """What `parse_injury_date` understood: a date, or None, and a problem (None, "unparseable" or "future")."""

    value: date | None
    problem: str | None


def clinic_today(now: datetime | None = None) -> date:
    """Today's date at the clinic (Pacific/Auckland). `now` must be timezone-aware; None means the real now."""
    if now is None:
        return datetime.now(CLINIC_TZ).date()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware (e.g. UTC)")
    return now.astimezone(CLINIC_TZ).date()


def format_date(d: date) -> str:
    """NZ style, independent of the locale: "Friday 3 April 2026" (no leading zero)."""
    return f"{_DAY_NAMES[d.weekday()]} {d.day} {_MONTH_NAMES[d.month - 1]} {d.year}"


def months_before(d: date, months: int) -> date:
    """`d` moved back by `months` calendar months, clamped to the month's end (31 March - 1 = 28/29 Feb)."""
    index = d.year * 12 + (d.month - 1) - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(d.day, calendar.monthrange(year, month + 1)[1]))


def parse_injury_date(text: str, today: date) -> DateAnswer:
    """Understand a free-text date of injury relative to `today` (see the module docstring for the formats)."""
    cleaned = _clean(text)
    try:
        for reader in _READERS:
            found = reader(cleaned, today)
            if found is not None:
                return DateAnswer(found, PROBLEM_FUTURE if found > today else None)
    except (ValueError, OverflowError):  # an impossible date (31/2/2026) or one out of range (10000 years ago)
        pass
    return DateAnswer(None, PROBLEM_UNPARSEABLE)


def _clean(text: str) -> str:
    """Lower-case the text and collapse its whitespace."""
    return " ".join((text or "").lower().split())


def _full_year(digits: str) -> int:
    """A year as written: two digits are 20xx."""
    return 2000 + int(digits) if len(digits) == 2 else int(digits)


def _most_recent(day: int, month: int, today: date) -> date:
    """The most recent `day`/`month` not after `today` (29 February goes back to the last leap year)."""
    for year in range(today.year, today.year - 9, -1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    raise ValueError(f"no date {day}/{month}")


def _day_month_year(match: re.Match[str], month: int, today: date) -> date:
    """Build the date from a match's day and optional year; without a year, the most recent one."""
    day = int(match.group("day"))
    if match.group("year"):
        return date(_full_year(match.group("year")), month, day)
    return _most_recent(day, month, today)


def _month_number(name: str) -> int:
    """1-12 for a written month name or abbreviation."""
    return next(i for i, pattern in enumerate(_MONTH_PATTERNS, 1) if re.fullmatch(pattern, name))


def _read_iso(text: str, today: date) -> date | None:
    """2026-04-03 (also 2026/04/03)."""
    match = _ISO_DATE.search(text)
    return date(int(match["year"]), int(match["month"]), int(match["day"])) if match else None


def _read_numeric(text: str, today: date) -> date | None:
    """Day-first numeric dates: 3/4/2026, 03-04-26, 3.4.2026, and 3/4 or 3-4 without a year."""
    match = _NUMERIC_DATE.search(text)
    if not match or (match["sep"] == "." and not match["year"]):
        return None
    return _day_month_year(match, int(match["month"]), today)


def _read_written(text: str, today: date) -> date | None:
    """Written dates, day first ("14th of March 2026") or month first ("March 14th, 2026", "sept 3")."""
    match = _DAY_MONTH.search(text) or _MONTH_DAY.search(text)
    return _day_month_year(match, _month_number(match["month"]), today) if match else None


def _word_amount(words: str) -> int:
    """The number in "a", "a couple of", "three", "twenty-one" (digits too)."""
    if words.isdigit():
        return int(words)
    if words in ("a", "an"):
        return 1
    if "couple" in words:
        return 2
    parts = re.split(r"[\s-]+", words)
    if parts[0] in _TENS:
        return 20 + 10 * _TENS.index(parts[0]) + (_UNITS.index(parts[1]) if len(parts) > 1 else 0)
    return _UNITS.index(parts[0])


def _read_amount_ago(text: str, today: date) -> date | None:
    """Amounts of time ago: "3 days ago", "three weeks ago", "a couple of months back", "half a year ago"."""
    if _HALF_A_YEAR_AGO.search(text):
        return months_before(today, 6)
    match = _AMOUNT_AGO.search(text)
    return _go_back(today, _word_amount(match["amount"]), match["unit"]) if match else None


def _read_last_period(text: str, today: date) -> date | None:
    """The last period: "last week" (7 days ago), "last fortnight", "last month", "last year"."""
    match = _LAST_PERIOD.search(text)
    return _go_back(today, 1, match["unit"]) if match else None


def _go_back(today: date, amount: int, unit: str) -> date:
    """`today` minus `amount` days, weeks, fortnights, months or years."""
    if unit in _UNIT_DAYS:
        return today - timedelta(days=amount * _UNIT_DAYS[unit])
    return months_before(today, amount * _UNIT_MONTHS[unit])


def _read_named_day(text: str, today: date) -> date | None:
    """Named days: "the day before yesterday", "yesterday", "last night", "today", "this morning", "tomorrow"."""
    for pattern, offset in ((_DAY_BEFORE_YESTERDAY, -2), (_YESTERDAY, -1), (_TODAY, 0), (_TOMORROW, 1)):
        if pattern.search(text):
            return today + timedelta(days=offset)
    return None


def _read_weekday(text: str, today: date) -> date | None:
    """Weekdays: "(last) Tuesday" is the most recent Tuesday strictly before today; "next Tuesday" after it."""
    match = _WEEKDAY.search(text)
    if not match:
        return None
    weekday = _DAY_NAMES.index(match["weekday"].capitalize())
    if match["next"]:
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    return today - timedelta(days=(today.weekday() - weekday - 1) % 7 + 1)


# Most specific first: an explicit date wins over a relative phrase in the same sentence.
_READERS: Tuple[Reader, ...] = (
    _read_iso,
    _read_numeric,
    _read_written,
    _read_amount_ago,  # before the named days: "three weeks ago today" is three weeks ago
    _read_last_period,
    _read_named_day,
    _read_weekday,
)
