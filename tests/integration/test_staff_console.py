"""The staff console over FastAPI's TestClient: accounts, sessions, CSRF, lock-out, inbox, masking, audit.

Attacks first: no session, no or another CSRF token, a foreign Origin, brute force, session fixation, a session
used after log-out or idle too long. The browser test (tests/e2e/test_staff_console_browser.py) runs the pages
in Chromium against the real servers.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, Tuple

import pytest
from fastapi.testclient import TestClient

from bot.staff import accounts as accounts_module
from bot.staff.audit import CHANGED_STATUS, SHOWED_DETAILS, VIEWED_REQUEST
from bot.storage.booking_requests import BookingRequest, BookingRequestStore
from bot.web.app import create_app
from bot.web.assets import build_bundle
from bot.web.settings import WebSettings

PASSWORD = "correct horse battery staple"
BUNDLE = build_bundle()
ACC45 = "AB12345"


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BookingRequestStore:
    monkeypatch.setenv("RASA_TRACKER_DB_URL", f"sqlite:///{tmp_path / 'conversations.sqlite'}")
    store = BookingRequestStore(f"sqlite:///{tmp_path / 'requests.sqlite'}")
    store.add(
        BookingRequest(
            kind="booking",
            sender_id="web:" + "a" * 32,
            channel="socketio",
            name="Aroha Ngata",
            phone="021 123 4567",
            email="aroha@example.co.nz",
            appointment_type="acc_treatment",
            acc_details={
                "acc45": ACC45,
                "claim_status": "accepted",
                "injury_date": "2026-11-20",
                "eligibility": "eligible",
            },
        )
    )
    store.add(
        BookingRequest(kind="handoff", sender_id="messenger:998877", channel="facebook", name="Sam", phone="0211112222")
    )
    return store


@pytest.fixture()
def app_client(store: BookingRequestStore) -> Iterator[TestClient]:
    settings = WebSettings(rasa_url="http://127.0.0.1:9", action_server_url="http://127.0.0.1:9")
    app = create_app(settings, bundle=BUNDLE, store_factory=lambda: store)
    staff = app.state.web.staff()
    staff.accounts.create("aroha", "Aroha", PASSWORD)
    staff.accounts.create("mere", "Mere", PASSWORD + "!")
    with TestClient(app) as client:
        yield client


def login_token(client: TestClient) -> str:
    page = client.get("/staff/login")
    return re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)


def log_in(client: TestClient, username: str = "aroha", password: str = PASSWORD, next_path: str = "/staff/"):
    token = login_token(client)
    return client.post(
        "/staff/login",
        data={"username": username, "password": password, "login_csrf": token, "next": next_path},
        follow_redirects=False,
    )


def csrf_of(client: TestClient, path: str = "/staff/") -> str:
    return re.search(r'data-csrf="([^"]+)"', client.get(path).text).group(1)


def logged_in(client: TestClient, username: str = "aroha", password: str = PASSWORD) -> Tuple[TestClient, str]:
    assert log_in(client, username, password).status_code == 303
    return client, csrf_of(client)


# ---------- no session: every page redirects to the log-in, every script route answers 401

PAGES = ["/staff/", "/staff/requests/1", "/staff/conversations", "/staff/audit", "/staff/conversations/abc"]
JSON_ROUTES = ["/staff/inbox.json", "/staff/conversations.json", "/staff/conversations/abc/entries"]
POSTS = [
    "/staff/requests/1/status",
    "/staff/requests/1/show",
    "/staff/requests/1/notify",
    "/staff/logout",
    "/staff/conversations/abc/takeover",
    "/staff/conversations/abc/handback",
    "/staff/conversations/abc/message",
    "/staff/conversations/abc/show",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_without_a_session_go_to_the_log_in(app_client, path):
    response = app_client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login?next=")
    assert "Aroha" not in response.text and ACC45 not in response.text


@pytest.mark.parametrize("path", JSON_ROUTES)
def test_script_routes_without_a_session_answer_401(app_client, path):
    response = app_client.get(path)
    assert response.status_code == 401
    assert "rows" not in response.text


@pytest.mark.parametrize("path", POSTS)
def test_posts_without_a_session_change_nothing(app_client, store, path):
    response = app_client.post(path, data={"status": "done", "text": "hi", "csrf_token": "x"}, follow_redirects=False)
    assert response.status_code in (303, 401, 403)
    assert response.headers.get("location", "/staff/login").startswith("/staff/login")
    assert store.get(1).status == "new"


def test_a_bearer_token_or_forged_cookie_is_no_session(app_client):
    for cookies in ({"staff_session": "forged"}, {"staff_session": "a" * 43}, {"staff_session": "x" * 5000}):
        app_client.cookies.clear()
        app_client.cookies.update(cookies)
        assert app_client.get("/staff/", follow_redirects=False).status_code == 303
    app_client.cookies.clear()
    assert (
        app_client.get("/staff/", headers={"Authorization": "Bearer anything"}, follow_redirects=False).status_code
        == 303
    )


# ---------- log-in


def test_log_in_sets_a_safe_cookie_and_redirects_back(app_client):
    response = log_in(app_client, next_path="/staff/requests/1")
    assert response.status_code == 303 and response.headers["location"] == "/staff/requests/1"
    cookie = response.headers["set-cookie"]
    assert "staff_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/staff" in cookie
    assert "Secure" not in cookie  # plain http on loopback; see the https test


def test_the_cookie_is_secure_over_https(store):
    settings = WebSettings(rasa_url="http://127.0.0.1:9", action_server_url="http://127.0.0.1:9")
    app = create_app(settings, bundle=BUNDLE, store_factory=lambda: store)
    app.state.web.staff().accounts.create("aroha", "Aroha", PASSWORD)
    with TestClient(app, base_url="https://testserver") as client:
        assert "Secure" in log_in(client).headers["set-cookie"]


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "/other"]
)
def test_log_in_never_redirects_off_the_console(app_client, target):
    assert log_in(app_client, next_path=target).headers["location"] == "/staff/"


def test_wrong_password_and_unknown_user_get_the_same_answer(app_client):
    wrong = log_in(app_client, password="not it at all")
    unknown = log_in(app_client, username="nobody", password="not it at all")
    assert wrong.status_code == unknown.status_code == 401
    assert (
        "The user name or password is not right." in wrong.text
        and "The user name or password is not right." in unknown.text
    )
    assert "staff_session=" not in wrong.headers.get("set-cookie", "")


def test_log_in_without_the_forms_token_is_refused(app_client):
    response = app_client.post("/staff/login", data={"username": "aroha", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    login_token(app_client)
    forged = app_client.post(
        "/staff/login", data={"username": "aroha", "password": PASSWORD, "login_csrf": "guess"}, follow_redirects=False
    )
    assert forged.status_code == 403 and "staff_session" not in forged.headers.get("set-cookie", "")


def test_brute_force_locks_the_user_name(app_client):
    for _ in range(accounts_module.MAX_FAILURES):
        assert log_in(app_client, password="guess-guess-guess").status_code in (401, 429)
    locked = log_in(app_client)  # even the right password
    assert locked.status_code == 429 and "Too many failed log-ins" in locked.text
    assert "staff_session=" not in locked.headers.get("set-cookie", "")
    # another account is not locked
    assert log_in(app_client, "mere", PASSWORD + "!").status_code == 303


def test_an_unknown_user_name_locks_too(app_client):
    for _ in range(accounts_module.MAX_FAILURES):
        log_in(app_client, username="ghost", password="guess-guess-guess")
    assert log_in(app_client, username="ghost", password="guess-guess-guess").status_code == 429


def test_the_lock_ends_after_its_time(app_client):
    staff = app_client.app.state.web.staff()
    for _ in range(accounts_module.MAX_FAILURES):
        log_in(app_client, password="guess-guess-guess")
    assert log_in(app_client).status_code == 429
    later = datetime.now(timezone.utc) + accounts_module.LOCK_TIME + timedelta(seconds=1)
    staff.accounts.clock = lambda: later
    assert log_in(app_client).status_code == 303


def test_session_fixation_a_cookie_set_before_log_in_never_becomes_a_session(app_client):
    app_client.cookies.set("staff_session", "attacker-chosen-token-value-0123456789abcdef", path="/staff")
    response = log_in(app_client)
    new = re.search(r"staff_session=([^;]+)", response.headers["set-cookie"]).group(1)
    assert new != "attacker-chosen-token-value-0123456789abcdef"
    app_client.cookies.clear()
    app_client.cookies.set("staff_session", "attacker-chosen-token-value-0123456789abcdef", path="/staff")
    assert app_client.get("/staff/", follow_redirects=False).status_code == 303


def test_a_session_copied_before_log_out_is_dead_after_it(app_client):
    client, csrf = logged_in(app_client)
    stolen = client.cookies.get("staff_session")
    assert client.post("/staff/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.set("staff_session", stolen, path="/staff")
    assert client.get("/staff/", follow_redirects=False).status_code == 303
    assert client.get("/staff/inbox.json").status_code == 401


def test_a_session_ends_after_idle_time(app_client):
    client, _ = logged_in(app_client)
    sessions = client.app.state.web.staff().sessions
    later = datetime.now(timezone.utc) + sessions.idle + timedelta(seconds=1)
    sessions.clock = lambda: later
    assert client.get("/staff/", follow_redirects=False).status_code == 303


def test_log_out_needs_the_csrf_token(app_client):
    client, _ = logged_in(app_client)
    assert client.post("/staff/logout", data={}, follow_redirects=False).status_code == 403
    assert client.get("/staff/", follow_redirects=False).status_code == 200


# ---------- CSRF on every form


def test_csrf_missing_wrong_or_from_another_session_is_refused(app_client, store):
    other = TestClient(app_client.app)
    _, other_csrf = logged_in(other, "mere", PASSWORD + "!")
    client, csrf = logged_in(app_client)
    for data in (
        {"status": "done"},
        {"status": "done", "csrf_token": "wrong"},
        {"status": "done", "csrf_token": other_csrf},
    ):
        assert client.post("/staff/requests/1/status", data=data, follow_redirects=False).status_code == 403
    assert store.get(1).status == "new"
    foreign = client.post(
        "/staff/requests/1/status",
        data={"status": "done", "csrf_token": csrf},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert foreign.status_code == 403 and store.get(1).status == "new"
    ok = client.post("/staff/requests/1/status", data={"status": "done", "csrf_token": csrf}, follow_redirects=False)
    assert ok.status_code == 303 and store.get(1).status == "done"


# ---------- inbox, request, audit


def test_inbox_lists_requests_newest_first_with_the_new_count_in_the_title(app_client):
    client, _ = logged_in(app_client)
    page = client.get("/staff/")
    assert "<title>(2) Inbox" in page.text
    assert page.text.index("/staff/requests/2") < page.text.index("/staff/requests/1")
    assert "Call-back to book" in page.text and "Call-back: wants a person" in page.text
    assert "Aroha Ngata" not in page.text and "021 123 4567" not in page.text  # details only on the request page
    assert (
        page.headers["cache-control"] == "no-store"
        and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    )
    news = client.get("/staff/inbox.json").json()
    assert news["new"] == 2 and news["latest"] == 2 and "/staff/requests/1" in news["rows"]
    only = client.get("/staff/?kind=handoff").text
    assert "/staff/requests/2" in only and '/staff/requests/1"' not in only


def test_status_changes_record_who_and_when(app_client, store):
    client, csrf = logged_in(app_client)
    client.post("/staff/requests/1/status", data={"status": "in_progress", "csrf_token": csrf})
    changed = store.get(1)
    assert changed.status == "in_progress" and changed.status_by == "aroha" and changed.status_at is not None
    page = client.get("/staff/requests/1").text
    assert "In progress" in page and "by aroha" in page
    assert "<title>(1) Inbox" in client.get("/staff/").text
    assert client.get("/staff/?status=in_progress").text.count("/staff/requests/") == 1
    audit = client.app.state.web.staff().audit.entries(request_id=1)
    assert any(e.action == CHANGED_STATUS and e.username == "aroha" and e.detail == "new → in_progress" for e in audit)


def test_a_request_hides_details_until_shown_and_the_audit_log_records_both(app_client):
    client, csrf = logged_in(app_client)
    page = client.get("/staff/requests/1").text
    for detail in ("Aroha Ngata", "021 123 4567", "aroha@example.co.nz", ACC45):
        assert detail not in page
    assert "ACC treatment" in page  # what was asked is not hidden
    shown = client.post("/staff/requests/1/show", data={"csrf_token": csrf})
    for detail in ("Aroha Ngata", "021 123 4567", "aroha@example.co.nz", ACC45):
        assert detail in shown.text
    assert 'href="tel:0211234567"' in shown.text
    actions = [(e.action, e.username) for e in client.app.state.web.staff().audit.entries(request_id=1)]
    assert (VIEWED_REQUEST, "aroha") in actions and (SHOWED_DETAILS, "aroha") in actions
    audit_page = client.get("/staff/audit").text
    assert "showed hidden details" in audit_page and "viewed request" in audit_page and "request #1" in audit_page
    assert "Aroha Ngata" not in audit_page and ACC45 not in audit_page


def test_a_change_request_hides_what_the_patient_wrote_and_a_failed_booking_shows_why(app_client, store):
    wrote = "cant make it tomorrow, my back is worse"
    change = store.add(
        BookingRequest(kind="change", sender_id="web:" + "c" * 32, name="Rua", phone="0211112222", note=wrote)
    )
    failed = store.add(
        BookingRequest(
            kind="booking",
            sender_id="web:" + "d" * 32,
            name="Tama",
            phone="0225550199",
            appointment_type="free_consult",
            note="Booking in the chat failed: the booking system did not answer in time. The patient chose Tue 2 Dec, "
            "10:30am with Mere. It may have been booked anyway: check the booking system first.",
        )
    )
    client, csrf = logged_in(app_client)
    inbox = client.get("/staff/").text
    assert "Change or cancel an appointment" in inbox and wrote not in inbox
    page = client.get(f"/staff/requests/{change.id}").text
    assert "The patient wrote" in page and wrote not in page
    assert wrote in client.post(f"/staff/requests/{change.id}/show", data={"csrf_token": csrf}).text
    page = client.get(f"/staff/requests/{failed.id}").text
    assert "did not answer in time" in page and "check the booking system first" in page and "Tama" not in page


def test_an_unknown_request_is_404_not_an_error(app_client):
    client, _ = logged_in(app_client)
    assert client.get("/staff/requests/999").status_code == 404
    assert client.get("/staff/requests/abc").status_code == 422


def test_the_bearer_token_api_keeps_working_for_scripts(store):
    settings = WebSettings(
        rasa_url="http://127.0.0.1:9", action_server_url="http://127.0.0.1:9", staff_api_token="tok-123"
    )
    client = TestClient(create_app(settings, bundle=BUNDLE, store_factory=lambda: store))
    listed = client.get("/staff/requests", headers={"Authorization": "Bearer tok-123"}).json()
    assert listed["count"] == 2 and listed["requests"][0]["status"] == "new"
    assert client.get("/staff/requests").status_code == 401


def test_an_old_requests_table_gets_the_status_columns(tmp_path):
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE booking_requests (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at DATETIME NOT NULL, "
                "kind VARCHAR(16) NOT NULL, sender_id VARCHAR(255) NOT NULL, channel VARCHAR(64), name VARCHAR(200), "
                "phone VARCHAR(40), email VARCHAR(254), appointment_type VARCHAR(40), acc_details TEXT, note TEXT)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO booking_requests (created_at, kind, sender_id) "
                "VALUES ('2026-11-01 10:00:00', 'booking', 'p1')"
            )
        )
    store = BookingRequestStore(url)
    assert store.get(1).status == "new"
    assert "ix_booking_requests_status" in {
        index["name"] for index in sa.inspect(store.engine).get_indexes("booking_requests")
    }
    BookingRequestStore(url)  # opening it again changes nothing
    assert store.set_status(1, "done", by="aroha").status == "done"


def test_create_user_command(tmp_path, monkeypatch, capsys):
    import io

    from bot.staff import create_user

    url = f"sqlite:///{tmp_path / 'users.sqlite'}"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert create_user.main(["--db-url", url, "--username", "Sam", "--first-name", "Sam", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert create_user.main(["--db-url", url, "--username", "kim", "--first-name", "Kim", "--password-stdin"]) == 1
    assert "at least 12 characters" in capsys.readouterr().err
    from bot.staff.accounts import StaffAccounts
    from bot.storage.booking_requests import shared_store

    accounts = StaffAccounts(shared_store(url).engine)
    assert [u.username for u in accounts.list()] == ["sam"]
    assert accounts.log_in("SAM ", PASSWORD).user.first_name == "Sam"
    row = accounts.engine.connect().execute(accounts_module.users_table.select()).first()
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash


def test_the_conversation_of_a_request_is_shown_with_details_hidden(app_client, tmp_path):
    """Patient messages and the assistant's replies that repeat them are masked; emergency numbers are not."""
    import asyncio

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.from_dict({"slots": {"contact_name": {"type": "text", "mappings": [{"type": "custom"}]}}})
    tracker_store = SQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "conversations.sqlite"))
    events = [
        ActionExecuted("action_listen"),
        UserUttered("pls call me, im Aroha Ngata", {"name": "request_contact", "confidence": 0.91}),
        SlotSet("contact_name", "Aroha Ngata"),
        BotUttered("Thanks, Aroha Ngata. If it gets worse call Healthline on 0800 611 116, or 111."),
        UserUttered("my acc45 is AB12345 and my number 021 123 4567", {"name": "inform", "confidence": 0.62}),
    ]
    asyncio.run(tracker_store.save(DialogueStateTracker.from_events("web:" + "a" * 32, events)))
    client, csrf = logged_in(app_client)
    page = client.get("/staff/requests/1").text.split('id="transcript"')[1]  # (the staff user is an Aroha too)
    for detail in ("Aroha", "Ngata", ACC45, "021 123 4567"):
        assert detail not in page
    assert "[name]" in page and "[ACC45 number]" in page and "[phone]" in page
    assert "0800 611 116" in page and "request_contact · 91 %" in page
    shown = client.post("/staff/requests/1/show", data={"csrf_token": csrf}).text
    assert "pls call me, im Aroha Ngata" in shown and "my acc45 is AB12345 and my number 021 123 4567" in shown


def test_a_failed_notification_is_listed_in_the_inbox_and_can_be_resent(store):
    """The mail server refuses: the request is in the inbox anyway, the inbox says the e-mail has not gone out and
    why, the request page offers "Send it again now" and the audit log records who asked."""
    import asyncio

    from bot.staff.mail_settings import MailSettings
    from bot.staff.notifications import NotificationOutbox
    from tests.conftest import free_port

    mail = MailSettings(
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_from="assistant@clinic.example",
        notify_to=("reception@clinic.example",),
        smtp_timeout=2,
    )
    settings = WebSettings(rasa_url="http://127.0.0.1:9", action_server_url="http://127.0.0.1:9")
    app = create_app(settings, bundle=BUNDLE, store_factory=lambda: store, mail=mail)
    staff = app.state.web.staff()
    staff.accounts.create("aroha", "Aroha", PASSWORD)
    asyncio.run(staff.outbox.run_once())  # nobody listens on that port
    with TestClient(app) as client:
        _, csrf = logged_in(client)
        inbox = client.get("/staff/").text
        assert "E-mail notifications not sent" in inbox and "connection refused" in inbox
        assert "notifications of new requests are off" not in inbox
        page = client.get("/staff/requests/2").text
        assert "Send it again now" in page
        assert (
            client.post("/staff/requests/2/notify", data={"csrf_token": csrf}, follow_redirects=False).status_code
            == 303
        )
        assert staff.audit.entries(request_id=2)[0].action == "asked to resend a notification"
    assert all(s.attempts >= 1 for s in NotificationOutbox(store.engine, mail).problems())


def test_without_a_mail_server_the_inbox_says_notifications_are_off(app_client):
    client, _ = logged_in(app_client)
    assert "notifications of new requests are off" in client.get("/staff/").text


# ---------- after the review


def test_the_log_in_runs_in_a_thread_and_failures_are_audited_without_the_typed_name(app_client):
    import inspect

    import sqlalchemy as sa

    from bot.web.console import auth

    assert not inspect.iscoroutinefunction(auth.log_in)  # argon2 must never hold up the event loop
    log_in(app_client, password="wrong password here")
    log_in(app_client, username="correct horse battery staple", password="x")  # a password typed as the name
    staff = app_client.app.state.web.staff()
    actions = [(e.username, e.action) for e in staff.audit.entries()]
    assert ("aroha", "failed log-in (wrong password)") in actions
    assert (None, "failed log-in (no such user name)") in actions
    with staff.accounts.engine.connect() as conn:
        dump = " ".join(str(row) for row in conn.execute(sa.text("SELECT * FROM staff_login_failures")))
    assert "correct horse" not in dump and "aroha" not in dump


def test_reserved_user_names_are_refused(app_client):
    from bot.staff.accounts import AccountError

    for name in ("assistant", "System"):
        with pytest.raises(AccountError, match="reserved"):
            app_client.app.state.web.staff().accounts.create(name, "Sam", PASSWORD)


def test_a_page_refreshing_itself_does_not_keep_the_session_alive(app_client):
    client, _ = logged_in(app_client)
    sessions = client.app.state.web.staff().sessions
    start = datetime.now(timezone.utc)
    for minutes in range(1, 40, 5):  # the inbox polls every few seconds: none of it is use
        sessions.clock = lambda m=minutes: start + timedelta(minutes=m)
        if client.get("/staff/inbox.json").status_code == 401:
            break
    else:
        raise AssertionError("polling kept the session alive past the idle time")
    assert minutes > 30 - 5


def test_a_form_sent_after_the_session_ended_leads_back_to_its_page(app_client):
    client, csrf = logged_in(app_client)
    client.post("/staff/logout", data={"csrf_token": csrf})
    response = client.post("/staff/requests/1/status", data={"status": "done"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/staff/login?next=/staff/requests/1"


def test_secure_sessions_use_a_host_only_cookie(store):
    settings = WebSettings(rasa_url="http://127.0.0.1:9", action_server_url="http://127.0.0.1:9")
    app = create_app(settings, bundle=BUNDLE, store_factory=lambda: store)
    app.state.web.staff().accounts.create("aroha", "Aroha", PASSWORD)
    with TestClient(app, base_url="https://testserver") as client:
        cookie = log_in(client).headers["set-cookie"]
        assert cookie.startswith("__Host-staff_session=") and "Path=/;" in cookie and "Secure" in cookie
        assert client.get("/staff/", follow_redirects=False).status_code == 200
        # a cookie of the plain name (planted by another port or site of this host) is not a session here
        token = re.search(r"__Host-staff_session=([^;]+)", cookie).group(1)
        client.cookies.clear()
        client.cookies.set("staff_session", token)
        assert client.get("/staff/", follow_redirects=False).status_code == 303


def test_taking_over_starts_the_chat_request_and_a_taken_over_chat_stays_listed(app_client, store, tmp_path):
    """The takeover client is replaced by a recorder: the console's side of takeover, without Rasa."""
    import asyncio
    import time as clock

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, ConversationPaused, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.staff.takeover import Delivery

    sender = "messenger:998877"
    chat = store.add(BookingRequest(kind="chat", sender_id=sender, channel="facebook"))
    two_hours_ago = clock.time() - 7200
    events = [
        ActionExecuted("action_listen", timestamp=two_hours_ago),
        UserUttered("can i talk to a human", {"name": "human_handoff", "confidence": 0.97}, timestamp=two_hours_ago),
        ConversationPaused(timestamp=two_hours_ago + 1),
    ]
    tracker_store = SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(tmp_path / "conversations.sqlite"))
    asyncio.run(tracker_store.save(DialogueStateTracker.from_events(sender, events)))

    class Recorder:
        available = True
        calls: list = []

        async def take_over(self, sender_id, name):
            self.calls.append(("takeover", sender_id, name))
            return Delivery(True, "messenger", None, 200, paused=True)

    staff = app_client.app.state.web.staff()
    staff.takeover = Recorder()
    client, csrf = logged_in(app_client)
    ref = staff.refs.ref_for(sender)
    answer = client.post(f"/staff/conversations/{ref}/takeover", data={}, headers={"X-CSRF-Token": csrf}).json()
    assert answer == {"ok": True, "delivered": True, "message": ""}
    assert Recorder.calls == [("takeover", sender, "Aroha")]
    assert (store.get(chat.id).status, store.get(chat.id).status_by) == ("in_progress", "aroha")
    # two hours without a message, but taken over: still listed, first
    live = client.get("/staff/conversations").text
    assert f"/staff/conversations/{ref}" in live and "Paused: staff talking" in live
