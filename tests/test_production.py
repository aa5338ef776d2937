"""Production profile: two Rasa processes behind nginx, PostgreSQL tracker store, Redis lock store.

The end-to-end test starts throw-away PostgreSQL, Redis and nginx on loopback (Debian packages postgresql,
redis-server, nginx) and is skipped when they are not installed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Iterator, List

import aiohttp
import pytest
import sqlalchemy as sa

from bot.production import ProductionError, ProductionStack, check_database, endpoints_config, nginx_config, safe_url
from bot.production_services import LocalPostgres, LocalRedis
from tests.conftest import MODEL, OUTPUT, ROOT, free_port, require_model

CONVERSATIONS = 50
MESSAGES = (
    "hi",
    "do I need a GP referral?",
    "can I see a physio at the same time?",
    "where is the clinic?",
    "what is acupuncture?",
    "how many sessions will I need?",
    "is there a free consultation?",
    "what should I do after treatment?",
    "am I talking to a bot?",
    "thanks",
)


def test_safe_url_hides_the_password():
    assert safe_url("postgresql://rasa:s3cret@db:5432/rasa") == "postgresql://rasa:***@db:5432/rasa"
    assert safe_url("redis://127.0.0.1:6379/1") == "redis://127.0.0.1:6379/1"


def test_unreachable_database_is_named_without_password():
    url = f"postgresql://rasa:s3cret-pw@127.0.0.1:{free_port()}/rasa"
    with pytest.raises(ProductionError) as error:
        check_database(url, timeout=2)
    message = str(error.value)
    assert f"PostgreSQL is unreachable at postgresql://rasa:***@127.0.0.1:{url.split(':')[3]}" in message
    assert "s3cret-pw" not in message
    # and from the command line (`make run-production`)
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": "redis://127.0.0.1:1/1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "bot.production"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "PostgreSQL is unreachable at postgresql://rasa:***@" in result.stderr and "s3cret-pw" not in result.stderr


def test_endpoints_and_nginx_config(tmp_path):
    config = endpoints_config("postgresql://u:p@db:5433/conv", "redis://:rp@cache:6380/2", "http://127.0.0.1:5055")
    assert config["tracker_store"]["dialect"] == "postgresql"
    assert (config["tracker_store"]["url"], config["tracker_store"]["port"], config["tracker_store"]["db"]) == (
        "db",
        5433,
        "conv",
    )
    assert config["lock_store"] == {
        "type": "redis",
        "url": "cache",
        "port": 6380,
        "db": 2,
        "password": "rp",
        "key_prefix": "clinic",
    }
    conf = nginx_config(tmp_path, "127.0.0.1", 8080, [5006, 5007])
    assert conf.count("server 127.0.0.1:5006") == 2 and "listen 127.0.0.1:8080" in conf
    if shutil.which("nginx"):
        (tmp_path / "nginx.conf").write_text(conf)
        command = ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
        check = subprocess.run(command, capture_output=True)
        assert check.returncode == 0, check.stderr.decode()


needs_services = pytest.mark.skipif(
    not (shutil.which("nginx") and shutil.which("redis-server") and list(Path("/usr/lib/postgresql").glob("*/bin"))),
    reason="needs the Debian packages postgresql, redis-server and nginx (scripts/system_deps.sh)",
)


@pytest.fixture(scope="module")
def production() -> Iterator[ProductionStack]:
    require_model()
    workdir = Path(tempfile.mkdtemp(prefix="production-test-"))
    postgres = LocalPostgres(Path(tempfile.mkdtemp(prefix="production-test-pg-")), free_port())
    lock_store = LocalRedis(free_port())
    stack = None
    try:
        postgres.start()
        lock_store.start()
        stack = ProductionStack(
            database_url=postgres.url,
            redis_url=lock_store.url,
            worker_ports=[free_port(), free_port()],
            public_port=free_port(),
            action_port=free_port(),
            model=str(MODEL),
            workdir=workdir / "run",
            log_dir=OUTPUT / "logs" / "production",
        )
        stack.workdir.mkdir(parents=True, exist_ok=True)
        stack.start()
        stack.wait_ready(timeout=600)
        yield stack
    finally:
        if stack:
            stack.stop()
        lock_store.stop()
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(postgres.workdir, ignore_errors=True)


async def _conversation(session: aiohttp.ClientSession, url: str, sender: str) -> List[int]:
    answers = []
    for message in MESSAGES:
        async with session.post(url, json={"sender": sender, "message": message}) as response:
            assert response.status == 200
            answers.append(len(await response.json()))
    return answers


async def _load(url: str, senders: List[str]) -> List[List[int]]:
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        return await asyncio.gather(*(_conversation(session, url, s) for s in senders))


@needs_services
@pytest.mark.e2e
def test_fifty_concurrent_conversations_complete_and_in_order(production):
    run = uuid.uuid4().hex[:6]
    senders = [f"load-{run}-{i:02d}" for i in range(CONVERSATIONS)]
    answers = asyncio.run(_load(f"{production.public_url}/webhooks/rest/webhook", senders))
    assert all(all(n > 0 for n in per_conversation) for per_conversation in answers), "every message is answered"
    served = (production.workdir / "nginx-access.log").read_text()
    for port in production.worker_ports:  # nginx spread the conversations over both Rasa processes
        assert served.count(f"127.0.0.1:{port} 200") >= CONVERSATIONS, served[-2000:]
    engine = sa.create_engine(production.database_url, future=True)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT sender_id, type_name, action_name, data FROM events WHERE sender_id LIKE :p ORDER BY id"
                ),
                {"p": f"load-{run}-%"},
            ).fetchall()
    finally:
        engine.dispose()
    for sender in senders:
        events = [row for row in rows if row.sender_id == sender]
        user_texts = [json.loads(row.data)["text"] for row in events if row.type_name == "user"]
        assert user_texts == list(MESSAGES), sender
        # after each message: the bot answered, then Rasa listened again, before the next message
        kinds = [row.type_name for row in events]
        user_at = [i for i, kind in enumerate(kinds) if kind == "user"] + [len(kinds)]
        for start, end in zip(user_at, user_at[1:]):
            turn = events[start:end]
            assert any(row.type_name == "bot" for row in turn), (sender, start)
            assert turn[-1].action_name == "action_listen", (sender, start)
