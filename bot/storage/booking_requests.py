"""Booking and hand-off requests for staff: one interface, a durable SQL store.

Default: a SQLite file (.data/requests.sqlite); any SQL database through a SQLAlchemy URL in
$BOOKING_REQUESTS_DB_URL (e.g. postgresql://user:pass@host/db). Requests hold contact details and,
only with the patient's consent, ACC details: they are health information (never logged).
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from bot.storage.times import as_utc

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_URL = f"sqlite:///{ROOT / '.data' / 'requests.sqlite'}"
# booking: call-back to book; handoff: call-back to talk to a person; chat: asked for a person in the chat itself
# (no details: staff can take the conversation over in the console, bot/web/console/); change: change or cancel an
# appointment (the chat changes nothing itself; `note` holds what the patient wrote)
KINDS = ("booking", "handoff", "chat", "change")
STATUSES = ("new", "in_progress", "done")  # staff move a request along these in the console

_metadata = sa.MetaData()
requests_table = sa.Table(
    "booking_requests",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(64)),
    sa.Column("name", sa.String(200)),
    sa.Column("phone", sa.String(40)),
    sa.Column("email", sa.String(254)),
    sa.Column("appointment_type", sa.String(40)),
    sa.Column("acc_details", sa.Text),  # JSON, only when the patient agreed to share
    sa.Column("note", sa.Text),
    sa.Column("status", sa.String(16), nullable=False, server_default="new", index=True),
    sa.Column("status_by", sa.String(40)),  # the staff user name of the last change
    sa.Column("status_at", sa.DateTime(timezone=True)),
)
# Columns added after the table first shipped: added to an existing table when a store opens it.
LATER_COLUMNS = ("status", "status_by", "status_at")


@dataclass
class BookingRequest:
    """What staff need to follow up a patient; `acc_details` only with consent."""

    kind: str
    sender_id: str
    channel: Optional[str] = None
    name: Optional[str] = None
    phone: Optional[str] = None
    email: Optional[str] = None
    appointment_type: Optional[str] = None
    acc_details: Optional[Dict[str, Any]] = None
    note: Optional[str] = None
    id: Optional[int] = None
    created_at: Optional[datetime] = field(default=None)
    status: str = "new"
    status_by: Optional[str] = None
    status_at: Optional[datetime] = None

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        for name in ("created_at", "status_at"):
            data[name] = data[name].isoformat() if data[name] else None
        return data


def database_url() -> str:
    return os.environ.get("BOOKING_REQUESTS_DB_URL") or DEFAULT_URL


class BookingRequestStore:
    """Adds, lists and deletes booking/hand-off requests in a SQL database."""

    def __init__(self, url: Optional[str] = None) -> None:
        self.url = url or database_url()
        if self.url.startswith("sqlite:///"):
            Path(self.url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(self.url, future=True, pool_pre_ping=True)
        _metadata.create_all(self.engine)
        add_later_columns(self.engine)

    def add(self, request: BookingRequest) -> BookingRequest:
        if request.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {request.kind!r}")
        created = datetime.now(timezone.utc)
        values = {k: v for k, v in request.to_dict().items() if k not in ("id", "created_at", "status_at")}
        values["acc_details"] = json.dumps(request.acc_details) if request.acc_details else None
        with self.engine.begin() as conn:
            result = conn.execute(requests_table.insert().values(created_at=created, **values))
            request.id = int(result.inserted_primary_key[0])
        request.created_at = created
        return request

    def list(
        self,
        limit: int = 100,
        kind: Optional[str] = None,
        sender_id: Optional[str] = None,
        status: Optional[str] = None,
    ) -> List[BookingRequest]:
        """Newest first."""
        query = sa.select(requests_table).order_by(requests_table.c.id.desc()).limit(limit)
        if kind:
            query = query.where(requests_table.c.kind == kind)
        if sender_id:
            query = query.where(requests_table.c.sender_id == sender_id)
        if status:
            query = query.where(requests_table.c.status == status)
        with self.engine.connect() as conn:
            return [self._from_row(row._mapping) for row in conn.execute(query)]

    def get(self, request_id: int) -> Optional[BookingRequest]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(requests_table).where(requests_table.c.id == request_id)).first()
        return self._from_row(row._mapping) if row else None

    def count_by_status(self) -> Dict[str, int]:
        """{"new": 3, "in_progress": 1, "done": 20}: every status, 0 when none."""
        query = sa.select(requests_table.c.status, sa.func.count()).group_by(requests_table.c.status)
        with self.engine.connect() as conn:
            counts = dict(conn.execute(query).all())
        return {status: int(counts.get(status, 0)) for status in STATUSES}

    def set_status(self, request_id: int, status: str, by: str) -> Optional[BookingRequest]:
        """Moves the request to `status`, recording who and when; None when there is no such request."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
        with self.engine.begin() as conn:
            changed = conn.execute(
                requests_table.update()
                .where(requests_table.c.id == request_id)
                .values(status=status, status_by=by, status_at=datetime.now(timezone.utc))
            ).rowcount
        return self.get(request_id) if changed else None

    def open_request_of(self, sender_id: str, kind: str, within: timedelta) -> Optional[BookingRequest]:
        """The sender's newest request of `kind` still "new" and made within `within`, if any."""
        since = datetime.now(timezone.utc) - within
        query = (
            sa.select(requests_table)
            .where(
                requests_table.c.sender_id == sender_id,
                requests_table.c.kind == kind,
                requests_table.c.status == "new",
                requests_table.c.created_at >= since,
            )
            .order_by(requests_table.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return self._from_row(row._mapping) if row else None

    def close_open(self, sender_id: str, kind: str, by: str) -> int:
        """Marks the sender's "new" requests of `kind` done by `by` (a call-back request supersedes a "chat" one)."""
        with self.engine.begin() as conn:
            return conn.execute(
                requests_table.update()
                .where(
                    requests_table.c.sender_id == sender_id,
                    requests_table.c.kind == kind,
                    requests_table.c.status == "new",
                )
                .values(status="done", status_by=by, status_at=datetime.now(timezone.utc))
            ).rowcount

    def ids_of_sender(self, sender_id: str) -> List[int]:
        with self.engine.connect() as conn:
            query = sa.select(requests_table.c.id).where(requests_table.c.sender_id == sender_id)
            return [int(row.id) for row in conn.execute(query)]

    def delete_sender(self, sender_id: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(requests_table.delete().where(requests_table.c.sender_id == sender_id)).rowcount

    def delete_older_than(self, days: int, now: Optional[datetime] = None) -> int:
        cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=days)
        with self.engine.begin() as conn:
            return conn.execute(requests_table.delete().where(requests_table.c.created_at < cutoff)).rowcount

    @staticmethod
    def _from_row(row: Any) -> BookingRequest:
        data = dict(row)
        data["acc_details"] = json.loads(data["acc_details"]) if data.get("acc_details") else None
        for name in ("created_at", "status_at"):
            data[name] = as_utc(data.get(name))
        data["status"] = data.get("status") or "new"
        return BookingRequest(**data)


def add_later_columns(engine: sa.engine.Engine) -> None:
    """ALTER TABLE for the columns a database made before them lacks (LATER_COLUMNS), and their index; nothing when
    present. Two processes starting at once may both try: the loser finds the column there."""
    for name in LATER_COLUMNS:
        if name in {column["name"] for column in sa.inspect(engine).get_columns("booking_requests")}:
            continue
        kind = requests_table.c[name].type.compile(dialect=engine.dialect)
        default = " NOT NULL DEFAULT 'new'" if name == "status" else ""
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f"ALTER TABLE booking_requests ADD COLUMN {name} {kind}{default}"))
        except sa.exc.DBAPIError:
            if name not in {column["name"] for column in sa.inspect(engine).get_columns("booking_requests")}:
                raise
    status_index = next(index for index in requests_table.indexes if list(index.columns) == [requests_table.c.status])
    status_index.create(engine, checkfirst=True)


@functools.lru_cache(maxsize=8)
def _store_at(url: str) -> BookingRequestStore:
    return BookingRequestStore(url)


def shared_store(url: Optional[str] = None) -> BookingRequestStore:
    """One store (engine, connection pool, table check) per database URL for the life of the process."""
    return _store_at(url or database_url())
