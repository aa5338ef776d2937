"""The web service's `GET /metrics` (bot/web/metrics.py) over FastAPI's TestClient and httpx's ASGI transport.

Attacks first: a scrape without the token, with a wrong one, from another host, through a proxy; a path holding a
conversation reference or an ACC45 number, an invented HTTP method: none may become a label. Then what moves: the
request counter under its route template, the latency histogram, staff log-ins by result, e-mail notifications.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.storage.booking_requests import BookingRequestStore
from bot.web.app import create_app
from bot.web.assets import build_bundle
from bot.web.settings import WebSettings
from tests.integration.test_notifications import FakeClock, add_request, mail_settings, make_outbox, send_round
from tests.integration.test_staff_console import PASSWORD, log_in
from tests.support.smtp_server import LocalSMTPServer

TOKEN = "metrics-token-for-integration-tests"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
BUNDLE = build_bundle()
REF = "Zq7RkP2mXw"  # looks like a conversation reference: must never be a label


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BookingRequestStore:
    monkeypatch.setenv("RASA_TRACKER_DB_URL", f"sqlite:///{tmp_path / 'conversations.sqlite'}")
    return BookingRequestStore(f"sqlite:///{tmp_path / 'requests.sqlite'}")


def app_with(store: BookingRequestStore, token: Optional[str]):
    settings = WebSettings(rasa_url="http://127.0.0.1:9", action_server_url="http://127.0.0.1:9", metrics_token=token)
    return create_app(settings, bundle=BUNDLE, store_factory=lambda: store)


@pytest.fixture()
def client(store: BookingRequestStore) -> Iterator[TestClient]:
    app = app_with(store, TOKEN)
    app.state.web.staff()  # the console's tables made now, not by the analytics task while a test makes an outbox
    with TestClient(app) as test_client:
        yield test_client


Samples = Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]


def scrape(client: TestClient) -> Tuple[str, Samples]:
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return response.text, samples


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# -- who may read it ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": TOKEN},
     {"Authorization": f"Basic {TOKEN}"}, {"X-Forwarded-For": "127.0.0.1"}],
)
def test_with_a_token_a_scrape_without_it_is_refused(client, headers):
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
    assert "clinic_" not in response.text and "process_" not in response.text


def loopback_get(app, headers: Dict[str, str], client_ip: str = "127.0.0.1") -> httpx.Response:
    """GET /metrics as a client at `client_ip` (the ASGI scope's client, as uvicorn sets it from the socket)."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(client_ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            return await http.get("/metrics", headers=headers)

    return asyncio.run(go())


def test_without_a_token_only_a_direct_loopback_client_may_read(store):
    app = app_with(store, None)
    assert loopback_get(app, {}).status_code == 200
    assert loopback_get(app, {}, client_ip="::1").status_code == 200
    for headers in ({"X-Forwarded-For": "203.0.113.9"}, {"X-Real-IP": "127.0.0.1"}, {"Forwarded": "for=1.2.3.4"}):
        response = loopback_get(app, headers)  # behind nginx everything comes from loopback: the header gives it away
        assert response.status_code == 403 and "clinic_" not in response.text, headers
    assert loopback_get(app, {}, client_ip="192.168.1.50").status_code == 403
    assert loopback_get(app, {"Authorization": "Bearer anything"}, client_ip="10.0.0.2").status_code == 403
    with TestClient(app) as test_client:  # TestClient's client is "testclient": not loopback
        assert test_client.get("/metrics").status_code == 403


# -- what is measured -----------------------------------------------------------------------------------------------


def test_a_request_moves_its_routes_counter_under_the_template_never_the_path(client):
    _, before = scrape(client)
    template = "/staff/conversations/{ref}"
    for _ in range(2):
        assert client.get(f"/staff/conversations/{REF}", follow_redirects=False).status_code == 303  # log in first
    assert client.get("/no/such/page/AB12345").status_code == 404
    assert client.request("PROPFIND", f"/staff/{REF}").status_code in (404, 405)
    assert client.get("/staff/static/console.css").status_code == 200
    assert client.get("/healthz").status_code == 200
    text, after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("clinic_web_requests_total", route=template, method="GET", status="3xx") == 2
    assert moved("clinic_web_request_duration_seconds_count", route=template) == 2
    assert moved("clinic_web_requests_total", route="unmatched", method="GET", status="4xx") == 1
    assert moved("clinic_web_requests_total", route="unmatched", method="other", status="4xx") == 1
    assert moved("clinic_web_requests_total", route="/staff/static/{path}", method="GET", status="2xx") == 1
    assert moved("clinic_web_requests_total", route="/healthz", method="GET", status="2xx") == 1
    assert moved("clinic_web_requests_total", route="/metrics", method="GET", status="2xx") == 1  # the first scrape
    for leaked in (REF, "AB12345", "PROPFIND", "console.css", "/no/such"):
        assert leaked not in text, leaked
    assert sample(after, "process_resident_memory_bytes") > 0  # the library's process metrics


def test_a_route_that_fails_is_counted_as_a_5xx(store, monkeypatch):
    app = app_with(store, TOKEN)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("route failed")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        _, before = scrape(test_client)
        assert test_client.get("/boom").status_code == 500
        _, after = scrape(test_client)
    labels = {"route": "/boom", "method": "GET", "status": "5xx"}
    assert sample(after, "clinic_web_requests_total", **labels) - sample(before, "clinic_web_requests_total", **labels)


def test_staff_log_ins_are_counted_by_result(client, store):
    client.app.state.web.staff().accounts.create("aroha", "Aroha", PASSWORD)
    _, before = scrape(client)
    assert log_in(client, password="wrong password").status_code == 401
    assert log_in(client).status_code == 303
    expired = client.post("/staff/login", data={"username": "aroha", "password": PASSWORD, "login_csrf": "old"})
    assert expired.status_code == 403
    _, after = scrape(client)
    moved = {
        result: sample(after, "clinic_web_staff_logins_total", result=result)
        - sample(before, "clinic_web_staff_logins_total", result=result)
        for result in ("success", "wrong_credentials", "locked_out", "form_expired")
    }
    assert moved == {"success": 1, "wrong_credentials": 1, "locked_out": 0, "form_expired": 1}


def test_email_notifications_are_counted_by_outcome(client, store):
    clock = FakeClock()
    _, before = scrape(client)
    outbox = make_outbox(store, mail_settings(LocalSMTPServer().port), clock, max_attempts=2)  # nothing listens
    add_request(store)
    assert send_round(outbox) == 0  # failed, tried again later
    clock.advance(timedelta(minutes=2))
    assert send_round(outbox) == 0  # the last attempt: given up
    with LocalSMTPServer() as server:
        outbox = make_outbox(store, mail_settings(server.port), clock)
        add_request(store)
        assert send_round(outbox) == 1
    _, after = scrape(client)
    moved = {
        outcome: sample(after, "clinic_web_email_notifications_total", outcome=outcome)
        - sample(before, "clinic_web_email_notifications_total", outcome=outcome)
        for outcome in ("sent", "failed", "given_up")
    }
    assert moved == {"sent": 1, "failed": 1, "given_up": 1}
