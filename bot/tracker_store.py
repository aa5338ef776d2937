"""The assistant's tracker store: Rasa's SQLTrackerStore with two measured speed-ups.

`make bench` under py-spy (README, Benchmarks) showed per-message time going to SQLite's fsync on every
commit (~10 %) and to `Event.resolve_by_type`, which walks all Event subclasses for every stored event
(~10 %). This store, named in endpoints.yml as `bot.tracker_store.ClinicSQLTrackerStore`:

- puts a SQLite database in WAL mode with `synchronous=NORMAL`: a crash of the server loses nothing;
  only a power cut can lose the last transactions. Other databases (PostgreSQL) are left as they are;
- caches the event-type lookup (the set of event classes does not change while the server runs).
"""

from __future__ import annotations

import functools
from typing import Any, Optional, Type

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event
from sqlalchemy import event as sa_event

_resolve_uncached = Event.resolve_by_type


@functools.cache
def _resolve_cached(type_name: str) -> Optional[Type[Event]]:
    return _resolve_uncached(type_name)


def resolve_by_type(type_name: str, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """`Event.resolve_by_type` with the lookup cached; same results and errors."""
    try:
        return _resolve_cached(type_name)
    except ValueError:
        if default is not None:
            return default
        raise


Event.resolve_by_type = staticmethod(resolve_by_type)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class ClinicSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore; SQLite databases run in WAL mode with synchronous=NORMAL."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            sa_event.listen(self.engine, "connect", _sqlite_pragmas)
            self.engine.dispose()  # connections opened while creating tables get the pragmas too
