"""How staff see each kind of request (bot/storage/booking_requests.py KINDS): its name in the console and what its
notification e-mail says. One row per kind; a test checks every kind has one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict


@dataclass(frozen=True)
class RequestKind:
    label: str  # the inbox and the request page
    mail_subject: str  # "New {mail_subject} — {clinic}"
    mail_sentence: str  # the e-mail's one sentence about it (nothing about the patient)


REQUEST_KINDS: Dict[str, RequestKind] = {
    "booking": RequestKind(
        "Call-back to book",
        "call-back request (booking)",
        "A patient asked to be called back to book an appointment.",
    ),
    "handoff": RequestKind(
        "Call-back: wants a person",
        "call-back request (talk to a person)",
        "A patient asked to talk to a person at the clinic.",
    ),
    "chat": RequestKind(
        "Wants a person in the chat",
        "live chat: a patient wants a person",
        "A patient asked in the chat to talk to a person; you can take the chat over in the console.",
    ),
    "change": RequestKind(
        "Change or cancel an appointment",
        "request to change or cancel an appointment",
        "A patient asked to change or cancel an appointment. The chat changed nothing: please contact them.",
    ),
}
