"""No failure is silent: each of these failed silently before (issue #10), against the real servers.

- the action server stopped in the middle of a form: the patient is told, the form resumes once it is back;
- the conversations database unwritable during a conversation: the technical-problem answer, /readyz 503,
  and everything works again once it is back;
- an unwritable conversations database or a damaged model at start: the start stops, naming the file
  (bot/processes/launcher.py), and Rasa itself refuses an unwritable database instead of falling back to memory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Dict, Tuple

import pytest
import yaml

from bot.processes.launcher import ROOT, Stack, StartError, _bin
from bot.service_messages import TECHNICAL_PROBLEM
from tests.conftest import METRICS_TOKEN, MODEL, free_port, require_model, rest_send, texts
from tests.support.metrics import moved, scrape

pytestmark = pytest.mark.e2e


def _get(url: str) -> Tuple[int, Dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _wait(predicate, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.3)


def test_action_server_down_mid_form_patient_told_and_form_resumes(stack):
    sender = f"down-{uuid.uuid4().hex[:8]}"
    assert "date of your injury" in texts(rest_send(stack, sender, "can u check my acc eligibility"))
    assert "Got it: injury on" in texts(rest_send(stack, sender, "three weeks ago"))
    _, before = scrape(stack.rasa_url, METRICS_TOKEN)
    stack.stop_one("actions")
    try:
        reply = texts(rest_send(stack, sender, "yep"))
        assert TECHNICAL_PROBLEM in reply, reply
        _, after = scrape(stack.rasa_url, METRICS_TOKEN)  # counted for Prometheus: the cause, the answer given
        assert moved(before, after, "clinic_rasa_action_server_failures_total", reason="unreachable") == 1
        assert moved(before, after, "clinic_rasa_technical_problems_total", reason="action_server") == 1
        status, body = _get(f"{stack.web_url}/readyz")
        assert status == 503 and not body["checks"]["actions"]["ok"], body
    finally:
        stack.start_actions()
        _wait(lambda: _get(f"{stack.web_url}/readyz")[0] == 200)
    # the turn that failed was undone: the form still waits for the claim answer, nothing is invented
    assert "ACC45" in texts(rest_send(stack, sender, "yep"))
    assert "AB•••45" in texts(rest_send(stack, sender, "ab 12345"))


def _database_files(db: Path):
    return [Path(f"{db}{suffix}") for suffix in ("", "-wal", "-shm")]


def test_conversations_database_unwritable_mid_conversation(stack):
    """The database file is replaced by a directory (as an unmounted or broken disk would): nothing is lost."""
    sender = f"db-{uuid.uuid4().hex[:8]}"
    assert "date of your injury" in texts(rest_send(stack, sender, "check my eligibility"))
    db = Path(stack.tracker_db)
    aside = db.parent / f"aside-{uuid.uuid4().hex[:6]}"
    aside.mkdir()
    moved = []
    try:
        for path in _database_files(db):
            if path.exists():
                shutil.move(str(path), aside / path.name)
                moved.append(path)
        db.mkdir()  # SQLite cannot open a directory: every read and write fails
        reply = texts(rest_send(stack, sender, "three weeks ago"))
        assert TECHNICAL_PROBLEM in reply, reply
        status, body = _get(f"{stack.rasa_url}/webhooks/ready/")
        assert status == 503 and body["problems"] == {"conversations": "the conversations database cannot be written"}
        status, body = _get(f"{stack.web_url}/readyz")
        assert status == 503 and not body["checks"]["rasa"]["ok"]
    finally:
        if db.is_dir():
            db.rmdir()
        for path in moved:
            shutil.move(str(aside / path.name), path)
        aside.rmdir()
    _wait(lambda: _get(f"{stack.web_url}/readyz")[0] == 200)
    # the form is still where it was: the message that could not be stored is asked for again and taken
    assert "Got it: injury on" in texts(rest_send(stack, sender, "three weeks ago"))


def test_unwritable_database_or_missing_model_stops_the_start_naming_the_file(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(StartError, match="database .*not-a-folder/conversations.sqlite cannot be written"):
        Stack(tracker_db=str(blocker / "conversations.sqlite"), web=False, model=str(require_model())).start()
    with pytest.raises(StartError, match="no model file at .*missing.tar.gz"):
        Stack(tracker_db=str(tmp_path / "c.sqlite"), web=False, model=str(tmp_path / "missing.tar.gz")).start()


def test_truncated_model_stops_make_run_with_a_message_naming_it(tmp_path):
    """What a newcomer sees: `make run` (python -m bot.processes.launcher) with a damaged model."""
    truncated = tmp_path / "clinic.tar.gz"
    truncated.write_bytes(require_model().read_bytes()[:200_000])
    env = {**os.environ, "RASA_MODEL": str(truncated), "RASA_PORT": str(free_port())}
    env.update(ACTION_PORT=str(free_port()), WEB_PORT=str(free_port()))
    result = subprocess.run(
        [sys.executable, "-m", "bot.processes.launcher"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert f"Could not start the assistant: the model file {truncated} is damaged" in result.stderr, result.stderr


def test_model_rasa_cannot_load_stops_the_start(tmp_path):
    """A readable archive that is not a model Rasa can load: Rasa says "no model", the launcher stops."""
    bogus = tmp_path / "bogus.tar.gz"
    inner = tmp_path / "components"
    inner.mkdir()
    (inner / "nothing.txt").write_text("not a model")
    with tarfile.open(bogus, "w:gz") as archive:
        archive.add(inner, arcname="components")
    stack = Stack(
        rasa_port=free_port(),
        action_port=free_port(),
        web=False,
        model=str(bogus),
        tracker_db=str(tmp_path / "c.sqlite"),
        log_dir=tmp_path / "logs",
    )
    stack.preflight()
    stack.start_rasa()
    try:
        with pytest.raises(StartError, match=f"could not load the model {bogus}"):
            stack.wait_ready(timeout=300)
    finally:
        stack.stop()


def test_rasa_refuses_an_unwritable_database_instead_of_memory(tmp_path):
    """Rasa run directly (no launcher check): it stops with the reason, never "Falling back to InMemory"."""
    require_model()
    config = yaml.safe_load((ROOT / "endpoints.yml").read_text())
    config["tracker_store"]["db"] = str(tmp_path / "file" / "conversations.sqlite")
    (tmp_path / "file").write_text("a file where a folder should be")
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(yaml.safe_dump(config))
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "ACTION_SERVER_TOKEN": "t", "PYTHONPATH": str(ROOT)}
    command = [_bin("rasa"), "run", "--model", str(MODEL), "--endpoints", str(endpoints)]
    command += ["--port", str(free_port()), "--interface", "127.0.0.1", "--credentials", "credentials.yml"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "conversations database" in output and "cannot be written" in output, output[-3000:]
    assert "InMemoryTrackerStore" not in output
