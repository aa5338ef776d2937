"""No health information in any log written during the end-to-end run (runs after the other e2e tests).

Every log file in tests/output/logs is searched (the session `stack` appends to them: Rasa at DEBUG, the
action server, the web service; earlier and concurrent sessions too, which only makes the check stricter)
for the ACC45 number, phone number, email, name, date of injury and claim status used in the conversations
and for the text of red-flag messages. The conversations are repeated here, so the tests also work alone.

The second test makes the NLU fail inside spaCy (tests/support/faults/sitecustomize.py, loaded by the test servers
only) for a message that holds contact details: the traceback, with its frames' local variables, is the
worst case for the logs.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Dict, Iterable, List

import pytest

from bot.clinic.injury_dates import clinic_today, format_date
from bot.service_messages import TECHNICAL_PROBLEM
from tests.conftest import OUTPUT, rest_send, texts
from tests.support.faults.sitecustomize import FAULT_SENTINEL, InjectedNLUFault

pytestmark = pytest.mark.e2e

RED_FLAGS = (  # from tests/e2e/test_e2e_rest.py
    "since I fell on my bum I can't control my bladder",
    "my glute hurts and I have numbness in my groin",
    "I have chest pain",
)
INJURY_ANSWER = "twenty-one days ago"  # not "three weeks ago": the bot's own question gives that example
CONVERSATION = (  # as tests/e2e/test_e2e_acc.py (date said another way), plus an email address
    "am I covered by ACC?",
    INJURY_ANSWER,
    "yes",
    "AB 12345",
    "I don't know",
    "/request_contact",
    "Aroha Ngata",
    "021 123 4567",
    "yes",
    "my email is aroha.ngata@example.com",
)
SECRETS = (
    "AB12345",
    "AB 12345",
    "0211234567",
    "021 123 4567",
    "123 4567",
    "aroha.ngata",  # the email, whole, cut short or URL-encoded
    "Aroha Ngata",
    "Aroha",
    INJURY_ANSWER,
    *RED_FLAGS,
    "bladder",  # words of the red flags: a message redacted only up to its apostrophe still leaks
    "groin",
    "chest pain",
    # booking in the chat (tests/e2e/test_booking_chat.py, when run before this): names, phones, emails sent to the
    # fake Cliniko, and the words of a change request
    "Tama Rewi",
    "0225550199",
    "022 555 0199",
    "Wiremu",
    "0219876543",
    "hine@example",
    "sam.lee",
    "Mere Smith",
    "cant make it tomorrow",
    "Kiri Walker",  # tests/e2e/test_booking_channels.py
    "kiri.walker",
    "Rangi Parata",
    "0274445566",
)
# slot name next to its value, whatever the rendering: `key: claim_status, value: approved`,
# `"claim_status": "approved"`, `\tclaim_status: approved`
SLOT_VALUES = {"claim_status": "approved", "share_acc_details": "True", "read_code": "unknown"}

FAULT_MESSAGE = f"{FAULT_SENTINEL} my number is 021 555 0199 and email kiri.test@example.org, I fell and my glute hurts"
FAULT_SECRETS = (
    FAULT_SENTINEL,
    "fault-sentinel",
    "555 0199",  # the phone number as typed, normalised, URL-encoded
    "5550199",
    "555+0199",
    "555%200199",
    "kiri.test",  # the email, whole, cut short or URL-encoded
    "I fell and my glute hurts",
    "glute hurts",
)


def read_logs() -> Dict[str, str]:
    """Every log file of the end-to-end run (the production profile's too), by path."""
    logs = sorted((OUTPUT / "logs").rglob("*.log"))
    assert {"rasa.log", "actions.log"} <= {log.name for log in logs}
    return {str(log.relative_to(OUTPUT)): log.read_text(errors="replace") for log in logs}


def leaks(logs: Dict[str, str], secrets: Iterable[str]) -> List[str]:
    """"log: 'secret'" for every secret (case ignored) found in a log."""
    return [f"{name}: {secret!r}" for name, log in logs.items() for secret in secrets if secret.lower() in log.lower()]


def injury_dates() -> List[str]:
    """The date `INJURY_ANSWER` stands for, as the form stores it and as the bot says it."""
    injury = clinic_today() - timedelta(days=21)
    return [injury.isoformat(), format_date(injury), f"{injury.day} {format_date(injury).split()[2]}"]


def test_logs_hold_no_health_information(stack):
    sender = f"privacy-{uuid.uuid4().hex[:8]}"
    for message in CONVERSATION + RED_FLAGS:
        rest_send(stack, sender, message)
    logs = read_logs()
    found = leaks(logs, SECRETS + tuple(injury_dates()))
    found += [
        f"{name}: {slot}={value!r}"
        for name, log in logs.items()
        for slot, value in SLOT_VALUES.items()
        if re.search(rf"\b{slot}\W{{1,12}}(?:value: )?{re.escape(value)}\b", log, re.IGNORECASE)
    ]
    assert not found, "health information in the logs: " + ", ".join(found)
    # Rasa did log what the patient typed and the slots (DEBUG), redacted
    rasa_log = logs["logs/rasa.log"]
    assert '"parse_data_text": "[USER TEXT]"' in rasa_log, rasa_log[-3000:]
    assert "injury_date: [SLOT VALUE]" in rasa_log, rasa_log[-3000:]


def test_error_inside_the_nlu_leaves_no_health_information_in_the_logs(stack):
    """A traceback from spaCy's pipeline (frames' locals hold the text) is logged without the patient's words."""
    messages = rest_send(stack, f"fault-{uuid.uuid4().hex[:8]}", FAULT_MESSAGE)
    assert texts(messages) == TECHNICAL_PROBLEM
    logs = read_logs()
    rasa_log = logs["logs/rasa.log"]
    assert InjectedNLUFault.__name__ in rasa_log, "the traceback was not logged: " + rasa_log[-3000:]
    assert '"locals"' not in rasa_log
    found = leaks(logs, FAULT_SECRETS)
    assert not found, "health information in the logs: " + ", ".join(found)
