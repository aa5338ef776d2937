"""Custom actions in actions/clinic_details.py, run with Rasa SDK trackers and dispatcher."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clinic_details import ActionClinicDetails, ActionHumanHandoff, clinic_detail_answer
from bot.clinic.profile import ClinicProfile
from bot.responses import response_text
from tests.support.responses import rendered


def tracker_with_intent(intent: str) -> Tracker:
    return Tracker(
        sender_id="unit",
        slots={},
        latest_message={"intent": {"name": intent, "confidence": 0.9}, "text": "?"},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(action, intent: str) -> str:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker_with_intent(intent), {}))
    assert events == [] or events == [{"event": "slot", "timestamp": None, "name": "request_kind", "value": "handoff"}]
    return "\n".join(m["text"] for m in rendered(dispatcher.messages))


def answer(intent: str, profile: ClinicProfile) -> str:
    response, values = clinic_detail_answer(intent, profile)
    return response_text(response, **values)


@pytest.mark.parametrize(
    "intent, noun",
    [
        ("clinic_prices", "prices"),
        ("clinic_hours", "opening hours"),
        ("clinic_contact", "contact details"),
        ("clinic_practitioners", "practitioners"),
    ],
)
def test_unknown_details_say_so_and_point_to_contact(intent, noun):
    text = run(ActionClinicDetails(), intent)
    assert f"don't have the clinic's {noun}" in text
    assert "163 The Terrace" in text


def test_known_details_are_given():
    profile = ClinicProfile({"opening_hours": "Mon–Fri 9am–6pm", "phone": "04 111 2222"})
    text = answer("clinic_hours", profile)
    assert "Opening hours: Mon–Fri 9am–6pm" in text and "don't have" not in text
    assert answer("clinic_contact", profile).startswith("Phone: 04 111 2222")


def test_prices_include_acc_co_payment_when_known():
    text = answer("clinic_prices", ClinicProfile({"acc_co_payment": "$20"}))
    assert "ACC co-payment: $20" in text


def test_human_handoff_says_it_is_automated_and_starts_a_handoff_request(tmp_path, monkeypatch):
    from bot.storage.booking_requests import shared_store

    url = f"sqlite:///{tmp_path / 'requests.sqlite'}"
    monkeypatch.setenv("BOOKING_REQUESTS_DB_URL", url)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionHumanHandoff().run(dispatcher, tracker_with_intent("human_handoff"), {}))
    text = rendered(dispatcher.messages)[0]["text"]
    assert "automated assistant" in text and "163 The Terrace" in text
    assert "they'll join this chat" in text
    assert [(e["name"], e["value"]) for e in events] == [("request_kind", "handoff")]
    # the inbox has one "chat" request with no personal details; asking again adds none
    asyncio.run(ActionHumanHandoff().run(CollectingDispatcher(), tracker_with_intent("human_handoff"), {}))
    chats = shared_store(url).list(kind="chat")
    assert [(r.sender_id, r.name, r.phone, r.email) for r in chats] == [("unit", None, None, None)]


def test_human_handoff_without_the_inbox_still_gives_the_ways_to_reach_a_person(tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the database's folder should be")
    monkeypatch.setenv("BOOKING_REQUESTS_DB_URL", f"sqlite:///{blocked / 'requests.sqlite'}")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionHumanHandoff().run(dispatcher, tracker_with_intent("human_handoff"), {}))
    text = rendered(dispatcher.messages)[0]["text"]
    assert "automated assistant" in text and "163 The Terrace" in text
    assert "join this chat" not in text  # nothing promised that was not recorded
