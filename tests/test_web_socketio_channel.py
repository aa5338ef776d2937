"""The socketio channel (bot/web/socketio_channel.py): unit checks, then a real python-socketio 5 client
(Socket.IO v5 / Engine.IO v4) against the real `rasa run`: session persistence answers, other origins refused."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
import uuid
from typing import Dict, List, Optional

import pytest
import socketio

from bot.message_limits import TOO_LONG
from bot.web.socketio_channel import allowed_origins_from_env, origin_allowed, valid_session_id


def test_origin_allowed():
    allowed = ("https://clinic.example", "http://127.0.0.1:8000")
    assert origin_allowed("https://clinic.example", allowed)
    assert origin_allowed("https://clinic.example/", allowed)
    assert origin_allowed(None, allowed), "non-browser clients send no Origin"
    assert not origin_allowed("https://evil.example", allowed)
    assert not origin_allowed("https://clinic.example.evil.example", allowed)
    assert origin_allowed("https://anything.example", ("*",))


def test_valid_session_id():
    assert valid_session_id({"session_id": "0123456789abcdef0123456789abcdef"})
    assert valid_session_id({"session_id": str(uuid.uuid4())})
    for bad in (None, {}, {"session_id": None}, {"session_id": 42}, {"session_id": "short"},
                {"session_id": "x" * 129}, {"session_id": "../../etc"}, "string"):
        assert valid_session_id(bad) is None


def test_allowed_origins_from_env(monkeypatch):
    monkeypatch.delenv("WEB_ALLOWED_ORIGINS", raising=False)
    monkeypatch.setenv("WEB_PORT", "8123")
    assert allowed_origins_from_env() == ("http://127.0.0.1:8123", "http://localhost:8123")
    monkeypatch.setenv("WEB_ALLOWED_ORIGINS", "https://a.example https://b.example")
    assert allowed_origins_from_env() == ("https://a.example", "https://b.example")


# ---------- against the real Rasa server


def converse(
    url: str, origin: Optional[str], session_id: str, message: str, transport: str, expect: str = "No referral needed"
) -> Dict:
    """Connect, request the session, send one message; collect the bot's messages until `expect` (up to 20 s)."""
    # websocket-client sends an Origin of its own unless told which one (a second header would be appended)
    websocket_options = {"origin": origin} if origin else {"suppress_origin": True}
    client = socketio.Client(reconnection=False, websocket_extra_options=websocket_options)
    confirmed: List[str] = []
    answers: List[Dict] = []
    client.on("session_confirm", confirmed.append)
    client.on("bot_uttered", answers.append)
    headers = {"Origin": origin} if origin and transport == "polling" else {}
    try:
        client.connect(url, headers=headers, transports=[transport], wait_timeout=10)
        client.emit("session_request", {"session_id": session_id})
        for _ in range(100):
            if confirmed:
                break
            time.sleep(0.1)
        client.emit(
            "user_uttered",
            {"message": message, "session_id": session_id, "metadata": {"page_url": "test://socketio"}},
        )
        for _ in range(100):
            if any(expect in a.get("text", "") for a in answers):
                break
            time.sleep(0.2)
        return {"session": confirmed[0] if confirmed else None, "answers": answers}
    finally:
        client.disconnect()


@pytest.mark.e2e
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_session_persistence_answers_over_socketio(stack, transport):
    """The stock Rasa 3.6.21 channel with python-socketio 5.18 never answers here (room never joined)."""
    session_id = uuid.uuid4().hex
    origin = stack.allowed_origins()[0]
    result = converse(stack.rasa_url, origin, session_id, "do I need a GP referral?", transport)
    assert result["session"] == session_id
    assert any("No referral needed" in a.get("text", "") for a in result["answers"]), result["answers"]
    with sqlite3.connect(stack.tracker_db) as db:
        rows = db.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (session_id,)
        ).fetchall()
    assert json.loads(rows[-1][0])["metadata"]["page_url"] == "test://socketio"
    assert json.loads(rows[-1][0])["input_channel"] == "socketio"


@pytest.mark.e2e
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_browsers_from_other_origins_are_refused(stack, transport):
    with pytest.raises(socketio.exceptions.ConnectionError):
        converse(stack.rasa_url, "https://evil.example", uuid.uuid4().hex, "hello", transport)


@pytest.mark.e2e
def test_rasa_cors_headers_only_for_allowed_origins(stack):
    """`rasa run --cors` gets the same origins as the web service."""
    url = f"{stack.rasa_url}/socket.io/?EIO=4&transport=polling"

    def allow_origin(origin: str) -> Optional[str]:
        request = urllib.request.Request(url, headers={"Origin": origin})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
                return response.headers.get("Access-Control-Allow-Origin")
        except urllib.error.HTTPError as error:
            return error.headers.get("Access-Control-Allow-Origin")

    allowed = stack.allowed_origins()[0]
    assert allow_origin(allowed) == allowed
    assert allow_origin("https://evil.example") is None


@pytest.mark.e2e
def test_an_over_long_message_gets_a_clear_answer_and_is_not_stored(stack):
    session_id = uuid.uuid4().hex
    long = "my glute hurts " * 100
    result = converse(stack.rasa_url, stack.allowed_origins()[0], session_id, long, "websocket", TOO_LONG[:40])
    assert [a.get("text") for a in result["answers"]] == [TOO_LONG]
    with sqlite3.connect(stack.tracker_db) as db:
        assert db.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (session_id,)).fetchone()[0] == 0
