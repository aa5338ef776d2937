"""Production profile: PostgreSQL tracker store, Redis lock store, N `rasa run` processes behind nginx.

    DATABASE_URL=postgresql://rasa:PASSWORD@127.0.0.1:5432/rasa REDIS_URL=redis://127.0.0.1:6379/1 \\
        RASA_WORKERS=2 PUBLIC_PORT=8080 python -m bot.processes.production        (what `make run-production` runs)

One action server; the Rasa processes on ports 5006.. (RASA_WORKER_PORTS) behind nginx on PUBLIC_PORT
(deploy/nginx.conf.template), all bound to BIND_HOST (127.0.0.1). The REST channel is behind nginx too, but
requires `Authorization: Bearer $REST_CHANNEL_TOKEN` (a random one unless set; bot/channels/rest.py).
The staff routes (live takeover, bot/channels/staff.py) are not behind nginx (it answers 404 for them): the web
service calls one Rasa process on loopback with $STAFF_CHANNEL_TOKEN (a random one unless set, written to the run
folder); each process is told the others' URLs ($STAFF_PEER_URLS) to reach a widget whose socket is on another.
Neither are the Prometheus metrics (`/metrics`, bot/channels/metrics.py; 404 through nginx): Prometheus scrapes each
process on its own port ($METRICS_TOKEN, else loopback only; docs/production.md, "Metrics").
Any process may answer any REST/Meta conversation: the Redis lock store serialises the messages of one
conversation across processes, and every process reads and writes the same PostgreSQL tracker store.
What is tested and what is not: docs/production.md.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

import redis
import sqlalchemy as sa
import yaml

from bot.channels.rest import TOKEN_ENV as REST_TOKEN_ENV
from bot.channels.staff import PEERS_ENV as STAFF_PEERS_ENV
from bot.processes.launcher import (
    READY_POLL_SECONDS,
    ROOT,
    STAFF_TOKEN_ENV,
    Stack,
    _answers,
    _on_stop_signals,
    supervise,
)
from bot.processes.request_limits import RASA_MAX_BYTES
from bot.storage.database_urls import PRODUCTION_DB_URL_ENV, production_db_url

NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf.template"


class ProductionError(RuntimeError):
    """A service the production profile needs is missing or unreachable (the message holds no password)."""


def safe_url(url: str) -> str:
    """The URL with its password replaced by ***."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _reason(error: BaseException, secret: Optional[str]) -> str:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0] if str(error).strip() else ""
    return reason.replace(secret, "***") if secret else reason


def check_database(url: str, timeout: int = 5) -> None:
    """Connect once to the tracker store's database; ProductionError naming the URL (no password) if it fails."""
    parsed = sa.engine.make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise ProductionError(f"DATABASE_URL must be a PostgreSQL URL, not {safe_url(url)}")
    engine = sa.create_engine(url, future=True, connect_args={"connect_timeout": timeout})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as error:
        raise ProductionError(
            f"PostgreSQL is unreachable at {safe_url(url)}: {_reason(error, parsed.password)}"
        ) from None
    finally:
        engine.dispose()


def check_redis(url: str, timeout: float = 5) -> None:
    """PING the lock store; ProductionError naming the URL (no password) if it fails."""
    try:
        redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout).ping()
    except redis.RedisError as error:
        raise ProductionError(
            f"Redis is unreachable at {safe_url(url)}: {_reason(error, urlsplit(url).password)}"
        ) from None


def endpoints_config(database_url: str, redis_url: str, action_url: str) -> Dict[str, Any]:
    """endpoints.yml for the Rasa processes: the repo's tracker store type on PostgreSQL, a Redis lock store."""
    base = yaml.safe_load((ROOT / "endpoints.yml").read_text())
    db = sa.engine.make_url(database_url)
    lock = urlsplit(redis_url)
    return {
        **base,
        "action_endpoint": {**base["action_endpoint"], "url": f"{action_url}/webhook"},  # keeps the token header
        "tracker_store": {
            "type": base["tracker_store"]["type"],
            "dialect": "postgresql",
            "url": db.host or "127.0.0.1",
            "port": db.port or 5432,
            "db": db.database,
            "username": db.username,
            "password": db.password,
        },
        "lock_store": {
            "type": "bot.storage.lock_store.ClinicRedisLockStore",  # Redis, short timeouts, tells the patient if down
            "url": lock.hostname or "127.0.0.1",
            "port": lock.port or 6379,
            "db": int(lock.path.lstrip("/") or 1),
            "password": lock.password,
            "key_prefix": "clinic",
        },
    }


def nginx_config(workdir: Path, host: str, port: int, rasa_ports: List[int]) -> str:
    # one failed connection takes a process out of rotation for 10 s (nginx retries the request on another)
    servers = "\n".join(f"        server {host}:{p} max_fails=1 fail_timeout=10s;" for p in rasa_ports)
    return NGINX_TEMPLATE.read_text().format(
        workdir=workdir, host=host, port=port, servers=servers, max_body=RASA_MAX_BYTES
    )


@dataclass
class ProductionStack(Stack):
    """The action server, `workers` Rasa processes (PostgreSQL + Redis) and nginx in front of them."""

    database_url: str = ""
    redis_url: str = ""
    workers: int = 2
    public_port: int = 8080
    worker_ports: List[int] = field(default_factory=list)
    workdir: Optional[Path] = None
    web: bool = False
    rest_token: str = field(default_factory=lambda: os.environ.get(REST_TOKEN_ENV) or secrets.token_urlsafe(32))

    def __post_init__(self) -> None:
        self.worker_ports = self.worker_ports or [5006 + i for i in range(self.workers)]
        self.workers = len(self.worker_ports)
        self.workdir = Path(self.workdir or tempfile.mkdtemp(prefix="rasa-production-"))
        self.env = {**self.env, REST_TOKEN_ENV: self.rest_token}

    def rest_headers(self) -> Dict[str, str]:
        """Headers a REST client needs here (the channel requires the token in this profile)."""
        return {"Content-Type": "application/json", "Authorization": f"Bearer {self.rest_token}"}

    @property
    def public_url(self) -> str:
        return f"http://{self.host}:{self.public_port}"

    def endpoints(self) -> str:
        path = self.workdir / "endpoints.yml"
        config = endpoints_config(self.database_url, self.redis_url, self.action_url)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)  # holds the database password
        return str(path)

    def tracker_db_url(self) -> str:
        return self.database_url

    def start(self) -> ProductionStack:
        check_database(self.database_url)
        check_redis(self.redis_url)
        self.preflight()  # the model; the database was checked above
        self.start_actions()
        for i, port in enumerate(self.worker_ports):
            self.rasa_port = port
            others = [f"http://{self.host}:{p}" for p in self.worker_ports if p != port]
            self.env = {**self.env, STAFF_PEERS_ENV: " ".join(others)}  # widgets whose socket is on another process
            self.start_rasa()  # all workers append to rasa.log
            self.processes[f"rasa-{i}"] = self.processes.pop("rasa")
        return self

    def start_nginx(self) -> None:
        conf = self.workdir / "nginx.conf"
        conf.write_text(nginx_config(self.workdir, self.host, self.public_port, self.worker_ports))
        self._spawn("nginx", ["nginx", "-p", str(self.workdir), "-c", str(conf), "-g", "daemon off;"])

    def wait_ready(self, timeout: float = 600) -> float:
        """Wait for the action server and every Rasa process, then start nginx and wait for it.

        nginx starts only once the processes answer: a refused connection while a process is still loading
        would take it out of rotation for `fail_timeout` (max_fails=1).
        """
        started = time.monotonic()
        workers = [f"{self.action_url}/health"] + [f"http://{self.host}:{p}/webhooks/rest/" for p in self.worker_ports]
        self._wait_for(workers, started, timeout)
        if "nginx" not in self.processes:
            self.start_nginx()
        self._wait_for([f"{self.public_url}/webhooks/rest/"], started, timeout)
        return time.monotonic() - started

    def _wait_for(self, pending: List[str], started: float, timeout: float) -> None:
        while pending:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with code {process.returncode} while starting")
            pending = [url for url in pending if not _answers(url)]
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"not ready after {timeout:.0f} s: {', '.join(pending)}")
            if pending:
                time.sleep(READY_POLL_SECONDS)


def main() -> int:
    missing = [name for name in (PRODUCTION_DB_URL_ENV, "REDIS_URL") if not os.environ.get(name)]
    if missing:
        print(f"Set {' and '.join(missing)} (docs/production.md).", file=sys.stderr)
        return 1
    ports = [int(port) for port in os.environ.get("RASA_WORKER_PORTS", "").replace(",", " ").split()]
    stack = ProductionStack(
        database_url=production_db_url() or "",
        redis_url=os.environ["REDIS_URL"],
        workers=int(os.environ.get("RASA_WORKERS", "2")),
        worker_ports=ports,
        public_port=int(os.environ.get("PUBLIC_PORT", "8080")),
        action_port=int(os.environ.get("ACTION_PORT") or 5055),
        host=os.environ.get("BIND_HOST") or "127.0.0.1",
        model=os.environ.get("RASA_MODEL", str(ROOT / "models" / "clinic.tar.gz")),
        log_dir=Path(os.environ.get("LOG_DIR", ROOT / ".data" / "logs")),
    )
    stop = {"now": False}
    _on_stop_signals(stop)
    try:
        stack.start()
        seconds = stack.wait_ready()
        print(f"{stack.workers} Rasa processes behind nginx at {stack.public_url} ready in {seconds:.0f} s", flush=True)
        scraped = ", ".join(f"http://{stack.host}:{port}/metrics" for port in stack.worker_ports)
        print(f"Metrics (Prometheus, each process on its own port, never through nginx): {scraped}", flush=True)
        if not os.environ.get(REST_TOKEN_ENV):
            token_file = stack.workdir / "rest-channel-token"
            token_file.write_text(stack.rest_token)
            token_file.chmod(0o600)
            print(f"REST channel token (set {REST_TOKEN_ENV} to choose one) in {token_file}", flush=True)
        if not os.environ.get(STAFF_TOKEN_ENV):
            token_file = stack.workdir / "staff-channel-token"
            token_file.write_text(stack.staff_token)
            token_file.chmod(0o600)
            print(f"Staff channel token (set {STAFF_TOKEN_ENV} to choose one) in {token_file}", flush=True)
        return supervise(stack.processes, stop)
    except (ProductionError, RuntimeError, TimeoutError) as error:
        print(f"Could not start the production profile: {error}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    raise SystemExit(main())
