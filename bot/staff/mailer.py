"""The e-mail that tells the clinic a request arrived, and sending it over SMTP (standard library only).

The message says what kind of request arrived, when (New Zealand time) and links to it in the staff console:
nothing else. No name, phone, e-mail, ACC details, appointment type, note or conversation id is ever passed to
`build_message`, so none can end up in an inbox, a mail server's log or a backup of either.

Sending (`send`): STARTTLS when the server offers it, with the server's certificate verified (the system's
certificates or SMTP_CA_FILE); SMTP_TLS=require refuses a server that does not offer it; implicit TLS on port 465
or with SMTP_TLS=implicit; logging in (SMTP_USERNAME) only over TLS unless SMTP_TLS=off, so a server that stops
offering STARTTLS (or someone in between who strips it) never sees the password. Settings: bot/staff/mail_settings.py.
Every failure becomes a `MailError` whose `reason` is a short class ("connection refused", "auth failed",
"server answered 451"): what the outbox records and logs, never the server's text.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Dict, Optional
from zoneinfo import ZoneInfo

from bot.staff.mail_settings import MailSettings
from bot.staff.request_kinds import REQUEST_KINDS

NZ = ZoneInfo("Pacific/Auckland")

# kind -> (subject words, the sentence of the body): bot/staff/request_kinds.py
KIND_WORDS: Dict[str, tuple] = {kind: (row.mail_subject, row.mail_sentence) for kind, row in REQUEST_KINDS.items()}
OTHER_KIND = ("request", "A patient sent a request to the clinic.")


class MailError(Exception):
    """A notification was not sent; `reason` is a short class of the failure, safe to store and log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Notice:
    """All an e-mail may say: which request (its id), of what kind, made when."""

    request_id: int
    kind: str
    requested_at: datetime


def nz_time(moment: datetime) -> str:
    """'Thursday 5 March 2026, 3:04 pm (NZDT)'; a naive datetime counts as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(NZ)
    hour = local.hour % 12 or 12
    return (
        f"{local:%A} {local.day} {local:%B %Y}, {hour}:{local:%M} {'am' if local.hour < 12 else 'pm'} "
        f"({local.tzname()})"
    )


def request_link(settings: MailSettings, request_id: int) -> str:
    """The request's page in the staff console (behind the console's login)."""
    return f"{settings.console_url}/staff/requests/{int(request_id)}"


def build_message(
    notice: Notice, settings: MailSettings, clinic_name: str, now: Optional[datetime] = None
) -> EmailMessage:
    """The notification e-mail: the kind, the time in New Zealand and the link, nothing about the patient."""
    subject_words, sentence = KIND_WORDS.get(notice.kind, OTHER_KIND)
    sender = settings.smtp_from or ""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["Subject"] = f"New {subject_words} — {clinic_name}"
    message["From"] = sender
    message["To"] = ", ".join(settings.notify_to)
    message["Date"] = format_datetime(now or datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=domain)  # domain given: make_msgid would look up this host's name
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no automatic replies (out of office) to it
    message["X-Auto-Response-Suppress"] = "All"  # the same for Exchange
    message.set_content(
        f"{sentence}\n\n"
        f"When: {nz_time(notice.requested_at)}\n\n"
        f"Open it in the staff console (log in first):\n{request_link(settings, notice.request_id)}\n\n"
        f"The patient's details are in the console only: this e-mail never carries them.\n"
        f"-- \n{clinic_name} assistant\n"
    )
    return message


def error_class(error: BaseException) -> str:
    """A short, content-free class of a sending failure (SMTP errors and TLS errors are OSErrors: order matters)."""
    if isinstance(error, MailError):
        return error.reason
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return "auth failed"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "recipients refused"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"server answered {error.smtp_code}"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        # smtplib turns a read that timed out into "Connection unexpectedly closed: timed out"
        return "timeout" if isinstance(error.__context__, (TimeoutError, socket.timeout)) else "disconnected"
    if isinstance(error, smtplib.SMTPException):
        return "smtp error"
    if isinstance(error, ssl.SSLCertVerificationError):
        return "certificate not trusted"
    if isinstance(error, ssl.SSLError):
        return "tls error"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, (TimeoutError, socket.timeout)):
        return "timeout"
    if isinstance(error, socket.gaierror):
        return "host not found"
    if isinstance(error, OSError):
        return "network error"
    return f"unexpected error ({type(error).__name__})"


def tls_context(settings: MailSettings) -> ssl.SSLContext:
    """Certificate and host name verified; SMTP_CA_FILE instead of the system's certificates when set."""
    return ssl.create_default_context(cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None)


def _deliver(message: EmailMessage, settings: MailSettings) -> None:
    host, port, timeout = settings.smtp_host or "", settings.smtp_port, settings.smtp_timeout
    if settings.implicit_tls:
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls_context(settings))
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        client.ehlo()
        encrypted = settings.implicit_tls
        if not encrypted and settings.smtp_tls != "off" and client.has_extn("starttls"):
            client.starttls(context=tls_context(settings))
            client.ehlo()  # RFC 3207: forget what the server said before TLS
            encrypted = True
        if not encrypted and settings.smtp_tls == "require":
            raise MailError("starttls not offered")
        if settings.smtp_username:
            if not encrypted and settings.smtp_tls != "off":
                raise MailError("starttls not offered (needed to log in)")
            if not client.has_extn("auth"):
                raise MailError("login not offered")
            client.login(settings.smtp_username, settings.smtp_password or "")
        client.send_message(message)


def send(message: EmailMessage, settings: MailSettings) -> None:
    """Send `message` (blocking: run it in a thread); MailError with a short reason when it was not accepted."""
    if not settings.enabled:
        raise MailError("notifications off")
    try:
        _deliver(message, settings)
    except Exception as error:
        # `from None`: the server's text (which can quote addresses) stays out of tracebacks and logs
        raise MailError(error_class(error)) from None
