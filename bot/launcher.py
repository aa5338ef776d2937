"""Start the action server, the Rasa server and the web service together, wait until all answer, stop them cleanly.

The web service (bot/web/) serves the chat widget and a demo page of the clinic. One launcher for `make run`,
`make shell`, the end-to-end tests and the benchmark, so they all run the assistant the same way.
`python -m bot.launcher` is what `make run` calls.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Dict, List, Optional

import yaml

from bot.retention import TRACKER_DB_URL_ENV, tracker_db_url
from bot.web.settings import default_allowed_origins, parse_origins

ROOT = Path(__file__).resolve().parent.parent
# redacts health information from both servers' logs (bot/log_redaction.py)
LOGGING_ARGS = ["--logging-config-file", str(ROOT / "logging.yml")]


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback only)
            return 200 <= response.status < 300
    except OSError:
        return False


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
    rasa_args: List[str] = field(default_factory=list)
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
        config["action_endpoint"]["url"] = f"http://127.0.0.1:{self.action_port}/webhook"
        if self.tracker_db:
            config["tracker_store"]["db"] = self.tracker_db
        path = Path(tempfile.mkdtemp(prefix="endpoints-")) / "endpoints.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return str(path)

    def _environ(self) -> Dict[str, str]:
        env = {**os.environ, **self.env}
        env["RASA_TELEMETRY_ENABLED"] = "false"
        env.setdefault("FORCE_JSON_LOGGING", "1")  # Rasa's structlog as JSON, the form bot/log_redaction.py reads
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env

    def _spawn(self, name: str, cmd: List[str], extra_env: Optional[Dict[str, str]] = None) -> None:
        out = None
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop())
            self._logs.append(out)
        self.processes[name] = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**self._environ(), **(extra_env or {})},
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )

    def tracker_db_url(self) -> Optional[str]:
        """SQLAlchemy URL of the conversations' database (for "forget me", actions/privacy.py); None if not SQL."""
        if self.tracker_db:
            return f"sqlite:///{Path(self.tracker_db).resolve()}"
        try:
            return tracker_db_url()  # $RASA_TRACKER_DB_URL, else endpoints.yml
        except ValueError:
            return None

    def start_actions(self) -> None:
        self._spawn(
            "actions",
            [_bin("rasa"), "run", "actions", "--actions", "actions", "--port", str(self.action_port), *LOGGING_ARGS],
            extra_env={TRACKER_DB_URL_ENV: url} if (url := self.tracker_db_url()) else None,
        )

    def start_rasa(self) -> None:
        self._spawn(
            "rasa",
            [
                _bin("rasa"),
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
            # the socketio channel (bot/web/socketio_channel.py) refuses browsers from other origins
            extra_env={"WEB_ALLOWED_ORIGINS": ",".join(self.allowed_origins())},
        )

    def start_web(self) -> None:
        """The web service (bot/web): widget, demo page, /healthz, /readyz, staff API; settings via environment."""
        self._spawn(
            "web",
            [sys.executable, "-m", "bot.web"],
            extra_env={
                "WEB_HOST": self.host,
                "WEB_PORT": str(self.web_port),
                "RASA_URL": self.rasa_url,
                "ACTION_SERVER_URL": self.action_url,
                "WEB_ALLOWED_ORIGINS": ",".join(self.allowed_origins()),
            },
        )

    def start(self) -> Stack:
        self.start_actions()
        self.start_rasa()
        if self.web:
            self.start_web()
        return self

    def wait_ready(self, timeout: float = 300) -> float:
        """Block until every started server answers; return the seconds it took. Raise if one died or timed out."""
        started = time.monotonic()
        checks = {"actions": f"{self.action_url}/health", "rasa": f"{self.rasa_url}/webhooks/rest/"}
        # the web service's readiness includes Rasa's and the actions'; /healthz when one of those is stopped
        both = "rasa" in self.processes and "actions" in self.processes
        checks["web"] = f"{self.web_url}/{'readyz' if both else 'healthz'}"
        pending = {name: url for name, url in checks.items() if name in self.processes}
        while pending:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} server exited with code {process.returncode} while starting")
            pending = {name: url for name, url in pending.items() if not _answers(url)}
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"not ready after {timeout:.0f} s: {', '.join(pending)}")
            if pending:
                time.sleep(0.5)
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


def main() -> int:
    stack = Stack(
        rasa_port=int(os.environ.get("RASA_PORT", "5005")),
        host=os.environ.get("RASA_HOST", "127.0.0.1"),
        model=os.environ.get("RASA_MODEL", str(ROOT / "models" / "clinic.tar.gz")),
        web_port=int(os.environ.get("WEB_PORT", "8000")),
    )
    if not Path(stack.model).exists():
        print(f"No trained model at {stack.model}: run `make run` (it trains when needed).", file=sys.stderr)
        return 1
    stop = {"now": False}

    def _stop(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    stack.start()
    try:
        seconds = stack.wait_ready()
        print(
            f"\nAcute Acupuncture assistant ready in {seconds:.0f} s.\n"
            f"  REST:      curl -s {stack.rasa_url}/webhooks/rest/webhook "
            '-d \'{"sender": "me", "message": "do I need a GP referral?"}\'\n'
            f"  socket.io: {stack.rasa_url}/socket.io\n"
            f"  actions:   {stack.action_url}/health\n"
            f"  website:   {stack.web_url}/  (demo page of the clinic with the chat widget)\n"
            f"  staff API: {stack.web_url}/staff/requests  (Authorization: Bearer $STAFF_API_TOKEN)\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        return supervise(stack.processes, stop)
    except (RuntimeError, TimeoutError) as error:
        print(f"Could not start the assistant: {error}", file=sys.stderr)
        return 1
    finally:
        print("Stopping the assistant…", flush=True)
        stack.stop()


if __name__ == "__main__":
    raise SystemExit(main())
