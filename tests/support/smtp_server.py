"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the notification tests; it keeps every message it accepts.

It can offer STARTTLS or speak TLS from the first byte with a certificate made for the test (a throw-away CA
signs one for 127.0.0.1 and localhost), require a login, answer DATA with an error (`fail_with`), be stopped
(connection refused) and started again on the same port. `python -m tests.support.smtp_server --port 8025`
runs it on its own (plain text) and prints what it receives.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, List, Optional, Tuple

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Certificates:
    """A test CA (`ca_file`: what a client trusts) and the server's certificate and key it signed."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(directory: Path) -> Certificates:
    """A CA and a server certificate for 127.0.0.1 and localhost, valid for a day, as PEM files in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("notification tests CA"))
        .issuer_name(_name("notification tests CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # key_cert_sign, crl_sign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


@dataclass(frozen=True)
class ReceivedMail:
    """One message the server accepted, with how it came."""

    mail_from: str
    rcpt_tos: Tuple[str, ...]
    content: bytes  # the raw message as the client sent it
    tls: bool  # over TLS (STARTTLS or implicit)
    login: Optional[str]  # the user name it logged in with

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.content, policy=policy.default)  # type: ignore[return-value]

    @property
    def text(self) -> str:
        """The body, decoded."""
        return self.message.get_content()


class _Handler:
    def __init__(self, server: LocalSMTPServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        if self.server.fail_with:
            return self.server.fail_with
        tls = smtp.transport is not None and smtp.transport.get_extra_info("ssl_object") is not None
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        mail = ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.original_content), tls, login)
        with self.server.lock:
            self.server.messages.append(mail)
        return "250 OK"


class LocalSMTPServer:
    """An SMTP server on 127.0.0.1 in a thread (see the module); `fail_with = "451 ..."` makes DATA fail."""

    def __init__(
        self,
        port: Optional[int] = None,
        certificates: Optional[Certificates] = None,
        starttls: bool = False,
        implicit_tls: bool = False,
        login: Optional[Tuple[str, str]] = None,
    ) -> None:
        if (starttls or implicit_tls or login) and certificates is None:
            raise ValueError("TLS (and a login, which needs TLS) needs certificates")
        self.port = port or free_port()
        self.certificates = certificates
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.login = login
        self.fail_with: Optional[str] = None
        self.messages: List[ReceivedMail] = []
        self.failed_logins = 0
        self.lock = threading.Lock()
        self._controller: Optional[Controller] = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def _authenticate(self, smtp: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == self.login
        if not ok:
            self.failed_logins += 1
        return AuthResult(success=True, auth_data=data) if ok else AuthResult(success=False, handled=False)

    def start(self) -> LocalSMTPServer:
        """Listen (again) on the same port."""
        assert self._controller is None, "already running"
        tls = self.certificates.server_context() if self.certificates else None
        options: dict = {}
        if self.starttls:
            options["tls_context"] = tls
        if self.login:
            options.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=True)
        self._controller = Controller(
            _Handler(self),
            hostname=HOST,
            port=self.port,
            server_hostname="localhost",  # not the machine's name (a DNS lookup)
            ssl_context=tls if self.implicit_tls else None,
            ready_timeout=10,
            **options,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening: a client then gets "connection refused"."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 10) -> List[ReceivedMail]:
        """The messages once there are at least `count` (AssertionError after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.messages)} message(s) received, expected {count}")

    def __enter__(self) -> LocalSMTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never says anything: an SMTP client times out waiting."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind((HOST, 0))
        self.socket.listen(8)  # connections wait in the backlog, never accepted
        self.port = self.socket.getsockname()[1]

    def close(self) -> None:
        self.socket.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8025)
    args = parser.parse_args()
    server = LocalSMTPServer(port=args.port).start()
    print(f"SMTP server on {HOST}:{server.port} (Ctrl-C stops it)", flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.5)
            for mail in server.messages[seen:]:
                print(mail.content.decode(errors="replace"), flush=True)
            seen = len(server.messages)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
