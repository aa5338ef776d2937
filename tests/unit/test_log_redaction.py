"""Health information never reaches a log: the redaction rules and the logging set-up that applies them."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import sys
import threading
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Iterator

import pytest
import structlog
import yaml
from structlog.processors import ExceptionRenderer, JSONRenderer
from structlog.tracebacks import ExceptionDictTransformer

from bot.privacy import log_redaction
from bot.privacy.log_redaction import (
    ACC45,
    EMAIL,
    EXCEPTION_MESSAGE,
    PHONE,
    QUERY,
    SLOT_VALUE,
    USER_TEXT,
    RedactingFilter,
    redact,
    redact_record,
)

ROOT = Path(__file__).resolve().parents[2]
PATIENT_TEXT = "zz-secret I fell, my glute hurts, call 021 555 0199 or kiri.test@example.org"
PATIENT_SECRETS = ("zz-secret", "glute", "555 0199", "5550199", "kiri")


def logged(message: str) -> str:
    """`message` as it reaches a log: through the record redaction, as Rasa's records go."""
    return redact_record(logging.LogRecord("rasa.test", logging.DEBUG, __file__, 1, message, (), None)).getMessage()


def assert_no_secrets(text: str, secrets) -> None:
    found = [secret for secret in secrets if secret.lower() in text.lower()]
    assert not found, f"{found} in {text!r}"


@pytest.fixture
def redacting(monkeypatch) -> Iterator[None]:
    """This process's logging redacted as `logging.yml` does it in the servers; everything restored afterwards."""
    monkeypatch.setattr(logging, "_logRecordFactory", logging.getLogRecordFactory())
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    monkeypatch.setattr(structlog.processors.dict_tracebacks.format_exception, "show_locals", True)
    monkeypatch.setattr(structlog.dev.rich_traceback, "show_locals", True)
    log_redaction.install()
    yield


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
    assert any(mark in redacted for mark in (ACC45, PHONE, EMAIL, SLOT_VALUE))


def test_user_text_in_rasa_debug_logs_is_redacted():
    parse = '{"parse_data_text": "I have \\"chest\\" pain", "parse_data_intent": {"name": "red_flag"}}'
    states = '{"current_states": "[state 3] user text: my groin is numb | previous action name: action_listen"}'
    event = "UserUttered(text: I can't control my bladder, intent: red_flag, use_text_for_featurization: False)"
    apostrophe = json.dumps({"current_states": "\n[state 6] user text: I can't control my bladder | previous"})
    for line, words in ((parse, "chest"), (states, "groin"), (event, "bladder"), (apostrophe, "bladder")):
        redacted = logged(line)
        assert words not in redacted and USER_TEXT in redacted
    assert '"red_flag"' in redact(parse) and "action_listen" in redact(states)


def _fail_inside_nlu(doc_like: str) -> None:
    """Fails the way a spaCy pipeline does: the text is a local variable of the frame and in the message."""
    tokens = doc_like.split()  # noqa: F841 (a second local holding the text)
    raise ValueError(f"cannot tokenise {doc_like!r}")


def written(logger_name: str, log: Callable[[], None]) -> str:
    """What a handler without any filter writes for the records `log()` makes on logger `logger_name`."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        log()
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_structlog_json_traceback_keeps_frames_without_locals_or_message(redacting):
    """Leak 1: Rasa's structlog renders exceptions as JSON (dict_tracebacks) into the record's message, with every
    frame's local variables (the patient's text, cut at 80 characters) and the exception's message."""
    logger = structlog.wrap_logger(
        logging.getLogger("rasa.core.channels.rest.test"),
        processors=[  # as rasa/utils/log_utils.py (JSON), with locals collected whatever install() did
            structlog.processors.add_log_level,
            ExceptionRenderer(ExceptionDictTransformer(show_locals=True)),
            JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )

    def log() -> None:
        try:
            _fail_inside_nlu(PATIENT_TEXT)
        except ValueError:
            logger.exception("rest.message.received.failure", text=PATIENT_TEXT)

    line = written("rasa.core.channels.rest.test", log)
    assert_no_secrets(line, PATIENT_SECRETS)
    event: Dict[str, Any] = json.loads(line)
    stack = event["exception"][-1]
    assert stack["exc_type"] == "ValueError" and stack["exc_value"] == EXCEPTION_MESSAGE
    assert stack["frames"][-1]["name"] == "_fail_inside_nlu" and stack["frames"][-1]["lineno"] > 0
    assert all("locals" not in frame for frame in stack["frames"])
    assert event["text"] == USER_TEXT and event["event"] == "rest.message.received.failure"


def test_install_stops_structlog_collecting_locals(redacting):
    """Leak 1, at the source: the renderers Rasa configures (JSON or console) no longer collect frame locals."""
    assert structlog.processors.dict_tracebacks.format_exception.show_locals is False
    assert structlog.dev.rich_traceback.show_locals is False
    try:
        _fail_inside_nlu(PATIENT_TEXT)
    except ValueError:
        event = structlog.processors.dict_tracebacks(None, "error", {"event": "x", "exc_info": True})
    assert all(frame["locals"] is None for stack in event["exception"] for frame in stack["frames"])


def test_standard_tracebacks_keep_frames_and_types_only(redacting):
    """Leak 1, standard logging: `logger.exception(...)` tracebacks lose exception messages, chained ones too."""

    def log() -> None:
        try:
            try:
                _fail_inside_nlu(PATIENT_TEXT)
            except ValueError as error:
                raise RuntimeError(f"NLU failed for {PATIENT_TEXT}") from error
        except RuntimeError:
            logging.getLogger("sanic.error.test").exception("Exception occurred while handling a message")

    text = written("sanic.error.test", log)
    assert text.startswith("Exception occurred while handling a message\nTraceback (most recent call last):")
    assert "in _fail_inside_nlu" in text and "The above exception was the direct cause" in text
    assert f"ValueError: {EXCEPTION_MESSAGE}" in text and f"RuntimeError: {EXCEPTION_MESSAGE}" in text
    assert_no_secrets(text, PATIENT_SECRETS)


def test_uncaught_tracebacks_printed_to_the_log_lose_their_message(redacting, capsys):
    """Uncaught exceptions go to stderr, which the launcher writes into the servers' log files."""
    try:
        _fail_inside_nlu(PATIENT_TEXT)
    except ValueError:
        sys.excepthook(*sys.exc_info())
    err = capsys.readouterr().err
    assert f"ValueError: {EXCEPTION_MESSAGE}" in err
    assert_no_secrets(err, PATIENT_SECRETS)


def test_tracebacks_inside_a_message_lose_their_message():
    """structlog's console renderer and some libraries put the traceback text into the message itself."""
    text = (
        "handling failed\nTraceback (most recent call last):\n  File \"x.py\", line 1, in parse\n    g()\n"
        "KeyError: 'Aroha Ngata'\nrest of the message: 021 555 0199\n"
    )
    redacted = logged(text)
    assert f"KeyError: {EXCEPTION_MESSAGE}" in redacted and 'in parse\n    g()' in redacted
    assert_no_secrets(redacted, ("Aroha", "555"))


SLOT_LINES = [  # (line as Rasa 3.6 logs it at DEBUG, patient values, what stays readable)
    ("SlotSet(key: injury_date, value: 2026-11-07)", ["2026-11-07"], ["SlotSet(key: injury_date, value: "]),
    (
        "The execution of 'action_extract_slots' resulted in these events: SlotSet(key: contact_name, value: "
        "Aroha (Ro) Ngata), SlotSet(key: requested_slot, value: contact_detail).",
        ["Aroha", "Ngata"],
        ["key: contact_name", "SlotSet(key: requested_slot, value: contact_detail)"],
    ),
    (
        json.dumps(
            {
                "slot_values": "\tinjury_date: 2026-11-07\n\tclaim_status: approved\n\tcontact_name: Aroha \"Ro\" "
                "Ngata\n\tacc45: AB 12345\n\trequested_slot: contact_detail\n\tsession_started_metadata: None",
                "event": "processor.slots.log",
                "level": "debug",
            }
        ),
        ["2026-11-07", "approved", "Aroha", "Ngata", "12345"],
        ["injury_date: [SLOT VALUE]", "claim_status: [SLOT VALUE]", "requested_slot: contact_detail",
         "session_started_metadata: None", "processor.slots.log"],
    ),
    (
        "Current slot values: \n\tinjury_date: 2026-11-07\n\tclaim_status: approved\n\tcontact_name: Aroha Ngata",
        ["2026-11-07", "approved", "Aroha"],
        ["\tinjury_date: [SLOT VALUE]\n", "\tcontact_name: [SLOT VALUE]"],
    ),
    (
        json.dumps(
            {
                "action_name": "action_submit_contact_request",
                "rasa_events": [
                    "SlotSet(key: contact_name, value: Aroha Ngata)",
                    "BotUttered('Thanks, Aroha Ngata. Injury on Saturday 7 November 2026, claim approved.', "
                    '{"elements": null, "buttons": null}, {"utter_action": "utter_thanks"}, 1795888469.1)',
                ],
                "event": "processor.actions.log",
            }
        ),
        ["Aroha", "7 November", "approved"],
        ["action_submit_contact_request", "SlotSet(key: contact_name, value: [SLOT VALUE])", "utter_thanks"],
    ),
    (  # a domain response's variables, kept by Rasa in the utterance's metadata; its name and offer kept
        json.dumps(
            {
                "rasa_events": [
                    "BotUttered('Got it: injury on Saturday 7 November 2026.', {\"buttons\": [{\"title\": \"Yes\", "
                    '"payload": "/affirm"}], "custom": null}, {"metadata": {"offer": "acc_booking"}, "utter_action": '
                    '"utter_injury_date_noted", "template": "utter_injury_date_noted", "injury_day": "Saturday 7 '
                    'November 2026", "basis": "\\n\\u2022 ACC45: AB\\u2022\\u2022\\u202245"}, 1795888469.1)',
                ],
                "event": "processor.actions.log",
            }
        ),
        ["7 November", "u2022", "202245"],
        ["utter_injury_date_noted", "acc_booking", "/affirm", '\\"injury_day\\": \\"[BOT TEXT]\\"', "1795888469.1"],
    ),
    (
        'BotUttered(text: Thanks, Aroha., data: {"buttons": null}, metadata: {"utter_action": "utter_x", '
        '"name": "Aroha"})',
        ["Aroha"],
        ['"utter_action": "utter_x"', '"name": "[BOT TEXT]"'],
    ),
    (
        json.dumps({"slot_candidates": {"injury_date": "2026-11-07", "requested_slot": "acc45"}, "event": "x"}),
        ["2026-11-07"],
        ['"injury_date": "[SLOT VALUE]"', '"requested_slot": "acc45"'],
    ),
    (
        "Validating extracted slots: {'contact_name': 'Aroha Ngata', 'claim_status': 'approved'}",
        ["Aroha", "approved"],
        ["'contact_name': '[SLOT VALUE]'", "'claim_status': '[SLOT VALUE]'"],
    ),
    (
        json.dumps(
            {
                "current_states": "\n[state 1] user intent: inform | user entities: ('BODY_PART',) | slots: "
                "{'claim_status': (1.0, 0.0, 0.0)} | previous action name: action_listen",
                "event": "rule_policy.actions.find",
            }
        ),
        ["(1.0, 0.0, 0.0)"],
        ["user intent: inform", "('BODY_PART',)", "'claim_status': [SLOT VALUE]", "action_listen"],
    ),
    (
        json.dumps(
            {
                "parse_data_text": "my glute, I'm Aroha",
                "parse_data_intent": {"name": "inform", "confidence": 0.93},
                "parse_data_entities": [{"entity": "BODY_PART", "value": "glute", "start": 3, "end": 8}],
                "event": "processor.message.parse",
            }
        ),
        ["glute", "Aroha"],
        ['"entity": "BODY_PART"', '"name": "inform"', '"start": 3'],
    ),
    (
        "UserUttered(text: my glute and hip, intent: inform, entities: glute (Type: BODY_PART, Role: None, "
        "Group: None), hip (Type: BODY_PART, Role: None, Group: None), use_text_for_featurization: False)",
        ["glute", "hip"],
        ["intent: inform", "(Type: BODY_PART"],
    ),
    (
        json.dumps(
            {
                "tracker": {
                    "sender_id": "web-1",
                    "slots": {"contact_name": "Aroha Ngata", "contact_detail": "kiri.test@example.org"},
                    "latest_message": {"text": "I'm Aroha", "entities": [{"entity": "NAME", "value": "Aroha"}]},
                    "latest_input_channel": "socketio",
                },
                "metadata": {"page_url": "https://clinic.example/contact", "patient": "Aroha"},
            }
        ),
        ["Aroha", "kiri", "clinic.example"],
        ['"contact_name": "[SLOT VALUE]"', '"latest_input_channel": "socketio"', '"page_url"', '"sender_id": "web-1"'],
    ),
    (
        "Contents of ignored event: '{'event': 'slot', 'name': 'contact_name', 'value': 'Aroha Ngata'}'",
        ["Aroha"],
        ["'name': 'contact_name'"],
    ),
]


@pytest.mark.parametrize(("line", "secrets", "kept"), SLOT_LINES)
def test_slot_and_entity_values_are_redacted_and_names_kept(line, secrets, kept):
    """Leak 2: at DEBUG Rasa logs slot values (date of injury, claim status, name), entities and tracker state."""
    redacted = logged(line)
    assert_no_secrets(redacted, secrets)
    for readable in kept:
        assert readable in redacted


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        (
            "Exception occurred while handling uri: 'http://127.0.0.1:5005/webhooks/rest/webhook"
            "?sender=021+555+0199&email=kiri.test%40example.org&phone=%2B64215550199#note=glute'",
            "'http://127.0.0.1:5005/webhooks/rest/webhook?" + QUERY + "'",
        ),
        ('127.0.0.1:51234 - "GET /staff/requests?contact=0215550199 HTTP/1.1" 200', "/staff/requests?" + QUERY),
        ('"GET /conversations/kiri.test%40example.org/tracker HTTP/1.1" 200', '"GET /conversations/'),
        ("sender 021+555+0199 connected", "sender "),
    ],
)
def test_url_queries_and_encoded_identifiers_are_redacted(line, kept):
    """Leak 3: Sanic's "Exception occurred while handling uri" keeps URL-encoded phone numbers and emails."""
    redacted = logged(line)
    assert_no_secrets(redacted, ("555", "kiri", "glute", "%40", "%2B64"))
    assert kept in redacted


@pytest.mark.parametrize(
    "line",
    [
        "contact_detail: aroha.ngata@exam",
        "email 'kiri.test@'",
        "'my number is 021 555'+40",
        "call me on 021 55…",
        "phone +64 21 55",
        '{"note": "reach me at 021 555 0"}',
    ],
)
def test_identifiers_cut_short_are_redacted(line):
    """Leak 4: an email or phone number cut by a length limit escapes the complete patterns."""
    redacted = logged(line)
    assert_no_secrets(redacted, ("aroha", "kiri", "021 5", "+64 21"))
    assert EMAIL in redacted or PHONE in redacted


@pytest.mark.parametrize(
    "line",
    [
        "2026-11-23 21:08:40 INFO rasa.core.processor - 127.0.0.1:5005 answered in 152 ms, 1795468120.1777647",
        "Starting Rasa server on http://0.0.0.0:5005",
        "Predicted next action 'utter_greet' with confidence 1.00.",
        "NLU confidence 0.4123 for intent 'nlu_fallback' is lower than NLU threshold 0.30.",
        "Request next slot 'injury_date'",
        "Calling action endpoint to run action 'validate_acc_eligibility_form'.",
        "Tracker with sender_id 'acc-5f3b1a2c' stored to database",
        '{"action_name": "action_listen", "rasa_events": [], "event": "processor.actions.log", "level": "debug"}',
        '{"current_states": "\\n[state 1] user intent: check_acc_eligibility | previous action name: '
        'action_listen", "event": "rule_policy.actions.find", "level": "debug"}',
        '{"rasa_events": ["SlotSet(key: requested_slot, value: injury_date)", "SlotSet(key: acc45, value: None)"]}',
        'INFO:     127.0.0.1:51234 - "POST /webhooks/rest/webhook HTTP/1.1" 200 OK',
    ],
)
def test_ordinary_log_lines_are_left_alone(line):
    assert logged(line) == line


def test_filter_redacts_format_arguments():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "acc45 %s phone %s", ("AB12345", "021 123 4567"), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == f"acc45 {ACC45} phone {PHONE}"


def test_logging_yml_redacts_every_logger_and_handler(monkeypatch):
    """The file both Rasa processes read: records are redacted whatever handler writes them (Rasa adds its own)."""
    monkeypatch.setattr(logging, "_logRecordFactory", logging.getLogRecordFactory())  # restored afterwards
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    monkeypatch.setattr(structlog.processors.dict_tracebacks.format_exception, "show_locals", True)
    monkeypatch.setattr(structlog.dev.rich_traceback, "show_locals", True)
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # logging.yml also drops warnings' noise
    logging.config.dictConfig(yaml.safe_load((ROOT / "logging.yml").read_text()))
    assert getattr(warnings.showwarning, "drops_noise", False)  # bot/processes/warning_filters.py
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
