"""What a newcomer sees in `make run`'s terminal (issue #12): a short start-up that says what is starting and,
once ready, where to talk to the assistant; then one readable line per log record; never a patient's details,
even at Rasa's most talkative level and in a traceback from inside the NLU."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Dict, List

import pytest

from bot.processes.launcher import ROOT
from tests.conftest import FAULTS
from tests.e2e.test_launcher_lifecycle import _env
from tests.e2e.test_zz_log_privacy import (
    CONVERSATION,
    FAULT_MESSAGE,
    FAULT_SECRETS,
    RED_FLAGS,
    SECRETS,
    SLOT_VALUES,
    injury_dates,
)
from tests.support.faults.sitecustomize import InjectedNLUFault

pytestmark = pytest.mark.e2e

DETAILS = "hi, acc45 AB12345, call me on 021 123 4567 or aroha.ngata@example.com"
# a server's log line (time, level, process, message) or a line continuing one (its traceback)
LOG_LINE = re.compile(r"^(\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) +| {18})(actions|rasa|web) +\S")


class MakeRun:
    """`make run` (python -m bot.processes.launcher), its terminal read in the background."""

    def __init__(self, env: Dict[str, str]) -> None:
        self.env = env
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.processes.launcher"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._output = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for chunk in iter(lambda: os.read(self.process.stdout.fileno(), 65536), b""):
            self._output += chunk

    @property
    def output(self) -> str:
        return self._output.decode(errors="replace")

    def wait_for(self, text: str, seconds: float = 300) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.output:
            assert self.process.poll() is None and time.monotonic() < deadline, self.output[-3000:]
            time.sleep(0.5)

    def send(self, sender: str, message: str) -> List[Dict]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.env['RASA_PORT']}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": message}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())

    def stop(self) -> str:
        """Ctrl-C; the whole terminal output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            assert self.process.wait(60) == 0, self.output[-3000:]
        finally:
            if self.process.poll() is None:
                self.process.kill()
        self._reader.join(10)
        return self.output


def leaks(output: str, secrets) -> List[str]:
    return [secret for secret in secrets if secret.lower() in output.lower()]


def test_start_up_is_short_says_where_to_talk_and_logs_are_readable(tmp_path: Path):
    env = {**_env(tmp_path), "LOG_DIR": ""}  # as `make run` on a fresh clone: no log files, the terminal only
    run = MakeRun(env)
    try:
        run.wait_for("ready in")
        run.wait_for("Ctrl-C stops everything", 10)
        assert run.send("rest-newcomer", DETAILS)
        time.sleep(1)
    finally:
        output = run.stop()
    start_up, ready = output.split("ready in", 1)
    lines = output.splitlines()
    assert lines[0].startswith("Starting the Acute Acupuncture assistant: the action server, Rasa")
    assert len([line for line in start_up.splitlines() if line.strip()]) <= 8, start_up  # short
    assert f"http://127.0.0.1:{env['WEB_PORT']}/ " in ready  # the demo page with the widget
    assert f"curl -s http://127.0.0.1:{env['RASA_PORT']}/webhooks/rest/webhook" in ready
    assert "make shell" in ready
    assert f"Staff console: http://127.0.0.1:{env['WEB_PORT']}/staff/" in ready and "make staff-user" in ready
    # noise a newcomer cannot act on: libraries' deprecations, JSON, a line per readiness probe
    for noise in ("DeprecationWarning", "Warning:", '{"event', "HTTP Request", "/health", "Registered function"):
        assert noise not in output, f"{noise!r} in:\n{output}"
    assert not [line for line in lines if re.search(r"(^|  - )\{", line)], output  # a JSON log line, raw
    after_banner = output.split("Ctrl-C stops everything.", 1)[1]
    logs = [line for line in after_banner.splitlines() if line.strip() and line != "Stopping the assistant…"]
    assert logs and all(LOG_LINE.match(line) for line in logs), after_banner
    assert not leaks(output, ("AB12345", "021 123 4567", "aroha.ngata"))


def test_the_terminal_at_debug_level_is_readable_and_holds_no_health_information(tmp_path: Path):
    """Rasa's DEBUG logs (the patient's text, slots, events) and a traceback with the patient's words in its
    frames (tests/support/faults/) reach the terminal rendered and redacted, as they reach the log files."""
    env = {**_env(tmp_path), "LOG_LEVEL": "DEBUG", "PYTHONPATH": str(FAULTS)}
    run = MakeRun(env)
    try:
        run.wait_for("Ctrl-C stops everything")
        sender = f"rest-terminal-{uuid.uuid4().hex[:8]}"
        for message in (*CONVERSATION, *RED_FLAGS, DETAILS):
            assert run.send(sender, message)
        run.send(f"fault-{uuid.uuid4().hex[:8]}", FAULT_MESSAGE)
        time.sleep(2)
    finally:
        output = run.stop()
    # what Rasa logged reached the terminal, one readable line per record
    assert 'parse_data_text="[USER TEXT]"' in output and "injury_date: [SLOT VALUE]" in output
    assert InjectedNLUFault.__name__ in output and '"locals"' not in output
    assert '{"event"' not in output  # structlog's JSON rendered as `event key=value`
    found = leaks(output, (*SECRETS, *FAULT_SECRETS, *injury_dates(), "AB12345", "aroha.ngata"))
    found += [
        f"{slot}={value!r}"
        for slot, value in SLOT_VALUES.items()
        if re.search(rf"\b{slot}\W{{1,12}}(?:value: )?{re.escape(value)}\b", output, re.IGNORECASE)
    ]
    assert not found, "health information in the terminal: " + ", ".join(found)
    logs = Path(env["LOG_DIR"]).glob("*.log")
    assert {log.name for log in logs} == {"actions.log", "rasa.log", "web.log"}  # and the files, as before
