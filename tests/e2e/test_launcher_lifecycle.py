"""`make run` and `make shell` as a person runs them (issue #10): ports they are told, loopback only, and
nothing left running when they stop, also when the terminal is closed or the launcher is killed."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Set

import psutil
import pytest

from bot.processes.launcher import ROOT
from tests.conftest import free_port, require_model

pytestmark = pytest.mark.e2e


def _env(tmp_path: Path) -> Dict[str, str]:
    ports = {name: str(free_port()) for name in ("RASA_PORT", "ACTION_PORT", "WEB_PORT")}
    return {
        **os.environ,
        **ports,
        "RASA_MODEL": str(require_model()),
        "TRACKER_DB": str(tmp_path / "conversations.sqlite"),
        "BOOKING_REQUESTS_DB_URL": f"sqlite:///{tmp_path / 'requests.sqlite'}",
        "LOG_DIR": str(tmp_path / "logs"),
        "ACTION_SERVER_TOKEN": "",  # the launcher makes one
    }


def _listening(pids: Set[int]) -> List[psutil._common.sconn]:
    return [c for c in psutil.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN and c.pid in pids]


def _tree(pid: int) -> Set[int]:
    return {pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))}


def _all_gone(pids: Set[int], seconds: float = 40) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return True
        time.sleep(0.3)
    return False


def _post(url: str, body: Dict) -> int:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_make_run_uses_the_ports_it_is_given_binds_loopback_and_stops_on_hangup(tmp_path):
    env = _env(tmp_path)
    launcher = subprocess.Popen(
        [sys.executable, "-m", "bot.processes.launcher"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        output = b""
        deadline = time.monotonic() + 300
        while b"ready in" not in output:
            assert launcher.poll() is None and time.monotonic() < deadline, output.decode(errors="replace")
            if select.select([launcher.stdout], [], [], 1)[0]:
                output += os.read(launcher.stdout.fileno(), 65536)
        pids = _tree(launcher.pid)
        listening = _listening(pids)
        wanted = {int(env[name]) for name in ("RASA_PORT", "ACTION_PORT", "WEB_PORT")}
        assert {c.laddr.port for c in listening} == wanted, listening  # 5055 and 5005 stay free
        assert {c.laddr.ip for c in listening} == {"127.0.0.1"}, listening
        action = f"http://127.0.0.1:{env['ACTION_PORT']}/webhook"
        assert _post(action, {"next_action": "action_forget_me", "sender_id": "rest:x"}) == 401
        rest = f"http://127.0.0.1:{env['RASA_PORT']}/webhooks/rest/webhook"
        assert _post(rest, {"sender": "me", "message": "do i need a gp referral"}) == 200
        launcher.send_signal(signal.SIGHUP)  # what closing the terminal sends
        assert launcher.wait(60) == 0
        assert _all_gone(pids), "servers left running after the launcher stopped"
    finally:
        if launcher.poll() is None:
            launcher.kill()


def _read_until(fd: int, needle: bytes, seconds: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while needle not in seen:
        assert time.monotonic() < deadline, seen[-2000:].decode(errors="replace")
        if select.select([fd], [], [], 1)[0]:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # the terminal closed: the program ended
                break
    return seen


def test_make_shell_talks_on_loopback_and_closing_the_terminal_stops_everything(tmp_path):
    env = _env(tmp_path)
    pid, terminal = pty.fork()
    if pid == 0:  # the child: a login-like session on a new terminal, as `make shell` in a terminal window
        os.chdir(ROOT)
        os.execvpe(sys.executable, [sys.executable, "-m", "bot.processes.launcher", "shell"], env)
    try:
        _read_until(terminal, b"Your input", 300)
        os.write(terminal, b"do i need a gp referral\r")
        assert b"referral" in _read_until(terminal, b"No referral", 60).lower()
        pids = _tree(pid)
        listening = _listening(pids)
        assert {c.laddr.port for c in listening} == {int(env["RASA_PORT"]), int(env["ACTION_PORT"])}, listening
        assert {c.laddr.ip for c in listening} == {"127.0.0.1"}, listening  # rasa shell's server too
    finally:
        os.close(terminal)  # the terminal window is closed: SIGHUP
    assert _all_gone(pids), "the shell or the action server kept running after the terminal closed"
    os.waitpid(pid, 0)


def test_killed_launcher_takes_its_servers_with_it(tmp_path):
    """Even `kill -9` of the launcher (no chance to clean up) stops the servers: parent-death signal."""
    env = _env(tmp_path)
    launcher = subprocess.Popen([sys.executable, "-c", _START_ACTIONS_ONLY], cwd=ROOT, env=env, stdout=subprocess.PIPE)
    try:
        assert launcher.stdout.readline().strip() == b"started"
        pids = _tree(launcher.pid) - {launcher.pid}
        assert pids
        launcher.kill()
        launcher.wait()
        assert _all_gone(pids)
    finally:
        if launcher.poll() is None:
            launcher.kill()


_START_ACTIONS_ONLY = """
import time
from bot.processes.launcher import stack_from_env
stack = stack_from_env()
stack.start_actions()
stack.wait_ready(120)
print("started", flush=True)
time.sleep(600)
"""
