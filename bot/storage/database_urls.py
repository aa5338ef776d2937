"""Where the conversations (Rasa's SQL tracker store) are kept: the one place that resolves its database URL.

In order: a SQLite file the launcher was given (`TRACKER_DB`), else $RASA_TRACKER_DB_URL (set by
bot/processes/launcher.py for the processes it starts, and by the production profile from $DATABASE_URL),
else the SQL tracker store of endpoints.yml. Used by the launcher, the production profile, retention,
"forget me" (actions/privacy.py) and the Meta channels' de-duplication (bot/channels/recent_ids.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional, Union

import yaml

ROOT = Path(__file__).resolve().parents[2]
ENDPOINTS = ROOT / "endpoints.yml"
TRACKER_DB_URL_ENV = "RASA_TRACKER_DB_URL"
PRODUCTION_DB_URL_ENV = "DATABASE_URL"  # the production profile's PostgreSQL database (bot/processes/production.py)


def sqlite_url(path: Union[str, Path]) -> str:
    """The SQLAlchemy URL of a SQLite file (absolute)."""
    return f"sqlite:///{Path(path).resolve()}"


def tracker_url_from_endpoints(config: Dict[str, Any], root: Path = ROOT) -> str:
    """SQLAlchemy URL of the SQL tracker store in an endpoints.yml; a relative SQLite path is taken from `root`."""
    store = config.get("tracker_store") or {}
    kind = str(store.get("type", ""))
    if kind.upper() != "SQL" and not kind.endswith("SQLTrackerStore"):  # e.g. ClinicSQLTrackerStore
        raise ValueError(f"the tracker store in endpoints.yml is not an SQL one: {kind!r}")
    dialect = store.get("dialect", "sqlite")
    db = str(store.get("db", "rasa.db"))
    if dialect == "sqlite":
        return f"sqlite:///{db if Path(db).is_absolute() else root / db}"
    if store.get("url") and "://" in str(store["url"]):
        return str(store["url"])
    import sqlalchemy as sa  # here only: the launcher imports this module, and SQLAlchemy is ~20 MB of its memory

    url = sa.engine.URL.create(
        dialect,
        username=store.get("username"),
        password=store.get("password"),
        host=store.get("url"),
        port=store.get("port"),
        database=db,
    )
    return url.render_as_string(hide_password=False)


def tracker_db_url(endpoints: Path = ENDPOINTS, tracker_db: Optional[str] = None) -> str:
    """The conversations' database: the SQLite file `tracker_db`, else $RASA_TRACKER_DB_URL, else endpoints.yml's.

    ValueError when it comes from endpoints.yml and that tracker store is not an SQL one.
    """
    if tracker_db:
        return sqlite_url(tracker_db)
    return os.environ.get(TRACKER_DB_URL_ENV) or tracker_url_from_endpoints(yaml.safe_load(endpoints.read_text()))


def sql_tracker_db_url(endpoints: Path = ENDPOINTS, tracker_db: Optional[str] = None) -> Optional[str]:
    """`tracker_db_url`, or None when the tracker store is not an SQL one or endpoints.yml cannot be read."""
    try:
        return tracker_db_url(endpoints, tracker_db)
    except (ValueError, OSError, yaml.YAMLError):
        return None


def production_db_url() -> Optional[str]:
    """$DATABASE_URL: the production profile's conversations database; None when unset."""
    return os.environ.get(PRODUCTION_DB_URL_ENV) or None
