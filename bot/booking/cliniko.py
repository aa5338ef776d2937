"""The Cliniko adapter: available times and booking through Cliniko's public API (github.com/redguava/cliniko-api).

`ClinikoSettings.load` reads the secret from the environment and the clinic's ids from the `cliniko:` section of
clinic_profile.yml; `ClinikoProvider` implements bot/booking/provider.py's `BookingProvider`. The HTTP rules
(auth, headers, paging, failures, what is logged) are in bot/booking/cliniko_client.py.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from bot.booking.cliniko_client import ClinikoClient, ClinikoSession, Sleep
from bot.booking.provider import Booked, BookingUnavailable, NewPatient, Slot, SlotTaken
from bot.clinic.injury_dates import CLINIC_TZ
from bot.clinic.profile import is_placeholder

logger = logging.getLogger(__name__)

# readme, "Base URL & shards": "API keys have the shard appended to the end, e.g. `...-au2` is in the shard `au2`.
# If your API key was generated some time ago and has no shard on it, your shard will be `au1`"; the shard should
# match /\w{2}\d{1,2}/.
SHARD = re.compile(r"-([A-Za-z]{2}\d{1,2})$")
MAX_WINDOW_DAYS = 7  # available_times.md: "`from` and `to` cannot be more than 7 days apart"; from..to inclusive
CANCEL_OTHER = 50  # individual_appointments.md, Cancellation Reason Codes: `50` Other
PAGE_SIZE = "100"  # readme, Pagination: "a custom page size up to 100"


class NotConfigured(BookingUnavailable):
    """reason "not_configured"; the message names the missing or wrong settings (never their values)."""

    def __init__(self, names: List[str]) -> None:
        super().__init__("not_configured")
        self.names = tuple(names)

    def __str__(self) -> str:
        return "not_configured: " + ", ".join(self.names)


def base_url_for(api_key: str) -> str:
    """https://api.<shard>.cliniko.com/v1 for the key's shard suffix; au1 for a key without one."""
    match = SHARD.search(api_key)
    return f"https://api.{match.group(1).lower() if match else 'au1'}.cliniko.com/v1"


def _allowed_override(url: str) -> bool:
    """CLINIKO_API_URL may be https://..., or plain http only to this machine (the tests' fake server)."""
    parts = urlsplit(url)
    return bool(parts.hostname) and (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost"))
    )


def _ids(value: Any) -> Tuple[str, ...]:
    if is_placeholder(value):  # "<<FILL IN: ..., ...>>" as a whole, before it is split on its commas
        return ()
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else []
    return tuple(str(item).strip() for item in items if not is_placeholder(item) and str(item).strip())


@dataclass(frozen=True)
class ClinikoSettings:
    """Which Cliniko account and which of its ids the chat books with."""

    api_key: str = field(repr=False)
    base_url: str
    user_agent: str
    business_id: str
    practitioner_ids: Tuple[str, ...]
    appointment_type_ids: Dict[str, str]
    timeout_seconds: float = 4.0

    @classmethod
    def load(
        cls, section: Mapping[str, Any], environ: Mapping[str, str], clinic_name: str = "Acute Acupuncture"
    ) -> ClinikoSettings:
        """From the environment (CLINIKO_API_KEY, CLINIKO_API_URL, CLINIKO_TIMEOUT_SECONDS) and the profile's
        `cliniko:` section. Raises NotConfigured naming every missing or wrong setting."""
        problems: List[str] = []
        api_key = (environ.get("CLINIKO_API_KEY") or "").strip()
        if is_placeholder(api_key):
            problems.append("CLINIKO_API_KEY")
        base_url = base_url_for(api_key)
        override = (environ.get("CLINIKO_API_URL") or "").strip()
        if override:
            if _allowed_override(override):
                base_url = override.rstrip("/")
            else:
                problems.append("CLINIKO_API_URL (https://, or http:// to 127.0.0.1 or localhost)")
        timeout = 4.0
        if (environ.get("CLINIKO_TIMEOUT_SECONDS") or "").strip():
            try:
                timeout = float(environ["CLINIKO_TIMEOUT_SECONDS"])
            except ValueError:
                timeout = -1.0
            if not 0 < timeout <= 60:
                problems.append("CLINIKO_TIMEOUT_SECONDS (seconds, more than 0 and at most 60)")
        section = section or {}
        business = section.get("business_id")
        if is_placeholder(business) or not str(business).strip():
            problems.append("cliniko.business_id")
        practitioners = _ids(section.get("practitioner_ids"))
        if not practitioners:
            problems.append("cliniko.practitioner_ids")
        types = section.get("appointment_type_ids")
        type_ids = {
            str(kind): str(value).strip()
            for kind, value in (types.items() if isinstance(types, Mapping) else [])
            if not is_placeholder(value) and str(value).strip()
        }
        if not type_ids:
            problems.append("cliniko.appointment_type_ids")
        email = section.get("contact_email")
        if is_placeholder(email) or "@" not in str(email):
            problems.append("cliniko.contact_email")
        if problems:
            raise NotConfigured(problems)
        return cls(
            api_key=api_key,
            base_url=base_url,
            user_agent=f"{clinic_name} chat assistant ({str(email).strip()})",
            business_id=str(business).strip(),
            practitioner_ids=practitioners,
            appointment_type_ids=type_ids,
            timeout_seconds=timeout,
        )


CacheKey = Tuple[str, str, str, date, date]


class TimesCache:
    """Available times fetched recently, kept `ttl_seconds` (so "later times" does not ask Cliniko again)."""

    def __init__(self, ttl_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self._entries: Dict[CacheKey, Tuple[float, List[datetime]]] = {}

    def get(self, key: CacheKey) -> Optional[List[datetime]]:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self.clock():
            self._entries.pop(key, None)
            return None
        return list(entry[1])

    def put(self, key: CacheKey, times: List[datetime]) -> None:
        self._entries[key] = (self.clock() + self.ttl, list(times))

    def drop_day(self, scope: str, day: date) -> None:
        """Forget every window of `scope` (an account and business) that includes `day`."""
        for key in [k for k in self._entries if k[0] == scope and k[3] <= day <= k[4]]:
            del self._entries[key]


SHARED_TIMES = TimesCache()  # the action server makes providers as it needs them; the cache outlives each one
_FIRST_NAMES: Dict[Tuple[str, str], str] = {}  # (base_url, practitioner id) -> first name, for the process


def utc_text(moment: datetime) -> str:
    """'2026-12-01T21:30:00Z' (readme: "All dates and times are expected to be in UTC")."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(value: Any) -> datetime:
    """A Cliniko time ("...Z") as an aware UTC datetime; ValueError for anything else."""
    if not isinstance(value, str) or not value.endswith("Z"):
        raise ValueError("not a UTC time")
    return datetime.fromisoformat(value[:-1] + "+00:00").astimezone(timezone.utc)


def phone_digits(phone: Optional[str]) -> str:
    """'+64 21 123 4567', '0064211234567' and '021-123 4567' all -> '0211234567' (for an exact comparison)."""
    digits = re.sub(r"\D", "", phone or "")
    digits = digits[2:] if digits.startswith("00") else digits
    return "0" + digits[2:] if digits.startswith("64") else digits


def _same(a: Any, b: Optional[str]) -> bool:
    return isinstance(a, str) and bool(b) and a.strip().casefold() == (b or "").strip().casefold()


class ClinikoProvider:
    """`BookingProvider` for one Cliniko account and business."""

    def __init__(
        self,
        settings: ClinikoSettings,
        *,
        cache: Optional[TimesCache] = None,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        sleep: Optional[Sleep] = None,
    ) -> None:
        self.settings = settings
        self.cache = SHARED_TIMES if cache is None else cache
        self.now = now
        extra = {} if sleep is None else {"sleep": sleep}
        self.client = ClinikoClient(
            settings.api_key, settings.base_url, settings.user_agent, settings.timeout_seconds, **extra
        )
        self._scope = f"{settings.base_url}#{settings.business_id}"

    def _type_id(self, kind: str) -> str:
        type_id = self.settings.appointment_type_ids.get(kind)
        if not type_id:
            raise NotConfigured([f"cliniko.appointment_type_ids.{kind}"])
        return type_id

    async def available_times(self, kind: str, first_day: date, days: int) -> List[Slot]:
        """Times of the configured practitioners for `kind` on `days` days from `first_day` (clinic days)."""
        type_id = self._type_id(kind)
        start = max(first_day, self.now().astimezone(CLINIC_TZ).date())  # an earlier `from` is a 400
        last = first_day + timedelta(days=days - 1)
        windows: List[Tuple[date, date]] = []
        day = start
        while day <= last:
            windows.append((day, min(last, day + timedelta(days=MAX_WINDOW_DAYS - 1))))
            day = windows[-1][1] + timedelta(days=1)
        async with self.client.session() as http:
            # the practitioners asked at the same time: the patient waits for the slowest, not for the sum
            answers = await asyncio.gather(
                *(
                    self._times_of(http, practitioner, type_id, windows)
                    for practitioner in self.settings.practitioner_ids
                )
            )
            found = dict(zip(self.settings.practitioner_ids, answers))
            names = {p: await self._first_name(http, p) for p, times in found.items() if times}
        order = {p: i for i, p in enumerate(self.settings.practitioner_ids)}
        slots = {Slot(t, p, names[p]) for p, times in found.items() for t in times}
        return sorted(slots, key=lambda s: (s.starts_at, order[s.practitioner_id]))

    async def _times_of(
        self, http: ClinikoSession, practitioner: str, type_id: str, windows: List[Tuple[date, date]]
    ) -> List[datetime]:
        """One practitioner's times over consecutive windows of at most 7 days."""
        times: List[datetime] = []
        for first, last in windows:
            times.extend(await self._times(http, practitioner, type_id, first, last))
        return times

    async def _times(
        self, http: ClinikoSession, practitioner: str, type_id: str, first: date, last: date, fresh: bool = False
    ) -> List[datetime]:
        key = (self._scope, practitioner, type_id, first, last)
        cached = None if fresh else self.cache.get(key)
        if cached is not None:
            return cached
        items = await http.pages(
            "available_times",
            "/businesses/:business_id/practitioners/:practitioner_id/appointment_types/:type_id/available_times",
            self.settings.business_id,
            practitioner,
            type_id,
            query=[("from", first.isoformat()), ("to", last.isoformat()), ("per_page", PAGE_SIZE)],
        )
        try:
            times = [parse_utc(item["appointment_start"]) for item in items]
        except (TypeError, KeyError, ValueError):
            raise BookingUnavailable("bad_answer") from None
        self.cache.put(key, times)
        return times

    async def _first_name(self, http: ClinikoSession, practitioner: str) -> str:
        key = (self.settings.base_url, practitioner)
        if key not in _FIRST_NAMES:
            answer = await http.get("/practitioners/:id", practitioner)
            name = answer.get("first_name") if isinstance(answer, dict) else None
            if not isinstance(name, str) or not name.strip():
                raise BookingUnavailable("bad_answer")
            _FIRST_NAMES[key] = name.strip()
        return _FIRST_NAMES[key]

    async def book(self, kind: str, slot: Slot, patient: NewPatient, notes: Optional[str]) -> Booked:
        """Check the time is still offered, find or make the patient, book, and undo it if a conflict appeared."""
        type_id = self._type_id(kind)
        if slot.practitioner_id not in self.settings.practitioner_ids:
            raise SlotTaken()  # not a time the chat offered (a forged button): offer the real ones again
        day = slot.starts_at.astimezone(CLINIC_TZ).date()
        try:
            async with self.client.session() as http:
                offered = await self._times(http, slot.practitioner_id, type_id, day, day, fresh=True)
                if slot.starts_at.astimezone(timezone.utc) not in offered:
                    raise SlotTaken()
                first_name = await self._first_name(http, slot.practitioner_id)
                patient_id = await self._patient_id(http, patient)
                body: Dict[str, Any] = {
                    "starts_at": utc_text(slot.starts_at),
                    "patient_id": patient_id,
                    "practitioner_id": slot.practitioner_id,
                    "appointment_type_id": type_id,
                    "business_id": self.settings.business_id,
                }
                if notes:
                    body["notes"] = notes
                made = await http.request("POST", "/individual_appointments", body=body)
                appointment_id = str(made.get("id") or "") if isinstance(made, dict) else ""
                if not appointment_id:
                    raise BookingUnavailable("bad_answer")
                await self._keep_unless_conflict(http, appointment_id)
                try:
                    starts_at = parse_utc(made.get("starts_at"))
                except ValueError:
                    starts_at = slot.starts_at.astimezone(timezone.utc)
                logger.info("Cliniko booking made (%s)", kind)
                return Booked(appointment_id, starts_at, first_name)
        finally:
            self.cache.drop_day(self._scope, day)

    async def _keep_unless_conflict(self, http: ClinikoSession, appointment_id: str) -> None:
        """individual_appointments.md, Get Conflicts: if another appointment took the time after our check, cancel
        ours and raise SlotTaken. If Cliniko cannot say, cancel ours too: staff follow up on a call-back request."""
        try:
            answer = await http.get("/individual_appointments/:id/conflicts", appointment_id)
            conflicts = answer.get("conflicts") if isinstance(answer, dict) else None
            exist = conflicts.get("exist") if isinstance(conflicts, dict) else None
            if not isinstance(exist, bool):
                raise BookingUnavailable("bad_answer")
        except BookingUnavailable:
            await self._cancel(http, appointment_id, "The chat could not confirm this booking; it offered a call.")
            raise
        if exist:
            logger.info("Cliniko booking conflicted with another; cancelled it")
            await self._cancel(http, appointment_id, "Booked by the chat at the same time as another booking.")
            raise SlotTaken()

    async def _cancel(self, http: ClinikoSession, appointment_id: str, note: str) -> None:
        body = {"cancellation_reason": CANCEL_OTHER, "cancellation_note": note}
        try:
            await http.request("PATCH", "/individual_appointments/:id/cancel", appointment_id, body=body)
        except BookingUnavailable:
            raise BookingUnavailable("server_error") from None  # left booked: the call-back request says so

    async def _patient_id(self, http: ClinikoSession, patient: NewPatient) -> str:
        """The one patient with this first and last name and this email or phone; else a new record. Nothing
        returned or raised says which (the chat must not learn whether someone is a patient of the clinic)."""
        # patients.md, Filtering Patients: email, first_name and last_name are filterable, phone numbers are not.
        # Filtered by the names only, so a record with the same phone and another email still matches.
        query = [
            ("q[]", f"first_name:={patient.first_name.strip()}"),
            ("q[]", f"last_name:={patient.last_name.strip()}"),
            ("per_page", PAGE_SIZE),
        ]
        records = await http.pages("patients", "/patients", query=query)
        phone = phone_digits(patient.phone)
        matches = [
            record
            for record in records
            if isinstance(record, dict)
            and _same(record.get("first_name"), patient.first_name)
            and _same(record.get("last_name"), patient.last_name)
            and (
                (patient.email and _same(record.get("email"), patient.email))
                or (phone and any(phone_digits(n.get("number")) == phone for n in _numbers(record)))
            )
        ]
        if len(matches) == 1 and matches[0].get("id") is not None:
            return str(matches[0]["id"])
        body: Dict[str, Any] = {"first_name": patient.first_name.strip(), "last_name": patient.last_name.strip()}
        if patient.email:
            body["email"] = patient.email.strip()
        if patient.phone:
            kind = "Mobile" if phone.startswith("02") else "Home"  # NZ mobile numbers start 02
            body["patient_phone_numbers"] = [{"phone_type": kind, "number": patient.phone.strip()}]
        made = await http.request("POST", "/patients", body=body)
        if not isinstance(made, dict) or made.get("id") is None:
            raise BookingUnavailable("bad_answer")
        return str(made["id"])


def _numbers(record: Dict[str, Any]) -> List[Dict[str, Any]]:
    numbers = record.get("patient_phone_numbers")
    return [n for n in numbers if isinstance(n, dict)] if isinstance(numbers, list) else []
