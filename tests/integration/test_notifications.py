"""E-mail notifications of new requests, against a real SMTP server on 127.0.0.1 (aiosmtpd) and SQLite in tmp_path.

The outbox's clock is a test clock: retries are due when the test moves it on, nothing sleeps.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import sqlalchemy as sa

from bot.staff import mailer
from bot.staff.mail_settings import MailSettings, SettingsError
from bot.staff.notifications import FAILED, PENDING, SENT, SKIPPED, NotificationOutbox, notifications_table
from bot.storage.booking_requests import BookingRequest, BookingRequestStore, requests_table
from tests.support.smtp_server import Certificates, LocalSMTPServer, SilentServer, free_port, make_certificates

LOGIN = ("clinic-notify", "smtp-pass-7a1c9e")
SENDER_ID = "web:0123456789abcdef0123456789abcdef"
PATIENT = {
    "sender_id": SENDER_ID,
    "channel": "socketio",
    "name": "Aroha Ngata",
    "phone": "021 555 0123",
    "email": "aroha.ngata@example.org",
    "appointment_type": "acc_treatment",
    "acc_details": {"acc45": "AB12345", "injury_date": "2026-03-01", "read_code": "S53.."},
    "note": "sprained my left ankle playing netball",
}
# none of these may be in an e-mail (raw or decoded) or in our logs
HEALTH_INFORMATION = (
    "Aroha", "Ngata", "021 555 0123", "0215550123", "aroha.ngata", "example.org", "AB12345", "2026-03-01", "S53",
    "acc_treatment", "sprain", "ankle", "netball", SENDER_ID, "0123456789abcdef", "socketio",
)  # fmt: skip


class FakeClock:
    """The outbox's clock: starts now, moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("smtp-certificates"))


@pytest.fixture
def store(tmp_path) -> BookingRequestStore:
    return BookingRequestStore(f"sqlite:///{tmp_path / 'requests.sqlite'}")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def secure_server(certificates: Certificates) -> Iterator[LocalSMTPServer]:
    """Offers STARTTLS and requires a login (over TLS), like a real provider on port 587."""
    with LocalSMTPServer(certificates=certificates, starttls=True, login=LOGIN) as server:
        yield server


@pytest.fixture
def plain_server() -> Iterator[LocalSMTPServer]:
    """No TLS, no login."""
    with LocalSMTPServer() as server:
        yield server


def mail_settings(
    port: int, certificates: Optional[Certificates] = None, login: bool = False, **values: Any
) -> MailSettings:
    """Settings for a server on 127.0.0.1:port; `certificates`: trust the test CA; `login`: log in as LOGIN."""
    defaults: Dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_from": "Clinic assistant <assistant@clinic.example>",
        "notify_to": ("reception@clinic.example", "owner@clinic.example"),
        "console_url": "https://console.clinic.example",
        "smtp_ca_file": certificates.ca_file if certificates else None,
        "smtp_username": LOGIN[0] if login else None,
        "smtp_password": LOGIN[1] if login else None,
        "smtp_timeout": 5,
    }
    return MailSettings(**{**defaults, **values})


def make_outbox(store: BookingRequestStore, settings: MailSettings, clock: FakeClock, **options) -> NotificationOutbox:
    return NotificationOutbox(store.engine, settings, clock=clock, clinic_name="Acute Acupuncture", **options)


def add_request(store: BookingRequestStore, kind: str = "booking") -> BookingRequest:
    return store.add(BookingRequest(kind=kind, **PATIENT))


def send_round(outbox: NotificationOutbox) -> int:
    outbox.discover()
    return asyncio.run(outbox.send_due())


def assert_no_health_information(text: str) -> None:
    found = [word for word in HEALTH_INFORMATION if word.lower() in text.lower()]
    assert not found, f"health information in the text: {found}"


def our_log(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.records if record.name.startswith("bot."))


# --- what is sent --------------------------------------------------------------------------------------------------


def test_a_new_request_sends_one_mail_over_starttls_with_no_health_information(
    store, clock, secure_server, certificates, caplog
):
    caplog.set_level(logging.DEBUG)
    outbox = make_outbox(store, mail_settings(secure_server.port, certificates, login=True), clock)
    request = add_request(store)

    assert outbox.discover() == 1
    assert asyncio.run(outbox.send_due()) == 1
    [mail] = secure_server.wait_for(1)

    assert mail.tls and mail.login == LOGIN[0]  # STARTTLS, then the login
    assert mail.rcpt_tos == ("reception@clinic.example", "owner@clinic.example")
    assert mail.mail_from == "assistant@clinic.example"
    raw, text = mail.content.decode("ascii"), mail.text
    assert mail.message["Subject"] == "New call-back request (booking) — Acute Acupuncture"
    assert mailer.nz_time(request.created_at) in text and "(NZ" in text
    assert f"https://console.clinic.example/staff/requests/{request.id}" in raw
    assert_no_health_information(raw)
    assert_no_health_information(text)
    assert_no_health_information(our_log(caplog))
    assert LOGIN[1] not in our_log(caplog)

    status = outbox.status_of([request.id])[request.id]
    assert (status.status, status.attempts, status.last_error) == (SENT, 1, None)
    assert status.sent_at == clock.now and status.kind == "booking"
    assert send_round(outbox) == 0 and len(secure_server.messages) == 1  # once only
    assert store.list()[0].name == "Aroha Ngata"  # the request itself untouched


def test_a_hand_off_request_says_so(store, clock, plain_server):
    outbox = make_outbox(store, mail_settings(plain_server.port), clock)
    add_request(store, kind="handoff")
    assert send_round(outbox) == 1
    [mail] = plain_server.wait_for(1)
    assert mail.message["Subject"] == "New call-back request (talk to a person) — Acute Acupuncture"
    assert not mail.tls  # the plain server offers no STARTTLS: the notice (no health information) goes anyway


def test_tls_from_the_first_byte(store, clock, certificates):
    with LocalSMTPServer(certificates=certificates, implicit_tls=True) as server:
        outbox = make_outbox(store, mail_settings(server.port, certificates, smtp_tls="implicit"), clock)
        add_request(store)
        assert send_round(outbox) == 1
        assert server.wait_for(1)[0].tls


# --- failures: the request stays, the attempt is recorded, retried later -----------------------------------------


def test_server_down_then_back_the_notification_is_retried_later(store, clock, certificates, caplog):
    caplog.set_level(logging.INFO)
    server = LocalSMTPServer(certificates=certificates, starttls=True, login=LOGIN)  # not started: refused
    outbox = make_outbox(store, mail_settings(server.port, certificates, login=True), clock)
    request = add_request(store)

    assert send_round(outbox) == 0
    assert [r.id for r in store.list()] == [request.id]  # the request is kept whatever the mail does
    status = outbox.status_of([request.id])[request.id]
    assert (status.status, status.attempts, status.last_error) == (PENDING, 1, "connection refused")
    assert status.next_attempt_at == clock.now + timedelta(minutes=1)
    assert [p.request_id for p in outbox.problems()] == [request.id]

    clock.advance(timedelta(seconds=59))
    assert send_round(outbox) == 0 and outbox.status_of([request.id])[request.id].attempts == 1  # not due yet

    with server:
        clock.advance(timedelta(seconds=1))
        assert send_round(outbox) == 1
        assert len(server.wait_for(1)) == 1
    status = outbox.status_of([request.id])[request.id]
    assert (status.status, status.attempts, status.last_error) == (SENT, 2, None)
    assert outbox.problems() == []
    log = our_log(caplog)
    assert f"request {request.id} (booking) not sent (connection refused), attempt 1" in log
    assert f"request {request.id} (booking) sent" in log
    assert_no_health_information(log)


def test_after_the_last_attempt_it_is_failed_and_retry_now_sends_it(store, clock, plain_server):
    plain_server.fail_with = "451 4.3.0 Mailbox of reception@clinic.example is busy, Aroha"
    outbox = make_outbox(store, mail_settings(plain_server.port), clock, max_attempts=3)
    request = add_request(store)

    waits: List[timedelta] = []
    for _ in range(3):
        assert send_round(outbox) == 0
        status = outbox.status_of([request.id])[request.id]
        assert status.last_error == "server answered 451"  # the class, never the server's words
        if status.next_attempt_at:
            waits.append(status.next_attempt_at - clock.now)
            clock.advance(waits[-1])
    assert waits == [timedelta(minutes=1), timedelta(minutes=2)]
    assert (status.status, status.attempts, status.next_attempt_at) == (FAILED, 3, None)

    clock.advance(timedelta(days=1))
    assert send_round(outbox) == 0  # given up: no more attempts on its own
    assert [(p.request_id, p.status) for p in outbox.problems()] == [(request.id, FAILED)]

    plain_server.fail_with = None
    assert outbox.retry_now(request.id) is True
    assert send_round(outbox) == 1 and len(plain_server.wait_for(1)) == 1
    assert outbox.status_of([request.id])[request.id].status == SENT
    assert outbox.retry_now(request.id) is False  # sent: nothing to retry
    assert outbox.retry_now(999) is False


def test_a_failed_retry_now_is_failed_again_at_once(store, clock):
    outbox = make_outbox(store, mail_settings(LocalSMTPServer().port), clock, max_attempts=1)  # nothing listens
    request = add_request(store)
    assert send_round(outbox) == 0 and outbox.status_of([request.id])[request.id].status == FAILED
    assert outbox.retry_now(request.id)
    assert send_round(outbox) == 0
    status = outbox.status_of([request.id])[request.id]
    assert (status.status, status.attempts) == (FAILED, 2)


def test_a_server_that_never_answers_is_a_timeout(store, clock):
    silent = SilentServer()
    try:
        outbox = make_outbox(store, mail_settings(silent.port, smtp_timeout=0.5), clock)
        request = add_request(store)
        assert send_round(outbox) == 0
        assert outbox.status_of([request.id])[request.id].last_error == "timeout"
    finally:
        silent.close()


# --- TLS and login: attacks ---------------------------------------------------------------------------------------


def test_smtp_tls_require_refuses_a_server_without_starttls(store, clock, plain_server):
    outbox = make_outbox(store, mail_settings(plain_server.port, smtp_tls="require"), clock)
    request = add_request(store)
    assert send_round(outbox) == 0
    assert plain_server.messages == []
    assert outbox.status_of([request.id])[request.id].last_error == "starttls not offered"


def test_the_password_is_never_sent_without_tls(store, clock, plain_server):
    """A server (or someone in between) that does not offer STARTTLS gets no login and no message."""
    outbox = make_outbox(store, mail_settings(plain_server.port, login=True), clock)
    request = add_request(store)
    assert send_round(outbox) == 0
    assert plain_server.messages == [] and plain_server.failed_logins == 0
    assert outbox.status_of([request.id])[request.id].last_error == "starttls not offered (needed to log in)"


def test_a_certificate_the_client_does_not_trust_is_refused(store, clock, secure_server):
    outbox = make_outbox(store, mail_settings(secure_server.port, None, login=True), clock)  # system CAs only
    request = add_request(store)
    assert send_round(outbox) == 0
    assert secure_server.messages == []
    assert outbox.status_of([request.id])[request.id].last_error == "certificate not trusted"


def test_a_wrong_password_is_recorded_as_auth_failed(store, clock, secure_server, certificates, caplog):
    caplog.set_level(logging.DEBUG)
    settings = mail_settings(secure_server.port, certificates, login=True).copy(update={"smtp_password": "wrong-pw"})
    outbox = make_outbox(store, settings, clock)
    request = add_request(store)
    assert send_round(outbox) == 0
    assert secure_server.failed_logins >= 1 and secure_server.messages == []
    assert outbox.status_of([request.id])[request.id].last_error == "auth failed"
    assert "wrong-pw" not in caplog.text


# --- which requests get a notification -----------------------------------------------------------------------------


def test_a_request_already_old_when_first_seen_is_skipped(store, clock, plain_server):
    old, new = add_request(store), add_request(store, kind="handoff")
    with store.engine.begin() as conn:
        two_days_ago = clock.now - timedelta(days=2)
        conn.execute(requests_table.update().where(requests_table.c.id == old.id).values(created_at=two_days_ago))
    outbox = make_outbox(store, mail_settings(plain_server.port), clock)
    assert outbox.discover() == 2
    assert asyncio.run(outbox.send_due()) == 1
    [mail] = plain_server.wait_for(1)
    assert f"/staff/requests/{new.id}" in mail.text
    statuses = outbox.status_of([old.id, new.id])
    assert (statuses[old.id].status, statuses[new.id].status) == (SKIPPED, SENT)
    assert outbox.retry_now(old.id) is False


def test_a_deleted_requests_row_goes_too(store, clock, plain_server):
    outbox = make_outbox(store, mail_settings(plain_server.port), clock)
    kept, forgotten = store.add(BookingRequest(kind="booking", sender_id="rest:other")), add_request(store)
    assert send_round(outbox) == 2
    store.delete_sender(SENDER_ID)  # "forget me" (retention deletes old requests the same way)
    assert outbox.delete_orphans() == 1
    assert list(outbox.status_of([kept.id, forgotten.id])) == [kept.id]
    assert outbox.delete_orphans() == 0


def test_forgotten_before_sending_means_no_mail(store, clock, plain_server):
    outbox = make_outbox(store, mail_settings(plain_server.port), clock)
    request = add_request(store)
    assert outbox.discover() == 1
    store.delete_sender(SENDER_ID)  # "forget me" between discovery and sending
    assert asyncio.run(outbox.send_due()) == 0
    assert plain_server.messages == []
    assert outbox.delete_orphans() == 1 and outbox.status_of([request.id]) == {}


def test_a_new_request_that_reuses_a_deleted_requests_id_is_mailed(store, clock, plain_server):
    """SQLite gives the id of a deleted newest row to the next one: a row is a request's by id and time."""
    outbox = make_outbox(store, mail_settings(plain_server.port), clock)
    first = add_request(store)
    assert send_round(outbox) == 1
    store.delete_sender(SENDER_ID)
    second = store.add(BookingRequest(kind="handoff", sender_id="rest:someone-else"))
    assert second.id == first.id  # what makes this test mean something
    assert outbox.status_of([second.id]) == {}  # the old row ("sent") is not the new request's
    assert send_round(outbox) == 1  # without delete_orphans in between: discover replaces the stale row
    mails = plain_server.wait_for(2)
    assert "talk to a person" in mails[1].message["Subject"]
    assert outbox.status_of([second.id])[second.id].kind == "handoff"


def test_notifications_off_records_nothing(store, clock):
    outbox = make_outbox(store, MailSettings(), clock)
    add_request(store)
    asyncio.run(outbox.run_once())
    assert not outbox.enabled
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(notifications_table)).scalar() == 0


# --- the worker ----------------------------------------------------------------------------------------------------


def test_the_worker_sends_new_requests_and_outlives_a_database_error(store, plain_server, caplog, monkeypatch):
    caplog.set_level(logging.INFO)
    outbox = NotificationOutbox(store.engine, mail_settings(plain_server.port), clinic_name="Acute Acupuncture")
    real_discover, calls = outbox.discover, []

    def discover_failing_once() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.OperationalError("SELECT ... 'Aroha'", {}, Exception("database is locked"))
        return real_discover()

    monkeypatch.setattr(outbox, "discover", discover_failing_once)
    add_request(store)

    async def scenario() -> None:
        stop = asyncio.Event()
        worker = asyncio.create_task(outbox.run(stop, interval=0.05))
        for _ in range(200):
            if plain_server.messages:
                break
            await asyncio.sleep(0.05)
        add_request(store, kind="handoff")  # arrives while the worker runs
        for _ in range(200):
            if len(plain_server.messages) == 2:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(worker, timeout=10)

    asyncio.run(scenario())
    assert [m.message["Subject"].split(" — ")[0] for m in plain_server.messages] == [
        "New call-back request (booking)",
        "New call-back request (talk to a person)",
    ]
    log = our_log(caplog)
    assert "e-mail notifications of new requests on: 127.0.0.1" in log
    assert "round failed (OperationalError), trying again later" in log
    assert_no_health_information(log)


def test_retry_now_wakes_the_worker(store, plain_server):
    plain_server.fail_with = "451 4.3.0 Try again later"
    outbox = NotificationOutbox(store.engine, mail_settings(plain_server.port), clinic_name="Acute Acupuncture")
    request = add_request(store)

    async def scenario() -> float:
        stop = asyncio.Event()
        worker = asyncio.create_task(outbox.run(stop, interval=600))  # the next round would be in 10 minutes
        while not outbox.problems():
            await asyncio.sleep(0.02)
        plain_server.fail_with = None
        started = asyncio.get_running_loop().time()
        await asyncio.to_thread(outbox.retry_now, request.id)  # as a console route in a thread would
        while not plain_server.messages:
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(worker, timeout=10)
        return asyncio.get_running_loop().time() - started

    assert asyncio.run(asyncio.wait_for(scenario(), timeout=30)) < 5
    assert outbox.status_of([request.id])[request.id].status == SENT


# --- the same SQL on PostgreSQL (the production profile's database) -------------------------------------------------

needs_postgres = pytest.mark.skipif(
    not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")), reason="PostgreSQL is not installed"
)


@needs_postgres
def test_the_same_sql_on_postgresql(clock, plain_server):
    from tests.support.services import LocalPostgres

    workdir = Path(tempfile.mkdtemp(prefix="notifications-pg-"))
    postgres = LocalPostgres(workdir, free_port())
    try:
        store = BookingRequestStore(postgres.start().url)
        outbox = make_outbox(store, mail_settings(plain_server.port), clock, max_attempts=2)
        old, forgotten = add_request(store), add_request(store)
        kept = store.add(BookingRequest(kind="handoff", sender_id="rest:other"))
        with store.engine.begin() as conn:
            two_days_ago = clock.now - timedelta(days=2)
            conn.execute(requests_table.update().where(requests_table.c.id == old.id).values(created_at=two_days_ago))

        plain_server.fail_with = "451 4.3.0 Try again later"
        assert outbox.discover() == 3 and outbox.discover() == 0
        assert asyncio.run(outbox.send_due()) == 0
        assert {p.request_id: (p.status, p.attempts) for p in outbox.problems()} == {
            kept.id: (PENDING, 1),
            forgotten.id: (PENDING, 1),
        }
        store.delete_sender(SENDER_ID)  # deletes `old` and `forgotten`
        assert outbox.delete_orphans() == 2

        plain_server.fail_with = None
        clock.advance(timedelta(minutes=1))
        assert send_round(outbox) == 1
        assert f"/staff/requests/{kept.id}" in plain_server.wait_for(1)[0].text
        status = outbox.status_of([kept.id, old.id, forgotten.id])
        assert list(status) == [kept.id] and status[kept.id].status == SENT
        assert status[kept.id].requested_at == kept.created_at
    finally:
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_from_env_uses_the_requests_database_and_the_mail_settings(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'env.sqlite'}"
    monkeypatch.setenv("BOOKING_REQUESTS_DB_URL", url)
    for field in MailSettings.__fields__.values():
        monkeypatch.delenv(field.field_info.extra["env"], raising=False)
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_FROM", "a@clinic.example")
    monkeypatch.setenv("STAFF_NOTIFY_TO", "b@clinic.example")
    outbox = NotificationOutbox.from_env()
    assert outbox.enabled and outbox.settings.notify_to == ("b@clinic.example",)
    assert str(outbox.engine.url) == url and sa.inspect(outbox.engine).has_table("request_notifications")
    monkeypatch.setenv("SMTP_FROM", "")
    with pytest.raises(SettingsError, match="SMTP_FROM"):
        NotificationOutbox.from_env()
