"""One row per key, the latest values winning: the "save again replaces" of the console's tables.

SQLAlchemy 1.4 has no portable upsert (SQLite's and PostgreSQL's ON CONFLICT are dialect constructs), so: update the
row of `key`; if there is none, insert it in a savepoint. Two writers inserting the same key at once: the first
insert stands and the second is dropped (the caller says which it prefers by when it writes, not here).
"""

from __future__ import annotations

from typing import Any, Mapping

import sqlalchemy as sa


def update_or_insert(
    conn: sa.engine.Connection, table: sa.Table, key: Mapping[str, Any], values: Mapping[str, Any]
) -> None:
    """Within the caller's transaction: the row whose columns equal `key` gets `values`, or is made with both."""
    where = [table.c[name] == value for name, value in key.items()]
    if conn.execute(table.update().where(*where).values(**values)).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(table.insert().values(**key, **values))
    except sa.exc.IntegrityError:  # inserted at the same moment by another writer: that row stands
        pass
