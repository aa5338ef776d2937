"""Times in the booking conversation: said in New Zealand time, searched and picked in the patient's words.

Pure functions (standard library only, no I/O); today's date is always passed in.

- `say_time`, `say_day`, `say_time_only`: "Tue 2 Dec, 10:30am", "Tue 2 Dec", "10:30am" in the clinic's time zone.
- `TimeSearch`: which times to show (from a day, a part of the day, after a time), kept between turns as text
  (`to_text`/`from_text`); `select` picks the few to show from what the booking system returned.
- `read_search`: the words that move the search ("later times", "another day", "a morning", "next week",
  "thursday arvo", "the 5th", "5/12").
- `read_choice`: the words that pick one of the times shown (the button's payload, "the second one", "10:30",
  "tue 2pm", "with Mere"); only when they name exactly one.

The booking conversation calls `read_choice` first: "2" and "the 2nd" pick the second time shown; `read_search`
reads "the 5th" as a date. Typos are tolerated where cheap: known short forms ("tmrw", "nxt", "arvo", "thurs") and
close misspellings of the words it knows ("laterr", "tomoro", "wensday").
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import List, Optional, Sequence, Tuple

from bot.booking.provider import Slot
from bot.clinic.injury_dates import CLINIC_TZ

SEARCH_DAYS = 7  # one request to the booking system (Cliniko allows at most 7 days between `from` and `to`)
MORNING, AFTERNOON, EVENING = "morning", "afternoon", "evening"
PARTS = (MORNING, AFTERNOON, EVENING)
AFTERNOON_FROM_HOUR = 12  # morning: before 12:00; afternoon: 12:00 to 17:00; evening: from 17:00 (NZ time)
EVENING_FROM_HOUR = 17

_DAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
_NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# Short forms and plurals, to the one word the readers look for.
_ALIASES = {
    **{day[:3]: day for day in _WEEKDAYS},
    **{day + "s": day for day in _WEEKDAYS},
    "tues": "tuesday", "tu": "tuesday", "weds": "wednesday", "thur": "thursday", "thurs": "thursday",
    "thursdy": "thursday",
    **{month[:3]: month for month in _MONTHS},
    "sept": "september", "jun": "june", "jul": "july",
    "tmrw": "tomorrow", "tmr": "tomorrow", "tmw": "tomorrow", "tomoz": "tomorrow", "tomo": "tomorrow",
    "tdy": "today", "tonite": "tonight",
    "nxt": "next", "nex": "next", "wk": "week", "wks": "weeks", "ltr": "later",
    "morn": "morning", "mornings": "morning", "mornin": "morning", "arvo": "afternoon", "arvos": "afternoon",
    "avo": "afternoon", "aft": "afternoon", "afternoons": "afternoon", "pm's": "afternoon",
    "eve": "evening", "evenings": "evening", "nite": "night", "nights": "night",
    "others": "others", "after": "after", "mother": "mother", "bother": "bother",  # not misspellings
}  # fmt: skip
# Words whose close misspellings are read as the word (only words of 5 letters or more, both sides).
_VOCABULARY = tuple(
    word
    for word in (
        *_WEEKDAYS, *_MONTHS, "today", "tonight", "tomorrow", "later", "morning", "afternoon", "evening",
        "another", "different", "times", "first", "second", "third", "fourth", "weekend", "please",
    )  # fmt: skip
    if len(word) >= 5
)
_FUZZY_CUTOFF = 0.82  # "laterr", "tomoro", "wensday", "mornign" pass; "water" does not become "later"

_TOKEN = re.compile(
    r"\d{1,2}/\d{1,2}(?:/\d{2,4})?"  # 5/12, 5/12/2026 (day first)
    r"|\d{1,2}[:.]\d{2}"  # 10:30, 10.30
    r"|\d{1,2}(?:st|nd|rd|th)(?![a-z])"  # 5th
    r"|\d+|[a-z]+"
)
_KEY = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z@[A-Za-z0-9_.\-]+")
_ORDINAL = re.compile(r"(\d{1,2})(?:st|nd|rd|th)")


# --- Saying times ---------------------------------------------------------------------------------------------


def clinic_time(moment: datetime) -> datetime:
    """`moment` (timezone-aware) in the clinic's time zone; a naive datetime is refused (ValueError)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a booking time must be timezone-aware")
    return moment.astimezone(CLINIC_TZ)


def say_day(day: date) -> str:
    """ "Tue 2 Dec" (no leading zero, no year)."""
    return f"{_DAY_ABBREVIATIONS[day.weekday()]} {day.day} {_MONTH_ABBREVIATIONS[day.month - 1]}"


def say_time_only(moment: datetime) -> str:
    """The clock time in NZ: "10:30am", "9am", "12pm", "5:15pm"."""
    local = clinic_time(moment)
    hour = local.hour % 12 or 12
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{hour}{minutes}{'am' if local.hour < 12 else 'pm'}"


def say_time(moment: datetime) -> str:
    """A start time as the patient reads it, in NZ time (NZDT or NZST): "Tue 2 Dec, 10:30am"."""
    return f"{say_day(clinic_time(moment).date())}, {say_time_only(moment)}"


def part_of_day(moment: datetime) -> str:
    """ "morning" (before 12:00), "afternoon" (12:00 to 17:00) or "evening" (from 17:00), NZ time."""
    hour = clinic_time(moment).hour
    if hour < AFTERNOON_FROM_HOUR:
        return MORNING
    return AFTERNOON if hour < EVENING_FROM_HOUR else EVENING


# --- The search -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeSearch:
    """Which times to show: from `first_day` (NZ), in one part of the day or any, strictly after `after` or any."""

    first_day: date
    part: Optional[str] = None
    after: Optional[datetime] = None

    def __post_init__(self) -> None:
        if self.part is not None and self.part not in PARTS:
            raise ValueError(f"unknown part of the day: {self.part!r}")
        if self.after is not None and (self.after.tzinfo is None or self.after.utcoffset() is None):
            raise ValueError("`after` must be timezone-aware")

    @property
    def days(self) -> int:
        """How many days, from `first_day`, the booking system is asked about."""
        return SEARCH_DAYS

    @classmethod
    def starting(cls, today: date) -> TimeSearch:
        """The first search of a conversation: any time from today."""
        return cls(today)

    def matches(self, slot: Slot) -> bool:
        """Whether `slot` is one this search shows."""
        return (
            clinic_time(slot.starts_at).date() >= self.first_day
            and (self.part is None or part_of_day(slot.starts_at) == self.part)
            and (self.after is None or slot.starts_at > self.after)
        )

    def to_text(self) -> str:
        """A compact text for a text slot of the conversation: "2026-12-02|morning|2026-12-01T21:30:00Z"."""
        after = self.after.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if self.after else ""
        return f"{self.first_day.isoformat()}|{self.part or ''}|{after}"

    @classmethod
    def from_text(cls, text: Optional[str], today: date) -> TimeSearch:
        """The search `to_text` wrote; anything else is the first search from `today`. A search whose first day
        has passed starts again from today (its part of the day kept)."""
        try:
            first_day, part, after = (text or "").split("|")
            search = cls(
                date.fromisoformat(first_day),
                part or None,
                datetime.strptime(after, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc) if after else None,
            )
        except (ValueError, TypeError, AttributeError):  # not our text (another version, or edited)
            return cls.starting(today)
        return search if search.first_day >= today else cls(today, search.part)


def select(slots: Sequence[Slot], search: TimeSearch, count: int = 4) -> List[Slot]:
    """The first `count` slots the search shows, soonest first. Different start times come first: a time offered
    by two practitioners takes one place (the one listed first) unless there are too few times to fill them."""
    matching = sorted((slot for slot in slots if search.matches(slot)), key=lambda slot: slot.starts_at)
    unique: List[Slot] = []
    same_time: List[Slot] = []
    starts = set()
    for slot in matching:
        (same_time if slot.starts_at in starts else unique).append(slot)
        starts.add(slot.starts_at)
    chosen = unique[:count] + same_time[: max(0, count - len(unique))]
    return sorted(chosen, key=lambda slot: slot.starts_at)  # stable: of two at one time, the first listed first


# --- Reading the patient's words ------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    """Lower case, accents and apostrophes removed ("Mēre" -> "mere", "o'clock" -> "oclock"), a.m. -> am."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    plain = re.sub(r"['\u2019`]", "", plain)
    plain = re.sub(r"\bl8e?r\b", "later", plain)  # short forms with a digit, before words and numbers part
    plain = re.sub(r"\b2mor+ow?\b", "tomorrow", re.sub(r"\b2day\b", "today", plain))
    return re.sub(r"\b([ap])\.m\.?", r"\1m", plain)


def _canonical(token: str) -> str:
    """A word as the readers know it: short forms expanded, close misspellings corrected."""
    if token in _ALIASES:
        return _ALIASES[token]
    if len(token) >= 5 and not token.isdigit() and token not in _VOCABULARY:
        close = difflib.get_close_matches(token, _VOCABULARY, n=1, cutoff=_FUZZY_CUTOFF)
        if close:
            return close[0]
    return token


def _tokens(text: str) -> List[str]:
    """The words and numbers of `text`, each in its canonical form."""
    return [_canonical(token) for token in _TOKEN.findall(_normalise(text))]


@dataclass(frozen=True)
class _Date:
    """A date as said: a day of the month, with the month and year when given."""

    day: int
    month: Optional[int] = None
    year: Optional[int] = None

    def names(self, day: date) -> bool:
        """Whether `day` is this date (the year, when not said, is any)."""
        return (
            day.day == self.day
            and (self.month is None or day.month == self.month)
            and (self.year is None or day.year == self.year)
        )

    def seen_from(self, today: date) -> Optional[date]:
        """The date meant, seen from `today`: a day of the month alone is the next one on or after today; a day
        and month the nearest such date (5 Jan said in December is next January; 30 Nov said on 1 Dec is
        yesterday, never a year on, as times are said without the year). The caller clamps to today."""
        if self.month is None:
            for ahead in range(0, 12):
                year, month = divmod(today.year * 12 + today.month - 1 + ahead, 12)
                candidate = _valid_date(year, month + 1, self.day)
                if candidate is not None and candidate >= today:
                    return candidate
            return None
        if self.year is not None:
            return _valid_date(self.year, self.month, self.day)
        candidates = [_valid_date(year, self.month, self.day) for year in range(today.year - 1, today.year + 2)]
        valid = [candidate for candidate in candidates if candidate is not None]
        return min(valid, key=lambda candidate: (abs((candidate - today).days), candidate < today), default=None)


def _valid_date(year: int, month: int, day: int) -> Optional[date]:
    """The date, or None when there is no such day (31 November)."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_at(tokens: Sequence[str], index: int) -> Optional[int]:
    """The month (1-12) named by tokens[index], if it is a month."""
    if 0 <= index < len(tokens) and tokens[index] in _MONTHS:
        return _MONTHS.index(tokens[index]) + 1
    return None


def _day_number(token: str) -> Optional[int]:
    """1-31 from "5" or "5th"."""
    match = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", token)
    return int(match.group(1)) if match and 1 <= int(match.group(1)) <= 31 else None


_ORDINAL_TOKENS = {"first": 1, "second": 2, "third": 3, "fourth": 4}
_CHOICE_NOUNS = ("one", "option", "time", "slot", "appointment", "button", "choice")


def _year_at(tokens: Sequence[str], index: int) -> Optional[int]:
    """The year named by tokens[index] ("2026"), if it is one."""
    if 0 <= index < len(tokens) and re.fullmatch(r"20\d\d", tokens[index]):
        return int(tokens[index])
    return None


def _dates(tokens: Sequence[str]) -> Tuple[List[_Date], List[int]]:
    """The dates said ("5/12", "5 dec 2026", "5th of december", "dec 5", "the 5th", "on the first") and the
    indexes of the tokens they used. A day of the month without its month needs an ordinal ("5th", not "5") and
    no choice noun after it ("the 5th one" is a choice); "first" to "fourth" need "on the" before them."""
    found: List[_Date] = []
    used: List[int] = []
    for i, token in enumerate(tokens):
        numeric = re.fullmatch(r"(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?", token)
        if numeric:
            year = numeric.group(3)
            full_year = (2000 + int(year) if len(year) == 2 else int(year)) if year else None
            found.append(_Date(int(numeric.group(1)), int(numeric.group(2)), full_year))
            used.append(i)
            continue
        day = _ORDINAL_TOKENS.get(token) or _day_number(token)
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if day is None or following in ("am", "pm", "oclock"):
            continue
        month_at = i + (2 if following == "of" else 1)  # "5 dec", "5th of december"
        if _month_at(tokens, month_at) is None:
            month_at = i - 1 if _month_at(tokens, i - 1) else i - 2  # "dec 5", "december the 5th"
            if month_at == i - 2 and tokens[i - 1 : i] != ["the"]:
                month_at = -1
        month = _month_at(tokens, month_at)
        if month is not None:
            year_at = max(i, month_at) + 1
            year = _year_at(tokens, year_at)
            found.append(_Date(day, month, year))
            used.extend([i] + ([year_at] if year else []))
            continue
        followed_by_noun = following in _CHOICE_NOUNS
        on_the = list(tokens[max(0, i - 2) : i]) == ["on", "the"]
        alone = on_the if token in _ORDINAL_TOKENS else not token.isdigit()
        if alone and not followed_by_noun:
            found.append(_Date(day))
            used.append(i)
    return found, used


def _read_part(phrase: str) -> Optional[str]:
    """The part of the day asked for: a part, "" for any part ("any time"), or None when not said."""
    phrase = re.sub(r"\bgood (?:morning|afternoon|evening)\b", "", phrase)  # a greeting, not a wish
    parts = set()
    if re.search(r"\b(?:morning|before (?:lunch|noon|midday))\b", phrase):
        parts.add(MORNING)
    if re.search(r"\b(?:afternoon|after (?:lunch|noon|midday))\b", phrase):
        parts.add(AFTERNOON)
    if re.search(r"\b(?:evening|night|tonight|after work|after (?:5|6)(?: ?pm)?)\b", phrase):
        parts.add(EVENING)
    if len(parts) == 1:
        return parts.pop()
    if parts or re.search(r"\b(?:any ?time|whenever|any part of (?:the )?day|dont mind|not fussed)\b", phrase):
        return ""
    return None


def _next_monday(today: date) -> date:
    """The Monday of next week (tomorrow when today is a Sunday)."""
    return today + timedelta(days=7 - today.weekday())


def _read_day(tokens: Sequence[str], phrase: str, today: date) -> Optional[date]:
    """The day the words name (not clamped to today), or None."""
    dates, _ = _dates(tokens)
    for said in dates:
        found = said.seen_from(today)
        if found is not None:
            return found
    if re.search(r"\bday after tomorrow\b", phrase):
        return today + timedelta(days=2)
    if re.search(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b", phrase):
        return today
    if re.search(r"\btomorrow\b", phrase):
        return today + timedelta(days=1)
    weekday = re.search(r"\b(?:(next|this) )?(" + "|".join(_WEEKDAYS) + r")\b", phrase)
    next_week = re.search(r"\bnext week\b", phrase)
    if weekday:
        index = _WEEKDAYS.index(weekday.group(2))
        if weekday.group(1) == "next" or next_week:
            return _next_monday(today) + timedelta(days=index)
        return today + timedelta(days=(index - today.weekday() - 1) % 7 + 1)  # strictly after today
    if re.search(r"\bweek after next\b", phrase):
        return _next_monday(today) + timedelta(days=7)
    if next_week:
        return _next_monday(today)
    if re.search(r"\bnext month\b", phrase):
        return date(today.year + today.month // 12, today.month % 12 + 1, 1)
    if re.search(r"\bweekend\b", phrase):
        return today + timedelta(days=max(0, 5 - today.weekday()))
    return None


_ANOTHER_DAY = re.compile(r"\b(?:another|different|other|new|next|later|more)(?: \w+)? (?:day|date)s?\b")
_LATER = re.compile(
    r"\blater\b|\bothers\b|\b(?:anything|something|somewhere) else\b"
    r"|\b(?:more|other|another|different|next)(?: \w+)? (?:time|option|slot|appointment|one)s?\b"
    r"|\bmore\b"
)


_NEGATION = re.compile(r"\b(?:not|cant|cannot|dont|unable)\b")


def read_search(text: str, current: TimeSearch, shown: Sequence[Slot], today: date) -> Optional[TimeSearch]:
    """The search the patient's words ask for, or None when they ask for no change.

    A day named ("thursday", "next week", "5/12") starts the search on that day; "another day" on the day after
    the last time shown; "later times" after the last time shown (with nothing shown, both move to the next
    `days` days). A part of the day ("a morning", "arvo", "after work"; "any time" for none) is kept until
    changed. A day refused ("can't do Tuesday") is read as "another day", a part refused as nothing. The first
    day is never before `today`."""
    tokens = _tokens(text)
    phrase = " ".join(tokens)
    negated = bool(_NEGATION.search(phrase))
    part_said = None if negated else _read_part(phrase)
    part = current.part if part_said is None else (part_said or None)
    day = _read_day(tokens, phrase, today)
    last = max((slot.starts_at for slot in shown), default=None)
    if day is not None and not negated:
        return TimeSearch(max(day, today), part)
    if _ANOTHER_DAY.search(phrase) or day is not None:  # "can't do Tuesday": another day
        if last is None:
            return TimeSearch(max(current.first_day + timedelta(days=current.days), today), part)
        return TimeSearch(max(clinic_time(last).date() + timedelta(days=1), today), part)
    if _LATER.search(phrase):
        if last is None:
            return TimeSearch(max(current.first_day + timedelta(days=current.days), today), part)
        return TimeSearch(max(clinic_time(last).date(), today), part, last)
    if part_said is not None:
        return TimeSearch(max(current.first_day, today), part)
    return None


# Words that say nothing about which time ("I'll take the second one please").
_FILLERS = frozenset(
    re.findall(
        r"\w+",
        "the a one option number no nr num please pls plz thanks thank you ta ok okay yes yeah yep sure i ill will "
        "take have book want like would id go for me that this time slot button choice appointment lets let us do "
        "sounds good great perfect works is fine suits best",
    )
)
# With one of these, a day or part of the day alone picks a time ("the tuesday one", "thursday please").
_CHOICE_MARKERS = frozenset(
    re.findall(r"\w+", "one that this option take book have please works suits fine good great perfect ok")
)
_NOT_A_CHOICE = re.compile(
    r"\b(?:not|none|neither|nope|dont|cant|cannot|nothing|later|earlier|another|different|other|others|more"
    r"|next (?:week|month|" + "|".join(_WEEKDAYS) + r"))\b"
)


@dataclass(frozen=True)
class _Clock:
    """A clock time as said: `hour` 0-23 when am/pm (or a 24-hour time) was given, else 1-12 either way."""

    hour: int
    minute: int
    exact: bool

    def names(self, moment: datetime) -> bool:
        """Whether `moment` (NZ time) is at this clock time."""
        local = clinic_time(moment)
        if local.minute != self.minute:
            return False
        return local.hour == self.hour if self.exact else local.hour % 12 == self.hour % 12


def _clock(tokens: Sequence[str], date_tokens: Sequence[int]) -> Tuple[Optional[_Clock], bool]:
    """The clock time said ("10:30", "10.30am", "1030", "2pm", "at 2", "2 oclock", "noon"), and whether a
    number was left over that is neither a time nor a date ("tue 2": unclear)."""
    clock: Optional[_Clock] = None
    stray = False
    for i, token in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        half_day = following if following in ("am", "pm") else None
        hour = minute = None
        written = re.fullmatch(r"(\d{1,2})[:.](\d{2})", token) or re.fullmatch(r"(\d{1,2})(\d{2})", token)
        if i in date_tokens:
            continue
        if written:
            hour, minute = int(written.group(1)), int(written.group(2))
        elif token.isdigit() and len(token) <= 2:
            if half_day or following == "oclock" or (i > 0 and tokens[i - 1] == "at"):
                hour, minute = int(token), 0
            else:
                stray = True
        elif token in ("noon", "midday"):
            hour, minute, half_day = 12, 0, "pm"
        if hour is None or minute is None:
            continue
        if minute > 59 or hour > 23 or (half_day and not 1 <= hour <= 12):
            stray = True
            continue
        if half_day:
            clock = _Clock(hour % 12 + (12 if half_day == "pm" else 0), minute, True)
        else:
            clock = _Clock(hour, minute, hour == 0 or hour > 12)
    return clock, stray


def _index(tokens: Sequence[str], count: int) -> Optional[int]:
    """The position (0-based) named by the words alone: "2", "the second one", "option 3", "the last one"."""
    rest = [token for token in tokens if token not in _FILLERS]
    if not rest and tokens[-1:] == ["one"] and (len(tokens) == 1 or tokens[-2] in ("option", "number", "no", "nr")):
        rest = ["one"]  # "one", "option one"; not "that one"
    if len(rest) != 1:
        return None
    word = rest[0]
    if word == "last":
        return count - 1
    if word.isdigit() and len(word) <= 2:
        number = int(word)
    elif _ORDINAL.fullmatch(word):
        number = int(_ORDINAL.fullmatch(word).group(1))
    elif word in _ORDINAL_WORDS:
        number = _ORDINAL_WORDS.index(word) + 1
    elif word in _NUMBER_WORDS:
        number = _NUMBER_WORDS.index(word) + 1
    else:
        return None
    return number - 1 if 1 <= number <= count else None


def read_choice(text: str, shown: Sequence[Slot], today: Optional[date] = None) -> Optional[Slot]:
    """The one time shown that the patient's words pick, or None (none, several, or a search instead).

    Picks by the button's payload (`Slot.key()`), by position ("2", "the second one", "last"), or by what the
    words say of a time: its clock time ("10:30", "2pm"), practitioner ("with Mere"), day ("tue", "5 dec",
    "tomorrow" when `today` is given) and part of the day. A day or part of the day alone needs a word of choice
    ("the tuesday one", "thursday please"): "thursday" alone is left to `read_search`."""
    if not shown or not text:
        return None
    keys = set(_KEY.findall(text))
    if keys:  # a button's payload: the time it names, if it is one shown
        by_key = [slot for slot in shown if slot.key() in keys]
        return by_key[0] if len(keys) == 1 and by_key else None
    tokens = _tokens(text)
    phrase = " ".join(tokens)
    if _NOT_A_CHOICE.search(phrase):
        return None
    index = _index(tokens, len(shown))
    if index is not None:
        return shown[index]

    normalised = _normalise(text)
    names = {
        slot.practitioner_first_name
        for slot in shown
        if slot.practitioner_first_name.strip()
        and re.search(r"\b" + re.escape(_normalise(slot.practitioner_first_name).strip()) + r"\b", normalised)
    }
    dates, date_tokens = _dates(tokens)
    clock, stray = _clock(tokens, date_tokens)
    if stray:
        return None
    weekdays = {_WEEKDAYS.index(token) for token in tokens if token in _WEEKDAYS}
    part = _read_part(phrase) or None
    named = [word for word in ("today", "tomorrow") if word in tokens]
    if named and today is None:
        return None  # cannot tell which day it means
    days = [today + timedelta(days=("today", "tomorrow").index(word)) for word in named] if today else []

    def fits(slot: Slot) -> bool:
        local = clinic_time(slot.starts_at)
        return (
            (clock is None or clock.names(slot.starts_at))
            and (not names or slot.practitioner_first_name in names)
            and all(said.names(local.date()) for said in dates)
            and all(local.weekday() == weekday for weekday in weekdays)
            and all(local.date() == day for day in days)
            and (part is None or part_of_day(slot.starts_at) == part)
        )

    strong = clock is not None or bool(names)
    weak = bool(dates or weekdays or days or part)
    if not (strong or (weak and _CHOICE_MARKERS.intersection(tokens))):
        return None
    fitting = [slot for slot in shown if fits(slot)]
    return fitting[0] if len(fitting) == 1 else None
