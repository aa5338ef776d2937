"""The launcher (bot/processes/launcher.py): supervision, endpoints file, what `make run` says in the terminal."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import yaml

from bot.processes.launcher import ROOT, Stack, _print_last_lines, ready_text, starting_text, supervise
from bot.processes.terminal_log import TerminalLog, format_line


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


def test_make_run_says_what_starts_then_where_to_talk_to_the_assistant(tmp_path):
    stack = Stack(rasa_port=6005, action_port=6055, web_port=9000, log_dir=tmp_path / "logs")
    starting = starting_text(stack)
    assert "action server" in starting and "Rasa" in starting and "web service" in starting
    assert "models/clinic.tar.gz" in starting and str(ROOT) not in starting  # short path inside the repository
    ready = ready_text(stack, 31.4)
    assert "ready in 31 s" in ready
    assert "http://127.0.0.1:9000/ " in ready  # the demo page with the widget
    assert "curl -s http://127.0.0.1:6005/webhooks/rest/webhook" in ready
    assert "make shell" in ready and "RASA_PORT=6006 ACTION_PORT=6056 make shell" in ready
    assert str(tmp_path / "logs") in ready and "Ctrl-C" in ready
    assert "http://127.0.0.1:6005/metrics and http://127.0.0.1:9000/metrics" in ready
    assert stack.action_token not in starting + ready


def test_a_servers_output_reaches_the_terminal_readable_and_its_log_file_as_written(tmp_path):
    out = io.StringIO()
    stack = Stack(log_dir=tmp_path, terminal=TerminalLog(out=out, min_level=logging.NOTSET))
    line = "2026-11-28 21:54:06 WARNING  bot.test  - call 021 123 4567"
    stack._spawn("demo", [sys.executable, "-c", f"print({line!r}); print('plain line')"])
    stack.processes["demo"].wait(30)
    stack.stop()
    assert out.getvalue().splitlines() == [
        "21:54:06 WARNING  demo     call [PHONE]",  # redacted here too, even when the server did not
        format_line("", None, "demo", "plain line"),
    ]
    assert (tmp_path / "demo.log").read_text() == f"{line}\nplain line\n"


def test_a_server_that_stops_while_starting_has_its_last_lines_printed(capsys):
    """Until ready the terminal shows only warnings and errors: a failed start prints what the server said last."""
    stack = Stack(terminal=TerminalLog(out=io.StringIO(), min_level=logging.WARNING))
    info = "2026-11-28 21:54:06 INFO     rasa.core.processor  - Loading model models/clinic.tar.gz..."
    stack._spawn("rasa", [sys.executable, "-c", f"print({info!r}, flush=True); raise SystemExit('cannot go on')"])
    stack.processes["rasa"].wait(30)
    _print_last_lines(stack)
    stack.stop()
    assert stack.terminal.out.getvalue() == ""  # neither line was shown while starting
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "The last lines the rasa server wrote:"
    assert err[1].endswith("INFO     rasa     Loading model models/clinic.tar.gz...")
    assert err[2] == format_line("", None, "rasa", "cannot go on")
