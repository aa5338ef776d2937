"""Patient contact details for a call-back: name, NZ phone number or email, validated in one place.

Phone numbers are found and checked with `phonenumbers` (Google's libphonenumber metadata, region NZ), email
addresses with `email-validator` (syntax only: no DNS lookup at run time). `PHONE_PATTERN`, `EMAIL_PATTERN` and
`normalise_nz_phone` are the permissive shapes bot/privacy/log_redaction.py hides in logs: a redactor must
over-match, so they stay hand-written and accept more than `parse_contact` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Optional, Tuple

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import Leniency, PhoneNumberMatcher, PhoneNumberType

EMAIL_PATTERN = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
# A run of digits with the usual separators, optionally starting with +64 / 0064.
PHONE_PATTERN = re.compile(r"(?<![\w+])(?:\+|00)?[\d()][\d\s().-]{5,18}\d(?!\w)")
# What an email address in a message may look like before email-validator checks it: O'Neil's apostrophe and
# internationalised domains (aroha@māori.nz) included.
_EMAIL_CANDIDATE = re.compile(r"(?<![\w.+'-])[\w.+-]+(?:'[\w.+-]+)*@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
_PHONE_WRITTEN = re.compile(r"[\s(]*(?:\+|0)[\d\s().-]*")  # digits and separators, from 0, 00 or +
_IN_FULL = re.compile(r"[\s(]*(?:\+|0)")  # with the 0 trunk prefix, 00 or +: "4991234" alone cannot be called
# The kinds of New Zealand number a clinic can call back, and whose length phonenumbers knows.
_CALLABLE = (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE)
NZ = "NZ"
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|(?:\.\s|[ '’.-])(?=[^\W\d_])){0,59}$")
_NAME_LEAD = re.compile(
    r"^(?:(?:my\s+name\s+is|my\s+name's|name's|name\s+is|i\s+am|i'm|im|it's|its|it\s+is|this\s+is|call\s+me|"
    r"you\s+can\s+call\s+me|just|actually)\s+)+",
    re.I,
)
# Words before a name that are not part of it: "ok. its Aroha", "sure, Aroha", "kia ora, I'm Aroha".
_FILLER_LEAD = re.compile(
    r"^(?:(?:ok|okay|sure|yes|yep|yeah|yea|oh|um+|hi|hey|hello|kia\s+ora|morena|sorry|right|so|ah|and|"
    r"thanks|cheers)\b[\s,.!:-]*)+",
    re.I,
)
_NAME_TAIL = re.compile(r"\s+(?:here|speaking|thanks|thank\s+you|cheers|please|ta)\s*$", re.I)
# Words a name is never made of: "nah don't worry about it" and "never mind" are not names.
_NOT_NAME_WORDS = frozenset(
    (  # noqa: SIM905 (a word list reads better as text)
        "no nah nope not never mind don't dont worry about it leave forget cancel stop what "
        "why how when where is are do does can could would should you your i me "
        "my want need book booking thanks please help yes yeah ok okay the a an of "
        "to for with this that later sure maybe idk dunno know rather private instead just "
        "call phone email number acc claim appointment"
    ).split()
)


@dataclass(frozen=True)
class Contact:
    """A validated way to reach the patient (at least one of phone or email)."""

    phone: Optional[str] = None
    email: Optional[str] = None

    def describe(self) -> str:
        return " and ".join(
            x for x in (self.phone and f"phone {self.phone}", self.email and f"email {self.email}") if x
        )


def normalise_nz_phone(text: str) -> Optional[str]:
    """Anything shaped like a NZ phone number, digits only with a leading 0 (the log redactor's permissive rule).

    "021 123 4567", "(04) 123-4567", "+64 21 123 4567", "0800 611 116" -> "0211234567", ... None otherwise.
    A patient's answer is checked by `nz_phone_number`, which knows the numbering plan.
    """
    digits = re.sub(r"[\s().-]", "", text or "")
    if digits.startswith("+64") or digits.startswith("0064"):
        digits = "0" + digits[3 if digits.startswith("+") else 4 :]
    if not re.fullmatch(r"0\d{7,10}", digits):
        return None
    return digits


def _national(number: phonenumbers.PhoneNumber) -> Optional[str]:
    """0 + the national number (no extension), when it is a NZ number of a length phonenumbers allows for its kind.

    Not `is_valid_number`: it also refuses numbers whose exchange prefix it does not list (04 123 4567), and
    turning away a patient's real number because the metadata lags behind would lose the call-back.
    """
    if number.country_code != phonenumbers.country_code_for_region(NZ):
        return None
    if phonenumbers.is_valid_number(number) or any(
        phonenumbers.is_possible_number_for_type_with_reason(number, kind) == phonenumbers.ValidationResult.IS_POSSIBLE
        for kind in _CALLABLE
    ):
        return "0" + phonenumbers.national_significant_number(number)
    return None


def nz_phone_number(text: str) -> Optional[str]:
    """The New Zealand phone number `text` is, written with its 0, 00 64 or +64: digits with a leading 0.

    "+64 (0)21 123 4567" and "+64 021 123 4567" -> "0211234567"; "04 499 1234" -> "044991234"; too short or
    too long for a NZ landline, mobile or 0800/0508 number, another country's number or not a number -> None.
    """
    if not _PHONE_WRITTEN.fullmatch(text or ""):
        return None
    try:
        return _national(phonenumbers.parse(text, NZ))
    except phonenumbers.NumberParseException:
        return None


def _phones(text: str) -> Iterator[Tuple[int, int, str]]:
    """(start, end, number) of each NZ phone number in free text, found by phonenumbers' matcher."""
    for match in PhoneNumberMatcher(text, NZ, leniency=Leniency.POSSIBLE):
        number = _national(match.number) if _IN_FULL.match(match.raw_string) else None
        if number:
            yield match.start, match.end, number


def email_address(text: str) -> Optional[str]:
    """`text` as an email address (lower case) if email-validator accepts its syntax; no DNS lookup."""
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def parse_contact(text: str) -> Optional[Contact]:
    """Find a phone number and/or an email address in the patient's answer; None if neither is valid."""
    text = text or ""
    email = next((e for e in (email_address(m.group(0)) for m in _EMAIL_CANDIDATE.finditer(text)) if e), None)
    rest = _EMAIL_CANDIDATE.sub(" ", text)
    phone = next((number for _, _, number in _phones(rest)), None)
    return Contact(phone=phone, email=email) if phone or email else None


_CONTACT_WORDS = re.compile(r"\b(?:and\s+)?(?:my\s+)?(?:number|phone|mobile|email)(?:\s+is)?\b", re.I)


def without_contact(text: str) -> str:
    """The text with any email address or phone number taken out ("Aroha, 021 123 4567" -> "Aroha")."""
    rest = _EMAIL_CANDIDATE.sub(" ", text or "")
    for start, end, _ in reversed(list(_phones(rest))):
        rest = f"{rest[:start]} {rest[end:]}"
    rest = _CONTACT_WORDS.sub(" ", rest)
    return re.sub(r"\s+", " ", rest).strip(" ,.")


def parse_name(text: str) -> Optional[str]:
    """A person's name from "Aroha Ngata", "my name is Sam", "I'm Mere-Anne O'Neil"; None if implausible."""
    candidate = (text or "").strip().replace("’", "'")
    candidate = _FILLER_LEAD.sub("", candidate).strip()
    candidate = _NAME_LEAD.sub("", candidate).strip(" .!,")
    candidate = _NAME_TAIL.sub("", candidate).strip(" .!,")
    candidate = re.sub(r"\s+", " ", candidate)
    if not _NAME.match(candidate) or len(candidate.split()) > 5:
        return None
    if any(word.lower() in _NOT_NAME_WORDS for word in candidate.split()):
        return None
    return " ".join(part[:1].upper() + part[1:] for part in candidate.split(" "))
