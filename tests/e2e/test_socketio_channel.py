"""The socketio channel (bot/channels/socketio.py): unit checks, then a real python-socketio 5 client
(Socket.IO v5 / Engine.IO v4) against the real `rasa run`: session persistence answers, other origins refused,
a socket writes to and hears from only the `web:` conversation it joined (the attacks of the security review)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import urllib.request
import uuid
from typing import Any, Dict, Iterable, List, Optional, Tuple

import pytest
import socketio
import sqlalchemy

from bot.channels import socketio as channel
from bot.channels.message_limits import TOO_LONG
from bot.channels.recent_ids import SeenMessages
from bot.channels.sender_ids import WEB, WEB_SESSION_ID, namespaced

REFERRAL = "do I need a GP referral?"
NO_REFERRAL = "No referral needed"
PHYSIO = "can I see a physio at the same time?"
NOT_CANCELLED = "doesn't cancel out"


def test_origin_allowed():
    allowed = ("https://clinic.example", "http://127.0.0.1:8000")
    assert channel.origin_allowed("https://clinic.example", allowed)
    assert channel.origin_allowed("https://clinic.example/", allowed)
    assert channel.origin_allowed(None, allowed), "non-browser clients send no Origin"
    assert not channel.origin_allowed("https://evil.example", allowed)
    assert not channel.origin_allowed("https://clinic.example.evil.example", allowed)
    assert channel.origin_allowed("https://anything.example", ("*",))


def test_allowed_origins_from_env(monkeypatch):
    monkeypatch.delenv("WEB_ALLOWED_ORIGINS", raising=False)
    monkeypatch.setenv("WEB_PORT", "8123")
    assert channel.allowed_origins_from_env() == ("http://127.0.0.1:8123", "http://localhost:8123")
    monkeypatch.setenv("WEB_ALLOWED_ORIGINS", "https://a.example https://b.example")
    assert channel.allowed_origins_from_env() == ("https://a.example", "https://b.example")


# ---------- unit: the handlers, called directly with a recording Socket.IO server

BAD_SESSION_IDS = (
    "short",
    "messenger:1234567890123456",
    "1234567890123456",  # a raw Messenger/Instagram id
    str(uuid.uuid4()),  # dashes
    "0123456789ABCDEF0123456789ABCDEF",  # upper case
    "0123456789abcdef0123456789abcdef0",  # 33
    "web:0123456789abcdef0123456789abcdef",
    " 0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef\n",
    42,
    None,
    ["0123456789abcdef0123456789abcdef"],
)


def test_valid_session_id():
    good = "0123456789abcdef0123456789abcdef"
    assert channel.valid_session_id({"session_id": good}) == good
    for bad in BAD_SESSION_IDS:
        assert channel.valid_session_id({"session_id": bad}) is None, bad
    for bad in (None, {}, "string", [good], 42):
        assert channel.valid_session_id(bad) is None, bad


def test_new_session_ids_are_the_widgets_format_and_unique():
    ids = {channel.new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(WEB_SESSION_ID.fullmatch(i) for i in ids)


class RecordingServer:
    """Stands in for socketio.AsyncServer: handlers registered with `on`, rooms and emits recorded."""

    def __init__(self) -> None:
        self.handlers: Dict[str, Dict[str, Any]] = {}
        self.rooms: Dict[str, set] = {}
        self.emitted: List[Tuple[str, Any, Optional[str]]] = []

    def on(self, event: str, handler: Any = None, namespace: Optional[str] = None) -> Any:
        def register(function: Any) -> Any:
            self.handlers.setdefault(namespace or "/", {})[event] = function
            return function

        return register(handler) if handler else register

    async def enter_room(self, sid: str, room: str, namespace: Optional[str] = None) -> None:
        self.rooms.setdefault(sid, set()).add(room)

    async def leave_room(self, sid: str, room: str, namespace: Optional[str] = None) -> None:
        self.rooms.setdefault(sid, set()).discard(room)

    async def emit(self, event: str, data: Any = None, room: Optional[str] = None, **kwargs: Any) -> None:
        self.emitted.append((event, data, room))

    def confirmed(self, sid: str) -> List[str]:
        return [data for event, data, room in self.emitted if event == "session_confirm" and room == sid]


@pytest.fixture()
def handlers(monkeypatch):
    """The channel's handlers on a RecordingServer; `received` collects what reaches Rasa."""
    server = RecordingServer()
    monkeypatch.setattr("rasa.core.channels.socketio.AsyncServer", lambda *args, **kwargs: server)
    received: List[Any] = []

    async def on_new_message(message: Any) -> None:
        received.append(message)

    input_channel = channel.SocketIOInput.from_credentials({"session_persistence": True, "metadata_key": "metadata"})
    input_channel._seen = SeenMessages(None)  # this process's memory: no database in these handler tests
    input_channel.blueprint(on_new_message)
    events = server.handlers["/"]

    def call(event: str, *args: Any) -> Any:
        return asyncio.run(events[event](*args))

    return call, server, received


SESSION = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


def test_session_request_joins_the_namespaced_room(handlers):
    call, server, _ = handlers
    call("session_request", "sid-a", {"session_id": SESSION})
    assert server.confirmed("sid-a") == [SESSION]
    assert server.rooms["sid-a"] == {f"web:{SESSION}"}
    # asking again for another session leaves the first one's room
    call("session_request", "sid-a", {"session_id": OTHER})
    assert server.rooms["sid-a"] == {f"web:{OTHER}"}


@pytest.mark.parametrize("bad", [*BAD_SESSION_IDS, "no dict"])
def test_a_bad_session_id_gets_a_fresh_valid_one(handlers, bad):
    call, server, _ = handlers
    call("session_request", "sid-a", bad if bad == "no dict" else {"session_id": bad})
    (fresh,) = server.confirmed("sid-a")
    assert WEB_SESSION_ID.fullmatch(fresh) and fresh != bad
    assert server.rooms["sid-a"] == {namespaced(WEB, fresh)}


def test_a_message_reaches_rasa_as_the_joined_web_conversation(handlers):
    call, _, received = handlers
    call("session_request", "sid-a", {"session_id": SESSION})
    call("user_uttered", "sid-a", {"message": "hi", "session_id": SESSION, "metadata": {"page_url": "x"}})
    call("user_uttered", "sid-a", {"message": "hi", "session_id": SESSION, "metadata": '{"page_url": "y"}'})
    call("user_uttered", "sid-a", {"message": "hi", "session_id": SESSION})
    assert [m.sender_id for m in received] == [f"web:{SESSION}"] * 3
    assert [m.metadata for m in received] == [{"page_url": "x"}, {"page_url": "y"}, {}]
    assert {m.input_channel for m in received} == {"socketio"}
    assert {type(m.output_channel).__name__ for m in received} == {"AnswerOutput"}  # Rasa's, with reply_to


def test_a_message_sent_again_with_its_id_is_processed_once(handlers):
    call, _, received = handlers
    first, second = "a" * 32, "b" * 32
    call("session_request", "sid-a", {"session_id": SESSION})
    call("session_request", "sid-b", {"session_id": SESSION})  # the same chat in another tab, or after a reconnect
    call("session_request", "sid-c", {"session_id": OTHER})
    for sid, session, message_id in [
        ("sid-a", SESSION, first),
        ("sid-a", SESSION, first),  # Retry
        ("sid-b", SESSION, first),  # Retry from another socket of the same conversation
        ("sid-a", SESSION, second),
        ("sid-c", OTHER, first),  # the same id in another conversation is another message
        ("sid-a", SESSION, "not-an-id"),  # no valid id: processed (older widgets send none)
        ("sid-a", SESSION, "not-an-id"),
    ]:
        call("user_uttered", sid, {"message": "hi", "session_id": session, "metadata": {"message_id": message_id}})
    assert [(m.sender_id, m.metadata["message_id"]) for m in received] == [
        (f"web:{SESSION}", first),
        (f"web:{SESSION}", second),
        (f"web:{OTHER}", first),
        (f"web:{SESSION}", "not-an-id"),
        (f"web:{SESSION}", "not-an-id"),
    ]


@pytest.mark.parametrize(
    "sid, data",
    [
        ("sid-new", {"message": "hi", "session_id": SESSION}),  # never joined
        ("sid-a", {"message": "hi", "session_id": OTHER}),  # another session than the one joined
        ("sid-a", {"message": "hi", "session_id": f"web:{SESSION}"}),
        ("sid-a", {"message": "hi", "session_id": "messenger:1234567890123456"}),
        ("sid-a", {"message": "hi"}),
        ("sid-a", {"message": 42, "session_id": SESSION}),
        ("sid-a", {"message": None, "session_id": SESSION}),
        ("sid-a", {"message": ["hi"], "session_id": SESSION}),
        ("sid-a", {"session_id": SESSION}),
        ("sid-a", {"message": "hi", "session_id": SESSION, "metadata": ["page_url"]}),
        ("sid-a", {"message": "hi", "session_id": SESSION, "metadata": 7}),
        ("sid-a", {"message": "hi", "session_id": SESSION, "metadata": "not json"}),
        ("sid-a", {"message": "hi", "session_id": SESSION, "metadata": "[1, 2]"}),
        ("sid-a", "hi"),
        ("sid-a", None),
        ("sid-a", ["hi", SESSION]),
    ],
)
def test_refused_messages_reach_nothing_and_log_no_ids_or_text(handlers, caplog, sid, data):
    call, server, received = handlers
    call("session_request", "sid-a", {"session_id": SESSION})
    with caplog.at_level(logging.DEBUG, logger="bot.channels.socketio"):
        call("user_uttered", sid, data)
    assert received == []
    assert [e for e in server.emitted if e[0] == "bot_uttered"] == []
    answered = [event for event, _, room in server.emitted if room == sid and event != "session_confirm"]
    assert answered == ["message_refused"], "the socket is told (the widget ignores it)"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings, "a refused message is logged"
    logged = " ".join(r.getMessage() for r in caplog.records)
    for secret in (SESSION, OTHER, "1234567890123456", "sid-a", "sid-new", "hi", "not json"):
        assert secret not in logged, (secret, logged)


def test_missing_or_extra_arguments_do_not_raise(handlers):
    call, server, received = handlers
    call("session_request", "sid-a")  # no data at all: a fresh session
    (fresh,) = server.confirmed("sid-a")
    call("user_uttered", "sid-a")
    call("user_uttered", "sid-a", {"message": "hi", "session_id": fresh}, "extra")
    assert [m.sender_id for m in received] == [f"web:{fresh}"]


def test_several_sockets_share_a_session_and_disconnect_forgets(handlers):
    call, server, received = handlers
    call("session_request", "tab-1", {"session_id": SESSION})
    call("session_request", "tab-2", {"session_id": SESSION})
    call("user_uttered", "tab-1", {"message": "one", "session_id": SESSION})
    call("user_uttered", "tab-2", {"message": "two", "session_id": SESSION})
    call("disconnect", "tab-1", "client disconnect")
    call("user_uttered", "tab-1", {"message": "three", "session_id": SESSION})  # forgotten: refused
    call("user_uttered", "tab-2", {"message": "four", "session_id": SESSION})
    assert [m.text for m in received] == ["one", "two", "four"]
    call("disconnect", "tab-2")  # python-socketio's legacy one-argument form


def test_an_over_long_message_is_still_limited(handlers):
    call, _, received = handlers
    call("session_request", "sid-a", {"session_id": SESSION})
    call("user_uttered", "sid-a", {"message": "x" * 1001, "session_id": SESSION})
    assert received == []


# ---------- against the real Rasa server


class Client:
    """A python-socketio 5 client as the widget uses the channel: connect, session_request, user_uttered."""

    def __init__(self, url: str, origin: Optional[str], transport: str = "websocket") -> None:
        # websocket-client sends an Origin of its own unless told which one (a second header would be appended)
        options = {"origin": origin} if origin else {"suppress_origin": True}
        self.sio = socketio.Client(reconnection=False, websocket_extra_options=options)
        self.confirmed: List[str] = []
        self.answers: List[Dict] = []
        self.refused: List[Dict] = []
        self.sio.on("session_confirm", self.confirmed.append)
        self.sio.on("bot_uttered", self.answers.append)
        self.sio.on("message_refused", self.refused.append)
        headers = {"Origin": origin} if origin and transport == "polling" else {}
        self.sio.connect(url, headers=headers, transports=[transport], wait_timeout=10)

    def join(self, session_id: Any) -> str:
        """session_request; the session id the server confirmed."""
        before = len(self.confirmed)
        self.sio.emit("session_request", {"session_id": session_id})
        wait_for(lambda: len(self.confirmed) > before, 10)
        return self.confirmed[-1]

    def say(self, message: str, session_id: str, expect: Optional[str] = None, metadata: Optional[Dict] = None):
        """user_uttered; with `expect`, wait (up to 30 s) for an answer containing it and return the new answers."""
        before = len(self.answers)
        self.sio.emit(
            "user_uttered", {"message": message, "session_id": session_id, "metadata": metadata or {"page_url": "t"}}
        )
        if expect is None:
            return []
        assert wait_for(lambda: any(expect in a.get("text", "") for a in self.answers[before:]), 30), (
            f"no answer with {expect!r} to {message!r}: {self.answers[before:]}"
        )
        return self.answers[before:]

    def close(self) -> None:
        self.sio.disconnect()


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def converse(
    url: str, origin: Optional[str], session_id: str, message: str, transport: str, expect: str = NO_REFERRAL
) -> Dict:
    """Connect, request the session, send one message; collect the bot's messages until `expect` (up to 20 s)."""
    client = Client(url, origin, transport)
    try:
        confirmed = client.join(session_id)
        client.say(message, session_id)
        wait_for(lambda: any(expect in a.get("text", "") for a in client.answers), 20)
        return {"session": confirmed, "answers": client.answers}
    finally:
        client.close()


def event_rows(stack, *sender_ids: str) -> List[Tuple[str, str, str]]:
    """(sender_id, type_name, data) of the stored events of these conversations."""
    engine = sqlalchemy.create_engine(stack.tracker_db_url())
    try:
        with engine.connect() as db:
            query = sqlalchemy.text("SELECT sender_id, type_name, data FROM events WHERE sender_id IN :ids ORDER BY id")
            query = query.bindparams(sqlalchemy.bindparam("ids", expanding=True))
            return [tuple(row) for row in db.execute(query, {"ids": list(sender_ids)})]
    finally:
        engine.dispose()


def user_texts(rows: Iterable[Tuple[str, str, str]]) -> List[str]:
    return [json.loads(data)["text"] for _, type_name, data in rows if type_name == "user"]


def still_no_rows(stack, sender_ids: Iterable[str], before: int, seconds: float = 3) -> None:
    """Nothing new stored for these conversations, also after a moment (a processed message is stored late)."""
    deadline = time.monotonic() + seconds
    while True:
        rows = event_rows(stack, *sender_ids)
        assert len(rows) == before, f"new events stored: {user_texts(rows)}"
        if time.monotonic() > deadline:
            return
        time.sleep(0.3)


@pytest.mark.e2e
def test_a_message_answered_then_sent_again_is_not_processed_twice(stack):
    """The widget's Retry after the answer was lost on the way back (a new socket, as after a reconnect): the real
    Rasa server processes the message once, in any of its processes (the id is claimed in the database)."""
    session_id, message_id = uuid.uuid4().hex, uuid.uuid4().hex
    origin = stack.allowed_origins()[0]
    first = Client(stack.rasa_url, origin)
    try:
        first.join(session_id)
        first.say(REFERRAL, session_id, expect=NO_REFERRAL, metadata={"message_id": message_id})
    finally:
        first.close()  # its answer arrived here; say the widget never showed it
    again = Client(stack.rasa_url, origin)
    try:
        again.join(session_id)
        before = len(event_rows(stack, namespaced(WEB, session_id)))
        again.say(REFERRAL, session_id, metadata={"message_id": message_id})
        still_no_rows(stack, [namespaced(WEB, session_id)], before)
        assert again.refused == [] and again.answers == []
        again.say("thanks", session_id, expect="welcome", metadata={"message_id": uuid.uuid4().hex})  # a new one is
    finally:
        again.close()
    assert user_texts(event_rows(stack, namespaced(WEB, session_id))).count(REFERRAL) == 1


@pytest.mark.e2e
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_session_persistence_answers_over_socketio(stack, transport):
    """The stock Rasa 3.6.21 channel with python-socketio 5.18 never answers here (room never joined)."""
    session_id = uuid.uuid4().hex
    origin = stack.allowed_origins()[0]
    result = converse(stack.rasa_url, origin, session_id, REFERRAL, transport)
    assert result["session"] == session_id
    assert any(NO_REFERRAL in a.get("text", "") for a in result["answers"]), result["answers"]
    rows = [json.loads(data) for _, kind, data in event_rows(stack, namespaced(WEB, session_id)) if kind == "user"]
    assert rows[-1]["text"] == REFERRAL
    assert rows[-1]["metadata"]["page_url"] == "t"
    assert rows[-1]["input_channel"] == "socketio"
    assert event_rows(stack, session_id) == [], "stored under the namespaced id only"


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
    assert event_rows(stack, session_id, namespaced(WEB, session_id)) == []


@pytest.mark.e2e
@pytest.mark.parametrize("victim", ["messenger:1234567890123456", "2345678901234567", "instagram:3456789012345678"])
def test_no_socket_reaches_another_channels_conversation(stack, victim):
    """Review finding: a client without Origin asked for a Messenger user's id, wrote into that conversation
    and read its replies. Now the id is refused (a fresh web session is confirmed instead), a message for it
    is refused, and nothing is stored for any conversation named after it."""
    targets = (victim, f"messenger:{victim}", f"instagram:{victim}", namespaced(WEB, victim))
    before = len(event_rows(stack, *targets))
    attacker = Client(stack.rasa_url, origin=None)
    try:
        own = attacker.join(victim)
        assert own != victim and WEB_SESSION_ID.fullmatch(own), own
        attacker.say(REFERRAL, session_id=victim)  # refused: no answer expected
        # the socket works: its own session answers (every accepted message gets a reply) ...
        attacker.say(PHYSIO, session_id=own, expect=NOT_CANCELLED)
        still_no_rows(stack, targets, before)
        # ... and it heard nothing of the other conversation
        assert not any(NO_REFERRAL in a.get("text", "") for a in attacker.answers), attacker.answers
        assert user_texts(event_rows(stack, namespaced(WEB, own))) == [PHYSIO]
    finally:
        attacker.close()


@pytest.mark.e2e
@pytest.mark.parametrize("attacker_joins", [True, False])
def test_a_socket_cannot_write_into_or_read_a_session_it_did_not_join(stack, attacker_joins):
    """Review finding: `user_uttered` took any session_id. Socket B (in session Y, or in none) sends a message
    with A's session id X: refused, nothing stored for X, and A (in X's room) receives nothing."""
    origin = stack.allowed_origins()[0]
    x = uuid.uuid4().hex
    victim = Client(stack.rasa_url, origin)
    attacker = Client(stack.rasa_url, origin=None)
    try:
        assert victim.join(x) == x
        victim.say(REFERRAL, session_id=x, expect=NO_REFERRAL)
        heard = len(victim.answers)
        before = len(event_rows(stack, x, namespaced(WEB, x)))
        y = attacker.join(uuid.uuid4().hex) if attacker_joins else None
        attacker.say("hello, this is B", session_id=x)
        if y:  # B's own session still answers: the refusal is not a slow answer
            attacker.say(PHYSIO, session_id=y, expect=NOT_CANCELLED)
        # an answer to B's message would have reached A's socket by now (B's own answer is in)
        assert not wait_for(lambda: victim.answers[heard:], 3), f"A's socket heard B's answer: {victim.answers[heard:]}"
        still_no_rows(stack, (x, namespaced(WEB, x)), before, seconds=1)
        assert all(NO_REFERRAL not in a.get("text", "") for a in attacker.answers)
        assert user_texts(event_rows(stack, namespaced(WEB, x))) == [REFERRAL]
        # the victim's conversation carries on
        victim.say(PHYSIO, session_id=x, expect=NOT_CANCELLED)
    finally:
        victim.close()
        attacker.close()


@pytest.mark.e2e
@pytest.mark.parametrize("requested", ["short", "messenger:1234567890123456", str(uuid.uuid4()), "A" * 32, None])
def test_a_bad_session_id_gets_a_fresh_one_that_works(stack, requested):
    client = Client(stack.rasa_url, stack.allowed_origins()[0])
    try:
        fresh = client.join(requested)
        assert fresh != requested and WEB_SESSION_ID.fullmatch(fresh), fresh
        client.say(REFERRAL, session_id=fresh, expect=NO_REFERRAL)
        assert user_texts(event_rows(stack, namespaced(WEB, fresh))) == [REFERRAL]
    finally:
        client.close()


@pytest.mark.e2e
def test_tabs_share_a_session(stack):
    """The widget shares its session across tabs: both sockets join it, either can write, both hear the answers."""
    origin = stack.allowed_origins()[0]
    session_id = uuid.uuid4().hex
    tab1, tab2 = Client(stack.rasa_url, origin), Client(stack.rasa_url, origin, "polling")
    try:
        assert tab1.join(session_id) == tab2.join(session_id) == session_id
        tab1.say(REFERRAL, session_id, expect=NO_REFERRAL)
        assert wait_for(lambda: any(NO_REFERRAL in a.get("text", "") for a in tab2.answers), 10), tab2.answers
        tab2.say(PHYSIO, session_id, expect=NOT_CANCELLED)
        assert wait_for(lambda: any(NOT_CANCELLED in a.get("text", "") for a in tab1.answers), 10), tab1.answers
        tab1.close()  # a closed tab does not end the session for the other
        tab2.say(REFERRAL, session_id, expect=NO_REFERRAL)
        assert user_texts(event_rows(stack, namespaced(WEB, session_id))) == [REFERRAL, PHYSIO, REFERRAL]
    finally:
        tab1.close()
        tab2.close()


@pytest.mark.e2e
def test_malformed_messages_are_refused_without_a_traceback(stack):
    log = stack.log_dir / "rasa.log"  # appended to by every test session (see tests/e2e/test_zz_log_privacy.py)
    start = log.stat().st_size
    client = Client(stack.rasa_url, origin=None)
    try:
        session_id = client.join(uuid.uuid4().hex)
        for data in (
            {"message": 42, "session_id": session_id},
            {"session_id": session_id},
            {"message": "hi", "session_id": session_id, "metadata": [1]},
            "just a string",
        ):
            client.sio.emit("user_uttered", data)
        client.sio.emit("user_uttered")
        client.say(REFERRAL, session_id, expect=NO_REFERRAL)
        assert user_texts(event_rows(stack, namespaced(WEB, session_id))) == [REFERRAL]
    finally:
        client.close()
    wait_for(lambda: b"socket.io message refused" in log.read_bytes()[start:], 5)
    with open(log, "rb") as handle:
        handle.seek(start if log.stat().st_size >= start else 0)
        written = handle.read().decode(errors="replace")
    # the log is shared with other test sessions: only tracebacks through a socketio channel count
    traceback = re.search(r"Traceback[\s\S]{0,4000}?(/channels/socketio\.py|socketio_channel\.py)", written)
    assert not traceback, traceback and traceback.group(0)
    assert "socket.io message refused" in written, written[-3000:]


def test_deeply_nested_metadata_is_refused_not_raised():
    """json.loads raises RecursionError (not ValueError) on deep nesting: still a clean refusal."""
    assert channel.message_metadata({"metadata": "[" * 200_000}, "metadata") is None
    assert channel.message_metadata({"metadata": '{"page": "/"}'}, "metadata") == {"page": "/"}
