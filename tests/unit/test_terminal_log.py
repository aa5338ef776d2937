"""`make run`'s terminal (bot/processes/terminal_log.py): one readable line per record, never a patient's details."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path
from typing import List

import coloredlogs
import structlog
from structlog.processors import ExceptionRenderer, JSONRenderer
from structlog.tracebacks import ExceptionDictTransformer

from bot.privacy.log_redaction import ACC45, EMAIL, EXCEPTION_MESSAGE, PHONE, USER_TEXT
from bot.processes.terminal_log import TerminalLog, format_line, parse, render, render_message
from bot.web.__main__ import LOG_FORMAT as WEB_LOG_FORMAT

PATIENT_TEXT = "zz-secret I fell, my glute hurts, acc45 AB12345, call 021 555 0199 or kiri.test@example.org"
PATIENT_SECRETS = ("zz-secret", "glute", "AB12345", "555 0199", "5550199", "kiri")
READABLE = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) +\S+ +\S")


def assert_no_secrets(text: str) -> None:
    found = [secret for secret in PATIENT_SECRETS if secret.lower() in text.lower()]
    assert not found, f"{found} in {text!r}"


def formatted(formatter: logging.Formatter, level: int, message: str, name: str = "rasa.core.processor") -> str:
    return formatter.format(logging.LogRecord(name, level, __file__, 1, message, (), None))


def test_the_servers_log_lines_are_read_with_their_time_level_and_message():
    """Rasa and rasa-sdk write through coloredlogs (Rasa's format); the web service uses the same format."""
    rasa = coloredlogs.ColoredFormatter(fmt="%(asctime)s %(levelname)-8s %(name)s  - %(message)s")
    web = logging.Formatter(WEB_LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S")
    for formatter in (rasa, web):
        when, level, text = parse(formatted(formatter, logging.WARNING, "Loading model - models/clinic.tar.gz"))
        assert re.fullmatch(r"\d\d:\d\d:\d\d", when) and level == logging.WARNING
        assert text == "Loading model - models/clinic.tar.gz"
    line = render("rasa", parse(formatted(web, logging.INFO, "Starting Rasa server")))
    assert len(line) == 1 and READABLE.match(line[0]) and line[0].endswith(" INFO     rasa     Starting Rasa server")


def test_a_structlog_json_event_becomes_its_name_and_key_values_redacted():
    event = {"event": "processor.message.parse", "level": "debug", "parse_data_text": PATIENT_TEXT,
             "parse_data_intent": {"name": "faq_referral", "confidence": 0.99}, "sender_id": "rest:me"}  # fmt: skip
    (line,) = render_message(json.dumps(event))
    assert line.startswith("processor.message.parse ")
    assert f'parse_data_text="{USER_TEXT}"' in line and "sender_id=rest:me" in line
    assert '"faq_referral"' in line and "level=" not in line and "{\"event\"" not in line
    assert_no_secrets(line)


def test_a_structlog_traceback_is_shown_as_frames_without_locals_or_message():
    """Rasa's JSON exception (dict_tracebacks, locals collected) rendered even when the server did not redact it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    stdlib_logger = logging.getLogger("rasa.test.terminal")
    stdlib_logger.addHandler(handler)
    stdlib_logger.setLevel(logging.DEBUG)
    logger = structlog.wrap_logger(
        stdlib_logger,
        processors=[
            structlog.processors.add_log_level,
            ExceptionRenderer(ExceptionDictTransformer(show_locals=True)),
            JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )

    def fail(text: str) -> None:
        raise ValueError(f"cannot read {text!r}")

    try:
        fail(PATIENT_TEXT)
    except ValueError:
        logger.exception("rest.message.received.failure", text=PATIENT_TEXT)
    finally:
        stdlib_logger.removeHandler(handler)
    raw = stream.getvalue().strip()
    assert "021 555 0199" in raw and '"locals"' in raw  # what the server would write without its own redaction
    lines = render("rasa", ("12:00:00", logging.ERROR, raw))
    shown = "\n".join(lines)
    assert_no_secrets(shown)
    assert lines[0].startswith("12:00:00 ERROR    rasa     rest.message.received.failure text=")
    assert any(line.endswith("Traceback (most recent call last):") for line in lines)
    assert any(", in fail" in line for line in lines)
    assert lines[-1].endswith(f"ValueError: {EXCEPTION_MESSAGE}")


def test_python_warnings_and_tracebacks_start_records_other_lines_continue_them():
    when, level, text = parse("/venv/lib/python3.10/site-packages/foo/bar.py:12: FutureWarning: bar will change")
    assert level == logging.WARNING and text == "FutureWarning: bar will change (bar.py:12)"
    assert parse("<frozen importlib._bootstrap>:283: DeprecationWarning: load_module")[1] == logging.WARNING
    assert parse("Traceback (most recent call last):")[1] == logging.ERROR
    assert parse('  File "x.py", line 3, in f')[1] is None
    (line,) = render("web", parse("  my email is kiri.test@example.org, 021 555 0199"))
    assert line == format_line("", None, "web", f"  my email is {EMAIL}, {PHONE}")
    assert line.startswith(" " * 18 + "web ")


def _pump(min_level: int, lines: List[str], tmp_path: Path) -> tuple:
    terminal = TerminalLog(out=io.StringIO(), min_level=min_level)
    raw = "".join(f"{line}\n" for line in lines).encode()
    with open(tmp_path / "server.log", "ab") as file:
        terminal.follow("rasa", io.BytesIO(raw), file)
        terminal.join()
    return terminal, terminal.out.getvalue(), (tmp_path / "server.log").read_bytes(), raw


SERVER_OUTPUT = [
    "2026-11-28 21:54:06 INFO     rasa.core.processor  - Loading model models/clinic.tar.gz...",
    "2026-11-28 21:54:07 DEBUG    rasa.core.processor  - Received AB 12345 from kiri.test@example.org",
    "2026-11-28 21:54:08 ERROR    rasa.core.processor  - Could not handle the message",
    "Traceback (most recent call last):",
    '  File "x.py", line 3, in handle',
    "ValueError: [EXCEPTION MESSAGE]",
    "2026-11-28 21:54:09 WARNING  bot.channels.meta  - facebook channel: no app secret",
    "2026-11-28 21:54:10 INFO     rasa.core.processor  - Started",
    "Traceback (most recent call last):",  # directly after a log line: that record's traceback (hidden with it)
    '  File "y.py", line 4, in start',
]


def test_until_ready_only_warnings_and_errors_are_shown_and_the_file_keeps_every_line(tmp_path):
    terminal, shown, file, raw = _pump(logging.WARNING, SERVER_OUTPUT, tmp_path)
    assert file == raw  # the log file: every line as the server wrote it
    lines = shown.splitlines()
    assert [line[9:17].strip() for line in lines] == ["ERROR", "", "", "", "WARNING"]
    assert lines[0].endswith("rasa     Could not handle the message") and "in handle" in lines[2]
    assert "Loading model" not in shown and "Started" not in shown and "y.py" not in shown
    assert len(terminal.tail("rasa")) == len(SERVER_OUTPUT)  # kept, shown or not, for a failed start


def test_once_ready_every_line_is_shown_readable_and_redacted(tmp_path):
    _, shown, _, _ = _pump(logging.NOTSET, SERVER_OUTPUT, tmp_path)
    lines = shown.splitlines()
    assert len(lines) == len(SERVER_OUTPUT)
    assert f"Received {ACC45} from {EMAIL}" in lines[1] and READABLE.match(lines[1])
    assert_no_secrets(shown)


def test_a_closed_terminal_does_not_stop_the_servers_output_being_read(tmp_path):
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(5, "Input/output error")  # the terminal window was closed

    terminal = TerminalLog(out=Closed(), min_level=logging.NOTSET)
    raw = "".join(f"{line}\n" for line in SERVER_OUTPUT * 100).encode()
    with open(tmp_path / "server.log", "ab") as file:
        terminal.follow("rasa", io.BytesIO(raw), file)
        terminal.join()
    assert (tmp_path / "server.log").read_bytes() == raw
