"""Times as the stores keep them: aware UTC datetimes. SQLite hands back naive datetimes, which were stored in UTC."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: Optional[datetime]) -> Optional[datetime]:
    """`moment` with its time zone: a naive one (from SQLite) is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)
