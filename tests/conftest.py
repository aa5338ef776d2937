"""Shared fixtures. The real servers start once per test session (loading a model takes a while)."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import yaml

from bot.processes.launcher import Stack
from tests.support.fake_cliniko import FakeCliniko, cliniko_env, profile_section
from tests.support.fake_graph import FakeGraph, meta_env
from tests.support.smtp_server import LocalSMTPServer, make_certificates

ROOT = Path(__file__).resolve().parent.parent
MODEL = Path(os.environ.get("RASA_MODEL", ROOT / "models" / "clinic.tar.gz"))
OUTPUT = ROOT / "tests" / "output"
REPORTS = ROOT / "tests" / "reports"
# sitecustomize.py there injects test-only faults into the servers the tests start (see the module)
FAULTS = ROOT / "tests" / "support" / "faults"
METRICS_TOKEN = "e2e-metrics-token"  # the stack's $METRICS_TOKEN: Rasa's and the web service's /metrics


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_model() -> Path:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run the tests with `make test`, which trains first")
    return MODEL


@pytest.fixture(scope="session")
def fake_graph() -> Iterator[FakeGraph]:
    """A fake Graph API on loopback that records what the Messenger/Instagram channels send."""
    graph = FakeGraph().start()
    try:
        yield graph
    finally:
        graph.stop()


@pytest.fixture(scope="session")
def fake_cliniko() -> Iterator[FakeCliniko]:
    """A fake Cliniko API on loopback (tests/support/fake_cliniko.py): the clinic's practice-management system."""
    fake = FakeCliniko().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def stack_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stack's clinic profile: a copy of clinic_profile.yml that a test may change (actions read it each time)."""
    path = tmp_path_factory.mktemp("profile") / "clinic_profile.yml"
    path.write_text((ROOT / "clinic_profile.yml").read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture
def booking_in_chat(stack: Stack, stack_profile: Path, fake_cliniko: FakeCliniko) -> Iterator[FakeCliniko]:
    """For one test, the stack's clinic books in the chat through the fake Cliniko (booking_provider "cliniko")."""
    original = stack_profile.read_text(encoding="utf-8")
    profile = yaml.safe_load(original)
    profile.update(booking_provider="cliniko", cliniko=profile_section(fake_cliniko))
    stack_profile.write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
    try:
        yield fake_cliniko
    finally:
        stack_profile.write_text(original, encoding="utf-8")


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSMTPServer]:
    """A real SMTP server (aiosmtpd) on loopback offering STARTTLS with a test CA: the clinic's mail server."""
    certificates = make_certificates(tmp_path_factory.mktemp("smtp-tls"))
    server = LocalSMTPServer(certificates=certificates, starttls=True).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    fake_graph: FakeGraph,
    smtp_server: LocalSMTPServer,
    fake_cliniko: FakeCliniko,
    stack_profile: Path,
) -> Iterator[Stack]:
    """The action server and `rasa run`, started as `make run` starts them, on free loopback ports.

    The Messenger/Instagram channels get test secrets and send to the fake Graph API; the web service e-mails new
    requests to the local SMTP server. The clinic profile is `stack_profile` ("link" booking as shipped; the
    `booking_in_chat` fixture makes it book through the fake Cliniko, whose key the action server has).
    """
    require_model()
    for old in (OUTPUT / "logs").glob("*.log"):  # the servers append: test_zz_log_privacy reads this run's logs
        old.unlink()
    data_dir = tmp_path_factory.mktemp("rasa-data")
    web_port = free_port()
    server = Stack(
        rasa_port=free_port(),
        action_port=free_port(),
        web_port=web_port,
        host="127.0.0.1",
        model=str(MODEL),
        tracker_db=str(data_dir / "conversations.sqlite"),
        env={
            **meta_env(fake_graph.url),
            **cliniko_env(fake_cliniko),
            "CLINIKO_TIMEOUT_SECONDS": "2",  # a booking system that does not answer: the patient hears in seconds
            "CLINIC_PROFILE": str(stack_profile),
            "BOOKING_REQUESTS_DB_URL": f"sqlite:///{data_dir / 'requests.sqlite'}",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_server.port),
            "SMTP_CA_FILE": str(smtp_server.certificates.ca_file),
            "SMTP_FROM": "assistant@acuteacupuncture.example",
            "STAFF_NOTIFY_TO": "reception@acuteacupuncture.example",
            "STAFF_NOTIFY_INTERVAL": "1",
            "STAFF_CONSOLE_URL": f"http://127.0.0.1:{web_port}",
            "METRICS_TOKEN": METRICS_TOKEN,  # GET /metrics of Rasa and the web service (tests/e2e/test_metrics.py)
            "LOG_LEVEL": "DEBUG",  # Rasa's most talkative level: the log privacy test checks it is redacted
            "PYTHONPATH": str(FAULTS),
        },
        log_dir=OUTPUT / "logs",
    )
    server.start()
    try:
        server.wait_ready(timeout=600)
        yield server
    finally:
        server.stop()


def rest_send(stack: Stack, sender: str, message: str, timeout: float = 60) -> List[Dict]:
    """POST to the REST channel and return the bot's messages; every message must get at least one reply."""
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
        messages = json.loads(response.read())
    assert messages, f"no reply to {message!r} (sender {sender})"
    return messages


def texts(messages: List[Dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)
