"""The Cliniko adapter against the fake Cliniko API over HTTP on 127.0.0.1 (tests/support/fake_cliniko.py)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
import socket
import time
import traceback
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator, List

import pytest

from bot.booking.cliniko import ClinikoProvider, ClinikoSettings, NotConfigured, TimesCache, phone_digits
from bot.booking.provider import Booked, BookingUnavailable, NewPatient, Slot, SlotTaken
from bot.clinic.profile import load_profile
from tests.conftest import ROOT
from tests.support.fake_cliniko import (
    ACC_TYPE_ID,
    BUSINESS_ID,
    FREE_CONSULT_TYPE_ID,
    HANA_ID,
    MERE_ID,
    TEST_API_KEY,
    TOM_ID,
    TREATMENT_TYPE_ID,
    WORKSHOP_TYPE_ID,
    FakeCliniko,
    cliniko_env,
    profile_section,
)

# Wednesday 2 December 2026, 09:00 in Wellington (NZDT, UTC+13): "today" for the fake and the adapter alike
NOW = datetime(2026, 12, 1, 20, 0, tzinfo=timezone.utc)
TODAY = date(2026, 12, 2)
MONDAY = date(2026, 12, 7)
MONDAY_9AM = datetime(2026, 12, 6, 20, 0, tzinfo=timezone.utc)  # 09:00 NZDT on Monday 7 December
AROHA = NewPatient("Aroha", "Ngata-Whaanga", phone="021 555 0123", email="aroha.ngata@example.org")
NOTES = "ACC45 claim AB12345, sprained left ankle at netball"


class Clock:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def fake() -> Iterator[FakeCliniko]:
    with FakeCliniko(now=lambda: NOW) as server:
        yield server


def settings_for(fake: FakeCliniko, **changes: Any) -> ClinikoSettings:
    return dataclasses.replace(ClinikoSettings.load(profile_section(fake), cliniko_env(fake)), **changes)


def provider_for(fake: FakeCliniko, cache: Any = None, **changes: Any) -> ClinikoProvider:
    return ClinikoProvider(settings_for(fake, **changes), cache=cache or TimesCache(), now=lambda: NOW)


def times_of(fake: FakeCliniko) -> List[Any]:
    return fake.requests_to(r"/available_times$")


def reason(error: pytest.ExceptionInfo) -> str:
    return error.value.reason


# -- settings ---------------------------------------------------------------------------------------------------


def test_settings_from_the_profile_and_the_environment() -> None:
    section = {**profile_section(FakeCliniko(seed=False)), "practitioner_ids": f"{MERE_ID}, {TOM_ID}"}
    settings = ClinikoSettings.load(section, {"CLINIKO_API_KEY": TEST_API_KEY, "CLINIKO_TIMEOUT_SECONDS": "2.5"})
    assert settings.base_url == "https://api.au2.cliniko.com/v1"  # the key ends -au2
    assert settings.practitioner_ids == (MERE_ID, TOM_ID)
    assert settings.appointment_type_ids["acc_treatment"] == ACC_TYPE_ID
    assert settings.user_agent == "Acute Acupuncture chat assistant (bookings@acute-acupuncture.example)"
    assert settings.timeout_seconds == 2.5
    assert TEST_API_KEY not in repr(settings)


@pytest.mark.parametrize(
    "key, url",
    [
        ("MS0xLWZha2Vfa2V5-uk1", "https://api.uk1.cliniko.com/v1"),
        ("MS0xLWZha2Vfa2V5-AU3", "https://api.au3.cliniko.com/v1"),
        ("MS0xLWZha2Vfa2V5", "https://api.au1.cliniko.com/v1"),  # an old key without a shard: au1
    ],
)
def test_the_shard_of_the_key_gives_the_base_url(key: str, url: str) -> None:
    section = profile_section(FakeCliniko(seed=False))
    assert ClinikoSettings.load(section, {"CLINIKO_API_KEY": key}).base_url == url


def test_missing_and_placeholder_settings_are_named_without_their_values() -> None:
    section = {
        "business_id": "<<FILL IN: the business id>>",
        "practitioner_ids": [],
        "appointment_type_ids": {"free_consult": "<<FILL IN: id>>"},
        "contact_email": "secret-contact@example.org",
    }
    environ = {"CLINIKO_API_URL": "http://clinic.example.org/v1", "CLINIKO_TIMEOUT_SECONDS": "soon"}
    with pytest.raises(BookingUnavailable) as error:
        ClinikoSettings.load(section, environ)
    assert isinstance(error.value, NotConfigured) and reason(error) == "not_configured"
    message = str(error.value)
    for name in ("CLINIKO_API_KEY", "CLINIKO_API_URL", "CLINIKO_TIMEOUT_SECONDS", "cliniko.business_id"):
        assert name in message
    assert "cliniko.practitioner_ids" in message and "cliniko.appointment_type_ids" in message
    assert "clinic.example.org" not in message and "secret-contact" not in message and "soon" not in message


def test_the_shipped_profile_section_is_not_configured_as_it_stands() -> None:
    """clinic_profile.yml as shipped: every placeholder is missing, even one with commas in its text."""
    section = load_profile(str(ROOT / "clinic_profile.yml")).section("cliniko")
    assert "," in section["practitioner_ids"]
    with pytest.raises(NotConfigured) as error:
        ClinikoSettings.load(section, {"CLINIKO_API_KEY": "k"})
    for name in ("business_id", "practitioner_ids", "appointment_type_ids", "contact_email"):
        assert f"cliniko.{name}" in str(error.value)


def test_a_local_or_https_override_is_accepted() -> None:
    section = profile_section(FakeCliniko(seed=False))
    for url in ("http://localhost:8998/v1/", "https://cliniko-proxy.example.org/v1"):
        assert ClinikoSettings.load(section, {"CLINIKO_API_KEY": "k", "CLINIKO_API_URL": url}).base_url == url.rstrip(
            "/"
        )


def test_a_kind_without_an_appointment_type_is_not_configured(fake: FakeCliniko) -> None:
    provider = provider_for(fake, appointment_type_ids={"free_consult": FREE_CONSULT_TYPE_ID})
    with pytest.raises(BookingUnavailable) as error:
        asyncio.run(provider.available_times("acc_treatment", MONDAY, 1))
    assert reason(error) == "not_configured" and fake.requests == []


# -- available times --------------------------------------------------------------------------------------------


def test_available_times_of_both_practitioners_sorted_in_utc(fake: FakeCliniko) -> None:
    slots = asyncio.run(provider_for(fake).available_times("treatment", MONDAY, 1))
    expected_mere = fake.offered_times(MERE_ID, TREATMENT_TYPE_ID, MONDAY, MONDAY)
    expected_tom = fake.offered_times(TOM_ID, TREATMENT_TYPE_ID, MONDAY, MONDAY)
    assert len(slots) == len(expected_mere) + len(expected_tom) > 0
    assert slots[0] == Slot(MONDAY_9AM, MERE_ID, "Mere")  # 09:00 NZ is 20:00Z the day before
    assert slots[1] == Slot(MONDAY_9AM, TOM_ID, "Tom")  # same time: in the order the clinic listed them
    assert all(s.starts_at.tzinfo == timezone.utc for s in slots)
    assert [s.starts_at for s in slots] == sorted(s.starts_at for s in slots)
    assert {s.starts_at for s in slots if s.practitioner_id == TOM_ID} == set(expected_tom)
    request = times_of(fake)[0]
    assert request.param("from") == request.param("to") == "2026-12-07"


def test_basic_auth_user_agent_and_accept_are_sent(fake: FakeCliniko) -> None:
    asyncio.run(provider_for(fake).available_times("free_consult", MONDAY, 1))
    for request in fake.requests:
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert headers["authorization"] == "Basic " + base64.b64encode(f"{TEST_API_KEY}:".encode()).decode()
        assert headers["user-agent"] == "Acute Acupuncture chat assistant (bookings@acute-acupuncture.example)"
        assert headers["accept"] == "application/json"
        assert request.status == 200


def test_ten_days_are_asked_in_windows_of_at_most_seven(fake: FakeCliniko) -> None:
    asyncio.run(provider_for(fake).available_times("free_consult", MONDAY, 10))
    windows = [(r.path, r.param("from"), r.param("to")) for r in times_of(fake)]
    assert len(windows) == 4  # two practitioners x two windows
    for _, first, last in windows:
        assert (date.fromisoformat(last) - date.fromisoformat(first)).days <= 6
    assert {(f, t) for _, f, t in windows} == {("2026-12-07", "2026-12-13"), ("2026-12-14", "2026-12-16")}


def test_from_is_never_before_today_in_new_zealand(fake: FakeCliniko) -> None:
    slots = asyncio.run(provider_for(fake).available_times("free_consult", TODAY - timedelta(days=3), 4))
    assert {r.param("from") for r in times_of(fake)} == {"2026-12-02"}
    assert slots and all(s.starts_at >= NOW + fake.min_advance for s in slots)  # the fake's minimum notice
    assert all(r.status == 200 for r in fake.requests)


def test_pagination_follows_links_next(fake: FakeCliniko) -> None:
    fake.page_size_limit = 2
    slots = asyncio.run(provider_for(fake, practitioner_ids=(MERE_ID,)).available_times("free_consult", MONDAY, 1))
    expected = fake.offered_times(MERE_ID, FREE_CONSULT_TYPE_ID, MONDAY, MONDAY)
    assert [s.starts_at for s in slots] == expected and len(expected) > 4
    pages = [r.param("page") for r in times_of(fake)]
    assert pages == [None] + [str(n) for n in range(2, (len(expected) + 1) // 2 + 1)]


def test_a_next_link_to_another_host_is_not_followed(fake: FakeCliniko) -> None:
    other = {"available_times": [], "total_entries": 3, "links": {"next": "https://elsewhere.example/v1/x?page=2"}}
    fake.fail_next(1, 200, body=other)
    with pytest.raises(BookingUnavailable) as error:
        asyncio.run(provider_for(fake, practitioner_ids=(MERE_ID,)).available_times("free_consult", MONDAY, 1))
    assert reason(error) == "bad_answer" and len(fake.requests) == 1


def test_practitioners_and_types_not_online_are_never_offered(fake: FakeCliniko) -> None:
    provider = provider_for(
        fake,
        practitioner_ids=(HANA_ID, MERE_ID),
        appointment_type_ids={"treatment": TREATMENT_TYPE_ID, "free_consult": WORKSHOP_TYPE_ID},
    )
    slots = asyncio.run(provider.available_times("treatment", MONDAY, 2))
    assert slots and {s.practitioner_id for s in slots} == {MERE_ID}
    assert fake.offered_times(HANA_ID, TREATMENT_TYPE_ID, MONDAY, MONDAY)  # Hana works, but not online
    assert asyncio.run(provider.available_times("free_consult", MONDAY, 2)) == []


def test_times_are_cached_briefly_and_first_names_for_the_process(fake: FakeCliniko) -> None:
    clock = Clock()
    cache = TimesCache(ttl_seconds=60, clock=clock)
    first = asyncio.run(provider_for(fake, cache=cache).available_times("free_consult", MONDAY, 3))
    count = len(fake.requests)
    clock.value += 59
    assert asyncio.run(provider_for(fake, cache=cache).available_times("free_consult", MONDAY, 3)) == first
    assert len(fake.requests) == count  # "later times": nothing asked again
    clock.value += 2
    asyncio.run(provider_for(fake, cache=cache).available_times("free_consult", MONDAY, 3))
    assert len(times_of(fake)) == 4 and len(fake.requests_to(r"^/v1/practitioners/")) == 2


def test_booking_drops_the_cached_times_of_its_day(fake: FakeCliniko) -> None:
    cache = TimesCache(clock=Clock())
    provider = provider_for(fake, cache=cache)
    slots = asyncio.run(provider.available_times("treatment", MONDAY, 2))
    asyncio.run(provider.book("treatment", slots[0], AROHA, None))
    after = asyncio.run(provider.available_times("treatment", MONDAY, 2))
    assert slots[0] not in after and slots[1] in after


# -- booking ----------------------------------------------------------------------------------------------------


def test_booking_makes_a_new_patient_and_the_appointment(fake: FakeCliniko) -> None:
    provider = provider_for(fake)
    slot = asyncio.run(provider.available_times("acc_treatment", MONDAY, 1))[3]
    booked = asyncio.run(provider.book("acc_treatment", slot, AROHA, NOTES))
    assert booked == Booked(booked.appointment_id, slot.starts_at, slot.practitioner_first_name)
    [made] = fake.live_appointments()
    assert str(made.id) == booked.appointment_id
    assert (made.starts_at, made.practitioner_id, made.appointment_type_id, made.business_id, made.notes) == (
        slot.starts_at,
        slot.practitioner_id,
        ACC_TYPE_ID,
        BUSINESS_ID,
        NOTES,
    )
    assert made.ends_at - made.starts_at == timedelta(minutes=45)
    patient = fake.patients[made.patient_id]
    assert (patient.first_name, patient.last_name, patient.email) == ("Aroha", "Ngata-Whaanga", AROHA.email)
    assert patient.patient_phone_numbers == [{"phone_type": "Mobile", "number": "021 555 0123"}]
    [post] = fake.requests_to(r"/individual_appointments$", "POST")
    assert post.body["starts_at"] == slot.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {k.lower(): v for k, v in post.headers.items()}["content-type"] == "application/json"
    assert len(fake.requests_to(r"/conflicts$")) == 1
    # the time checked afresh (the provider's cache held it): one more request for that day and practitioner
    assert [(r.param("from"), r.param("to")) for r in times_of(fake)][-1] == ("2026-12-07", "2026-12-07")
    assert len(times_of(fake)) == 3


def test_a_landline_is_saved_as_home() -> None:
    assert phone_digits("+64 4 123 4567") == phone_digits("04-123 4567") == "041234567"
    with FakeCliniko(now=lambda: NOW) as fake:
        provider = provider_for(fake)
        slot = asyncio.run(provider.available_times("treatment", MONDAY, 1))[0]
        asyncio.run(provider.book("treatment", slot, NewPatient("Sam", "Hill", phone="04 123 4567"), None))
        [patient] = fake.patients.values()
        assert patient.patient_phone_numbers == [{"phone_type": "Home", "number": "04 123 4567"}]
        assert patient.email is None


@pytest.mark.parametrize(
    "stored, reused",
    [
        ({"email": "Aroha.Ngata@example.org"}, True),  # same names and email (case aside)
        ({"email": "old@example.org", "phone": "+64 21 555 0123"}, True),  # same names and phone
        ({"email": "old@example.org", "phone": "021 555 9999"}, False),  # neither matches
        ({"first_name": "Arohanui", "email": "aroha.ngata@example.org"}, False),  # another first name
    ],
)
def test_an_existing_patient_only_on_an_exact_match(fake: FakeCliniko, stored: dict, reused: bool) -> None:
    existing = fake.add_patient(
        stored.get("first_name", "Aroha"), "Ngata-Whaanga", email=stored.get("email"), phone=stored.get("phone")
    )
    provider = provider_for(fake)
    slot = asyncio.run(provider.available_times("treatment", MONDAY, 1))[0]
    booked = asyncio.run(provider.book("treatment", slot, AROHA, None))
    [made] = fake.live_appointments()
    assert (made.patient_id == existing) is reused
    assert len(fake.requests_to(r"^/v1/patients$", "POST")) == (0 if reused else 1)
    assert isinstance(booked, Booked)  # the same answer either way
    [search] = fake.requests_to(r"^/v1/patients$", "GET")
    assert search.query["q[]"] == ["first_name:=Aroha", "last_name:=Ngata-Whaanga"]


def test_two_patients_with_the_same_details_means_a_new_one(fake: FakeCliniko) -> None:
    twins = {fake.add_patient("Aroha", "Ngata-Whaanga", email=AROHA.email) for _ in range(2)}
    provider = provider_for(fake)
    slot = asyncio.run(provider.available_times("treatment", MONDAY, 1))[0]
    asyncio.run(provider.book("treatment", slot, AROHA, None))
    [made] = fake.live_appointments()
    assert made.patient_id not in twins and len(fake.patients) == 3


def test_a_time_taken_before_booking_books_nothing(fake: FakeCliniko) -> None:
    provider = provider_for(fake)
    slot = asyncio.run(provider.available_times("treatment", MONDAY, 1))[2]
    fake.take(slot.starts_at, slot.practitioner_id)
    with pytest.raises(SlotTaken):
        asyncio.run(provider.book("treatment", slot, AROHA, None))
    assert fake.requests_to(r"/individual_appointments$", "POST") == []
    assert fake.requests_to(r"^/v1/patients", "POST") == [] and len(fake.live_appointments()) == 1


def test_a_slot_of_a_practitioner_not_configured_is_refused(fake: FakeCliniko) -> None:
    forged = Slot(MONDAY_9AM, HANA_ID, "Hana")
    with pytest.raises(SlotTaken):
        asyncio.run(provider_for(fake).book("treatment", forged, AROHA, None))
    assert fake.live_appointments() == []


def test_a_conflict_after_booking_cancels_the_chats_appointment(fake: FakeCliniko) -> None:
    provider = provider_for(fake)
    slot = asyncio.run(provider.available_times("treatment", MONDAY, 1))[0]
    fake.race_next_booking()
    with pytest.raises(SlotTaken):
        asyncio.run(provider.book("treatment", slot, AROHA, None))
    ours = next(a for a in fake.appointments.values() if fake.patients[a.patient_id].first_name == "Aroha")
    assert ours.cancelled_at is not None and ours.cancellation_reason == 50 and ours.cancellation_note
    [other] = fake.live_appointments()
    assert (other.starts_at, other.practitioner_id) == (slot.starts_at, slot.practitioner_id)
    [cancel] = fake.requests_to(r"/cancel$", "PATCH")
    assert cancel.status == 204 and cancel.body["cancellation_reason"] == 50


def test_an_unanswered_conflict_check_cancels_and_reports(fake: FakeCliniko) -> None:
    provider = provider_for(fake)
    slot = asyncio.run(provider.available_times("treatment", MONDAY, 1))[0]
    fake.fail_next(1, 503, where=r"^GET .*/conflicts$")
    with pytest.raises(BookingUnavailable) as error:
        asyncio.run(provider.book("treatment", slot, AROHA, None))
    assert reason(error) == "server_error" and fake.live_appointments() == []  # nothing left booked unchecked
    [cancel] = fake.requests_to(r"/cancel$", "PATCH")
    assert cancel.body["cancellation_reason"] == 50


# -- failures ---------------------------------------------------------------------------------------------------


def test_a_slow_answer_is_a_timeout(fake: FakeCliniko) -> None:
    fake.delay_next(3)
    started = time.monotonic()
    with pytest.raises(BookingUnavailable) as error:
        asyncio.run(provider_for(fake, timeout_seconds=0.5).available_times("free_consult", MONDAY, 1))
    assert reason(error) == "timeout" and time.monotonic() - started < 2.5


@pytest.mark.parametrize("status, expected", [(500, "server_error"), (502, "server_error"), (404, "refused")])
def test_error_statuses(fake: FakeCliniko, status: int, expected: str) -> None:
    fake.fail_next(1, status)
    with pytest.raises(BookingUnavailable) as error:
        asyncio.run(provider_for(fake, practitioner_ids=(MERE_ID,)).available_times("free_consult", MONDAY, 1))
    assert reason(error) == expected and len(fake.requests) == 1  # not retried


def test_the_practitioners_are_asked_at_the_same_time(fake: FakeCliniko) -> None:
    for practitioner in (MERE_ID, TOM_ID):
        fake.delay_next(1.0, where=f"GET /v1/businesses/[0-9]+/practitioners/{practitioner}/")
    started = time.monotonic()
    slots = asyncio.run(provider_for(fake).available_times("free_consult", MONDAY, 1))
    assert {s.practitioner_first_name for s in slots} == {"Mere", "Tom"}
    assert time.monotonic() - started < 1.8  # one after the other would take 2 s or more


def test_a_server_error_while_booking(fake: FakeCliniko) -> None:
    provider = provider_for(fake)
    slot = asyncio.run(provider.available_times("treatment", MONDAY, 1))[0]
    fake.fail_next(1, 502, where=r"^POST /v1/patients$")
    with pytest.raises(BookingUnavailable) as error:
        asyncio.run(provider.book("treatment", slot, AROHA, None))
    assert reason(error) == "server_error" and fake.live_appointments() == [] and fake.patients == {}
    assert fake.requests_to(r"/individual_appointments", "POST") == []


def test_a_revoked_key_is_unauthorised(fake: FakeCliniko) -> None:
    fake.revoke_key()
    with pytest.raises(BookingUnavailable) as error:
        asyncio.run(provider_for(fake).available_times("free_consult", MONDAY, 1))
    assert reason(error) == "unauthorised" and fake.requests[0].status == 401


def test_a_short_retry_after_is_waited_for_once(fake: FakeCliniko) -> None:
    fake.rate_limit_next(1)
    started = time.monotonic()
    slots = asyncio.run(provider_for(fake, practitioner_ids=(MERE_ID,)).available_times("free_consult", MONDAY, 1))
    assert slots and time.monotonic() - started >= 1.0
    assert [r.status for r in fake.requests[:2]] == [429, 200]


def test_a_second_429_is_rate_limited(fake: FakeCliniko) -> None:
    fake.rate_limit_next(1, times=2)
    with pytest.raises(BookingUnavailable) as error:
        asyncio.run(provider_for(fake, practitioner_ids=(MERE_ID,)).available_times("free_consult", MONDAY, 1))
    assert reason(error) == "rate_limited" and len(fake.requests) == 2


def test_a_long_retry_after_is_rate_limited_without_waiting(fake: FakeCliniko) -> None:
    fake.rate_limit_next(30)
    started = time.monotonic()
    with pytest.raises(BookingUnavailable) as error:
        asyncio.run(provider_for(fake, practitioner_ids=(MERE_ID,)).available_times("free_consult", MONDAY, 1))
    assert reason(error) == "rate_limited" and time.monotonic() - started < 2 and len(fake.requests) == 1


@pytest.mark.parametrize("body", ["<html>Cliniko is down for maintenance</html>", {"available_times": "soon"}])
def test_an_answer_that_is_not_the_documented_json(fake: FakeCliniko, body: Any) -> None:
    fake.fail_next(1, 200, body=body)
    with pytest.raises(BookingUnavailable) as error:
        asyncio.run(provider_for(fake).available_times("free_consult", MONDAY, 1))
    assert reason(error) == "bad_answer"


def test_a_refused_connection() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    fake = FakeCliniko(port=port)
    with pytest.raises(BookingUnavailable) as error:
        asyncio.run(provider_for(fake).available_times("free_consult", MONDAY, 1))
    assert reason(error) == "server_error"  # Cliniko cannot be reached: the same answer as its 5xx


# -- privacy ----------------------------------------------------------------------------------------------------


def test_logs_and_errors_never_show_the_patient_nor_the_key(
    fake: FakeCliniko, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = provider_for(fake)
    slot = asyncio.run(provider.available_times("acc_treatment", MONDAY, 1))[0]
    asyncio.run(provider.book("acc_treatment", slot, AROHA, NOTES))
    slot = asyncio.run(provider.available_times("acc_treatment", MONDAY, 1))[0]
    texts = []
    failures = (
        lambda: fake.fail_next(1, 500, body={"errors": {"first_name": ["Aroha"]}}, where=r"^GET /v1/patients$"),
        lambda: fake.delay_next(3, where=r"^POST /v1/individual_appointments$"),
    )
    for failure in failures:
        failure()
        with pytest.raises(BookingUnavailable) as error:
            asyncio.run(provider_for(fake, timeout_seconds=0.5).book("acc_treatment", slot, AROHA, NOTES))
        texts.append("".join(traceback.format_exception(error.type, error.value, error.tb)))
        texts.append(str(error.value))
    logged = caplog.text + "".join(r.exc_text or "" for r in caplog.records) + "".join(texts)
    assert "Cliniko GET /patients failed: server_error" in logged  # the path template, not the URL
    assert "Cliniko POST /individual_appointments failed: timeout" in logged
    secrets = [
        "Aroha",
        "Ngata",
        "555",
        "0123",
        "example.org",
        "ACC45",
        "AB12345",
        "ankle",
        TEST_API_KEY,
        base64.b64encode(f"{TEST_API_KEY}:".encode()).decode(),
        "q[]",
        "first_name:",
    ]
    for secret in secrets:
        assert secret not in logged, secret
