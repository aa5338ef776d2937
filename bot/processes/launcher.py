"""Start the action server, the Rasa server and the web service together, wait until all answer, stop them cleanly.

The web service (bot/web/) serves the chat widget and a demo page of the clinic. One launcher for `make run`,
`make shell`, the end-to-end tests and the benchmark, so they all run the assistant the same way:
`python -m bot.processes.launcher` is what `make run` calls, `python -m bot.processes.launcher shell` what
`make shell` calls.

- Every server binds $BIND_HOST (127.0.0.1 unless set); every port is a setting (RASA_PORT, ACTION_PORT,
  WEB_PORT), so two stacks run side by side.
- Rasa and the action server share a secret ($ACTION_SERVER_TOKEN, a random one unless set): the action server
  refuses any request without it (bot/processes/action_server.py). Rasa and the web service share another
  ($STAFF_CHANNEL_TOKEN, a random one unless set): the staff routes of Rasa (live takeover,
  bot/channels/staff.py) refuse any request without it.
- Before starting: the model must be a readable archive and the conversations database writable, else the
  start stops with a message naming the file. While starting: a Rasa server that could not load its model
  (it answers "no model" on /webhooks/ready/) stops the start too.
- Rasa runs as `python -m bot.processes.rasa_cli run|shell …` (Rasa's own command line), which keeps TensorFlow out
  of the process when the model needs none (bot/processes/without_tensorflow.py; RASA_TENSORFLOW=1 loads it).
- Whatever it started stops when it stops: on Ctrl-C, SIGTERM, SIGHUP (terminal closed) and, through the
  kernel's parent-death signal, even when the launcher itself is killed.
- `make run`'s terminal: what is starting, then (once all answer) where to talk to the assistant, then the servers'
  logs one readable line each (bot/processes/terminal_log.py); until then only their warnings and errors. The
  log files in $LOG_DIR, when set, keep every line as the servers wrote it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Tuple

import yaml

from bot.processes.request_limits import RASA_MAX_BYTES
from bot.processes.terminal_log import TerminalLog
from bot.storage.database_urls import TRACKER_DB_URL_ENV, sql_tracker_db_url
from bot.web.origins import default_allowed_origins, parse_origins

ROOT = Path(__file__).resolve().parents[2]
# redacts health information from both servers' logs (bot/privacy/log_redaction.py), drops libraries' deprecation
# noise (bot/processes/warning_filters.py)
LOGGING_ARGS = ["--logging-config-file", str(ROOT / "logging.yml")]
ACTION_TOKEN_ENV = "ACTION_SERVER_TOKEN"  # read by bot/processes/action_server.py and by Rasa (endpoints.yml headers)
STAFF_TOKEN_ENV = "STAFF_CHANNEL_TOKEN"  # read by bot/channels/staff.py (Rasa) and the console's client (web service)
READY_PATH = "/webhooks/ready/"  # bot/channels/readiness.py
READY_POLL_SECONDS = 0.1  # a refused connection or a ready check costs well under a millisecond on loopback
# Rasa's command line, without TensorFlow when the model needs none (bot/processes/rasa_cli.py)
RASA_COMMAND = [sys.executable, "-m", "bot.processes.rasa_cli"]


class StartError(RuntimeError):
    """The stack cannot start; the message says why in words a newcomer can act on."""


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _probe(url: str) -> Tuple[Optional[int], Dict[str, Any]]:
    """(HTTP status, JSON body or {}) of GET url; (None, {}) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback only)
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except OSError:
        return None, {}
    try:
        body = json.loads(raw)
    except ValueError:
        body = {}
    return status, body if isinstance(body, dict) else {}


def _answers(url: str) -> bool:
    status, _ = _probe(url)
    return status is not None and 200 <= status < 300


def _die_with_parent() -> None:
    """In a child before exec: the kernel sends it SIGTERM when the launcher dies, however it dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: Ctrl-C, SIGTERM and SIGHUP still stop all
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def model_problem(model: str) -> Optional[str]:
    """Why `model` cannot be a trained Rasa model archive, or None (a cheap check of the archive's index)."""
    path = Path(model)
    if not path.is_file():
        return f"there is no model file at {path} (`make run` trains one)"
    try:
        with tarfile.open(path, "r:gz") as archive:
            names = archive.getnames()
    except (OSError, EOFError, tarfile.TarError) as error:
        return f"the model file {path} is damaged or not a Rasa model ({type(error).__name__}: {error})"
    if not any(name.startswith("components") for name in names):
        return f"the model file {path} is not a Rasa model (no components inside)"
    return None


def sqlite_problem(path: Path) -> Optional[str]:
    """Why the SQLite database at `path` cannot be written, or None (creates its folder and file if missing)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(str(path), isolation_level=None, timeout=5)
        try:
            connection.execute("BEGIN")
            connection.execute("CREATE TABLE clinic_write_probe (id INTEGER)")  # a write, rolled back
            connection.execute("ROLLBACK")
        finally:
            connection.close()
    except (OSError, sqlite3.Error) as error:
        return f"the conversations database {path} cannot be written ({error})"
    return None


@dataclass
class Stack:
    """The action server, `rasa run` (REST and socket.io channels, credentials.yml) and the web service."""

    rasa_port: int = 5005
    action_port: int = 5055
    web_port: int = 8000
    web: bool = True  # start the web service (widget, demo page, staff API) with the others
    host: str = "127.0.0.1"
    model: str = str(ROOT / "models" / "clinic.tar.gz")
    tracker_db: Optional[str] = None  # SQLite file; None = the one in endpoints.yml
    env: Dict[str, str] = field(default_factory=dict)
    log_dir: Optional[Path] = None
    # the servers' output, readable, on this process's stdout (and as is in log_dir's files); None: not shown here
    terminal: Optional[TerminalLog] = None
    rasa_args: List[str] = field(default_factory=list)
    action_token: str = field(default_factory=lambda: os.environ.get(ACTION_TOKEN_ENV) or secrets.token_urlsafe(32))
    staff_token: str = field(default_factory=lambda: os.environ.get(STAFF_TOKEN_ENV) or secrets.token_urlsafe(32))
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    _logs: List[IO[bytes]] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{self.host}:{self.action_port}"

    @property
    def web_url(self) -> str:
        return f"http://{self.host}:{self.web_port}"

    def allowed_origins(self) -> List[str]:
        """Origins allowed to call the web service and Rasa (CORS): $WEB_ALLOWED_ORIGINS or the demo page's."""
        configured = parse_origins(self._environ().get("WEB_ALLOWED_ORIGINS"))
        return list(configured or default_allowed_origins(self.web_port))

    def endpoints(self) -> str:
        """endpoints.yml as is, or a copy with this stack's action server port and tracker database."""
        if self.action_port == 5055 and self.tracker_db is None:
            return "endpoints.yml"
        config = yaml.safe_load((ROOT / "endpoints.yml").read_text())
        config["action_endpoint"]["url"] = f"http://{self.host}:{self.action_port}/webhook"
        if self.tracker_db:
            config["tracker_store"]["db"] = self.tracker_db
        path = Path(tempfile.mkdtemp(prefix="endpoints-")) / "endpoints.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return str(path)

    def _environ(self) -> Dict[str, str]:
        env = {**os.environ, **self.env}
        env["RASA_TELEMETRY_ENABLED"] = "false"
        env[ACTION_TOKEN_ENV] = self.env.get(ACTION_TOKEN_ENV) or self.action_token
        env.setdefault("FORCE_JSON_LOGGING", "1")  # structlog as JSON: what log_redaction reads
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env

    def _spawn(self, name: str, cmd: List[str], extra_env: Optional[Dict[str, str]] = None) -> None:
        out = None
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop())
            self._logs.append(out)
        env = {**self._environ(), **(extra_env or {})}
        if self.terminal:
            env["PYTHONUNBUFFERED"] = "1"  # each line reaches the terminal when it is written
        process = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE if self.terminal else out,
            stderr=subprocess.STDOUT if self.terminal or out else None,
            start_new_session=True,  # Ctrl-C reaches the launcher only, which stops the servers in order
            preexec_fn=_die_with_parent,
        )
        if self.terminal:
            self.terminal.follow(name, process.stdout, out)  # type: ignore[arg-type]
        self.processes[name] = process

    def tracker_db_url(self) -> Optional[str]:
        """SQLAlchemy URL of the conversations' database (for "forget me", actions/privacy.py); None if not SQL."""
        return sql_tracker_db_url(tracker_db=self.tracker_db)  # TRACKER_DB, $RASA_TRACKER_DB_URL, endpoints.yml

    def preflight(self) -> None:
        """StartError if the model or the conversations database cannot work (before spending time starting)."""
        problem = model_problem(self.model)
        url = self.tracker_db_url()
        if not problem and url and url.startswith("sqlite:///"):
            problem = sqlite_problem(Path(url[len("sqlite:///") :]))
        if problem:
            raise StartError(problem)

    def _db_env(self) -> Dict[str, str]:
        url = self.tracker_db_url()
        return {TRACKER_DB_URL_ENV: url} if url else {}

    def start_actions(self) -> None:
        """The action server (bot/processes/action_server.py): loopback, token required."""
        self._spawn(
            "actions",
            # through warning_filters: rasa-sdk's imports warn before the logging config is read
            [sys.executable, "-m", "bot.processes.warning_filters", "bot.processes.action_server"]
            + ["--actions", "actions"]
            + ["--host", self.host, "--port", str(self.action_port), "--logging-config_file", LOGGING_ARGS[1]],
            extra_env=self._db_env(),
        )

    def start_rasa(self) -> None:
        self._spawn(
            "rasa",
            [
                *RASA_COMMAND,
                "run",
                "--cors",
                *self.allowed_origins(),
                "--model",
                self.model,
                "--endpoints",
                self.endpoints(),
                "--credentials",
                "credentials.yml",
                "--interface",
                self.host,
                "--port",
                str(self.rasa_port),
                *LOGGING_ARGS,
                *self.rasa_args,
            ],
            extra_env={
                # the socketio channel (bot/channels/socketio.py) refuses browsers from other origins
                "WEB_ALLOWED_ORIGINS": ",".join(self.allowed_origins()),
                "SANIC_REQUEST_MAX_SIZE": str(RASA_MAX_BYTES),  # Sanic's own default is 100 MB
                STAFF_TOKEN_ENV: self.staff_token,  # the staff routes (bot/channels/staff.py)
                **self._db_env(),  # Meta message ids are remembered in it (bot/channels/recent_ids.py)
            },
        )

    def start_web(self) -> None:
        """The web service (bot/web): widget, demo page, /healthz, /readyz, staff API and console; settings via
        environment."""
        self._spawn(
            "web",
            # through warning_filters: the domain's loader (bot/responses.py) imports Rasa, whose imports warn
            [sys.executable, "-m", "bot.processes.warning_filters", "bot.web"],
            extra_env={
                "WEB_HOST": self.host,
                "WEB_PORT": str(self.web_port),
                "RASA_URL": self.rasa_url,
                "ACTION_SERVER_URL": self.action_url,
                "WEB_ALLOWED_ORIGINS": ",".join(self.allowed_origins()),
                STAFF_TOKEN_ENV: self.staff_token,  # the console's takeover client (bot/staff/takeover.py)
                **self._db_env(),  # the console reads conversations (bot/storage/transcripts.py)
            },
        )

    def start(self) -> Stack:
        self.preflight()
        self.start_actions()
        self.start_rasa()
        if self.web:
            self.start_web()
        return self

    def _rasa_ready(self, url: str) -> bool:
        """True once Rasa is ready; StartError if it is up but could not load its model (that will not change)."""
        status, body = _probe(url)
        if status == 503 and "model" in body.get("problems", {}):
            raise StartError(f"the Rasa server could not load the model {self.model} (its log says why)")
        return status == 200

    def wait_ready(self, timeout: float = 300) -> float:
        """Block until every started server answers; return the seconds it took. Raise if one died or timed out."""
        started = time.monotonic()
        checks = {"actions": f"{self.action_url}/health", "rasa": f"{self.rasa_url}{READY_PATH}"}
        # the web service's readiness includes Rasa's and the actions'; /healthz when one of those is stopped
        both = "rasa" in self.processes and "actions" in self.processes
        checks["web"] = f"{self.web_url}/{'readyz' if both else 'healthz'}"
        pending = {name: url for name, url in checks.items() if name in self.processes}
        while pending:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} server exited with code {process.returncode} while starting")
            pending = {
                name: url
                for name, url in pending.items()
                if not (self._rasa_ready(url) if name == "rasa" else _answers(url))
            }
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"not ready after {timeout:.0f} s: {', '.join(pending)}")
            if pending:
                time.sleep(READY_POLL_SECONDS)
        return time.monotonic() - started

    def stop_one(self, name: str, timeout: float = 20) -> None:
        """Stop one server (SIGTERM to its process group, SIGKILL if it lingers)."""
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        for name in list(self.processes):
            self.stop_one(name)
        if self.terminal:
            self.terminal.join()  # their last lines, before the files close
        for log in self._logs:
            log.close()
        self._logs.clear()


def supervise(processes: Dict[str, subprocess.Popen], stop: Dict[str, bool]) -> int:
    """Wait until `stop["now"]` is set (0) or one of the processes exits (1)."""
    while not stop["now"]:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} exited with code {process.returncode}; stopping.", file=sys.stderr)
                return 1
        time.sleep(0.5)
    return 0


def stack_from_env(environ: Optional[Dict[str, str]] = None) -> Stack:
    """The stack `make run` and `make shell` start, from the environment (README, "Settings")."""
    env = os.environ if environ is None else environ
    return Stack(
        host=env.get("BIND_HOST") or "127.0.0.1",
        rasa_port=int(env.get("RASA_PORT") or 5005),
        action_port=int(env.get("ACTION_PORT") or 5055),
        web_port=int(env.get("WEB_PORT") or 8000),
        model=env.get("RASA_MODEL") or str(ROOT / "models" / "clinic.tar.gz"),
        tracker_db=env.get("TRACKER_DB") or None,  # a SQLite file; unset: the one in endpoints.yml
        log_dir=Path(env["LOG_DIR"]) if env.get("LOG_DIR") else None,
    )


def _on_stop_signals(stop: Dict[str, bool]) -> None:
    """Ctrl-C, SIGTERM and SIGHUP (the terminal was closed) all ask for a clean stop."""

    def _stop(signum: int, frame: object) -> None:
        stop["now"] = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)


def _shown_path(path: str) -> str:
    """`path` relative to the repository when it is inside it (shorter to read)."""
    with contextlib.suppress(ValueError):
        return str(Path(path).resolve().relative_to(ROOT))
    return path


def starting_text(stack: Stack) -> str:
    """What `make run` says before starting the servers."""
    return (
        f"Starting the Acute Acupuncture assistant: the action server, Rasa (loading {_shown_path(stack.model)}, "
        "about 15 seconds) and the web service.\n"
        "Until they are ready, only their warnings and errors are shown."
    )


def ready_text(stack: Stack, seconds: float) -> str:
    """What `make run` says once every server answers: where to talk to the assistant, and what follows."""
    rest = f"{stack.rasa_url}/webhooks/rest/webhook"
    request = '{"sender": "me", "message": "do I need a GP referral?"}'
    alongside = f"RASA_PORT={stack.rasa_port + 1} ACTION_PORT={stack.action_port + 1} make shell"
    logs = f"; every line as written in {stack.log_dir}/" if stack.log_dir else ""
    return (
        f"\nAll servers ready in {seconds:.0f} s. Talk to the assistant:\n"
        f"  in a browser:  {stack.web_url}/  (the clinic's demo page with the chat widget)\n"
        f"  over REST:     curl -s {rest} -H \"Content-Type: application/json\" -d '{request}'\n"
        f"  in a terminal: make shell  (after Ctrl-C here, or alongside: {alongside})\n"
        f"Staff console: {stack.web_url}/staff/  (make an account first: make staff-user)\n"
        f"Also: socket.io {stack.rasa_url}/socket.io, staff API {stack.web_url}/staff/requests "
        f"(Authorization: Bearer $STAFF_API_TOKEN), action server {stack.action_url} (needs ${ACTION_TOKEN_ENV}).\n"
        f"Metrics (Prometheus): {stack.rasa_url}/metrics and {stack.web_url}/metrics "
        "(Bearer $METRICS_TOKEN if set, else from this machine only).\n"
        f"Logs follow: time, level, process, message{logs}. Ctrl-C stops everything.\n"
    )


def _print_last_lines(stack: Stack) -> None:
    """After a failed start: the last lines of each server that stopped, which the terminal may not have shown."""
    for name, process in stack.processes.items():
        if stack.terminal is None or process.poll() is None:
            continue
        stack.terminal.join(name)
        lines = stack.terminal.tail(name)
        if lines:
            print(f"The last lines the {name} server wrote:", *lines, sep="\n", file=sys.stderr)


def run(stack: Stack) -> int:
    """`make run`: the three servers until Ctrl-C (or one of them stops)."""
    stop = {"now": False}
    _on_stop_signals(stop)
    terminal = stack.terminal = TerminalLog(min_level=logging.WARNING)  # the servers' warnings and errors
    terminal.write([starting_text(stack)])
    try:
        stack.start()
        seconds = stack.wait_ready()
        terminal.write([ready_text(stack, seconds)])
        terminal.min_level = logging.NOTSET  # from now on, every line the servers log
        return supervise(stack.processes, stop)
    except (RuntimeError, TimeoutError) as error:
        print(f"Could not start the assistant: {error}", file=sys.stderr)
        _print_last_lines(stack)
        return 1
    finally:
        terminal.write(["Stopping the assistant…"])
        stack.stop()


def shell(stack: Stack) -> int:
    """`make shell`: the action server in the background, `rasa shell` in this terminal; both stop together."""
    stop = {"now": False}
    _on_stop_signals(stop)
    stack.web = False
    stack.log_dir = stack.log_dir or ROOT / ".data" / "logs"
    talk: Optional[subprocess.Popen] = None
    try:
        stack.preflight()
        stack.start_actions()
        command = [*RASA_COMMAND, "shell", "--model", stack.model, "--endpoints", stack.endpoints()]
        command += ["--interface", stack.host, "--port", str(stack.rasa_port), *LOGGING_ARGS]
        # same session and process group as this launcher: it reads this terminal, Ctrl-C reaches both
        # (so it is not in `stack.processes`, which stops each server's own process group); it loads the model
        # while the action server starts
        talk = subprocess.Popen(command, cwd=ROOT, env=stack._environ(), preexec_fn=_die_with_parent)
        stack.wait_ready()
        print(f"Action server ready ({stack.action_url}, log in {stack.log_dir}/actions.log). Loading the model…")
        while not stop["now"] and talk.poll() is None:
            if stack.processes["actions"].poll() is not None:
                print("The action server stopped; ending the shell.", file=sys.stderr)
                return 1
            time.sleep(0.3)
        return 0 if talk.poll() is None else talk.returncode
    except (RuntimeError, TimeoutError) as error:
        print(f"Could not start the shell: {error}", file=sys.stderr)
        return 1
    finally:
        if talk is not None and talk.poll() is None:
            talk.terminate()
            try:
                talk.wait(20)
            except subprocess.TimeoutExpired:
                talk.kill()
        stack.stop()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.processes.launcher", description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", choices=("run", "shell"), default="run")
    args = parser.parse_args(argv)
    stack = stack_from_env()
    return shell(stack) if args.what == "shell" else run(stack)


if __name__ == "__main__":
    raise SystemExit(main())
