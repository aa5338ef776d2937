"""No health information in any log written during the end-to-end run (runs after the other e2e tests).

Every log file in tests/output/logs is searched (the session `stack` appends to them: Rasa at DEBUG, the
action server, the web service; earlier and concurrent sessions too, which only makes the check stricter)
for the ACC45 number, phone number and email used in the conversations and for the text of red-flag
messages. The conversations are repeated here, so the test also works alone."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import OUTPUT, rest_send

pytestmark = pytest.mark.e2e

RED_FLAGS = (  # from tests/test_e2e_rest.py
    "since I fell on my bum I can't control my bladder",
    "my glute hurts and I have numbness in my groin",
    "I have chest pain",
)
SECRETS = ("AB12345", "AB 12345", "0211234567", "021 123 4567", "aroha.ngata@example.com", *RED_FLAGS)
CONVERSATION = (  # as tests/test_e2e_acc.py, plus an email address
    "am I covered by ACC?",
    "three weeks ago",
    "yes",
    "AB 12345",
    "I don't know",
    "/request_contact",
    "Aroha Ngata",
    "021 123 4567",
    "yes",
    "my email is aroha.ngata@example.com",
)


def test_logs_hold_no_health_information(stack):
    sender = f"privacy-{uuid.uuid4().hex[:8]}"
    for message in CONVERSATION + RED_FLAGS:
        rest_send(stack, sender, message)
    logs = sorted((OUTPUT / "logs").glob("*.log"))
    assert {"rasa.log", "actions.log"} <= {log.name for log in logs}
    text = {log.name: log.read_text(errors="replace") for log in logs}
    # Rasa did log what the patient typed (DEBUG), redacted
    assert '"parse_data_text": "[USER TEXT]"' in text["rasa.log"], text["rasa.log"][-3000:]
    leaks = [f"{name}: {secret!r}" for name, log in text.items() for secret in SECRETS if secret.lower() in log.lower()]
    assert not leaks, "health information in the logs: " + ", ".join(leaks)
