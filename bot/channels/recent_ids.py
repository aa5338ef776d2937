"""Remember the message ids already handled, so a webhook Meta delivers twice is handled once.

`SeenMessages` keeps them in a table of its own, `meta_seen_messages`, in the database the Rasa process
keeps conversations in (SQLite locally, PostgreSQL in production): every Rasa process behind the load
balancer shares it, and a restart forgets nothing. A key is claimed with a plain INSERT; the primary-key
conflict means another delivery (in this process or another) claimed it first. That is atomic on SQLite and
on PostgreSQL alike. Only a SHA-256 of the key is stored: a message without a `mid` is keyed by its sender,
time and text (bot/channels/events.py), and the table must hold nothing about a patient.

Entries expire after 24 hours (`DEFAULT_TTL_SECONDS`, Meta redelivers within minutes to hours): a
redelivery that comes later than that is handled again. Expired rows are deleted at most once a minute
per process.

The database is the truth; `RecentIds`, in memory, is a front cache of the keys this process took (no
database round trip for a redelivery of a message this process handled). If the database cannot be reached
the message is NOT dropped: it is checked against the front cache only and handled (a warning without ids
is logged), because answering a patient twice is better than not answering.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List, Optional, Sequence, Union

import sqlalchemy as sa

from bot.storage.database_urls import TRACKER_DB_URL_ENV, tracker_db_url

logger = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 24 * 3600
CLEANUP_EVERY_SECONDS = 60.0
TIMEOUT_SECONDS = 5.0  # longest a webhook waits for the database before handling its messages without it
DB_TIMEOUT_SECONDS = 3  # connect (PostgreSQL) / lock wait (SQLite) timeout of one database call
TABLE_NAME = "meta_seen_messages"

METADATA = sa.MetaData()
SEEN = sa.Table(
    TABLE_NAME,
    METADATA,
    sa.Column("dedup_key", sa.String(64), primary_key=True),  # hex SHA-256 of the channel and the key
    sa.Column("seen_at", sa.Float, nullable=False, index=True),  # Unix time (seconds) of the first delivery
)

DatabaseUrl = Union[str, Callable[[], Optional[str]], None]


class RecentIds:
    """A bounded set of ids that forgets the oldest entries (by count and by age). In memory, one process."""

    def __init__(
        self,
        max_size: int = 50_000,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_size = max_size
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def _expire(self, now: float) -> None:
        while self._seen:
            seen_at = next(iter(self._seen.values()))
            if now - seen_at <= self.ttl_seconds and len(self._seen) < self.max_size:
                break
            self._seen.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        self._expire(self._clock())
        return key in self._seen

    def add(self, key: str, seen_at: Optional[float] = None) -> None:
        """Remember `key` as seen at `seen_at` (now by default); an entry already there keeps its time."""
        now = self._clock()
        self._expire(now)
        if key not in self._seen:
            self._seen[key] = now if seen_at is None else seen_at

    def first_time(self, key: str) -> bool:
        """True the first time `key` is seen (and remember it); False for a repeat."""
        if key in self:
            return False
        self.add(key)
        return True


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def rasa_tracker_db_url(app: Any) -> Optional[str]:
    """The SQLAlchemy URL of the SQL tracker store of the Rasa server `app` runs (app.ctx.agent), if any.

    Rasa wraps the store (FailSafeTrackerStore -> AwaitableTrackerStore -> the SQL store with its `engine`).
    """
    store = getattr(getattr(getattr(app, "ctx", None), "agent", None), "tracker_store", None)
    for _ in range(5):
        engine = getattr(store, "engine", None)
        if isinstance(engine, sa.engine.Engine):
            return engine.url.render_as_string(hide_password=False)
        store = getattr(store, "_tracker_store", None)
        if store is None:
            return None
    return None


def conversations_db_url(app: Any = None) -> Optional[str]:
    """Where the Rasa process keeps conversations: $RASA_TRACKER_DB_URL (set by bot/processes/launcher.py), else the
    SQL tracker store Rasa loaded (whatever --endpoints file it was given), else the one in endpoints.yml.
    None if the tracker store is not an SQL one."""
    url = os.environ.get(TRACKER_DB_URL_ENV) or rasa_tracker_db_url(app)
    if url:
        return url
    try:
        return tracker_db_url()
    except Exception as error:  # not an SQL store, no or unreadable endpoints.yml
        logger.warning("message de-duplication: no SQL tracker store found (%s)", type(error).__name__)
        return None


class SeenMessages:
    """The message keys already handled, in the conversations' database (shared by every Rasa process).

    `database_url`: a SQLAlchemy URL, a function returning one (called at first use, e.g. once Rasa has loaded
    its tracker store), or None for no database (this process's memory only).
    """

    def __init__(
        self,
        database_url: DatabaseUrl,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
        cleanup_every: float = CLEANUP_EVERY_SECONDS,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self._url_source = database_url
        self.ttl_seconds = ttl_seconds
        self._clock = clock  # wall-clock time: compared across processes
        self.cleanup_every = cleanup_every
        self.timeout = timeout
        self.front = RecentIds(ttl_seconds=ttl_seconds, clock=clock)
        self._lock = threading.Lock()  # guards the front cache (database calls run in worker threads)
        self._setup_lock = threading.Lock()  # guards the engine set-up (which may wait for the database)
        self._engine: Optional[sa.engine.Engine] = None
        self._resolved = False
        self._table_ready = False
        self._last_cleanup: Optional[float] = None
        self._executor: Optional[ThreadPoolExecutor] = None

    # -- the database ------------------------------------------------------------------------------------

    def _get_engine(self) -> Optional[sa.engine.Engine]:
        with self._setup_lock:
            if not self._resolved:
                source = self._url_source
                url = source() if callable(source) else source
                if url:
                    self._engine = _create_engine(url)
                elif callable(source):
                    logger.warning("message de-duplication: no database, so only this process recognises a redelivery")
                self._resolved = True
            return self._engine

    def _ensure_table(self, engine: sa.engine.Engine) -> None:
        if self._table_ready:
            return
        try:
            METADATA.create_all(engine, checkfirst=True)
        except sa.exc.SQLAlchemyError:
            # another process may have created it at the same moment
            if not sa.inspect(engine).has_table(TABLE_NAME):
                raise
        self._table_ready = True

    def _claim(self, engine: sa.engine.Engine, digest: str, now: float) -> bool:
        """True if this call took `digest`: a new row, or a row older than the TTL taken over."""
        try:
            with engine.begin() as conn:
                conn.execute(SEEN.insert().values(dedup_key=digest, seen_at=now))
            return True
        except sa.exc.IntegrityError:
            pass  # the primary key is taken: seen before, by this process or another
        with engine.begin() as conn:
            expired = SEEN.c.seen_at < now - self.ttl_seconds
            result = conn.execute(SEEN.update().where(SEEN.c.dedup_key == digest, expired).values(seen_at=now))
        return result.rowcount == 1  # the row expired but is not deleted yet: a new delivery

    def _cleanup(self, engine: sa.engine.Engine, now: float) -> None:
        if self._last_cleanup is not None and now - self._last_cleanup < self.cleanup_every:
            return
        self._last_cleanup = now
        try:
            with engine.begin() as conn:
                conn.execute(SEEN.delete().where(SEEN.c.seen_at < now - self.ttl_seconds))
        except Exception as error:  # the messages are claimed: a failed clean-up is tried again later
            logger.warning("message de-duplication: deleting expired entries failed (%s)", type(error).__name__)

    # -- checking keys -----------------------------------------------------------------------------------

    def _first_times_locally(self, digests: Sequence[str]) -> List[bool]:
        with self._lock:
            return [self.front.first_time(digest) for digest in digests]

    def first_times(self, keys: Sequence[str]) -> List[bool]:
        """For each key, True if this is its first delivery (to any process sharing the database).

        Blocking (database calls): from async code use `check`. A key repeated within `keys` is a repeat.
        """
        digests = [_digest(key) for key in keys]
        with self._lock:
            known = [digest in self.front for digest in digests]
        pending = [digest for digest, seen in zip(digests, known) if not seen]
        if not pending:
            return [False] * len(digests)
        try:
            engine = self._get_engine()
            if engine is None:
                return self._first_times_locally(digests)
            self._ensure_table(engine)
            now = self._clock()
            claimed = {digest: self._claim(engine, digest, now) for digest in dict.fromkeys(pending)}
            self._cleanup(engine, now)
        except Exception as error:  # never lose a message over de-duplication
            self._table_ready = False  # check the table again next time (it may have been dropped)
            logger.warning(
                "message de-duplication: database unavailable (%s); %d messages checked by this process only, "
                "a redelivery may be answered twice",
                type(error).__name__,
                len(digests),
            )
            return self._first_times_locally(digests)
        with self._lock:  # remember what this process took, with the time the database has for it
            for digest, taken in claimed.items():
                if taken:
                    self.front.add(digest, seen_at=now)
        answers, counted = [], set()
        for digest, seen in zip(digests, known):
            answers.append(not seen and claimed[digest] and digest not in counted)
            counted.add(digest)
        return answers

    async def check(self, keys: Sequence[str]) -> List[bool]:
        """`first_times` in a worker thread, waiting at most `timeout` seconds for the database.

        Past that, the keys are checked against this process's memory only (and the messages handled).
        """
        if not keys:
            return []
        digests = [_digest(key) for key in keys]
        with self._lock:
            known_before = [digest in self.front for digest in digests]
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="meta-dedup")
            executor = self._executor
        future = asyncio.get_running_loop().run_in_executor(executor, self.first_times, list(keys))
        try:
            return await asyncio.wait_for(future, self.timeout)
        except asyncio.TimeoutError:
            logger.warning(
                "message de-duplication: no answer from the database within %g s; %d messages checked by this "
                "process only, a redelivery may be answered twice",
                self.timeout,
                len(keys),
            )
            return self._new_unless_known_before(digests, known_before)

    def _new_unless_known_before(self, digests: Sequence[str], known_before: Sequence[bool]) -> List[bool]:
        """After a timeout: new unless this process knew the key before asking the database (the worker, still
        running, may have claimed it meanwhile: asking the memory now would wrongly call it a duplicate)."""
        answers, counted = [], set()
        with self._lock:
            for digest, known in zip(digests, known_before):
                answers.append(not known and digest not in counted)
                counted.add(digest)
                self.front.add(digest)
        return answers

    def close(self) -> None:
        """Stop the worker threads (without waiting) and close the database connections."""
        with self._lock:
            executor, self._executor = self._executor, None
        engine = self._engine
        if executor is not None:
            executor.shutdown(wait=False)
        if engine is not None:
            engine.dispose()


def _create_engine(url: str) -> sa.engine.Engine:
    backend = sa.engine.make_url(url).get_backend_name()
    connect_args = {}
    if backend == "sqlite":
        connect_args = {"timeout": DB_TIMEOUT_SECONDS}
    elif backend == "postgresql":
        connect_args = {"connect_timeout": DB_TIMEOUT_SECONDS}
    return sa.create_engine(url, future=True, pool_pre_ping=True, connect_args=connect_args)
