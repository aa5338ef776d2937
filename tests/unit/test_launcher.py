"""The launcher's supervision loop and endpoints file (bot/processes/launcher.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from bot.processes.launcher import Stack, supervise


def test_supervise_stops_when_a_server_exits():
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    assert supervise({"rasa": done}, {"now": False}) == 1


def test_supervise_returns_cleanly_when_asked_to_stop():
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert supervise({"actions": running}, {"now": True}) == 0
    finally:
        running.kill()
        running.wait()


def test_endpoints_copy_points_at_this_stacks_ports_and_database(tmp_path):
    assert Stack().endpoints() == "endpoints.yml"
    path = Stack(action_port=6000, tracker_db=str(tmp_path / "t.sqlite")).endpoints()
    copy = yaml.safe_load(Path(path).read_text())
    assert copy["action_endpoint"]["url"] == "http://127.0.0.1:6000/webhook"
    assert copy["tracker_store"]["db"] == str(tmp_path / "t.sqlite")
