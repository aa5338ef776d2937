"""Staff accounts: argon2 password hashes (argon2-cffi), log-in with lock-out after repeated failures.

Failures are counted per user name, known or not, so the answer never tells whether an account exists and a
name under attack locks whatever it is. `MAX_FAILURES` wrong passwords within `FAILURE_WINDOW` lock the name for
`LOCK_TIME`; a correct password during the lock is refused too. Accounts are made with `make staff-user`
(bot/staff/create_user.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, List, Optional

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_TIME = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,39}")
# The name patients see when this person takes over a chat (bot/channels/staff.py checks it again): one first name.
FIRST_NAME = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")
MAX_NAME_CHARS = 40

metadata = sa.MetaData()
users_table = sa.Table(
    "staff_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(40), nullable=False, unique=True),
    sa.Column("first_name", sa.String(60), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
)
failures_table = sa.Table(
    "staff_login_failures",
    metadata,
    sa.Column("username", sa.String(40), primary_key=True),  # as typed (normalised), known or not
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
)

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("not a password of anyone")  # verified against for unknown names: same time taken


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: Optional[datetime]) -> Optional[datetime]:
    """SQLite gives naive datetimes back: they were stored in UTC."""
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


class AccountError(ValueError):
    """A user name or password that cannot be used; the message says why (never the password)."""


def normalise(username: str) -> str:
    return (username or "").strip().lower()[:40]


def check_new_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if username and username.lower() in password.lower():
        raise AccountError("the password must not contain the user name")


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    first_name: str


@dataclass(frozen=True)
class LoginResult:
    """`user` when the log-in succeeded; `locked_until` when the name is locked (whatever the password)."""

    user: Optional[StaffUser] = None
    locked_until: Optional[datetime] = None


class StaffAccounts:
    """Creates staff users and checks log-ins against the database of bot/storage/booking_requests.py."""

    def __init__(self, engine: sa.engine.Engine, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self.clock = clock
        metadata.create_all(engine)

    def create(self, username: str, first_name: str, password: str) -> StaffUser:
        name = normalise(username)
        if not USERNAME.fullmatch(name):
            raise AccountError("user names are 2-40 characters: letters, digits, dot, dash, underscore")
        first = (first_name or "").strip()
        if not (FIRST_NAME.fullmatch(first) and len(first) <= MAX_NAME_CHARS):
            raise AccountError("one first name is needed, letters only (patients see it when you take over a chat)")
        check_new_password(password, name)
        values = {"username": name, "first_name": first, "password_hash": _hasher.hash(password)}
        with self.engine.begin() as conn:
            if conn.execute(sa.select(users_table.c.id).where(users_table.c.username == name)).first():
                raise AccountError(f"the user {name!r} exists already")
            result = conn.execute(users_table.insert().values(created_at=self.clock(), active=True, **values))
            return StaffUser(int(result.inserted_primary_key[0]), name, first)

    def set_password(self, username: str, password: str) -> None:
        name = normalise(username)
        check_new_password(password, name)
        with self.engine.begin() as conn:
            updated = conn.execute(
                users_table.update().where(users_table.c.username == name).values(password_hash=_hasher.hash(password))
            ).rowcount
            conn.execute(failures_table.delete().where(failures_table.c.username == name))
        if not updated:
            raise AccountError(f"no user {name!r}")

    def get(self, user_id: int) -> Optional[StaffUser]:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(users_table).where(users_table.c.id == user_id, users_table.c.active.is_(True))
            ).first()
        return StaffUser(row.id, row.username, row.first_name) if row else None

    def list(self) -> List[StaffUser]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(users_table).order_by(users_table.c.username)).all()
        return [StaffUser(row.id, row.username, row.first_name) for row in rows]

    def log_in(self, username: str, password: str) -> LoginResult:
        """Checks the password unless the name is locked; counts failures; a success clears them."""
        name = normalise(username)
        now = self.clock()
        with self.engine.begin() as conn:
            failure = conn.execute(sa.select(failures_table).where(failures_table.c.username == name)).first()
            locked_until = _aware(failure.locked_until) if failure else None
            if locked_until and locked_until > now:
                _hasher.hash("equal time")  # a locked name answers no faster than a wrong password
                return LoginResult(locked_until=locked_until)
            row = conn.execute(
                sa.select(users_table).where(users_table.c.username == name, users_table.c.active.is_(True))
            ).first()
            if row is not None and _verify(row.password_hash, password):
                conn.execute(failures_table.delete().where(failures_table.c.username == name))
                if _hasher.check_needs_rehash(row.password_hash):
                    conn.execute(
                        users_table.update()
                        .where(users_table.c.id == row.id)
                        .values(password_hash=_hasher.hash(password))
                    )
                return LoginResult(user=StaffUser(row.id, row.username, row.first_name))
            if row is None:
                _verify(_DUMMY_HASH, password)
            return LoginResult(locked_until=self._count_failure(conn, name, failure, now))

    def _count_failure(self, conn: sa.engine.Connection, name: str, failure: Optional[sa.engine.Row], now: datetime):
        """Adds a failure; returns the lock's end when this one reaches MAX_FAILURES."""
        if failure is None or _aware(failure.first_at) < now - FAILURE_WINDOW:
            conn.execute(failures_table.delete().where(failures_table.c.username == name))
            conn.execute(failures_table.insert().values(username=name, count=1, first_at=now, locked_until=None))
            return None
        count = failure.count + 1
        locked_until = now + LOCK_TIME if count >= MAX_FAILURES else None
        conn.execute(
            failures_table.update()
            .where(failures_table.c.username == name)
            .values(
                count=0 if locked_until else count,
                first_at=now if locked_until else failure.first_at,
                locked_until=locked_until,
            )
        )
        return locked_until


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False
