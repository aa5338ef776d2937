"""The servers' output in `make run`'s terminal: one readable line per log record (time, level, process, message).

The launcher reads each server's output through a pipe (`TerminalLog.follow`). Every line goes unchanged to the
server's log file when there is one (the full detail), and to the terminal as `render` makes it:

    21:54:06 INFO     rasa     Loading model models/clinic.tar.gz...
    21:54:40 DEBUG    rasa     processor.message.received parse_data_text="[USER TEXT]" sender_id=rest:me

- a log line (`2026-11-28 21:54:06 INFO     rasa.core.processor  - message`: coloredlogs' format, which Rasa,
  rasa-sdk and bot/web/__main__.py use) keeps its time, level and message, without the logger's name;
- a message that is one of Rasa's structlog events as JSON (the launcher sets FORCE_JSON_LOGGING for
  bot/privacy/log_redaction.py) becomes its event name and `key=value` pairs, and its traceback one frame a line;
- a Python warning (`path/file.py:12: SomeWarning: message`) is a WARNING line; a traceback is an ERROR, unless it
  follows a log line (the traceback of a logged exception);
- any other line continues the record before it (a traceback's frames), under its message.

Every message is redacted again here (`redact_message`), on top of the servers' own redaction: the terminal never
shows more than the log files. Until the launcher lowers `min_level` (once every server is ready), only warnings
and errors are shown, so the start-up stays short; the last lines of each server are kept (`tail`), shown or
not, for the launcher to print when a server stops while starting.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections import deque
from typing import IO, Any, Deque, Dict, List, Optional, TextIO, Tuple

from bot.privacy.log_redaction import redact, redact_message

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d (?P<time>\d\d:\d\d:\d\d)(?:[,.]\d+)? +(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) +\S+ +- "
    r"(?P<message>.*)$"
)
_WARNING_LINE = re.compile(r"^(?P<path>\S.*?):(?P<lineno>\d+): (?P<category>\w*Warning): (?P<message>.*)$")
_TRACEBACK = "Traceback (most recent call last):"
_PLAIN_VALUE = re.compile(r"^[^\s\"'=]+$")
_EVENT_KEYS_SKIPPED = frozenset({"event", "level", "timestamp", "exception"})

TAIL_LINES = 20
# (time, level or None for a line continuing the previous record, text)
Parsed = Tuple[str, Optional[int], str]


def _value(value: Any) -> str:
    if isinstance(value, str) and _PLAIN_VALUE.match(value):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _traceback_lines(exceptions: Any) -> List[str]:
    """structlog's `dict_tracebacks` exceptions as Python prints a traceback: frames, then the exception's type."""
    lines: List[str] = []
    for exception in exceptions if isinstance(exceptions, list) else []:
        if not isinstance(exception, dict):
            continue
        lines.append(_TRACEBACK)
        for frame in exception.get("frames") or []:
            if isinstance(frame, dict):
                lines.append(f'  File "{frame.get("filename")}", line {frame.get("lineno")}, in {frame.get("name")}')
        lines.append(f"{exception.get('exc_type')}: {exception.get('exc_value')}")
    return lines


def render_message(message: str) -> List[str]:
    """A log message, redacted, as lines: a structlog JSON event as `event key=value ...` (+ its traceback)."""
    redacted = redact_message(message)
    if not (redacted.startswith("{") and redacted.endswith("}")):
        return [redacted]
    try:
        event: Dict[str, Any] = json.loads(redacted)
    except ValueError:
        return [redacted]
    if not isinstance(event, dict) or "event" not in event:
        return [redacted]
    pairs = [f"{key}={_value(value)}" for key, value in event.items() if key not in _EVENT_KEYS_SKIPPED]
    return [" ".join([str(event["event"]), *pairs]), *_traceback_lines(event.get("exception"))]


def parse(line: str) -> Parsed:
    """A line of a server's output as (time, level, text); level None when it continues the previous record."""
    line = _ANSI.sub("", line.rstrip("\r\n"))
    now = time.strftime("%H:%M:%S")
    match = _LOG_LINE.match(line)
    if match:
        return match["time"], logging.getLevelName(match["level"]), match["message"]
    match = _WARNING_LINE.match(line)
    if match:
        where = f"{match['path'].rsplit('/', 1)[-1]}:{match['lineno']}"
        return now, logging.WARNING, f"{match['category']}: {match['message']} ({where})"
    if line.startswith(_TRACEBACK):
        return now, logging.ERROR, line
    return now, None, line


def format_line(when: str, level: Optional[int], process: str, text: str) -> str:
    """`21:54:06 INFO     rasa     text`; a continuation line has no time or level, only the process."""
    if level is None:
        return f"{'':8} {'':8} {process:<8} {text}"
    return f"{when} {logging.getLevelName(level):<8} {process:<8} {text}"


def render(process: str, parsed: Parsed) -> List[str]:
    """Terminal lines for one parsed line of `process`'s output, redacted."""
    when, level, text = parsed
    if level is None:
        return [format_line(when, None, process, redact(text))]
    first, *more = render_message(text)
    return [format_line(when, level, process, first)] + [format_line(when, None, process, line) for line in more]


class TerminalLog:
    """Writes the servers' output to their log files as is and to a terminal as readable lines."""

    def __init__(self, out: Optional[TextIO] = None, min_level: int = logging.WARNING) -> None:
        self.out = out or sys.stdout
        self.min_level = min_level  # records below it are not shown (continuation lines follow their record)
        self._lock = threading.Lock()
        self._threads: Dict[str, threading.Thread] = {}
        self._tails: Dict[str, Deque[str]] = {}
        self._terminal_gone = False

    def tail(self, process: str) -> List[str]:
        """The last lines of `process`'s output as the terminal shows them, including those it did not show."""
        return list(self._tails.get(process, ()))

    def write(self, lines: List[str]) -> None:
        """Lines to the terminal, together; if the terminal is gone (closed, broken pipe), nothing more is written."""
        if not lines or self._terminal_gone:
            return
        with self._lock:
            try:
                self.out.write("\n".join(lines) + "\n")
                self.out.flush()
            except (OSError, ValueError):
                self._terminal_gone = True

    def follow(self, process: str, pipe: IO[bytes], file: Optional[IO[bytes]] = None) -> None:
        """Read `process`'s output until it closes it, in a background thread."""
        thread = threading.Thread(target=self._pump, args=(process, pipe, file), name=f"log-{process}", daemon=True)
        thread.start()
        self._threads[process] = thread

    def _pump(self, process: str, pipe: IO[bytes], file: Optional[IO[bytes]]) -> None:
        shown = True  # whether the record a continuation line belongs to is shown
        after_log_line = False
        tail = self._tails.setdefault(process, deque(maxlen=TAIL_LINES))
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", errors="replace")
            if file is not None:
                try:
                    file.write(raw)
                    file.flush()
                except (OSError, ValueError):  # closed by Stack.stop() after a timeout
                    file = None
            try:
                parsed = parse(line)
                if after_log_line and parsed[2].startswith(_TRACEBACK):
                    parsed = (parsed[0], None, parsed[2])  # the traceback of the exception logged by that line
                after_log_line = _LOG_LINE.match(_ANSI.sub("", line)) is not None
                if parsed[1] is not None:
                    shown = parsed[1] >= self.min_level
                lines = render(process, parsed)
            except Exception:  # noqa: BLE001 (the output must be read on, or the server blocks writing)
                lines = [format_line(time.strftime("%H:%M:%S"), None, process, "[a line that could not be shown]")]
            tail.extend(lines)
            if shown:
                self.write(lines)
        pipe.close()

    def join(self, process: Optional[str] = None, timeout: float = 5) -> None:
        """Wait (up to `timeout` seconds each) until `process`'s output, or every one, is closed and written."""
        for name, thread in list(self._threads.items()):
            if process in (None, name):
                thread.join(timeout)
