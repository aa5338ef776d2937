"""De-duplication of Meta's webhook deliveries in the conversations' database (bot/channels/recent_ids.py).

Two `SeenMessages` (or two channels) on the same database file stand for two Rasa processes behind the load
balancer, a new one on the same file for a restart. A throw-away PostgreSQL (as tests/e2e/test_production.py
starts it, ~3 s) checks that the same SQL works there; skipped when PostgreSQL is not installed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator, List

import pytest
import sqlalchemy as sa

from bot.channels import recent_ids
from bot.channels.messenger import MessengerInput
from bot.channels.recent_ids import TABLE_NAME, SeenMessages, conversations_db_url, rasa_tracker_db_url
from bot.channels.settings import ChannelSettings
from bot.channels.webhook_auth import sign
from bot.privacy.retention import TRACKER_DB_URL_ENV
from tests.conftest import free_port

ENV = {"META_APP_SECRET": "s", "META_VERIFY_TOKEN": "v", "MESSENGER_PAGE_ACCESS_TOKEN": "t"}
DAY = 24 * 3600


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'conversations.sqlite'}"


def rows(url: str) -> List[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(f"SELECT dedup_key, seen_at FROM {TABLE_NAME} ORDER BY seen_at")))
    finally:
        engine.dispose()


# -- the store ----------------------------------------------------------------------------------------------


def test_two_processes_on_one_database_handle_a_message_once(db_url):
    first, second = SeenMessages(db_url), SeenMessages(db_url)
    assert first.first_times(["facebook:m_1"]) == [True]
    assert second.first_times(["facebook:m_1"]) == [False]  # the other process got the redelivery
    assert first.first_times(["facebook:m_1"]) == [False]
    assert second.first_times(["facebook:m_2", "facebook:m_1", "facebook:m_2"]) == [True, False, False]
    assert first.first_times(["facebook:m_2"]) == [False]


def test_a_restart_forgets_nothing(db_url):
    before = SeenMessages(db_url)
    assert before.first_times(["instagram:aWdf1", "instagram:aWdf2"]) == [True, True]
    before.close()
    after = SeenMessages(db_url)  # a new process on the same database
    assert after.first_times(["instagram:aWdf2", "instagram:aWdf3", "instagram:aWdf1"]) == [False, True, False]


def test_only_a_hash_of_the_key_is_stored(db_url):
    key = "facebook:2471935872938475:1700000000000:postback:my private words"
    SeenMessages(db_url).first_times([key])
    [(stored, _)] = rows(db_url)
    assert len(stored) == 64 and int(stored, 16) >= 0
    with sqlite3.connect(db_url[len("sqlite:///") :]) as conn:
        dump = "\n".join(conn.iterdump())
    assert "private" not in dump and "2471935872938475" not in dump


def test_entries_expire_after_a_day(db_url):
    clock = Clock()
    one = SeenMessages(db_url, clock=clock, cleanup_every=60)
    other = SeenMessages(db_url, clock=clock, cleanup_every=10**9)  # cleans up once, at its first call
    assert one.first_times(["facebook:old"]) == [True]
    clock.now += DAY - 1
    assert other.first_times(["facebook:old"]) == [False]  # still within the day
    assert one.first_times(["facebook:new"]) == [True]
    clock.now += 2
    # a redelivery more than a day after the first delivery is handled again, once, by whichever process gets
    # it (even one that refused it 2 s ago): the row is older than a day, not deleted yet, and is taken over
    assert other.first_times(["facebook:old"]) == [True]
    assert one.first_times(["facebook:old"]) == [False]
    clock.now += DAY + 1
    assert other.first_times(["facebook:new"]) == [True]
    assert one.first_times(["facebook:new"]) == [False]


def test_expired_rows_are_deleted_at_most_once_a_minute(db_url):
    clock = Clock()
    store = SeenMessages(db_url, clock=clock, cleanup_every=60)
    store.first_times([f"facebook:m{i}" for i in range(5)])
    clock.now += DAY - 30
    store.first_times(["facebook:x"])  # a clean-up: nothing is older than a day
    assert len(rows(db_url)) == 6
    clock.now += 40
    store.first_times(["facebook:y"])  # the five are older than a day, but the last clean-up was 40 s ago
    assert len(rows(db_url)) == 7
    clock.now += 21
    store.first_times(["facebook:z"])
    assert len(rows(db_url)) == 3  # x, y, z
    clock.now += DAY + 60
    assert SeenMessages(db_url, clock=clock).first_times(["facebook:m1"]) == [True]  # deleted: new again


def test_concurrent_deliveries_to_two_processes_are_claimed_once(db_url):
    stores = [SeenMessages(db_url), SeenMessages(db_url)]
    stores[0].first_times(["facebook:warm-up"])  # the table exists
    results: List[bool] = []
    start = threading.Barrier(8)

    def deliver(store: SeenMessages) -> None:
        start.wait()
        results.extend(store.first_times(["facebook:m_race"]))

    threads = [threading.Thread(target=deliver, args=(stores[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [False] * 7 + [True]


def test_an_unreachable_database_never_drops_a_message(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'no-such-directory' / 'conversations.sqlite'}"
    store = SeenMessages(url)
    with caplog.at_level(logging.WARNING, logger="bot.channels"):
        assert store.first_times(["facebook:m_secret_mid"]) == [True]  # handled
        assert store.first_times(["facebook:m_secret_mid"]) == [False]  # this process still knows it
    assert "database unavailable (OperationalError)" in caplog.text and "answered twice" in caplog.text
    assert "m_secret_mid" not in caplog.text and "no-such-directory" not in caplog.text
    # the database comes back: it is the truth again
    (tmp_path / "no-such-directory").mkdir()
    assert store.first_times(["facebook:m_other"]) == [True]
    assert SeenMessages(url).first_times(["facebook:m_other"]) == [False]


def test_a_failing_url_lookup_never_drops_a_message(caplog):
    def broken() -> str:
        raise ValueError("endpoints.yml is broken")

    with caplog.at_level(logging.WARNING, logger="bot.channels"):
        assert SeenMessages(broken).first_times(["facebook:m_1"]) == [True]
    assert "ValueError" in caplog.text


def test_a_hanging_database_does_not_hold_the_webhook(db_url, caplog):
    release = threading.Event()

    def slow_url() -> str:
        release.wait(10)
        return db_url

    store = SeenMessages(slow_url, timeout=0.2)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="bot.channels"):
        assert asyncio.run(store.check(["facebook:m_slow"])) == [True]
    assert time.monotonic() - started < 2
    assert "no answer from the database within" in caplog.text and "m_slow" not in caplog.text
    assert asyncio.run(store.check(["facebook:m_slow"])) == [False]  # known to this process meanwhile
    release.set()
    store.close()


def test_a_claim_that_finishes_just_after_the_timeout_is_still_handled(db_url):
    """The worker claims the message (and remembers it) but answers too late: the message is still new."""
    store = SeenMessages(db_url, timeout=0.2)
    claim = store.first_times

    def claim_then_stall(keys: List[str]) -> List[bool]:
        answers = claim(keys)
        time.sleep(0.5)  # past the timeout, with the key already in this process's memory
        return answers

    store.first_times = claim_then_stall
    assert asyncio.run(store.check(["facebook:m_late"])) == [True]
    store.first_times = claim
    assert asyncio.run(store.check(["facebook:m_late"])) == [False]  # and a redelivery is a duplicate
    store.close()


# -- where the table is -------------------------------------------------------------------------------------


def test_the_database_is_the_conversations_one(monkeypatch, tmp_path):
    tracker = f"sqlite:///{tmp_path / 'tracker.sqlite'}"
    engine = sa.create_engine(tracker)
    # Rasa's agent: FailSafeTrackerStore -> AwaitableTrackerStore -> the SQL store with its engine
    sql_store = SimpleNamespace(engine=engine)
    wrapped = SimpleNamespace(_tracker_store=SimpleNamespace(_tracker_store=sql_store))
    app = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(tracker_store=wrapped)))
    assert rasa_tracker_db_url(app) == tracker
    assert rasa_tracker_db_url(SimpleNamespace(ctx=SimpleNamespace())) is None and rasa_tracker_db_url(None) is None

    monkeypatch.setenv(TRACKER_DB_URL_ENV, "postgresql://rasa:pw@db:5432/rasa")
    assert conversations_db_url(app) == "postgresql://rasa:pw@db:5432/rasa"  # the launcher's, first
    monkeypatch.delenv(TRACKER_DB_URL_ENV)
    assert conversations_db_url(app) == tracker  # the store Rasa loaded
    monkeypatch.setattr(recent_ids, "tracker_db_url", lambda: "sqlite:////from/endpoints.yml")
    assert conversations_db_url(None) == "sqlite:////from/endpoints.yml"  # endpoints.yml
    engine.dispose()


# -- two channels (two Rasa processes) on one database ---------------------------------------------------------


def channel(db_url: str) -> MessengerInput:
    return MessengerInput(ChannelSettings.load(MessengerInput.platform, None, ENV), seen=SeenMessages(db_url))


def test_two_channels_on_one_database_refuse_a_redelivery(db_url):
    event = {"sender": {"id": "2471935872938475"}, "recipient": {"id": "9"}, "timestamp": 1700000000000}
    event["message"] = {"mid": "m_dedup_1", "text": "do I need a GP referral?"}
    body = json.dumps({"object": "page", "entry": [{"id": "9", "time": 1, "messaging": [event]}]}).encode()
    process_a, process_b = channel(db_url), channel(db_url)
    _, _, messages, _ = asyncio.run(process_a.receive(body, sign("s", body)))
    assert [m.mid for m in messages] == ["m_dedup_1"]
    assert asyncio.run(process_b.receive(body, sign("s", body))) == (200, "EVENT_RECEIVED", [], [])
    restarted = channel(db_url)
    assert asyncio.run(restarted.receive(body, sign("s", body))) == (200, "EVENT_RECEIVED", [], [])
    # the Instagram channel shares the table; its keys are its own
    assert len(rows(db_url)) == 1


# -- PostgreSQL ---------------------------------------------------------------------------------------------

needs_postgres = pytest.mark.skipif(
    not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")), reason="PostgreSQL is not installed"
)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    from tests.support.services import LocalPostgres

    workdir = Path(tempfile.mkdtemp(prefix="meta-dedup-pg-"))
    server = LocalPostgres(workdir, free_port())
    try:
        yield server.start().url
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@needs_postgres
def test_the_same_sql_on_postgresql(postgres_url):
    clock = Clock()
    first, second = SeenMessages(postgres_url, clock=clock), SeenMessages(postgres_url, clock=clock)
    try:
        assert first.first_times(["facebook:pg1", "facebook:pg2"]) == [True, True]
        assert second.first_times(["facebook:pg1", "facebook:pg3", "facebook:pg3"]) == [False, True, False]
        assert SeenMessages(postgres_url, clock=clock).first_times(["facebook:pg2"]) == [False]  # a restart
        clock.now += DAY + 1
        assert second.first_times(["facebook:pg1"]) == [True]  # older than a day: taken over
        assert first.first_times(["facebook:pg1"]) == [False]
        assert len(rows(postgres_url)) == 1  # the clean-up deleted pg2 and pg3
    finally:
        first.close()
        second.close()
