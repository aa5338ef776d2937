"""The notification e-mail, its settings, the classes of sending errors and the retry delays (no server)."""

from __future__ import annotations

import smtplib
import socket
import ssl
from datetime import datetime, timedelta, timezone

import pytest

from bot.staff import mailer
from bot.staff.mail_settings import MailSettings, SettingsError
from bot.staff.notifications import retry_delay

ON = {
    "SMTP_HOST": "mail.clinic.nz",
    "SMTP_FROM": "Clinic assistant <assistant@clinic.nz>",
    "STAFF_NOTIFY_TO": "reception@clinic.nz, owner@clinic.nz",
}
MAIL_VARIABLES = [field.field_info.extra["env"] for field in MailSettings.__fields__.values()]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in MAIL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def settings(**values) -> MailSettings:
    return MailSettings(
        smtp_host="mail.clinic.nz",
        smtp_from="assistant@clinic.nz",
        notify_to=("reception@clinic.nz",),
        console_url="https://clinic.nz/",
        **values,
    )


# --- the message -------------------------------------------------------------------------------------------------


def test_the_message_says_the_kind_the_nz_time_and_the_link_only():
    notice = mailer.Notice(request_id=42, kind="booking", requested_at=datetime(2026, 3, 5, 2, 4, tzinfo=timezone.utc))
    message = mailer.build_message(notice, settings(), "Acute Acupuncture", now=notice.requested_at)
    assert message["Subject"] == "New call-back request (booking) — Acute Acupuncture"
    assert message["To"] == "reception@clinic.nz" and message["From"] == "assistant@clinic.nz"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@clinic.nz>")
    body = message.get_content()
    assert "called back to book an appointment" in body
    assert "Thursday 5 March 2026, 3:04 pm (NZDT)" in body  # 02:04 UTC is 15:04 in Wellington in March (UTC+13)
    assert "https://clinic.nz/staff/requests/42\n" in body
    assert len(body.split()) < 60  # a short notice, nothing more


def test_a_hand_off_and_an_unknown_kind_have_their_own_words():
    when = datetime(2026, 7, 1, 0, 0, tzinfo=timezone.utc)
    handoff = mailer.build_message(mailer.Notice(1, "handoff", when), settings(), "Clinic")
    assert handoff["Subject"] == "New call-back request (talk to a person) — Clinic"
    assert "talk to a person" in handoff.get_content()
    other = mailer.build_message(mailer.Notice(2, "something-new", when), settings(), "Clinic")
    assert other["Subject"] == "New request — Clinic"


@pytest.mark.parametrize(
    "moment, expected",
    [
        (datetime(2026, 7, 1, 0, 30, tzinfo=timezone.utc), "Wednesday 1 July 2026, 12:30 pm (NZST)"),  # winter, +12
        (datetime(2026, 1, 1, 11, 5, tzinfo=timezone.utc), "Friday 2 January 2026, 12:05 am (NZDT)"),  # summer, +13
        (datetime(2026, 4, 4, 13, 30), "Sunday 5 April 2026, 2:30 am (NZDT)"),  # naive = UTC; before the change
        (datetime(2026, 4, 4, 14, 30), "Sunday 5 April 2026, 2:30 am (NZST)"),  # the same hour again, after it
    ],
)
def test_times_are_new_zealand_times(moment, expected):
    assert mailer.nz_time(moment) == expected


# --- errors ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error, reason",
    [
        (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
        (socket.timeout("timed out"), "timeout"),
        (smtplib.SMTPAuthenticationError(535, b"5.7.8 bad password for clinic"), "auth failed"),
        (smtplib.SMTPDataError(451, b"4.3.0 mailbox of reception@clinic.nz full"), "server answered 451"),
        (smtplib.SMTPRecipientsRefused({"reception@clinic.nz": (550, b"no")}), "recipients refused"),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "disconnected"),
        (ssl.SSLCertVerificationError("certificate verify failed"), "certificate not trusted"),
        (socket.gaierror(-2, "Name or service not known"), "host not found"),
        (ValueError("Aroha"), "unexpected error (ValueError)"),
    ],
)
def test_errors_become_short_classes_without_the_servers_text(error, reason):
    assert mailer.error_class(error) == reason


def test_a_read_that_timed_out_is_a_timeout_not_a_disconnection():
    try:
        try:
            raise socket.timeout("timed out")
        except OSError as cause:
            raise smtplib.SMTPServerDisconnected(f"Connection unexpectedly closed: {cause}") from None
    except smtplib.SMTPServerDisconnected as error:
        assert mailer.error_class(error) == "timeout"


def test_nothing_is_sent_when_notifications_are_off():
    with pytest.raises(mailer.MailError, match="notifications off"):
        mailer.send(mailer.build_message(mailer.Notice(1, "booking", datetime.now(timezone.utc)), settings(), "C"),
                    MailSettings())  # fmt: skip


# --- retry delays ------------------------------------------------------------------------------------------------


def test_retries_wait_twice_as_long_each_time_up_to_an_hour():
    minutes = [retry_delay(attempts) / timedelta(minutes=1) for attempts in range(1, 10)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]


# --- settings ----------------------------------------------------------------------------------------------------


def test_without_smtp_host_notifications_are_off_and_nothing_else_is_required():
    assert MailSettings.from_env().enabled is False


def test_settings_from_the_environment(monkeypatch):
    for name, value in {**ON, "SMTP_PORT": "2525", "STAFF_CONSOLE_URL": "https://clinic.nz/", "SMTP_TLS": "require",
                        "SMTP_USERNAME": "", "SMTP_TIMEOUT": "3.5"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    loaded = MailSettings.from_env()
    assert loaded.enabled and loaded.smtp_port == 2525 and loaded.smtp_tls == "require"
    assert loaded.notify_to == ("reception@clinic.nz", "owner@clinic.nz")
    assert loaded.console_url == "https://clinic.nz" and loaded.smtp_timeout == 3.5
    assert loaded.smtp_username is None  # "" = unset
    assert loaded.summary() == "mail.clinic.nz:2525, TLS require, 2 recipient(s)"


def test_port_465_means_tls_from_the_first_byte_unless_tls_is_off():
    assert settings(smtp_port=465).implicit_tls and settings(smtp_port=2525, smtp_tls="implicit").implicit_tls
    assert not settings(smtp_port=465, smtp_tls="off").implicit_tls and not settings().implicit_tls


@pytest.mark.parametrize(
    "changes, variable",
    [
        ({"SMTP_FROM": ""}, "SMTP_FROM: required when SMTP_HOST is set"),
        ({"STAFF_NOTIFY_TO": ""}, "STAFF_NOTIFY_TO: required when SMTP_HOST is set"),
        ({"STAFF_NOTIFY_TO": "reception"}, "STAFF_NOTIFY_TO: is not an e-mail address"),
        ({"STAFF_NOTIFY_TO": "Reception <r@clinic.nz>"}, "STAFF_NOTIFY_TO: is not an e-mail address"),
        ({"SMTP_FROM": "a@clinic.nz\nBcc: x@evil.example"}, "SMTP_FROM: must be on one line"),
        ({"SMTP_PASSWORD": "hunter2-secret"}, "SMTP_PASSWORD: SMTP_USERNAME and SMTP_PASSWORD"),
        ({"SMTP_USERNAME": "clinic"}, "SMTP_PASSWORD: SMTP_USERNAME and SMTP_PASSWORD"),
        ({"SMTP_TLS": "sometimes"}, "SMTP_TLS: unexpected value"),
        ({"SMTP_PORT": "70000"}, "SMTP_PORT: ensure this value is less than 65536"),
        ({"SMTP_TIMEOUT": "0"}, "SMTP_TIMEOUT: ensure this value is greater than 0"),
        ({"STAFF_CONSOLE_URL": "javascript:alert(1)"}, "STAFF_CONSOLE_URL: must be an http(s) URL"),
        ({"SMTP_CA_FILE": "/nonexistent/ca.pem"}, "SMTP_CA_FILE: file or directory at path"),
    ],
)
def test_wrong_settings_are_refused_naming_the_variable(monkeypatch, changes, variable):
    for name, value in {**ON, **changes}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match="invalid settings of the e-mail notifications") as refused:
        MailSettings.from_env()
    assert variable in str(refused.value)
    assert "hunter2-secret" not in str(refused.value)


def test_the_password_is_never_in_the_settings_repr(monkeypatch):
    for name, value in {**ON, "SMTP_USERNAME": "clinic", "SMTP_PASSWORD": "hunter2-secret"}.items():
        monkeypatch.setenv(name, value)
    loaded = MailSettings.from_env()
    assert loaded.smtp_password == "hunter2-secret"
    assert "hunter2" not in repr(loaded) and "hunter2" not in str(loaded) and "hunter2" not in loaded.summary()
