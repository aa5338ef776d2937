"""Details that identify a patient, masked in what the staff console shows until a staff member asks to see them.

`mask` replaces ACC45 numbers, phone numbers (New Zealand and international), email addresses and the values the
patient gave in the personal slots (`known`: names above all, read by bot/storage/transcripts.py) by labels such
as "[ACC45 number]" (what the console shows), or by the neutral `PLACEHOLDERS` (what annotated messages keep for
training, bot/staff/annotations.py). The rules of what each one looks like are those of the rest of the assistant:
ACC45 numbers from bot/clinic/acc_codes.py, phone numbers from phonenumbers' matcher (region NZ, as
bot/clinic/contact_details.py), emails as bot/privacy/log_redaction.py finds them in logs (also internationalised
ones). Dates are left alone: staff need the date of injury, so a date is never taken for a phone number
("05-03-2024") and a year followed by a word is not an ACC45 number ("in march 2024 and ...", the rule of
bot/clinic/acc_codes.py), unless the patient gave that number (`known`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Iterator, List, Mapping, Set, Tuple

from phonenumbers import Leniency, PhoneNumberMatcher

from bot.clinic.acc_codes import acc45_matches, normalise_acc45
from bot.clinic.contact_details import EMAIL_PATTERN, NZ, normalise_nz_phone
from bot.clinic.injury_dates import parse_injury_date
from bot.privacy.log_redaction import EMAIL_LIKE

ACC45, PHONE, EMAIL, NAME = "acc45", "phone", "email", "name"
LABELS = {ACC45: "[ACC45 number]", PHONE: "[phone]", EMAIL: "[email]", NAME: "[name]"}
# Training data must read like what patients write: a "[name]" token would teach the classifier a word no patient
# types. Realistic values of each kind instead, the same for everyone: an ACC45 number in the format patients give
# (two letters, five digits), a mobile number, a reserved example.com address (RFC 2606) and a common first name.
# No Rasa NLU markup character ("[", "]", "(", ")", "{", "}") and nothing YAML reads specially.
PLACEHOLDERS = {ACC45: "AB12345", PHONE: "021 123 4567", EMAIL: "name@example.com", NAME: "Alex"}

_IN_FULL = ("+", "0", "(")  # a phone number written with its 0, 00 or +: "4991234" or "20240312" alone is not taken
_DIGIT = re.compile(r"\d")
_APOSTROPHE_LOCAL = re.compile(r"(?<![\w.+'-])[\w.+-]+(?:'[\w.+-]+)*'\Z")  # "o'" of o'neil@example.com


@dataclass(frozen=True)
class MaskedText:
    """A text with the details hidden: how many, and of which kinds ("acc45", "phone", "email", "name")."""

    text: str
    hidden: int = 0
    kinds: Set[str] = field(default_factory=set)


Span = Tuple[int, int, str]  # start, end, kind


def mask(
    text: str, known: Iterable[str] = (), public: Iterable[str] = (), labels: Mapping[str, str] = LABELS
) -> MaskedText:
    """`text` with ACC45 numbers, phone numbers, emails and each `known` value (case-insensitive, whole words)
    replaced by `labels` (or `PLACEHOLDERS`); where two overlap, the one that starts first (then the longer) is
    hidden.

    A name that is also a word ("Will", "May") is hidden wherever that word stands alone. `public`: phone numbers
    and emails that are never a patient's (Healthline's, the clinic's own), left as they are.
    """
    text = text or ""
    known = [value.strip() for value in known if value and len(value.strip()) >= 2]
    shown = {_key(value) for value in public}
    spans = sorted(
        [*_emails(text), *_phones(text), *_acc45s(text, known), *_known(text, known)],
        key=lambda span: (span[0], span[0] - span[1]),
    )
    out: List[str] = []
    done, kinds = 0, set()
    for start, end, kind in spans:
        if start < done or (kind in (PHONE, EMAIL) and _key(text[start:end]) in shown):
            continue
        out += [text[done:start], labels[kind]]
        kinds.add(kind)
        done = end
    if not kinds:
        return MaskedText(text)
    return MaskedText("".join(out) + text[done:], hidden=len(out) // 2, kinds=kinds)


def _key(value: str) -> str:
    """A phone number as digits with a leading 0 ("+64 800 611 116" -> "0800611116"), anything else lower-cased."""
    return normalise_nz_phone(value) or re.sub(r"[\s().-]", "", value).lower()


def _emails(text: str) -> Iterator[Span]:
    for match in EMAIL_LIKE.finditer(text):
        start, end = match.start(), match.end()
        while end > start and text[end - 1] == ".":  # the sentence's full stop
            end -= 1
        local = _APOSTROPHE_LOCAL.search(text, 0, start)
        yield (local.start() if local else start), end, EMAIL


def _is_date(written: str) -> bool:
    answer = parse_injury_date(written, date.today())
    return answer.value is not None or answer.problem == "future"


def _phones(text: str) -> Iterator[Span]:
    if len(_DIGIT.findall(text)) < 6:  # no phone number is shorter; most messages have no digits (the matcher is slow)
        return
    for match in PhoneNumberMatcher(text, NZ, leniency=Leniency.POSSIBLE):
        if match.raw_string.startswith(_IN_FULL) and not _is_date(match.raw_string):
            yield match.start, match.end, PHONE


def _acc45s(text: str, known: List[str]) -> Iterator[Span]:
    """ACC45 numbers as bot/clinic/acc_codes.py finds them ("in march 2024 and" is words); a known one always."""
    known_numbers = {normalise_acc45(value) for value in known} - {None}
    for match in acc45_matches(text, known_numbers):
        yield match.start(), match.end(), ACC45


def kind_of(value: str) -> str:
    """What a known value is: "acc45", "phone", "email", or "name" (anything else)."""
    if EMAIL_PATTERN.fullmatch(value) or EMAIL_LIKE.fullmatch(value):
        return EMAIL
    if normalise_acc45(value):
        return ACC45
    if normalise_nz_phone(value) or any(True for _ in _phones(value)):
        return PHONE
    return NAME


def _name_words(name: str) -> Set[str]:
    """ "Mere-Anne O'Neil" -> {"Mere-Anne", "O'Neil", "Mere", "Anne", "Neil"}: words of two letters or more."""
    words = {word.strip(".'’-") for word in name.split()} | set(re.findall(r"[^\W\d_]+", name))
    return {word for word in words if len(word) >= 2}


def _known(text: str, known: List[str]) -> Iterator[Span]:
    """Each known value, and each word of a name ("Aroha" of "Aroha Ngata"), as a whole word in any case."""
    for value in known:
        kind = kind_of(value)
        words = _name_words(value) if kind == NAME else set()
        for written in {value, *words}:
            pattern = re.compile(r"(?<!\w)" + re.escape(written) + r"(?!\w)", re.IGNORECASE)
            for match in pattern.finditer(text):
                yield match.start(), match.end(), kind
