"""The outbox of e-mail notifications of new requests: found in the requests table, sent, retried, shown to staff.

The action server only inserts requests (bot/storage/booking_requests.py); nothing on that path knows about mail,
so a request is never lost or delayed because mail failed. The web service runs `NotificationOutbox.run`, which
every `interval` seconds:
1. removes notification rows whose request is gone ("forget me", retention): `delete_orphans`;
2. gives each new request a row in `request_notifications` (same database): `discover`. A request already older
   than `skip_older_than` (24 h) when first seen is "skipped", so turning notifications on does not mail old ones;
3. sends the rows that are due (`send_due`, in a thread: the event loop never waits for SMTP or the database).
   A failure is retried after 1, 2, 4 ... minutes (at most an hour apart); after `max_attempts` the row is
   "failed" and stays so until a staff member presses "retry" (`retry_now`). `problems()` lists what has not gone
   out after an attempt, for the console, and `status_of()` the state of given requests.

Statuses: pending -> sent | failed (given up) ; skipped. `last_error` is a short class ("connection refused"),
never a server's text. A row is claimed before sending (its next attempt moved `CLAIM` ahead), so two processes
never send the same one at once. Delivery is at least once: if the process stops after the server accepted the
message but before the row says "sent", it is sent again.

A row belongs to a request by id *and* creation time: SQLite reuses the id of a deleted newest row, and a new
request with an old id must still be mailed. Logs carry request ids, kinds and error classes only.
Settings (SMTP_HOST unset = off: nothing is recorded or sent): bot/staff/mail_settings.py.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Dict, Iterable, List, Optional

import sqlalchemy as sa

from bot.clinic.profile import load_profile
from bot.metrics import web_service as web_metrics
from bot.staff import mailer
from bot.staff.mail_settings import MailSettings
from bot.storage.booking_requests import requests_table, shared_store
from bot.storage.times import as_utc, utc_now

logger = logging.getLogger(__name__)

PENDING, SENT, FAILED, SKIPPED = "pending", "sent", "failed", "skipped"
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 8  # 1 + 2 + 4 + ... + 60 minutes: about two hours of trying
SKIP_OLDER_THAN = timedelta(hours=24)
CLAIM = timedelta(minutes=10)  # a row being sent is not due again for this long (the sender may have stopped)
BATCH = 50  # at most this many sends per round

Clock = Callable[[], datetime]

_metadata = sa.MetaData()
notifications_table = sa.Table(
    "request_notifications",
    _metadata,
    sa.Column("request_id", sa.Integer, primary_key=True, autoincrement=False),
    # booking_requests.created_at of the request: with the id, which request this row is about
    sa.Column("request_created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), index=True),
    sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.String(80)),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
)


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1, 2, 4 ... minutes, at most an hour."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)


@dataclass(frozen=True)
class NotificationStatus:
    """What the console shows about a request's e-mail."""

    request_id: int
    kind: str
    requested_at: datetime
    status: str
    attempts: int
    last_error: Optional[str]
    next_attempt_at: Optional[datetime]
    sent_at: Optional[datetime]


def _same_request() -> sa.sql.ColumnElement:
    n, r = notifications_table, requests_table
    return sa.and_(r.c.id == n.c.request_id, r.c.created_at == n.c.request_created_at)


def delete_orphan_notifications(engine: sa.engine.Engine) -> int:
    """Delete the notifications whose request is gone; 0 when there is no notification table yet."""
    if not sa.inspect(engine).has_table(notifications_table.name):
        return 0
    with engine.begin() as conn:
        return conn.execute(notifications_table.delete().where(~sa.exists().where(_same_request()))).rowcount


class NotificationOutbox:
    """E-mail notifications of new requests, kept in `request_notifications` next to the requests."""

    def __init__(
        self,
        engine: sa.engine.Engine,
        settings: MailSettings,
        clock: Clock = utc_now,
        clinic_name: Optional[str] = None,
        max_attempts: int = MAX_ATTEMPTS,
        skip_older_than: timedelta = SKIP_OLDER_THAN,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.clinic_name = clinic_name or load_profile().name
        self.max_attempts = max_attempts
        self.skip_older_than = skip_older_than
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._wake: Optional[asyncio.Event] = None
        _metadata.create_all(engine)

    @classmethod
    def from_env(cls, database_url: Optional[str] = None) -> NotificationOutbox:
        """The outbox of the requests' database (`database_url`, else $BOOKING_REQUESTS_DB_URL or the default),
        settings from the environment (SettingsError naming a wrong variable)."""
        return cls(shared_store(database_url).engine, MailSettings.from_env())

    @property
    def enabled(self) -> bool:
        """False when SMTP_HOST is unset: the console says "e-mail notifications are off"."""
        return self.settings.enabled

    # --- finding requests, cleaning up -------------------------------------------------------------------------

    def discover(self) -> int:
        """Give each request without a notification row one (pending, or skipped when old); return how many."""
        n, r = notifications_table, requests_table
        query = (
            sa.select(r.c.id, r.c.created_at, n.c.request_id.label("stale"))
            .select_from(r.outerjoin(n, n.c.request_id == r.c.id))
            .where(sa.or_(n.c.request_id.is_(None), n.c.request_created_at != r.c.created_at))
            .order_by(r.c.id)
        )
        now = self.clock()
        added = skipped = 0
        with self.engine.connect() as conn:
            new = list(conn.execute(query))
        for request_id, created_at, stale in new:
            old = now - as_utc(created_at) > self.skip_older_than
            try:
                with self.engine.begin() as conn:
                    if stale is not None:  # a deleted request's row, its id now another request's
                        conn.execute(n.delete().where(n.c.request_id == request_id))
                    conn.execute(
                        n.insert().values(
                            request_id=request_id,
                            request_created_at=created_at,
                            created_at=now,
                            status=SKIPPED if old else PENDING,
                            attempts=0,
                            next_attempt_at=None if old else now,
                        )
                    )
            except sa.exc.IntegrityError:
                continue  # another process added it meanwhile
            added += 1
            skipped += old
        if skipped:
            hours = self.skip_older_than.total_seconds() / 3600
            logger.warning("%d request(s) over %g h old when first seen: not e-mailed (skipped)", skipped, hours)
        return added

    def delete_orphans(self) -> int:
        """Delete the rows whose request is gone (deleted by "forget me" or retention)."""
        return delete_orphan_notifications(self.engine)

    # --- sending -----------------------------------------------------------------------------------------------

    async def send_due(self, stop: Optional[asyncio.Event] = None, limit: int = BATCH) -> int:
        """Send the due notifications one by one (SMTP and the database in a thread); return how many went out."""
        if not self.enabled:
            return 0
        sent = 0
        for _ in range(limit):
            if stop is not None and stop.is_set():
                break
            notice = await asyncio.to_thread(self._claim_next)
            if notice is None:
                break
            sent += await asyncio.to_thread(self._send, notice)
        return sent

    def _claim_next(self) -> Optional[mailer.Notice]:
        """The next due notification, claimed (not due again for CLAIM) so no other sender takes it; None if none."""
        n, r = notifications_table, requests_table
        now = self.clock()
        due = (
            sa.select(n.c.request_id, r.c.kind, r.c.created_at)
            .select_from(n.join(r, _same_request()))
            .where(n.c.status == PENDING, n.c.next_attempt_at <= now)
            .order_by(n.c.next_attempt_at, n.c.request_id)
            .limit(5)
        )
        with self.engine.begin() as conn:
            for request_id, kind, created_at in conn.execute(due).fetchall():
                claimed = conn.execute(
                    n.update()
                    .where(n.c.request_id == request_id, n.c.status == PENDING, n.c.next_attempt_at <= now)
                    .values(next_attempt_at=now + CLAIM)
                ).rowcount
                if claimed:
                    return mailer.Notice(request_id=request_id, kind=kind, requested_at=as_utc(created_at))
        return None

    def _send(self, notice: mailer.Notice) -> bool:
        """Send one claimed notification and record the outcome; True when the server accepted it."""
        n = notifications_table
        try:
            mailer.send(mailer.build_message(notice, self.settings, self.clinic_name, now=self.clock()), self.settings)
        except Exception as error:  # a MailError, or building the message failed: counted as an attempt either way
            reason = mailer.error_class(error)
        else:
            now = self.clock()
            with self.engine.begin() as conn:
                conn.execute(
                    n.update()
                    .where(n.c.request_id == notice.request_id)
                    .values(
                        status=SENT,
                        attempts=n.c.attempts + 1,
                        sent_at=now,
                        last_attempt_at=now,
                        next_attempt_at=None,
                        last_error=None,
                    )
                )
            logger.info("notification of request %d (%s) sent", notice.request_id, notice.kind)
            web_metrics.email_notification("sent")
            return True
        now = self.clock()
        with self.engine.begin() as conn:
            attempts = conn.execute(
                sa.select(n.c.attempts).where(n.c.request_id == notice.request_id)
            ).scalar_one_or_none()
            if attempts is None:
                return False  # the request was deleted meanwhile
            attempts += 1
            give_up = attempts >= self.max_attempts
            next_attempt = None if give_up else now + retry_delay(attempts)
            conn.execute(
                n.update()
                .where(n.c.request_id == notice.request_id)
                .values(
                    status=FAILED if give_up else PENDING,
                    attempts=attempts,
                    last_attempt_at=now,
                    next_attempt_at=next_attempt,
                    last_error=reason[:80],
                )
            )
        web_metrics.email_notification("given_up" if give_up else "failed")
        if give_up:
            logger.error(
                "notification of request %d (%s) not sent after %d attempts (%s): given up, shown in the console",
                notice.request_id,
                notice.kind,
                attempts,
                reason,
            )
        else:
            logger.warning(
                "notification of request %d (%s) not sent (%s), attempt %d; next at %s",
                notice.request_id,
                notice.kind,
                reason,
                attempts,
                next_attempt,
            )
        return False

    def retry_now(self, request_id: int) -> bool:
        """Make a failed (or waiting) notification due now (the console's "retry"); False if there is none to retry.

        The worker sends it at once when running (woken up), else at its next round. One more failure after giving
        up marks it failed again.
        """
        n = notifications_table
        with self.engine.begin() as conn:
            changed = conn.execute(
                n.update()
                .where(n.c.request_id == int(request_id), n.c.status.in_((FAILED, PENDING)))
                .values(status=PENDING, next_attempt_at=self.clock())
            ).rowcount
        if changed:
            logger.info("notification of request %d: retry asked for", int(request_id))
            self.wake()
        return bool(changed)

    def wake(self) -> None:
        """Start the worker's next round now (from any thread)."""
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    # --- what the console shows --------------------------------------------------------------------------------

    def _statuses(self, where: sa.sql.ColumnElement, limit: Optional[int] = None) -> List[NotificationStatus]:
        n, r = notifications_table, requests_table
        query = (
            sa.select(
                n.c.request_id,
                r.c.kind,
                r.c.created_at.label("requested_at"),
                n.c.status,
                n.c.attempts,
                n.c.last_error,
                n.c.next_attempt_at,
                n.c.sent_at,
            )
            .select_from(n.join(r, _same_request()))
            .where(where)
            .order_by(n.c.request_id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = [row._mapping for row in conn.execute(query)]
        return [
            NotificationStatus(
                **{
                    **row,
                    "requested_at": as_utc(row["requested_at"]),
                    "next_attempt_at": as_utc(row["next_attempt_at"]),
                    "sent_at": as_utc(row["sent_at"]),
                }
            )
            for row in rows
        ]

    def problems(self, limit: int = 50) -> List[NotificationStatus]:
        """Notifications not sent although tried (waiting for a retry, or failed), newest request first."""
        n = notifications_table
        return self._statuses(sa.and_(n.c.status.in_((PENDING, FAILED)), n.c.attempts > 0), limit)

    def status_of(self, request_ids: Iterable[int]) -> Dict[int, NotificationStatus]:
        """request id -> its notification's status, for the requests that have one."""
        ids = sorted({int(i) for i in request_ids})
        if not ids:
            return {}
        return {s.request_id: s for s in self._statuses(notifications_table.c.request_id.in_(ids))}

    # --- the worker --------------------------------------------------------------------------------------------

    async def run_once(self, stop: Optional[asyncio.Event] = None) -> None:
        """One round: clean up, find new requests, send what is due. Database or other errors are logged (their
        type only: messages can quote SQL parameters) and the next round tries again."""
        try:
            await asyncio.to_thread(self.delete_orphans)
            if self.enabled:
                await asyncio.to_thread(self.discover)
                await self.send_due(stop)
        except Exception as error:  # the worker must outlive a database that is briefly away
            logger.error("e-mail notifications: round failed (%s), trying again later", type(error).__name__)

    async def run(self, stop: asyncio.Event, interval: float = 15.0) -> None:
        """Rounds every `interval` seconds (sooner after `wake`) until `stop` is set; the web service's lifespan
        starts it as a task."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        if self.enabled:
            logger.info("e-mail notifications of new requests on: %s", self.settings.summary())
        else:
            logger.info("e-mail notifications of new requests are off (SMTP_HOST is not set)")
        try:
            while not stop.is_set():
                await self.run_once(stop)
                await self._pause(stop, interval)
        finally:
            self._loop = self._wake = None

    async def _pause(self, stop: asyncio.Event, interval: float) -> None:
        assert self._wake is not None
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            self._wake.clear()
