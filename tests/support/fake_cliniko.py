"""A fake Cliniko API on 127.0.0.1, faithful to its public documentation (github.com/redguava/cliniko-api: readme.md,
guides/sharding.md, sections/*.md), holding a clinic in memory and recording every request.

The seeded clinic: one business; practitioners Mere and Tom (online bookings on) and Hana (off); appointment types for
the free consultation (15 min), ACC treatment (45 min) and a standard treatment (60 min), plus a workshop type not
offered online; working hours on weekdays in New Zealand time. `profile_section(fake)` is the `cliniko:` section of
clinic_profile.yml for it and `cliniko_env(fake)` the environment of the action server.
`python -m tests.support.fake_cliniko --port 8998` runs it on its own and prints what it receives.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple
from urllib.parse import parse_qs, quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

# Test-only values, never real secrets. The key ends with a shard id as real keys do (guides/sharding.md).
TEST_API_KEY = "MS0xLWZha2Vfa2V5X25vdF9yZWFs-au2"
CONTACT_EMAIL = "bookings@acute-acupuncture.example"
ACCOUNT_TZ = ZoneInfo("Pacific/Auckland")  # the Cliniko account's time zone

BUSINESS_ID = "514810976554457178"
MERE_ID = "514810972972521916"
TOM_ID = "514810972972521917"
HANA_ID = "514810972972521918"  # not shown in online bookings
FREE_CONSULT_TYPE_ID = "514810976034364376"
ACC_TYPE_ID = "514810976034364377"
TREATMENT_TYPE_ID = "514810976034364378"
WORKSHOP_TYPE_ID = "514810976034364379"  # not shown in online bookings

# available_times.md, Required Parameters: "If one of these parameters is missing or incorrect you will receive bad
# request error (code 400) with following message"
TIME_FRAME_ERROR = "Invalid time frame definition. Please check from/to param limitations."
# individual_appointments.md, Cancellation Reason Codes
CANCELLATION_REASONS = {10, 20, 30, 31, 40, 50, 60}
# patients.md, Filtering Patients: the fields and their types
PATIENT_FILTERS = {
    "created_at": "datetime",
    "date_of_birth": "date",
    "email": "string",
    "first_name": "string",
    "id": "integer",
    "last_name": "string",
    "old_reference_id": "string",
    "updated_at": "datetime",
}
# readme, Filtering Results: the operators of each type (longest first, so "~~" is not read as "~")
OPERATORS = {
    "string": ("~~", "!=", "=", "~"),
    "integer": ("!=", ">=", "<=", "=", ">", "<"),
    "datetime": (">=", "<=", ">", "<"),
    "date": (">=", "<=", "=", ">", "<"),
}
PHONE_TYPES = {"Mobile", "Home", "Work", "Fax", "Other"}
USER_AGENT = re.compile(r"^\S.*\(\s*[^@\s()]+@[^@\s()]+\.[^@\s()]+\s*\)\s*$")  # "APP_VENDOR_NAME (APP_VENDOR_EMAIL)"
SHARD_SUFFIX = re.compile(r"-[A-Za-z]{2}\d{1,2}$")

Hours = Dict[int, List[Tuple[clock_time, clock_time]]]  # weekday (Monday 0) -> opening intervals, local time
Answer = Tuple[int, Any, Dict[str, str]]


def utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hours(*intervals: Tuple[str, str], days: Tuple[int, ...] = (0, 1, 2, 3, 4)) -> Hours:
    spans = [(clock_time.fromisoformat(a), clock_time.fromisoformat(b)) for a, b in intervals]
    return {day: list(spans) for day in days}


@dataclass
class Business:
    id: str
    business_name: str
    show_in_online_bookings: bool = True


@dataclass
class Practitioner:
    id: str
    first_name: str
    last_name: str
    show_in_online_bookings: bool = True
    hours: Hours = field(default_factory=dict)


@dataclass
class AppointmentType:
    id: str
    name: str
    duration_in_minutes: int
    show_in_online_bookings: bool = True


@dataclass
class Patient:
    id: int
    first_name: str
    last_name: str
    email: Optional[str] = None
    patient_phone_numbers: List[Dict[str, str]] = field(default_factory=list)
    created_at: str = ""


@dataclass
class Appointment:
    id: int
    starts_at: datetime
    ends_at: datetime
    patient_id: int
    practitioner_id: str
    appointment_type_id: str
    business_id: str
    notes: Optional[str] = None
    created_at: str = ""
    cancelled_at: Optional[str] = None
    cancellation_reason: Optional[int] = None
    cancellation_note: Optional[str] = None


@dataclass
class Received:
    """One request the fake received, and the status it answered."""

    method: str
    path: str
    query: Dict[str, List[str]]
    headers: Dict[str, str]
    body: Any
    status: int = 0

    def param(self, name: str) -> Optional[str]:
        values = self.query.get(name)
        return values[0] if values else None


class FakeCliniko:
    """The fake server; `start()` runs it in daemon threads, `stop()` ends it (or use it as a context manager)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = TEST_API_KEY,
        now: Optional[Callable[[], datetime]] = None,
        seed: bool = True,
        min_advance: timedelta = timedelta(hours=2),
        max_days_ahead: int = 84,
        interval_minutes: int = 30,
        page_size_limit: int = 100,
    ) -> None:
        self.host = host
        self.port = port
        self.api_key = api_key
        self.now = now or (lambda: datetime.now(timezone.utc))
        # the online-booking settings of available_times.md: "Minimum advance time required for online bookings",
        # "How far ahead bookings are offered"; the interval between start times is the account's appointment interval
        self.min_advance = min_advance
        self.max_days_ahead = max_days_ahead
        self.interval = timedelta(minutes=interval_minutes)
        self.page_size_limit = page_size_limit  # readme: "a custom page size up to 100"; smaller in paging tests
        self.businesses: Dict[str, Business] = {}
        self.practitioners: Dict[str, Practitioner] = {}
        self.appointment_types: Dict[str, AppointmentType] = {}
        self.patients: Dict[int, Patient] = {}
        self.appointments: Dict[int, Appointment] = {}
        self.requests: List[Received] = []
        self._revoked = False
        self._failures: List[Tuple[Optional[str], Answer]] = []
        self._delays: List[Tuple[Optional[str], float]] = []
        self._races = 0
        self._next_id = 1000
        self._lock = threading.RLock()
        self._server: Optional[ThreadingHTTPServer] = None
        if seed:
            self.seed()

    # -- set-up -------------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def today(self) -> date:
        """Today in the account's time zone."""
        return self.now().astimezone(ACCOUNT_TZ).date()

    def seed(self) -> None:
        """The clinic of the module's docstring."""
        self.businesses[BUSINESS_ID] = Business(BUSINESS_ID, "Acute Acupuncture")
        self.practitioners[MERE_ID] = Practitioner(
            MERE_ID, "Mere", "Tamihana", True, _hours(("09:00", "12:00"), ("13:00", "17:00"))
        )
        self.practitioners[TOM_ID] = Practitioner(
            TOM_ID, "Tom", "Li", True, _hours(("09:00", "12:00"), ("14:00", "18:00"))
        )
        self.practitioners[HANA_ID] = Practitioner(HANA_ID, "Hana", "Kerr", False, _hours(("08:00", "18:00")))
        for type_id, name, minutes, online in (
            (FREE_CONSULT_TYPE_ID, "Free 15-minute consultation", 15, True),
            (ACC_TYPE_ID, "ACC treatment", 45, True),
            (TREATMENT_TYPE_ID, "Acupuncture treatment", 60, True),
            (WORKSHOP_TYPE_ID, "Cupping workshop", 30, False),
        ):
            self.appointment_types[type_id] = AppointmentType(type_id, name, minutes, online)

    def start(self) -> FakeCliniko:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (quiet)
                pass

            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                fake._handle(self, "POST")

            def do_PUT(self) -> None:  # noqa: N802
                fake._handle(self, "PUT")

            def do_PATCH(self) -> None:  # noqa: N802
                fake._handle(self, "PATCH")

            def do_DELETE(self) -> None:  # noqa: N802
                fake._handle(self, "DELETE")

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up (a timeout test) is not an error of the fake

        self._server = Server((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="fake-cliniko", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeCliniko:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- what the tests use -------------------------------------------------------------------------------------

    def revoke_key(self) -> None:
        """The key is revoked in Cliniko: every request answers 401 from now on."""
        self._revoked = True

    def fail_next(
        self,
        n: int,
        status: int,
        headers: Optional[Dict[str, str]] = None,
        body: Any = None,
        where: Optional[str] = None,
    ) -> None:
        """Answer the next `n` requests with `status` (`body`: JSON-able, or str/bytes sent as they are); with
        `where`, only requests whose "METHOD /path" the regex finds (e.g. "POST /v1/patients$")."""
        payload = {"message": f"Injected failure {status}"} if body is None else body
        with self._lock:
            self._failures.extend([(where, (status, payload, dict(headers or {})))] * n)

    def delay_next(self, seconds: float, where: Optional[str] = None) -> None:
        """Wait `seconds` before handling the next request (`where`: as in fail_next), then handle it as usual."""
        with self._lock:
            self._delays.append((where, seconds))

    def rate_limit_next(self, retry_after: float, times: int = 1, where: Optional[str] = None) -> None:
        """Answer the next `times` requests 429 with Retry-After and the documented X-RateLimit-Reset."""
        reset = str(int(time.time() + retry_after))
        headers = {"Retry-After": str(int(retry_after)), "X-RateLimit-Reset": reset}
        self.fail_next(times, 429, headers, {"message": "Too many requests"}, where)

    def race_next_booking(self) -> None:
        """Right after the next POST /individual_appointments, someone else books the same time."""
        with self._lock:
            self._races += 1

    def take(self, starts_at: datetime, practitioner_id: str, appointment_type_id: str = TREATMENT_TYPE_ID) -> int:
        """Book `starts_at` with `practitioner_id` behind the chat's back (e.g. at reception); its id."""
        with self._lock:
            other = self.add_patient("Someone", "Else")
            return self._book(starts_at, None, other, practitioner_id, appointment_type_id, BUSINESS_ID, None).id

    def add_patient(
        self, first_name: str, last_name: str, email: Optional[str] = None, phone: Optional[str] = None
    ) -> int:
        """An existing patient record; its id."""
        numbers = [{"phone_type": "Mobile", "number": phone}] if phone else []
        with self._lock:
            patient = Patient(self._new_id(), first_name, last_name, email, numbers, utc_text(self.now()))
            self.patients[patient.id] = patient
            return patient.id

    def live_appointments(self) -> List[Appointment]:
        """Appointments not cancelled, oldest first (copies)."""
        with self._lock:
            return [replace(a) for a in self.appointments.values() if a.cancelled_at is None]

    def requests_to(self, pattern: str, method: Optional[str] = None) -> List[Received]:
        """Requests whose path matches the regex `pattern` (searched), of `method` if given."""
        with self._lock:
            return [r for r in self.requests if re.search(pattern, r.path) and (method is None or r.method == method)]

    def offered_times(self, practitioner_id: str, type_id: str, first: date, last: date) -> List[datetime]:
        """The start times available_times gives for these days (UTC), ignoring the online-booking switches."""
        with self._lock:
            practitioner = self.practitioners[practitioner_id]
            duration = timedelta(minutes=self.appointment_types[type_id].duration_in_minutes)
            earliest = self.now() + self.min_advance
            horizon = self.today + timedelta(days=self.max_days_ahead)
            times: List[datetime] = []
            day = first
            while day <= min(last, horizon):
                for opens, closes in practitioner.hours.get(day.weekday(), []):
                    start = datetime.combine(day, opens, tzinfo=ACCOUNT_TZ)
                    end = datetime.combine(day, closes, tzinfo=ACCOUNT_TZ)
                    while start + duration <= end:
                        utc = start.astimezone(timezone.utc)
                        if utc >= earliest and not self._busy(practitioner_id, utc, utc + duration):
                            times.append(utc)
                        start += self.interval
                day += timedelta(days=1)
            return sorted(times)

    # -- the HTTP side ------------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        received = Received(
            method, parts.path, parse_qs(parts.query, keep_blank_values=True), dict(handler.headers.items()), body
        )
        with self._lock:
            self.requests.append(received)
            delay = _take_planned(self._delays, f"{method} {parts.path}") or 0.0
        if delay:
            time.sleep(delay)
        try:
            status, payload, headers = self._answer(received)
        except Exception as error:  # noqa: BLE001 (a bug of the fake answers 500, as a server would)
            status, payload, headers = 500, {"message": f"fake error: {type(error).__name__}"}, {}
        received.status = status
        data = (
            b""
            if payload is None
            else payload
            if isinstance(payload, bytes)
            else (payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
        )
        try:
            handler.send_response(status)
            if data:
                content_type = "application/json" if not isinstance(payload, (str, bytes)) else "text/html"
                handler.send_header("Content-Type", content_type + "; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client gave up waiting

    def _answer(self, request: Received) -> Answer:
        with self._lock:
            planned = _take_planned(self._failures, f"{request.method} {request.path}")
            if planned:
                return planned
        refusal = self._refuse(request)
        if refusal:
            return refusal
        if not request.path.startswith("/v1/"):
            return 404, {"message": "Not found"}, {}
        path = request.path[len("/v1") :]
        for method, pattern, name in ROUTES:
            match = re.fullmatch(pattern, path)
            if match and method == request.method:
                with self._lock:
                    return getattr(self, name)(request, **match.groupdict())
        return 404, {"message": "Not found"}, {}

    def _refuse(self, request: Received) -> Optional[Answer]:
        headers = {k.lower(): v for k, v in request.headers.items()}
        # readme, Authentication: "HTTP Basic authentication ... provide the Cliniko API Key (either with or without
        # the shard suffix) as the basic auth username. There is no need to provide a password."
        user = None
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                user = base64.b64decode(token, validate=True).decode().partition(":")[0]
            except ValueError:
                user = None
        if self._revoked or user not in (self.api_key, SHARD_SUFFIX.sub("", self.api_key)):
            return 401, {"message": "Unauthorized"}, {"WWW-Authenticate": 'Basic realm="Cliniko API"'}
        # readme, Identifying your application: "If your requests do not include a User-Agent that contains a name
        # and valid contact email, future requests may be automatically blocked." A blocked request is refused
        # whoever sends it: 403 Forbidden (401 would ask for other credentials, which would not help).
        if not USER_AGENT.match(headers.get("user-agent", "")):
            return 403, {"message": "Requests need a User-Agent: APP_VENDOR_NAME (APP_VENDOR_EMAIL)"}, {}
        # readme, Making a request: "Make sure to send the `Accept` header with `application/json`" (JSON is the only
        # format served): anything else is 406 Not Acceptable.
        if "application/json" not in headers.get("accept", ""):
            return 406, {"message": "Send Accept: application/json"}, {}
        # the curl examples of every write send `Content-Type: application/json`
        if request.method in ("POST", "PUT", "PATCH") and not headers.get("content-type", "").startswith(
            "application/json"
        ):
            return 415, {"message": "Send Content-Type: application/json"}, {}
        if request.method in ("POST", "PUT", "PATCH") and not isinstance(request.body, dict):
            return 400, {"message": "The body must be a JSON object"}, {}
        return None

    # -- resources ----------------------------------------------------------------------------------------------

    def _available_times(self, request: Received, business: str, practitioner: str, kind: str) -> Answer:
        try:
            first = date.fromisoformat(request.param("from") or "")
            last = date.fromisoformat(request.param("to") or "")
        except ValueError:
            return 400, {"message": TIME_FRAME_ERROR}, {}
        # "`from` and `to` cannot be more than 7 days apart" / "cannot be older than the current date in the cliniko
        # account's time zone"
        if last < first or (last - first).days > 7 or first < self.today:
            return 400, {"message": TIME_FRAME_ERROR}, {}
        if business not in self.businesses or practitioner not in self.practitioners:
            return 404, {"message": "Not found"}, {}
        if kind not in self.appointment_types:
            return 404, {"message": "Not found"}, {}
        # "The API will not return available times for businesses / appointment types / practitioners not enabled
        # for online bookings."
        online = (
            self.businesses[business].show_in_online_bookings
            and self.practitioners[practitioner].show_in_online_bookings
            and self.appointment_types[kind].show_in_online_bookings
        )
        times = self.offered_times(practitioner, kind, first, last) if online else []
        return self._page("available_times", [{"appointment_start": utc_text(t)} for t in times], request)

    def _practitioner(self, request: Received, id: str) -> Answer:  # noqa: A002
        found = self.practitioners.get(id)
        if found is None:
            return 404, {"message": "Not found"}, {}
        return (
            200,
            {
                "id": found.id,
                "first_name": found.first_name,
                "last_name": found.last_name,
                "label": f"{found.first_name} {found.last_name}",
                "show_in_online_bookings": found.show_in_online_bookings,
                "links": {"self": f"{self.url}/practitioners/{found.id}"},
            },
            {},
        )

    def _appointment_type(self, request: Received, id: str) -> Answer:  # noqa: A002
        found = self.appointment_types.get(id)
        if found is None:
            return 404, {"message": "Not found"}, {}
        return 200, {**found.__dict__, "links": {"self": f"{self.url}/appointment_types/{found.id}"}}, {}

    def _patients(self, request: Received) -> Answer:
        records = list(self.patients.values())
        for text in request.query.get("q[]", []) + request.query.get("q", []):
            test = _patient_filter(text)
            if test is None:
                return 400, {"message": "Invalid filter"}, {}
            records = [p for p in records if test(p)]
        return self._page("patients", [self._patient_json(p) for p in records], request)

    def _patient(self, request: Received, id: str) -> Answer:  # noqa: A002
        found = self.patients.get(int(id)) if id.isdigit() else None
        return (200, self._patient_json(found), {}) if found else (404, {"message": "Not found"}, {})

    def _create_patient(self, request: Received) -> Answer:
        body = request.body
        errors: Dict[str, List[str]] = {}
        for name in ("first_name", "last_name"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                errors[name] = ["can't be blank"]
        numbers = body.get("patient_phone_numbers") or []
        if not isinstance(numbers, list) or any(
            not isinstance(n, dict) or n.get("phone_type") not in PHONE_TYPES or not str(n.get("number") or "").strip()
            for n in numbers
        ):
            errors["patient_phone_numbers"] = ["is invalid"]
        if errors:
            return 422, {"errors": errors, "message": "Validation failed"}, {}
        patient = Patient(
            self._new_id(), body["first_name"], body["last_name"], body.get("email"), numbers, utc_text(self.now())
        )
        self.patients[patient.id] = patient
        return 201, self._patient_json(patient), {"Location": f"{self.url}/patients/{patient.id}"}

    def _create_appointment(self, request: Received) -> Answer:
        body = request.body
        errors: Dict[str, List[str]] = {}
        for name in ("starts_at", "patient_id", "practitioner_id", "appointment_type_id", "business_id"):
            if body.get(name) in (None, ""):
                errors[name] = ["can't be blank"]
        starts_at = None
        if "starts_at" not in errors:
            starts_at = _utc(body["starts_at"])  # readme, Dates and Times: "expected to be in UTC"
            if starts_at is None:
                errors["starts_at"] = ["is invalid"]
        patient_id = int(body["patient_id"]) if str(body.get("patient_id", "")).isdigit() else None
        for name, known in (
            ("patient_id", patient_id in self.patients),
            ("practitioner_id", str(body.get("practitioner_id")) in self.practitioners),
            ("appointment_type_id", str(body.get("appointment_type_id")) in self.appointment_types),
            ("business_id", str(body.get("business_id")) in self.businesses),
        ):
            if name not in errors and not known:
                errors[name] = ["must exist"]
        if errors or starts_at is None or patient_id is None:
            return 422, {"errors": errors, "message": "Validation failed"}, {}
        ends_at = _utc(body["ends_at"]) if body.get("ends_at") else None
        made = self._book(
            starts_at,
            ends_at,
            patient_id,
            str(body["practitioner_id"]),
            str(body["appointment_type_id"]),
            str(body["business_id"]),
            body.get("notes"),
        )
        if self._races:
            self._races -= 1
            self._book(
                starts_at,
                ends_at,
                self.add_patient("Quick", "Other"),
                made.practitioner_id,
                made.appointment_type_id,
                made.business_id,
                None,
            )
        # individual_appointments.md, Create:
        # "Headers { Location: https://api.au1.cliniko.com/individual_appointments/1 }"
        return 201, self._appointment_json(made), {"Location": f"{self.url}/individual_appointments/{made.id}"}

    def _appointment(self, request: Received, id: str) -> Answer:  # noqa: A002
        found = self.appointments.get(int(id)) if id.isdigit() else None
        return (200, self._appointment_json(found), {}) if found else (404, {"message": "Not found"}, {})

    def _conflicts(self, request: Received, id: str) -> Answer:  # noqa: A002
        found = self.appointments.get(int(id)) if id.isdigit() else None
        if found is None:
            return 404, {"message": "Not found"}, {}
        exist = self._busy(found.practitioner_id, found.starts_at, found.ends_at, besides=found.id)
        return 200, {"conflicts": {"exist": exist}}, {}

    def _cancel(self, request: Received, id: str) -> Answer:  # noqa: A002
        found = self.appointments.get(int(id)) if id.isdigit() else None
        if found is None:
            return 404, {"message": "Not found"}, {}
        # individual_appointments.md, Cancel: "The `cancellation_reason` information is mandatory."
        reason = request.body.get("cancellation_reason")
        if reason not in CANCELLATION_REASONS:
            return 422, {"errors": {"cancellation_reason": ["is not included in the list"]}}, {}
        found.cancelled_at = utc_text(self.now())
        found.cancellation_reason = reason
        found.cancellation_note = request.body.get("cancellation_note")
        return 204, None, {}

    # -- helpers ------------------------------------------------------------------------------------------------

    def _new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def _book(
        self,
        starts_at: datetime,
        ends_at: Optional[datetime],
        patient_id: int,
        practitioner_id: str,
        type_id: str,
        business_id: str,
        notes: Optional[str],
    ) -> Appointment:
        # individual_appointments.md, Create: "If not provided, the ends_at is automatically set based upon the
        # duration of the appointment_type." Cliniko does not refuse a double booking: it reports it as a conflict.
        duration = timedelta(minutes=self.appointment_types[type_id].duration_in_minutes)
        made = Appointment(
            self._new_id(),
            starts_at,
            ends_at or starts_at + duration,
            patient_id,
            practitioner_id,
            type_id,
            business_id,
            notes,
            utc_text(self.now()),
        )
        self.appointments[made.id] = made
        return made

    def _busy(self, practitioner_id: str, start: datetime, end: datetime, besides: Optional[int] = None) -> bool:
        return any(
            a.practitioner_id == practitioner_id
            and a.cancelled_at is None
            and a.id != besides
            and a.starts_at < end
            and start < a.ends_at
            for a in self.appointments.values()
        )

    def _page(self, key: str, items: List[Any], request: Received) -> Answer:
        """readme, Pagination: 50 items by default, `per_page` up to 100, `total_entries`, and `links` self / next /
        previous as absolute URLs ("The pagination links will only be included if they are relevant")."""
        try:
            per_page = min(self.page_size_limit, max(1, int(request.param("per_page") or 50)))
            page = max(1, int(request.param("page") or 1))
        except ValueError:
            return 400, {"message": "Invalid page"}, {}
        links = {"self": self._link(request, page)}
        if page * per_page < len(items):
            links["next"] = self._link(request, page + 1)
        if page > 1:
            links["previous"] = self._link(request, page - 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        return 200, {key: chunk, "total_entries": len(items), "links": links}, {}

    def _link(self, request: Received, page: int) -> str:
        pairs = [(k, v) for k, values in request.query.items() if k != "page" for v in values] + [("page", str(page))]
        return f"http://{self.host}:{self.port}{request.path}?{urlencode(pairs, quote_via=quote, safe=':')}"

    def _patient_json(self, patient: Patient) -> Dict[str, Any]:
        return {
            "id": patient.id,
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "email": patient.email or "",
            "patient_phone_numbers": list(patient.patient_phone_numbers),
            "archived_at": "",
            "created_at": patient.created_at,
            "updated_at": patient.created_at,
            "appointments": {"links": {"self": f"{self.url}/patients/{patient.id}/appointments?page=1"}},
            "links": {"self": f"{self.url}/patients/{patient.id}"},
        }

    def _appointment_json(self, a: Appointment) -> Dict[str, Any]:
        patient = self.patients.get(a.patient_id)
        return {
            "id": a.id,
            "created_at": a.created_at,
            "updated_at": a.created_at,
            "cancellation_note": a.cancellation_note,
            "cancellation_reason": a.cancellation_reason,
            "cancelled_at": a.cancelled_at,
            "conflicts": {"links": {"self": f"{self.url}/individual_appointments/{a.id}/conflicts"}},
            "notes": a.notes,
            "patient_name": f"{patient.first_name} {patient.last_name}" if patient else "",
            "starts_at": utc_text(a.starts_at),
            "ends_at": utc_text(a.ends_at),
            "appointment_type": {"links": {"self": f"{self.url}/appointment_types/{a.appointment_type_id}"}},
            "business": {"links": {"self": f"{self.url}/businesses/{a.business_id}"}},
            "practitioner": {"links": {"self": f"{self.url}/practitioners/{a.practitioner_id}"}},
            "patient": {"links": {"self": f"{self.url}/patients/{a.patient_id}"}},
            "links": {"self": f"{self.url}/individual_appointments/{a.id}"},
        }


ROUTES = [
    (
        "GET",
        r"/businesses/(?P<business>[^/]+)/practitioners/(?P<practitioner>[^/]+)"
        r"/appointment_types/(?P<kind>[^/]+)/available_times",
        "_available_times",
    ),
    ("GET", r"/practitioners/(?P<id>[^/]+)", "_practitioner"),
    ("GET", r"/appointment_types/(?P<id>[^/]+)", "_appointment_type"),
    ("GET", r"/patients", "_patients"),
    ("POST", r"/patients", "_create_patient"),
    ("GET", r"/patients/(?P<id>[^/]+)", "_patient"),
    ("POST", r"/individual_appointments", "_create_appointment"),
    ("GET", r"/individual_appointments/(?P<id>[^/]+)", "_appointment"),
    ("GET", r"/individual_appointments/(?P<id>[^/]+)/conflicts", "_conflicts"),
    ("PATCH", r"/individual_appointments/(?P<id>[^/]+)/cancel", "_cancel"),
]


def _take_planned(plans: List[Tuple[Optional[str], Any]], request: str) -> Any:
    """The first planned answer or delay whose `where` finds `request` ("METHOD /path"), removed; None if none."""
    for index, (where, planned) in enumerate(plans):
        if where is None or re.search(where, request):
            del plans[index]
            return planned
    return None


def _utc(value: Any) -> Optional[datetime]:
    """A UTC time as the API takes it ("2016-07-21T03:45:00Z"); None for anything else (no zone, another zone)."""
    if not isinstance(value, str) or not (value.endswith("Z") or value.endswith("+00:00")):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None


def _patient_filter(text: str) -> Optional[Callable[[Patient], bool]]:
    """readme, Filtering Results: "[FIELDNAME]:[OPERATOR][VALUE]"; None for a field patients.md does not list or an
    operator its type does not have (the fake answers 400 rather than ignoring a filter it does not know)."""
    name, _, rest = text.partition(":")
    kind = PATIENT_FILTERS.get(name)
    operator = next((op for op in OPERATORS.get(kind or "", ()) if rest.startswith(op)), None)
    if kind is None or operator is None:
        return None
    value = rest[len(operator) :]
    if kind == "string":
        if operator == "~~":
            pattern = re.compile(".*".join(re.escape(part) for part in value.split("%")), re.IGNORECASE)
            return lambda p: bool(pattern.fullmatch(str(getattr(p, name, "") or "")))
        tests = {
            "=": lambda v: v == value,
            "!=": lambda v: v != value,
            "~": lambda v: value.casefold() in v.casefold(),
        }
        return lambda p: tests[operator](str(getattr(p, name, "") or ""))
    if kind == "integer" and operator in ("=", "!="):
        wanted = {int(v) for v in value.split(",") if v.strip().isdigit()}
        return lambda p: (p.id in wanted) == (operator == "=")
    return None  # dates and other comparisons: not needed by the chat, not faked


# -- what the chat's settings and the action server need ---------------------------------------------------------


def cliniko_env(fake: FakeCliniko) -> Dict[str, str]:
    """Environment of the action server booking in `fake`."""
    return {"CLINIKO_API_KEY": fake.api_key, "CLINIKO_API_URL": fake.url}


def profile_section(fake: FakeCliniko) -> Dict[str, Any]:
    """The `cliniko:` section of clinic_profile.yml for the seeded clinic (Hana and the workshop left out, as a
    clinic would; they are not enabled for online bookings anyway)."""
    return {
        "business_id": BUSINESS_ID,
        "practitioner_ids": [MERE_ID, TOM_ID],
        "appointment_type_ids": {
            "free_consult": FREE_CONSULT_TYPE_ID,
            "acc_treatment": ACC_TYPE_ID,
            "treatment": TREATMENT_TYPE_ID,
        },
        "contact_email": CONTACT_EMAIL,
    }


@contextmanager
def running_fake_cliniko(**options: Any) -> Iterator[FakeCliniko]:
    """A started fake (FakeCliniko's options), stopped at the end."""
    with FakeCliniko(**options) as fake:
        yield fake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8998)
    fake = FakeCliniko(port=parser.parse_args().port).start()
    print(f"fake Cliniko on {fake.url}; Ctrl-C stops", flush=True)
    for name, value in cliniko_env(fake).items():
        print(f"export {name}={value}", flush=True)
    print("cliniko: " + json.dumps(profile_section(fake)), flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            with fake._lock:
                new = fake.requests[seen:]
                seen = len(fake.requests)
            for request in new:
                query = "&".join(f"{k}={v}" for k, values in request.query.items() for v in values)
                print(request.method, request.path + (f"?{query}" if query else ""), request.status, flush=True)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
