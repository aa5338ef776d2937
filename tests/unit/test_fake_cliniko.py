"""The fake Cliniko API keeps the documented rules (so the adapter's tests mean something): raw HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest

from tests.support.fake_cliniko import (
    BUSINESS_ID,
    FREE_CONSULT_TYPE_ID,
    MERE_ID,
    TEST_API_KEY,
    TIME_FRAME_ERROR,
    TREATMENT_TYPE_ID,
    FakeCliniko,
)

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=timezone.utc)  # Wednesday 2 December 2026, 09:00 in Wellington
TODAY = date(2026, 12, 2)
GOOD = {
    "Authorization": "Basic " + base64.b64encode(f"{TEST_API_KEY}:".encode()).decode(),
    "User-Agent": "Tests (tests@example.org)",
    "Accept": "application/json",
}


@pytest.fixture
def fake() -> Iterator[FakeCliniko]:
    with FakeCliniko(now=lambda: NOW) as server:
        yield server


def call(
    fake: FakeCliniko, method: str, path: str, body: Any = None, headers: Optional[Dict[str, str]] = None
) -> Tuple[int, Any, Dict[str, str]]:
    sent = dict(GOOD if headers is None else headers)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    url = path if path.startswith("http") else fake.url + path
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (loopback)
            raw, status, got = answer.read(), answer.status, dict(answer.headers)
    except urllib.error.HTTPError as error:
        raw, status, got = error.read(), error.code, dict(error.headers)
    return status, (json.loads(raw) if raw else None), got


def times_path(first: date, last: date, practitioner: str = MERE_ID, extra: str = "") -> str:
    return (
        f"/businesses/{BUSINESS_ID}/practitioners/{practitioner}/appointment_types/{FREE_CONSULT_TYPE_ID}"
        f"/available_times?from={first}&to={last}{extra}"
    )


def test_auth_user_agent_and_accept_are_required(fake: FakeCliniko) -> None:
    path = f"/practitioners/{MERE_ID}"
    assert call(fake, "GET", path)[0] == 200
    assert call(fake, "GET", path, headers={k: v for k, v in GOOD.items() if k != "Authorization"})[0] == 401
    no_shard = {**GOOD, "Authorization": "Basic " + base64.b64encode(b"MS0xLWZha2Vfa2V5X25vdF9yZWFs:").decode()}
    assert call(fake, "GET", path, headers=no_shard)[0] == 200  # "either with or without the shard suffix"
    assert call(fake, "GET", path, headers={**GOOD, "User-Agent": "python-urllib"})[0] == 403
    assert call(fake, "GET", path, headers={**GOOD, "Accept": "text/html"})[0] == 406
    fake.revoke_key()
    assert call(fake, "GET", path)[0] == 401


@pytest.mark.parametrize(
    "first, last",
    [(TODAY, TODAY + timedelta(days=8)), (TODAY - timedelta(days=1), TODAY), (TODAY + timedelta(days=2), TODAY)],
)
def test_the_time_frame_rules_of_available_times(fake: FakeCliniko, first: date, last: date) -> None:
    status, body, _ = call(fake, "GET", times_path(first, last))
    assert (status, body) == (400, {"message": TIME_FRAME_ERROR})


def test_available_times_in_utc_paged_with_absolute_links(fake: FakeCliniko) -> None:
    monday = date(2026, 12, 7)
    status, body, _ = call(fake, "GET", times_path(monday, monday + timedelta(days=7), extra="&per_page=5"))
    assert status == 200 and body["total_entries"] > 5 and len(body["available_times"]) == 5
    assert body["available_times"][0] == {"appointment_start": "2026-12-06T20:00:00Z"}  # 09:00 NZDT
    assert body["links"]["next"].startswith(fake.url) and "page=2" in body["links"]["next"]
    assert "previous" not in body["links"]
    status, second, _ = call(fake, "GET", body["links"]["next"])
    assert second["available_times"][0] != body["available_times"][0] and "previous" in second["links"]
    status, capped, _ = call(fake, "GET", times_path(monday, monday + timedelta(days=7), extra="&per_page=500"))
    assert len(capped["available_times"]) == min(100, capped["total_entries"])


def test_no_times_when_the_business_is_not_online(fake: FakeCliniko) -> None:
    monday = date(2026, 12, 7)
    assert call(fake, "GET", times_path(monday, monday))[1]["available_times"]
    fake.businesses[BUSINESS_ID].show_in_online_bookings = False
    status, body, _ = call(fake, "GET", times_path(monday, monday))
    assert (status, body["available_times"], body["total_entries"]) == (200, [], 0)


def test_a_booked_time_is_no_longer_available(fake: FakeCliniko) -> None:
    monday = date(2026, 12, 7)
    fake.take(datetime(2026, 12, 6, 20, 0, tzinfo=timezone.utc), MERE_ID, TREATMENT_TYPE_ID)  # 09:00-10:00
    _, body, _ = call(fake, "GET", times_path(monday, monday))
    starts = [t["appointment_start"] for t in body["available_times"]]
    assert starts[0] == "2026-12-06T21:00:00Z" and "2026-12-06T20:30:00Z" not in starts


def test_creating_an_appointment_validates_like_the_api(fake: FakeCliniko) -> None:
    status, body, _ = call(fake, "POST", "/individual_appointments", {"starts_at": "2026-12-06T20:00:00Z"})
    assert status == 422 and {"patient_id", "practitioner_id", "appointment_type_id", "business_id"} <= set(
        body["errors"]
    )
    patient = fake.add_patient("Test", "Person")
    fields = {
        "patient_id": patient,
        "practitioner_id": MERE_ID,
        "appointment_type_id": TREATMENT_TYPE_ID,
        "business_id": BUSINESS_ID,
    }
    status, body, _ = call(fake, "POST", "/individual_appointments", {**fields, "starts_at": "2026-12-07T09:00:00"})
    assert status == 422 and "starts_at" in body["errors"]  # a time without its zone is not UTC
    status, body, headers = call(
        fake, "POST", "/individual_appointments", {**fields, "starts_at": "2026-12-06T20:00:00Z"}
    )
    assert status == 201 and headers["Location"].endswith(f"/individual_appointments/{body['id']}")
    assert body["ends_at"] == "2026-12-06T21:00:00Z"  # from the type's 60 minutes
    assert call(fake, "GET", f"/individual_appointments/{body['id']}/conflicts")[1] == {"conflicts": {"exist": False}}
    status, _, _ = call(fake, "PATCH", f"/individual_appointments/{body['id']}/cancel", {"cancellation_note": "x"})
    assert status == 422  # "The `cancellation_reason` information is mandatory."
    assert call(fake, "PATCH", f"/individual_appointments/{body['id']}/cancel", {"cancellation_reason": 50})[0] == 204
    assert fake.live_appointments() == []


def test_patients_are_filtered_by_documented_fields_only(fake: FakeCliniko) -> None:
    fake.add_patient("Aroha", "Ngata", email="a@example.org")
    fake.add_patient("Aroha", "Smith")
    status, body, _ = call(fake, "GET", "/patients?q[]=first_name:%3DAroha&q[]=last_name:%3DNgata")
    assert status == 200 and [p["last_name"] for p in body["patients"]] == ["Ngata"]
    assert len(call(fake, "GET", "/patients?q=last_name:~mit")[1]["patients"]) == 1
    assert call(fake, "GET", "/patients?q[]=phone:%3D021")[0] == 400  # not a filterable field of patients.md
    status, body, headers = call(fake, "POST", "/patients", {"first_name": "", "last_name": "X"})
    assert status == 422 and "first_name" in body["errors"]
    assert call(fake, "POST", "/patients", {"first_name": "A", "last_name": "B"})[0] == 201
    plain = {**GOOD, "Content-Type": "text/plain"}
    assert call(fake, "POST", "/patients", {"first_name": "A", "last_name": "B"}, plain)[0] == 415
