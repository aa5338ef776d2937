"""Production profile: two Rasa processes behind nginx, PostgreSQL tracker store, Redis lock store.

The end-to-end test starts throw-away PostgreSQL, Redis and nginx on loopback (Debian packages postgresql,
redis-server, nginx) and is skipped when they are not installed. On that stack: 50 concurrent
conversations, Redis stopped and hanging (a clear answer, then recovery), and last one Rasa process
stopped in the middle of conversations (docs/production.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import aiohttp
import psutil
import pytest
import sqlalchemy as sa

from bot.channels.sender_ids import REST, namespaced
from bot.processes.production import (
    ProductionError,
    ProductionStack,
    check_database,
    endpoints_config,
    nginx_config,
    safe_url,
)
from bot.service_messages import TECHNICAL_PROBLEM as UNAVAILABLE_TEXT
from tests.conftest import MODEL, OUTPUT, ROOT, free_port, require_model
from tests.e2e.test_without_tensorflow import assert_without_tensorflow
from tests.support.metrics import get, moved, scrape, total
from tests.support.services import LocalPostgres, LocalRedis

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
        [sys.executable, "-m", "bot.processes.production"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
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
        "type": "bot.storage.lock_store.ClinicRedisLockStore",
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
        stack.lock_service = lock_store  # the Redis-stopped test stops and restarts it
        yield stack
    finally:
        if stack:
            stack.stop()
        lock_store.stop()
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(postgres.workdir, ignore_errors=True)


@needs_services
@pytest.mark.e2e
def test_rest_through_nginx_requires_the_token_and_everything_binds_loopback(production):
    url = f"{production.public_url}/webhooks/rest/webhook"

    async def scenario() -> List[int]:
        statuses = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            for headers in ({}, {"Authorization": "Bearer wrong"}, production.rest_headers()):
                body = {"sender": f"token-{uuid.uuid4().hex[:6]}", "message": "do i need a referral"}
                async with session.post(url, json=body, headers=headers) as response:
                    statuses.append(response.status)
        return statuses

    assert asyncio.run(scenario()) == [401, 401, 200]
    pids = {process.pid for process in production.processes.values()}
    pids |= {child.pid for pid in pids for child in psutil.Process(pid).children(recursive=True)}
    listening = [c for c in psutil.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN and c.pid in pids]
    wanted = {production.public_port, production.action_port, *production.worker_ports}
    assert {c.laddr.port for c in listening} >= wanted, listening
    assert {c.laddr.ip for c in listening} == {"127.0.0.1"}, listening


@needs_services
@pytest.mark.e2e
def test_every_rasa_process_runs_without_tensorflow(production):
    """The production profile starts Rasa through the same entry as `make run` (bot/processes/rasa_cli.py)."""
    workers = [process for name, process in production.processes.items() if name.startswith("rasa-")]
    assert len(workers) == production.workers == 2
    for worker in workers:
        assert_without_tensorflow(worker.pid)


async def _conversation(session: aiohttp.ClientSession, url: str, sender: str) -> List[int]:
    answers = []
    for message in MESSAGES:
        async with session.post(url, json={"sender": sender, "message": message}) as response:
            assert response.status == 200
            answers.append(len(await response.json()))
    return answers


async def _load(url: str, senders: List[str], headers: Dict[str, str]) -> List[List[int]]:
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        return await asyncio.gather(*(_conversation(session, url, s) for s in senders))


@needs_services
@pytest.mark.e2e
def test_fifty_concurrent_conversations_complete_and_in_order(production):
    run = uuid.uuid4().hex[:6]
    senders = [f"load-{run}-{i:02d}" for i in range(CONVERSATIONS)]
    answers = asyncio.run(_load(f"{production.public_url}/webhooks/rest/webhook", senders, production.rest_headers()))
    assert all(all(n > 0 for n in per_conversation) for per_conversation in answers), "every message is answered"
    served = (production.workdir / "nginx-access.log").read_text()
    for port in production.worker_ports:  # nginx spread the conversations over both Rasa processes
        assert served.count(f"127.0.0.1:{port} 200") >= CONVERSATIONS, served[-2000:]
    events = _events(production.database_url, senders)
    for sender in senders:
        _assert_complete(events[sender], list(MESSAGES), sender)


def _staff(url: str, route: str, token: str, body: Dict[str, str]) -> Tuple[int, str]:
    request = urllib.request.Request(
        f"{url}/webhooks/staff/{route}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@needs_services
@pytest.mark.e2e
def test_staff_takeover_reaches_a_widget_on_the_other_process_and_never_passes_nginx(production):
    """A widget's socket lives in one Rasa process; the console calls another one on loopback: the staff channel
    relays to the process that has the socket ($STAFF_PEER_URLS). nginx answers 404 for every staff route."""
    from tests.e2e.test_socketio_channel import Client, wait_for

    session = uuid.uuid4().hex
    who = {"sender_id": f"web:{session}", "staff_name": "Aroha"}
    for route in ("takeover", "message", "handback", "relay"):
        assert _staff(production.public_url, route, production.staff_token, who)[0] == 404, route
    first, second = (f"http://{production.host}:{port}" for port in production.worker_ports)
    patient = Client(second, origin=None)  # the socket on the second process
    try:
        patient.join(session)
        patient.say("do I need a GP referral?", session, expect="No referral needed")
        heard = len(patient.answers)
        status, answer = _staff(first, "takeover", production.staff_token, who)  # the console asks the first
        assert (status, json.loads(answer)) == (
            200,
            {"delivered": True, "channel": "web", "reason": None, "paused": True},
        )
        assert wait_for(lambda: any("talking with Aroha" in a.get("text", "") for a in patient.answers), 20)
        patient.say("can I see a physio at the same time?", session)  # on the second process: paused there too
        time.sleep(3)
        assert [a["text"] for a in patient.answers[heard:]] == [
            a["text"] for a in patient.answers[heard:] if "Aroha" in a["text"]
        ], patient.answers[heard:]
        status, answer = _staff(first, "handback", production.staff_token, who)
        assert (status, json.loads(answer)["delivered"]) == (200, True)
        patient.say("do I need a GP referral?", session, expect="No referral needed")
    finally:
        patient.close()


@needs_services
@pytest.mark.e2e
def test_metrics_are_scraped_on_each_process_and_never_through_nginx(production):
    """nginx answers 404 for /metrics however it is spelled; each Rasa process answers on its own port (no
    METRICS_TOKEN here: loopback clients not behind a proxy), and counts the messages nginx gave it, each with the
    time it waited for the conversation's lock in Redis."""
    for path in ("/metrics", "/metrics/", "//metrics", "/%6Detrics", "/webhooks/../metrics", "/metrics?x=1"):
        status, body = get(production.public_url, path)
        assert status == 404 and "clinic_" not in body, (path, status)
    workers = [f"http://{production.host}:{port}" for port in production.worker_ports]
    for url in workers:  # what nginx would add: refused by the process itself too
        assert get(url, "/metrics", {"X-Forwarded-For": "203.0.113.7"})[0] == 403
    before = [scrape(url)[1] for url in workers]
    sender = f"metrics-{uuid.uuid4().hex[:6]}"

    async def two_messages() -> None:
        url = f"{production.public_url}/webhooks/rest/webhook"
        async with aiohttp.ClientSession(headers=production.rest_headers()) as session:
            for message in ("do I need a GP referral?", "where is the clinic?"):
                status, reply = await _say(session, url, sender, message)
                assert status == 200 and reply and UNAVAILABLE_TEXT not in reply

    asyncio.run(two_messages())
    after = [scrape(url)[1] for url in workers]
    pairs = list(zip(before, after))
    assert sum(moved(b, a, "clinic_rasa_messages_received_total", channel="rest") for b, a in pairs) == 2
    received = sum(total(a, "clinic_rasa_messages_received_total") - total(b, "clinic_rasa_messages_received_total")
                   for b, a in pairs)
    assert sum(moved(b, a, "clinic_rasa_lock_wait_seconds_count") for b, a in pairs) == received
    assert all(moved(b, a, "clinic_rasa_technical_problems_total", reason="lock_store") == 0 for b, a in pairs)


def _events(database_url: str, senders: List[str]) -> Dict[str, list]:
    engine = sa.create_engine(database_url, future=True)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT sender_id, type_name, action_name, data FROM events ORDER BY id")
            ).fetchall()
    finally:
        engine.dispose()
    return {sender: [row for row in rows if row.sender_id == namespaced(REST, sender)] for sender in senders}


def _assert_complete(events: list, messages: List[str], sender: str) -> None:
    """Every message stored once, in order, each followed by an answer and `action_listen`."""
    assert [json.loads(row.data)["text"] for row in events if row.type_name == "user"] == list(messages), sender
    kinds = [row.type_name for row in events]
    user_at = [i for i, kind in enumerate(kinds) if kind == "user"] + [len(kinds)]
    for start, end in zip(user_at, user_at[1:]):
        turn = events[start:end]
        assert any(row.type_name == "bot" for row in turn), (sender, start)
        assert turn[-1].action_name == "action_listen", (sender, start)


async def _say(session: aiohttp.ClientSession, url: str, sender: str, message: str) -> Tuple[int, str]:
    async with session.post(url, json={"sender": sender, "message": message}) as response:
        body = await response.json(content_type=None) if response.status == 200 else []
        return response.status, "\n".join(m.get("text", "") for m in body or [])


@needs_services
@pytest.mark.e2e
def test_redis_stopped_clear_error_then_recovers_by_itself(production):
    url = f"{production.public_url}/webhooks/rest/webhook"
    sender = f"redis-{uuid.uuid4().hex[:6]}"
    redis_server = production.lock_service

    async def scenario() -> None:
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout, headers=production.rest_headers()) as session:
            status, reply = await _say(session, url, sender, "hi")
            assert status == 200 and reply and UNAVAILABLE_TEXT not in reply
            for state in ("stopped", "hanging"):
                if state == "stopped":
                    redis_server.stop()
                else:  # the process is there but does not answer: the 2 s socket timeout applies
                    redis_server.process.send_signal(signal.SIGSTOP)
                try:
                    for message in ("where is the clinic?", "what is acupuncture?"):  # both Rasa processes
                        started = time.monotonic()
                        status, reply = await _say(session, url, sender, message)
                        seconds = time.monotonic() - started
                        assert status == 200 and reply == UNAVAILABLE_TEXT, (state, status, reply)
                        assert seconds < 6, (state, seconds)
                finally:
                    if state == "stopped":
                        redis_server.start()
                    else:
                        redis_server.process.send_signal(signal.SIGCONT)
                # back: the next messages are answered normally, by both processes, nothing restarted
                for message in ("do I need a GP referral?", "is there a free consultation?"):
                    status, reply = await _say(session, url, sender, message)
                    assert status == 200 and reply and UNAVAILABLE_TEXT not in reply, (state, reply)

    asyncio.run(scenario())
    # the messages refused while Redis was unavailable were not processed: the patient sends them again
    after = ["do I need a GP referral?", "is there a free consultation?"]
    _assert_complete(_events(production.database_url, [sender])[sender], ["hi", *after, *after], sender)


@needs_services
@pytest.mark.e2e
def test_one_rasa_process_stopped_mid_conversations(production):
    """Runs last: it leaves the module's stack with one Rasa process."""
    url = f"{production.public_url}/webhooks/rest/webhook"
    run = uuid.uuid4().hex[:6]
    senders = [f"stop-{run}-{i:02d}" for i in range(10)]
    acc = f"stop-{run}-acc"
    stopped_at = {}
    access_log = production.workdir / "nginx-access.log"
    before = len(access_log.read_text().splitlines())  # not the 502s of the readiness checks at start-up

    async def faq(session: aiohttp.ClientSession, sender: str, answered: List[int]) -> None:
        for message in MESSAGES:
            status, reply = await _say(session, url, sender, message)
            assert status == 200 and reply, (sender, message, status)
            answered.append(1)

    async def stop_when(answered: List[int]) -> None:
        while len(answered) < 30:  # of 100: the conversations are in the middle
            await asyncio.sleep(0.05)
        stopped_at["answered"] = len(answered)
        await asyncio.to_thread(production.stop_one, "rasa-0")  # SIGTERM: Sanic finishes what it has

    async def scenario() -> None:
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout, headers=production.rest_headers()) as session:
            # the ACC eligibility form, half filled before the stop
            assert "date of your injury" in (await _say(session, url, acc, "check my eligibility"))[1]
            assert "Got it: injury on" in (await _say(session, url, acc, "three weeks ago"))[1]
            assert "ACC45" in (await _say(session, url, acc, "yes"))[1]
            answered: List[int] = []
            await asyncio.gather(*(faq(session, s, answered) for s in senders), stop_when(answered))
            # after the stop: the form continues where it was, on the remaining process
            assert "AB•••45" in (await _say(session, url, acc, "AB 12345"))[1]
            assert "looks eligible" in (await _say(session, url, acc, "I don't know"))[1]

    asyncio.run(scenario())
    assert "rasa-0" not in production.processes and 30 <= stopped_at["answered"] < 100, stopped_at
    events = _events(production.database_url, [*senders, acc])
    for sender in senders:
        _assert_complete(events[sender], list(MESSAGES), sender)
    _assert_complete(
        events[acc], ["check my eligibility", "three weeks ago", "yes", "AB 12345", "I don't know"], acc
    )
    slots = {json.loads(r.data)["name"]: json.loads(r.data)["value"] for r in events[acc] if r.type_name == "slot"}
    assert slots.get("acc45") == "AB12345", slots
    log = access_log.read_text().splitlines()[before:]
    assert len(log) == 3 + 100 + 2, "one request per message"
    assert not [line for line in log if " 200 " not in line], "\n".join(log)
    # the two ACC messages after the stop were answered by the remaining process (the last upstream tried)
    live = f"127.0.0.1:{production.worker_ports[1]}"
    assert [line.split()[-3] for line in log[-2:]] == [live, live], log[-2:]

