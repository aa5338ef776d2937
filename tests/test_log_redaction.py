"""Health information never reaches a log: the redaction rules and the logging set-up that applies them."""

from __future__ import annotations

import io
import logging
import logging.config
from pathlib import Path

import pytest
import yaml

from bot import log_redaction
from bot.log_redaction import ACC45, EMAIL, PHONE, USER_TEXT, RedactingFilter, redact

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("SlotSet(key: acc45, value: AB12345)", "AB12345"),
        ("the number is ab 12345 thanks", "ab 12345"),
        ("claim 12345AB and 1234-ABC", "12345AB"),
        ("contact_detail: 021 123 4567\\n", "021 123 4567"),
        ("call (04) 123-4567 or +64 21 123 4567", "123-4567"),
        ("2026-11-23 10:00 1795468120.17 0211234567", "0211234567"),
        ("email aroha.ngata+acc@example.co.nz please", "aroha.ngata+acc@example.co.nz"),
    ],
)
def test_identifiers_are_redacted(text, secret):
    redacted = redact(text)
    assert secret.lower() not in redacted.lower()
    assert any(mark in redacted for mark in (ACC45, PHONE, EMAIL))


def test_user_text_in_rasa_debug_logs_is_redacted():
    parse = '{"parse_data_text": "I have \\"chest\\" pain", "parse_data_intent": {"name": "red_flag"}}'
    states = '{"current_states": "[state 3] user text: my groin is numb | previous action name: action_listen"}'
    event = "UserUttered(text: I can't control my bladder, intent: red_flag, use_text_for_featurization: False)"
    for line, words in ((parse, "chest"), (states, "groin"), (event, "bladder")):
        redacted = redact(line)
        assert words not in redacted and USER_TEXT in redacted
    assert '"red_flag"' in redact(parse) and "action_listen" in redact(states)


def test_ordinary_log_lines_are_left_alone():
    line = "2026-11-23 21:08:40 INFO rasa.core.processor - 127.0.0.1:5005 answered in 152 ms, 1795468120.1777647"
    assert redact(line) == line


def test_filter_redacts_format_arguments():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "acc45 %s phone %s", ("AB12345", "021 123 4567"), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == f"acc45 {ACC45} phone {PHONE}"


def test_logging_yml_redacts_every_logger_and_handler(monkeypatch):
    """The file both Rasa processes read: records are redacted whatever handler writes them (Rasa adds its own)."""
    monkeypatch.setattr(logging, "_logRecordFactory", logging.getLogRecordFactory())  # restored afterwards
    logging.config.dictConfig(yaml.safe_load((ROOT / "logging.yml").read_text()))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # added afterwards, without any filter
    logger = logging.getLogger("rasa.core.processor.test")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("Received 'AB 12345' from %s", "me@example.com")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == f"Received '{ACC45}' from {EMAIL}\n"
    log_redaction.install()  # idempotent: the factory is not wrapped twice
    assert getattr(logging.getLogRecordFactory(), "redacting", False)
