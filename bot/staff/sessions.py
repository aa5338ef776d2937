"""Staff sessions kept on the server: the cookie holds a random token, the database only its SHA-256.

A session ends after `idle` without a request, after `lifetime` whatever happens, and at log-out (the row is
deleted, so a copied cookie is worthless afterwards). Each session has its own CSRF token, which every form and
every script request of the console must send back (bot/web/console/auth.py). A log-in always makes a new
session (no fixation: a token that existed before the log-in never becomes a logged-in one).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Optional, Tuple

import sqlalchemy as sa

from bot.staff.accounts import StaffUser, users_table
from bot.storage.times import as_utc, utc_now

TOUCH_EVERY = timedelta(seconds=30)  # last_seen is written at most this often (a poll every few seconds)

metadata = sa.MetaData()
sessions_table = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class StaffSession:
    user: StaffUser
    csrf_token: str
    created_at: datetime

    def csrf_ok(self, presented: Optional[str]) -> bool:
        return bool(presented) and hmac.compare_digest(presented.encode(), self.csrf_token.encode())


class SessionStore:
    """Creates, finds (with expiry) and ends staff sessions."""

    def __init__(
        self,
        engine: sa.engine.Engine,
        idle: timedelta = timedelta(minutes=30),
        lifetime: timedelta = timedelta(hours=12),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.engine, self.idle, self.lifetime, self.clock = engine, idle, lifetime, clock
        metadata.create_all(engine)

    def start(self, user: StaffUser) -> Tuple[str, StaffSession]:
        """A new session for `user`: (the cookie's token, the session)."""
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), self.clock()
        with self.engine.begin() as conn:
            conn.execute(
                sessions_table.insert().values(
                    token_hash=token_hash(token), user_id=user.id, csrf_token=csrf, created_at=now, last_seen_at=now
                )
            )
        return token, StaffSession(user, csrf, now)

    def find(self, token: Optional[str], touch: bool = True) -> Optional[StaffSession]:
        """The live session of this cookie token; None (and the row gone) when expired. `touch`: this request is
        the staff member's doing (a page, a form), so it counts as use; a page's automatic refresh does not."""
        if not token or len(token) > 100:
            return None
        key, now = token_hash(token), self.clock()
        query = (
            sa.select(sessions_table, users_table.c.username, users_table.c.first_name)
            .join(users_table, users_table.c.id == sessions_table.c.user_id)
            .where(sessions_table.c.token_hash == key, users_table.c.active.is_(True))
        )
        with self.engine.begin() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            created, seen = as_utc(row.created_at), as_utc(row.last_seen_at)
            if now - seen > self.idle or now - created > self.lifetime:
                conn.execute(sessions_table.delete().where(sessions_table.c.token_hash == key))
                return None
            if touch and now - seen > TOUCH_EVERY:
                conn.execute(sessions_table.update().where(sessions_table.c.token_hash == key).values(last_seen_at=now))
        return StaffSession(StaffUser(row.user_id, row.username, row.first_name), row.csrf_token, created)

    def end(self, token: Optional[str]) -> None:
        if token:
            with self.engine.begin() as conn:
                conn.execute(sessions_table.delete().where(sessions_table.c.token_hash == token_hash(token)))

    def end_all(self, user_id: int) -> int:
        with self.engine.begin() as conn:
            return conn.execute(sessions_table.delete().where(sessions_table.c.user_id == user_id)).rowcount

    def delete_expired(self) -> int:
        now = self.clock()
        with self.engine.begin() as conn:
            return conn.execute(
                sessions_table.delete().where(
                    sa.or_(
                        sessions_table.c.last_seen_at < now - self.idle,
                        sessions_table.c.created_at < now - self.lifetime,
                    )
                )
            ).rowcount
