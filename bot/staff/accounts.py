"""Staff accounts: argon2 password hashes (argon2-cffi), log-in with lock-out after repeated failures.

Failures are counted per user name, known or not, so the answer never tells whether an account exists and a
name under attack locks whatever it is. `MAX_FAILURES` wrong passwords within `FAILURE_WINDOW` lock the name for
`LOCK_TIME`; a correct password during the lock is refused too. Accounts are made with `make staff-user`
(bot/staff/create_user.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, List, Optional

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.storage.times import as_utc, utc_now

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_TIME = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,39}")
RESERVED = ("assistant", "system")  # names the console shows for what no staff member did
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
    # SHA-256 of the name as typed (normalised), known or not: a password typed into the name field is not kept
    sa.Column("name_key", sa.String(64), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
)

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("not a password of anyone")  # verified against for unknown names: same time taken




class AccountError(ValueError):
    """A user name or password that cannot be used; the message says why (never the password)."""


def normalise(username: str) -> str:
    return (username or "").strip().lower()[:40]


def name_key(name: str) -> str:
    """What the failure count is kept under: a hash, not the name typed (which may be a password)."""
    return hashlib.sha256(f"staff-login:{name}".encode()).hexdigest()


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
    """`user` when the log-in succeeded; `locked_until` when the name is locked (whatever the password);
    `account`: the account's name when there is one (for the audit log, never shown to whoever logs in)."""

    user: Optional[StaffUser] = None
    locked_until: Optional[datetime] = None
    account: Optional[str] = None


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
        if name in RESERVED:
            raise AccountError(f"{name!r} is reserved: the console uses it for what no staff member did")
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
            conn.execute(failures_table.delete().where(failures_table.c.name_key == name_key(name)))
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
        """Checks the password unless the name is locked; counts failures; a success clears them.

        Blocking (argon2 takes ~0.2 s): call it from a thread, never on an event loop."""
        name = normalise(username)
        key, now = name_key(name), self.clock()
        with self.engine.connect() as conn:
            failure = conn.execute(sa.select(failures_table).where(failures_table.c.name_key == key)).first()
            row = conn.execute(
                sa.select(users_table).where(users_table.c.username == name, users_table.c.active.is_(True))
            ).first()
        account = row.username if row is not None else None
        locked_until = as_utc(failure.locked_until) if failure else None
        if locked_until and locked_until > now:
            _hasher.hash("equal time")  # a locked name answers no faster than a wrong password
            return LoginResult(locked_until=locked_until, account=account)
        if row is not None and _verify(row.password_hash, password):
            with self.engine.begin() as conn:
                conn.execute(failures_table.delete().where(failures_table.c.name_key == key))
                if _hasher.check_needs_rehash(row.password_hash):
                    conn.execute(
                        users_table.update()
                        .where(users_table.c.id == row.id)
                        .values(password_hash=_hasher.hash(password))
                    )
            return LoginResult(user=StaffUser(row.id, row.username, row.first_name), account=account)
        if row is None:
            _verify(_DUMMY_HASH, password)  # the same time as a known name
        return LoginResult(locked_until=self._count_failure(key, now), account=account)

    def _count_failure(self, key: str, now: datetime, again: bool = True) -> Optional[datetime]:
        """Adds a failure (one UPDATE, so log-ins at the same moment all count); the lock's end when this one
        reaches MAX_FAILURES."""
        f = failures_table.c
        current = sa.and_(f.name_key == key, f.first_at >= now - FAILURE_WINDOW)
        try:
            with self.engine.begin() as conn:
                if conn.execute(failures_table.update().where(current).values(count=f.count + 1)).rowcount:
                    count = conn.execute(sa.select(f.count).where(f.name_key == key)).scalar_one()
                else:
                    conn.execute(failures_table.delete().where(f.name_key == key))
                    conn.execute(failures_table.insert().values(name_key=key, count=1, first_at=now))
                    count = 1
                if count < MAX_FAILURES:
                    return None
                locked_until = now + LOCK_TIME
                conn.execute(
                    failures_table.update()
                    .where(f.name_key == key)
                    .values(count=0, first_at=now, locked_until=locked_until)
                )
                return locked_until
        except sa.exc.IntegrityError:  # another log-in inserted the first failure at the same moment
            if not again:
                raise
            return self._count_failure(key, now, again=False)

    def delete_stale_failures(self) -> int:
        """Failure counts neither current nor locking any more (retention)."""
        now = self.clock()
        f = failures_table.c
        stale = sa.and_(f.first_at < now - FAILURE_WINDOW, sa.or_(f.locked_until.is_(None), f.locked_until < now))
        with self.engine.begin() as conn:
            return conn.execute(failures_table.delete().where(stale)).rowcount


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False
