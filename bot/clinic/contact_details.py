"""Patient contact details for a call-back: name, NZ phone number or email, validated in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

EMAIL_PATTERN = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
# A run of digits with the usual separators, optionally starting with +64 / 0064.
PHONE_PATTERN = re.compile(r"(?<![\w+])(?:\+|00)?[\d()][\d\s().-]{5,18}\d(?!\w)")
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
    """A New Zealand phone number (landline, mobile, 0800/0508) or +64 number, digits only with a leading 0.

    Accepts "021 123 4567", "(04) 123-4567", "+64 21 123 4567", "0800 611 116". None if not plausible.
    """
    digits = re.sub(r"[\s().-]", "", text or "")
    if digits.startswith("+64") or digits.startswith("0064"):
        digits = "0" + digits[3 if digits.startswith("+") else 4 :]
    if not re.fullmatch(r"0\d{7,10}", digits):
        return None
    return digits


def parse_contact(text: str) -> Optional[Contact]:
    """Find a phone number and/or an email address in the patient's answer; None if neither is valid."""
    email_match = EMAIL_PATTERN.search(text or "")
    email = email_match.group(0).lower() if email_match else None
    rest = EMAIL_PATTERN.sub(" ", text or "")
    phone = next((p for p in (normalise_nz_phone(m.group(0)) for m in PHONE_PATTERN.finditer(rest)) if p), None)
    return Contact(phone=phone, email=email) if phone or email else None


_CONTACT_WORDS = re.compile(r"\b(?:and\s+)?(?:my\s+)?(?:number|phone|mobile|email)(?:\s+is)?\b", re.I)


def without_contact(text: str) -> str:
    """The text with any email address or phone number taken out ("Aroha, 021 123 4567" -> "Aroha")."""
    rest = EMAIL_PATTERN.sub(" ", text or "")
    rest = PHONE_PATTERN.sub(lambda m: " " if normalise_nz_phone(m.group(0)) else m.group(0), rest)
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
