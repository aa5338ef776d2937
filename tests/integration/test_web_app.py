"""The web service's endpoints with FastAPI's TestClient: staff auth, CORS, health/readiness, asset caching."""

from __future__ import annotations

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator

import pytest
from fastapi.testclient import TestClient

from bot.env_settings import SettingsError
from bot.storage.booking_requests import BookingRequest, BookingRequestStore
from bot.web.app import create_app
from bot.web.assets import build_bundle
from bot.web.settings import WebSettings

TOKEN = "s3cret-staff-token-for-tests"
ORIGIN = "https://www.acuteacupuncture.example"
BUNDLE = build_bundle()


@pytest.fixture()
def store(tmp_path: Path) -> BookingRequestStore:
    store = BookingRequestStore(f"sqlite:///{tmp_path / 'requests.sqlite'}")
    store.add(BookingRequest(kind="booking", sender_id="patient-1", channel="socketio", name="Aroha", phone="021"))
    store.add(BookingRequest(kind="handoff", sender_id="patient-2", channel="socketio", note="wants a person"))
    return store


def client(store: BookingRequestStore, **overrides) -> TestClient:
    values = {"rasa_url": "http://127.0.0.1:9", "action_server_url": "http://127.0.0.1:9", "allowed_origins": (ORIGIN,)}
    settings = WebSettings(**{**values, **overrides})
    return TestClient(create_app(settings, bundle=BUNDLE, store_factory=lambda: store))


# ---------- staff API: bearer token from the environment, constant-time check, unset = refuse everything


def test_staff_api_refuses_everything_without_a_configured_token(store):
    api = client(store, staff_api_token=None)
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer None"}, {"Authorization": "Bearer"}):
        response = api.get("/staff/requests", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "requests" not in response.json()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
    ],
)
def test_staff_api_refuses_a_missing_or_wrong_token(store, headers):
    response = client(store, staff_api_token=TOKEN).get("/staff/requests", headers=headers)
    assert response.status_code == 401
    assert response.headers["cache-control"] == "no-store"


def test_staff_api_lists_requests_newest_first(store):
    response = client(store, staff_api_token=TOKEN).get("/staff/requests", headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["count"] == 2
    assert [r["kind"] for r in body["requests"]] == ["handoff", "booking"]
    assert body["requests"][1]["name"] == "Aroha"


def test_staff_api_filters(store):
    api = client(store, staff_api_token=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert [r["sender_id"] for r in api.get("/staff/requests?kind=booking", headers=auth).json()["requests"]] == [
        "patient-1"
    ]
    assert api.get("/staff/requests?sender_id=patient-2", headers=auth).json()["count"] == 1
    assert api.get("/staff/requests?limit=1", headers=auth).json()["count"] == 1
    assert api.get("/staff/requests?kind=other", headers=auth).status_code == 422
    assert api.get("/staff/requests?limit=0", headers=auth).status_code == 422


def test_token_is_compared_in_constant_time():
    import inspect

    from bot.web import staff_api

    assert "hmac.compare_digest" in inspect.getsource(staff_api.token_matches)
    assert staff_api.token_matches("abc", "Bearer abc")
    assert not staff_api.token_matches("abc", "Bearer abd")
    assert not staff_api.token_matches(None, "Bearer ")
    assert not staff_api.token_matches("", "Bearer ")


# ---------- CORS: only the configured origins


def test_cors_allows_a_configured_origin(store):
    api = client(store, staff_api_token=TOKEN)
    preflight = api.options(
        "/staff/requests",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "GET" in preflight.headers["access-control-allow-methods"]
    simple = api.get("/healthz", headers={"Origin": ORIGIN})
    assert simple.headers["access-control-allow-origin"] == ORIGIN


def test_cors_refuses_other_origins(store):
    api = client(store, staff_api_token=TOKEN)
    preflight = api.options(
        "/staff/requests",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    simple = api.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers
    not_allowed_method = api.options(
        "/staff/requests", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"}
    )
    assert not_allowed_method.status_code == 400


# ---------- health and readiness


class _Answer(BaseHTTPRequestHandler):
    routes: Dict[str, int] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        status = self.routes.get(self.path, 404)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def fake_servers() -> Iterator[Dict[str, str]]:
    """A fake Rasa (GET /webhooks/ready/ -> 200) and a fake action server (GET /health -> 200)."""
    servers = {}
    for name, path in (("rasa", "/webhooks/ready/"), ("actions", "/health")):
        handler = type(f"{name}Handler", (_Answer,), {"routes": {path: 200}})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[name] = server
    yield {name: f"http://127.0.0.1:{server.server_address[1]}" for name, server in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


def test_healthz_answers_without_dependencies(store):
    response = client(store).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "widget": {"version": BUNDLE.version, "file": BUNDLE.filename}}


def test_readyz_when_rasa_and_actions_answer(store, fake_servers):
    api = client(store, rasa_url=fake_servers["rasa"], action_server_url=fake_servers["actions"])
    response = api.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["rasa"] == {"ok": True, "url": f"{fake_servers['rasa']}/webhooks/ready/", "status": 200}
    assert body["checks"]["actions"]["ok"] is True
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("down", ["rasa", "actions"])
def test_readyz_is_503_when_one_is_down(store, fake_servers, down):
    urls = dict(fake_servers)
    urls[down] = "http://127.0.0.1:9"  # discard port: nothing listens
    response = client(store, rasa_url=urls["rasa"], action_server_url=urls["actions"]).get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks[down]["ok"] is False and checks[down]["error"]
    assert all(check["ok"] for name, check in checks.items() if name != down)


def test_readyz_when_a_dependency_answers_an_error(store, fake_servers):
    response = client(store, rasa_url=fake_servers["rasa"] + "/nowhere", action_server_url=fake_servers["actions"]).get(
        "/readyz"
    )
    assert response.status_code == 503
    assert response.json()["checks"]["rasa"]["status"] == 404


# ---------- assets: a short-cached loader, an immutable content-hashed bundle


def test_loader_is_short_cached_and_points_at_the_versioned_bundle(store):
    response = client(store, rasa_public_url="https://chat.example").get("/widget.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "immutable" not in response.headers["cache-control"]
    assert f"widget/{BUNDLE.filename}" in response.text
    assert '"serverUrl": "https://chat.example"' in response.text
    # the footnote under the widget's input: its emergency number from domain/facts.yml, through the domain
    assert '"footnote": "Automated assistant, not medical advice. In an emergency call 111."' in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


def test_bundle_is_immutable_under_its_content_hash(store):
    api = client(store)
    response = api.get(f"/widget/{BUNDLE.filename}", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.content == BUNDLE.script.body
    assert "content-encoding" not in response.headers
    assert api.get("/widget/widget.000000000000.js").status_code == 404
    assert api.get("/widget/widget.000000000000.js").headers["cache-control"] == "no-store"


def test_assets_are_gzipped_and_revalidated_with_etags(store):
    api = client(store)
    for path in ("/widget.js", f"/widget/{BUNDLE.filename}"):
        raw = api.get(path, headers={"Accept-Encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip"
        assert raw.headers["vary"] == "Accept-Encoding"
        etag = raw.headers["etag"]
        again = api.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["cache-control"] == raw.headers["cache-control"]
    assert len(gzip.compress(BUNDLE.script.body)) < 30_000


def test_loader_is_503_when_the_widget_is_not_installed(store, tmp_path):
    settings = WebSettings(widget_dir=tmp_path, staff_api_token=None)
    (tmp_path / "package.json").write_text('{"version": "1.0.0", "dependencies": {"socket.io-client": "4.8.4"}}')
    api = TestClient(create_app(settings, store_factory=lambda: store))
    assert api.get("/widget.js").status_code == 503
    assert api.get("/healthz").json()["widget"] == "missing"
    assert "not available" in api.get("/").text


# ---------- the demo page


def test_demo_page_has_the_clinic_facts_and_one_widget_tag(store):
    response = client(store, rasa_public_url="https://chat.example").get("/")
    assert response.status_code == 200
    page = response.text
    assert "Acute Acupuncture" in page and "163 The Terrace, Wellington Central" in page
    assert "15-minute consultation" in page
    assert page.count("<script") == 1 and 'src="/widget.js"' in page
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "https://chat.example" in csp and "wss://chat.example" in csp
    assert response.headers["x-frame-options"] == "DENY"


def test_no_api_docs_are_exposed(store):
    api = client(store)
    assert api.get("/docs").status_code == 404
    assert api.get("/openapi.json").status_code == 404


# ---------- settings from the environment


@pytest.fixture(autouse=True)
def no_web_settings_in_the_environment(monkeypatch):
    """WebSettings reads the environment for every field not given: none of the developer's variables here."""
    for field in WebSettings.__fields__.values():
        monkeypatch.delenv(field.field_info.extra["env"], raising=False)


def test_settings_from_environment(monkeypatch):
    for name, value in {
        "WEB_PORT": "8123",
        "RASA_URL": "http://rasa:5005/",
        "ACTION_SERVER_URL": "http://actions:5055",
        "WEB_ALLOWED_ORIGINS": "https://a.example, https://b.example/",
        "STAFF_API_TOKEN": "t",
    }.items():
        monkeypatch.setenv(name, value)
    settings = WebSettings.from_env()
    assert settings.port == 8123
    assert settings.rasa_url == "http://rasa:5005" and settings.browser_rasa_url == "http://rasa:5005"
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.staff_api_token == "t" and "'t'" not in repr(settings)
    for name in ("WEB_PORT", "RASA_URL", "ACTION_SERVER_URL", "WEB_ALLOWED_ORIGINS", "STAFF_API_TOKEN"):
        monkeypatch.setenv(name, "")  # set but empty: the default
    defaults = WebSettings.from_env()
    assert defaults.allowed_origins == ("http://127.0.0.1:8000", "http://localhost:8000")
    assert defaults.staff_api_token is None and defaults.rasa_url == "http://127.0.0.1:5005"
    monkeypatch.setenv("RASA_PUBLIC_URL", "https://chat.example")
    assert WebSettings.from_env().browser_rasa_url == "https://chat.example"


def test_wrong_settings_name_their_variable(monkeypatch):
    monkeypatch.setenv("WEB_PORT", "eighty")
    monkeypatch.setenv("WEB_ACCESS_LOG", "sometimes")
    monkeypatch.setenv("STAFF_API_TOKEN", "never-in-a-message")
    with pytest.raises(SettingsError) as error:
        WebSettings.from_env()
    assert str(error.value) == (
        "invalid settings of the web service: WEB_PORT: value is not a valid integer; "
        "WEB_ACCESS_LOG: value could not be parsed to a boolean"
    )
