"""Throw-away PostgreSQL and Redis servers on loopback, for testing the production profile on one machine.

Debian packages `postgresql` and `redis-server` (scripts/system_deps.sh). PostgreSQL runs as the `postgres`
user when started by root (it refuses to run as root), from a fresh data directory, with password
authentication over TCP. Not for production: fsync is off and the data lives in a temporary directory.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional

import pytest
import redis
import sqlalchemy as sa


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _wait(check, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not start within {timeout:.0f} s")
        time.sleep(0.2)


def postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise FileNotFoundError(f"{name} not found: install the Debian package postgresql")
    return found[-1]


@dataclass
class LocalPostgres:
    """`postgres` on 127.0.0.1:`port` with user `rasa`/`password` and an empty database `rasa`.

    `workdir` must be reachable by the `postgres` user (e.g. directly under /tmp, not under a 0700 directory).
    """

    workdir: Path
    port: int
    password: str = "test-only-password"
    process: Optional[subprocess.Popen] = None
    _user: Optional[str] = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"postgresql://rasa:{self.password}@127.0.0.1:{self.port}/rasa"

    def _run(self, cmd: List[str]) -> None:
        result = subprocess.run(cmd, capture_output=True, text=True, user=self._user)
        if result.returncode:
            raise RuntimeError(f"{Path(cmd[0]).name} failed: {result.stderr.strip()[-2000:]}")

    def start(self) -> LocalPostgres:
        self._user = "postgres" if os.geteuid() == 0 else None
        data = self.workdir / "pgdata"
        self.workdir.mkdir(parents=True, exist_ok=True)
        pwfile = self.workdir / "pwfile"
        pwfile.write_text(self.password)
        if self._user:
            shutil.chown(self.workdir, self._user)
            shutil.chown(pwfile, self._user)
        self._run(
            [postgres_bin("initdb"), "-D", str(data), "-U", "rasa", f"--pwfile={pwfile}", "--auth=scram-sha-256"]
        )
        pwfile.unlink()
        self.process = subprocess.Popen(
            [postgres_bin("postgres"), "-D", str(data), "-p", str(self.port), "-k", str(self.workdir)]
            + ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "postgres.log", "ab"),  # noqa: SIM115 (the server keeps it)
            user=self._user,
            start_new_session=True,
        )
        _wait(lambda: _port_open(self.port), "PostgreSQL")
        admin = self.url.rsplit("/", 1)[0] + "/postgres"
        deadline = time.monotonic() + 30
        while True:
            try:
                engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
                with engine.connect() as conn:
                    conn.execute(sa.text("CREATE DATABASE rasa"))
                engine.dispose()
                break
            except sa.exc.OperationalError:  # still starting up
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        return self

    def new_database(self, prefix: str = "t") -> str:
        """A fresh, empty database on this server; its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        admin.dispose()
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        """Fast shutdown (SIGINT): open client connections are closed, not waited for."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def local_postgres(prefix: str, port: int) -> Iterator[LocalPostgres]:
    """A throw-away PostgreSQL server for a test module (skips the test without Debian's postgresql package)."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("needs the Debian package postgresql")
    server = LocalPostgres(Path(tempfile.mkdtemp(prefix=prefix)), port).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.workdir, ignore_errors=True)


@dataclass
class LocalRedis:
    """`redis-server` on 127.0.0.1:`port`, nothing written to disk."""

    port: int
    process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/1"

    def start(self) -> LocalRedis:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait(lambda: _ping(self.url), "Redis")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


def _ping(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False
