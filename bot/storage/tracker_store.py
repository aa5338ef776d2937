"""The assistant's tracker store: Rasa's SQLTrackerStore with measured speed-ups.

`make bench` under py-spy (README, Benchmarks) showed per-message time going to SQLite's fsync on every
commit (~10 %) and to `Event.resolve_by_type`, which walks all Event subclasses for every stored event
(~10 %). This store, named in endpoints.yml as `bot.storage.tracker_store.ClinicSQLTrackerStore`:

- puts a SQLite database in WAL mode with `synchronous=NORMAL`: a crash of the server loses nothing;
  only a power cut can lose the last transactions. Other databases (PostgreSQL) are left as they are;
- keeps SQLite connections open in a pool: SQLAlchemy 1.4 opens and closes a new one for every session of a
  file database (`NullPool`), which with the pragmas above was ~7 % of a message's time under load (`make profile`).
  A pooled connection whose file is no longer the one at the database's path (moved, replaced, a disk gone) is
  dropped when taken from the pool, so writes never go on into a file nobody reads (tests/e2e/test_failures.py);
- caches the event-type lookup (the set of event classes does not change while the server runs);
- keeps each conversation's current session in memory (`bot/storage/tracker_window.py`) and hands Rasa a working
  tracker of the last turns, so a message costs the same at message 200 as at message 5. The database stays
  the truth: every retrieval checks the session's rows (one count, one query for rows newer than the cached
  ones), so rows written by another Rasa process are applied and deleted rows ("forget me", retention)
  force a reload. Like Rasa's own save, this relies on the lock store: one message per conversation at a time.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker, TrackerEventDiffEngine
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import event as sa_event
from sqlalchemy.orm import sessionmaker

from bot import rasa_patches
from bot.rasa_patches import TrackerStoreUnavailable, resolve_by_type
from bot.storage.tracker_window import CachedSession, SessionCache, StoredUpTo, WorkingTracker
from bot.storage.transcripts import create_activity_index

__all__ = ["ClinicSQLTrackerStore", "TrackerStoreUnavailable", "resolve_by_type", "write_problem"]
rasa_patches.apply()  # every Rasa process loads this store (endpoints.yml): the patches are in before the agent
logger = logging.getLogger(__name__)

CACHE_EVENTS = 50_000  # events kept in memory per Rasa process: ~2.2 KB each measured, so at most ~110 MB
DEFAULT_IDLE_MINUTES = 60  # how long an unused session stays cached when sessions never expire


def write_problem(engine: sa.engine.Engine) -> Optional[str]:
    """None if the events table takes a write (a delete of no row, rolled back), else why not."""
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            try:
                conn.execute(sa.text("DELETE FROM events WHERE id < 0"))
            finally:
                transaction.rollback()
    except sa.exc.SQLAlchemyError as error:
        return str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _file_identity(path: str) -> Optional[tuple]:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


def _pool_sqlite_file(engine: sa.engine.Engine) -> sa.engine.Engine:
    """The same SQLite database with pooled connections, each checked out only while its file is still the one."""
    path = engine.url.database
    pooled = sa.create_engine(engine.url, poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False})

    @sa_event.listens_for(pooled, "connect")
    def _connected(dbapi_connection: Any, record: Any) -> None:
        _sqlite_pragmas(dbapi_connection, record)
        record.info["file"] = _file_identity(path)

    @sa_event.listens_for(pooled, "checkout")
    def _checked_out(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if record.info.get("file") != _file_identity(path):
            raise sa.exc.DisconnectionError("the database file changed")  # the pool connects afresh

    engine.dispose()
    return pooled


class EventStatements:
    """The events-table statements of every message, built once: SQLAlchemy Core, not the ORM's per-object work
    (the ORM's query building, unit of work and row objects were ~15 % of a message's time under load, `make
    profile`). The rows and ids are those Rasa's own save would write."""

    def __init__(self, table: sa.Table, dialect: str) -> None:
        self.table, self.dialect = table, dialect
        self._insert = table.insert()
        self._last_rowid = sa.text("SELECT last_insert_rowid()")
        c = table.c
        sender = c.sender_id == sa.bindparam("sender")
        between = c.id.between(sa.bindparam("first"), sa.bindparam("last"))
        self.count = sa.select(sa.func.count(c.id)).where(sender, between)
        self.newer = sa.select(c.id, c.type_name, c.data).where(sender, c.id > sa.bindparam("after")).order_by(c.id)

    def insert(self, connection: sa.engine.Connection, rows: List[Dict[str, Any]]) -> List[int]:
        """Insert `rows`; their ids, in order.

        SQLite: one executemany (compiled once); its rows get consecutive rowids (the largest + 1 each) under the
        write lock the transaction holds, so the last one gives them all. PostgreSQL: one multi-row INSERT …
        RETURNING, a single round trip to the server (the sequence numbers the rows in their order). Others: a
        row at a time.
        """
        if self.dialect == "sqlite":
            connection.execute(self._insert, rows)
            last = connection.execute(self._last_rowid).scalar()
            return list(range(last - len(rows) + 1, last + 1))
        if self.dialect == "postgresql":
            statement = self.table.insert().values(rows).returning(self.table.c.id)
            return sorted(row[0] for row in connection.execute(statement))
        return [connection.execute(self._insert, row).inserted_primary_key[0] for row in rows]


class ClinicSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore with sessions cached in memory and bounded working trackers; SQLite in WAL mode."""

    def __init__(self, *args: Any, cache_events: int = CACHE_EVENTS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        expiry = self.domain.session_config.session_expiration_time  # minutes; 0 = sessions never expire
        self.sessions = SessionCache(int(cache_events), max_idle=60 * (expiry or DEFAULT_IDLE_MINUTES))
        # (a SQLite memory database lives in its one connection: left as Rasa made it)
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            self.engine = _pool_sqlite_file(self.engine)
            self.sessionmaker = sessionmaker(bind=self.engine)
        # Rasa only logs a database it cannot create tables in, and carries on: stop the start instead
        problem = write_problem(self.engine)
        if problem:
            raise TrackerStoreUnavailable(
                f"the conversations database {self.engine.url.render_as_string(hide_password=True)} "
                f"cannot be written: {problem}"
            )
        create_activity_index(self.engine)  # the staff console's "live chats" read events by time
        self._sql = EventStatements(self.SQLEvent.__table__, self.engine.dialect.name)

    def write_problem(self) -> Optional[str]:
        """None while the conversations database takes writes, else why not (for readiness)."""
        return write_problem(self.engine)

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """Working tracker of the sender's current session (None if there is none)."""
        with self.session_scope() as session:
            cached = self._catch_up(session, sender_id) or self._load(session, sender_id)
        if cached is None:
            self.sessions.pop(sender_id)
            return None
        self.sessions.put(sender_id, cached)
        return cached.working_tracker(self.domain.slots)

    def _catch_up(self, session: Any, sender_id: str) -> Optional[CachedSession]:
        """The cached session with the rows written since; None if there is none or it no longer matches."""
        cached = self.sessions.get(sender_id)
        if cached is None:
            return None
        connection = session.connection()
        if not self._still_stored(connection, sender_id, cached):
            return None
        rows = connection.execute(self._sql.newer, {"sender": sender_id, "after": cached.last_id}).all()
        if any(row.type_name == SessionStarted.type_name for row in rows):
            return None  # a new session: load it as Rasa does
        if rows:
            cached.extend(deserialise_events([json.loads(row.data) for row in rows]), [row.id for row in rows])
        return cached

    def _still_stored(self, connection: sa.engine.Connection, sender_id: str, cached: CachedSession) -> bool:
        """False if some of the cached rows were deleted ("forget me", retention)."""
        bounds = {"sender": sender_id, "first": cached.first_id, "last": cached.last_id}
        return connection.execute(self._sql.count, bounds).scalar() == cached.rows

    def _load(self, session: Any, sender_id: str) -> Optional[CachedSession]:
        """Load the current session from the database, as SQLTrackerStore does."""
        table = self.SQLEvent
        rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
        rows = rows.with_entities(table.id, table.data).all()
        if not rows:
            return None
        events = deserialise_events([json.loads(row.data) for row in rows])
        return CachedSession.build(sender_id, self.domain.slots, events, [row.id for row in rows])

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events the database does not have yet; keep the cached session in step."""
        if not isinstance(tracker, WorkingTracker):  # a new conversation, or one the HTTP API replaced
            self.sessions.pop(tracker.sender_id)
            await super().save(tracker)
            return
        last_id = tracker.stored.last_id
        events = list(tracker.events)[tracker.stored.events :]
        if not events:
            return
        if self.event_broker is not None:
            await self._stream_new_events(self.event_broker, events, tracker.sender_id)
        cached = self.sessions.get(tracker.sender_id)
        rows = [self._row(tracker.sender_id, event) for event in events]
        with self.engine.begin() as connection:
            ids = self._sql.insert(connection, rows)
            keep = (
                cached is not None
                and cached.last_id == last_id
                and not _starts_session(events)
                and self._still_stored(connection, tracker.sender_id, cached)  # e.g. "forget me" deleted them
            )
        tracker.stored = StoredUpTo(len(tracker.events), ids[-1])
        if keep:
            cached.extend(events, ids)
        else:
            self.sessions.pop(tracker.sender_id)

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Publish new events to the event broker, diffing against the stored session (not a working tracker)."""
        if self.event_broker is None:
            return
        stored = await SQLTrackerStore.retrieve(self, tracker.sender_id)
        events = TrackerEventDiffEngine.event_difference(stored, tracker)
        await self._stream_new_events(self.event_broker, events, tracker.sender_id)

    @staticmethod
    def _row(sender_id: str, event: Event) -> Dict[str, Any]:
        """The events-table row of `event`, as SQLTrackerStore writes it."""
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }


def _starts_session(events: Sequence[Event]) -> bool:
    return any(isinstance(event, SessionStarted) for event in events)
