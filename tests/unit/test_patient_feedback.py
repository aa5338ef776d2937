"""Patients' ratings as the channels receive them (bot/channels/feedback.py): the widget's event, Meta's reactions and
"Good response" / "Bad response", the check that a rated message is the patient's own, the Messenger/Instagram
replies' ids (bot/storage/sent_messages.py), retention and "forget me"."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

import pytest
import sqlalchemy as sa

from bot.channels.events import IncomingMessage, parse_webhook
from bot.channels.feedback import (
    REMOVE,
    STORED,
    UNKNOWN,
    PatientMessages,
    RateLimit,
    apply_rating,
    reaction_rating,
    response_feedback_rating,
    widget_rating,
)
from bot.channels.instagram import InstagramInput
from bot.channels.messenger import MessengerInput, MessengerOutput
from bot.channels.recent_ids import SeenMessages
from bot.channels.settings import ChannelSettings
from bot.privacy.retention import apply_retention
from bot.staff.forget import forget_in_console
from bot.storage.booking_requests import shared_store
from bot.storage.feedback import FeedbackStore
from bot.storage.sent_messages import SentMessages

MID = "0123456789abcdef0123456789abcdef"
PAGE = "900000000000001"
PSID = "100000000000001"


# -- the widget's event ------------------------------------------------------------------------------------


def test_a_widget_rating_is_exactly_an_id_and_up_or_down():
    assert widget_rating({"message_id": MID, "rating": "up"}) == (MID, "up")
    assert widget_rating({"message_id": MID, "rating": "down"}) == (MID, "down")
    for bad in (
        None,
        "up",
        [MID, "up"],
        {"message_id": MID},
        {"rating": "up"},
        {"message_id": MID, "rating": "sideways"},
        {"message_id": MID, "rating": "UP"},
        {"message_id": MID, "rating": None},
        {"message_id": MID.upper(), "rating": "up"},
        {"message_id": MID + "0", "rating": "up"},
        {"message_id": "x" * 100_000, "rating": "up"},
        {"message_id": 12345, "rating": "up"},
        {"message_id": MID, "rating": "up", "sender_id": "web:" + "f" * 32},  # no conversation from the payload
        {"message_id": MID, "rating": "up", "padding": "x" * 100_000},
    ):
        assert widget_rating(bad) is None, bad


# -- Meta: reactions and response feedback -----------------------------------------------------------------


@pytest.mark.parametrize(
    "reaction, rating",
    [
        ({"reaction": "like", "emoji": "\U0001f44d", "action": "react", "mid": "m"}, "up"),
        ({"reaction": "love", "emoji": "\u2764\ufe0f", "action": "react", "mid": "m"}, "up"),
        ({"reaction": "other", "emoji": "\U0001f44d\U0001f3fd", "action": "react", "mid": "m"}, "up"),  # skin tone
        ({"emoji": "\u2764", "action": "react", "mid": "m"}, "up"),  # Instagram: the emoji only
        ({"reaction": "dislike", "emoji": "\U0001f44e", "action": "react", "mid": "m"}, "down"),
        ({"reaction": "other", "emoji": "\U0001f44e\U0001f3ff", "action": "react", "mid": "m"}, "down"),
        ({"action": "unreact", "mid": "m"}, REMOVE),
        ({"reaction": "like", "action": "unreact", "mid": "m"}, REMOVE),
        ({"reaction": "wow", "emoji": "\U0001f62e", "action": "react", "mid": "m"}, None),
        ({"reaction": "sad", "emoji": "\U0001f622", "action": "react", "mid": "m"}, None),
        ({"reaction": "smile", "action": "react", "mid": "m"}, None),
        ({"reaction": "like", "action": "explode", "mid": "m"}, None),
    ],
)
def test_reactions_map_to_ratings(reaction, rating):
    assert reaction_rating(reaction) == rating


def test_response_feedback_maps_to_ratings():
    assert response_feedback_rating("Good response") == "up"
    assert response_feedback_rating("Bad response") == "down"
    for other in ("good response", "Meh", None, 1, ["Good response"]):
        assert response_feedback_rating(other) is None


def event(sender: str = PSID, page: str = PAGE, **fields: Any) -> Dict[str, Any]:
    return {"sender": {"id": sender}, "recipient": {"id": page}, "timestamp": 1, **fields}


def payload(*events: Any, obj: str = "page") -> Dict[str, Any]:
    return {"object": obj, "entry": [{"id": PAGE, "time": 1, "messaging": list(events)}]}


def test_messenger_response_feedback_and_reactions_become_ratings_not_messages():
    parsed = parse_webhook(
        payload(
            event(response_feedback={"feedback": "Bad response", "mid": "m_1"}),
            event(response_feedback={"feedback": "Good response", "mid": "m_2"}),
            event(reaction={"reaction": "like", "emoji": "\U0001f44d", "action": "react", "mid": "m_3"}),
            event(reaction={"reaction": "dislike", "emoji": "\U0001f44e", "action": "react", "mid": "m_4"}),
            event(reaction={"action": "unreact", "mid": "m_5"}),
        )
    )
    assert parsed.messages == []
    assert [(r.sender_id, r.mid, r.rating, r.account_id) for r in parsed.ratings] == [
        (PSID, "m_1", "down", PAGE),
        (PSID, "m_2", "up", PAGE),
        (PSID, "m_3", "up", PAGE),
        (PSID, "m_4", "down", PAGE),
        (PSID, "m_5", REMOVE, PAGE),
    ]


def test_instagram_reactions_become_ratings():
    parsed = parse_webhook(
        payload(
            event(reaction={"mid": "ig_1", "action": "react", "reaction": "love", "emoji": "\u2764\ufe0f"}),
            event(reaction={"mid": "ig_1", "action": "unreact"}),
            obj="instagram",
        )
    )
    assert [(r.mid, r.rating) for r in parsed.ratings] == [("ig_1", "up"), ("ig_1", REMOVE)]


def test_ratings_that_say_nothing_or_are_malformed_are_ignored():
    parsed = parse_webhook(
        payload(
            event(reaction={"reaction": "wow", "emoji": "\U0001f62e", "action": "react", "mid": "m_1"}),
            event(reaction={"reaction": "like", "action": "react"}),  # no mid
            event(reaction={"reaction": "like", "action": "react", "mid": ["m"]}),
            event(response_feedback={"feedback": "Meh", "mid": "m_2"}),
            event(response_feedback={"feedback": "Good response"}),
            event(sender=PAGE, reaction={"reaction": "like", "action": "react", "mid": "m_3"}),  # the page itself
            event(sender="", reaction={"reaction": "like", "action": "react", "mid": "m_4"}),
            event(reaction="like"),
        )
    )
    assert parsed.ratings == [] and parsed.messages == []
    assert parsed.ignored["reaction"] == 6 and parsed.ignored["response_feedback"] == 2


# -- rate limit --------------------------------------------------------------------------------------------


def test_rate_limit_per_key_and_window():
    now = [0.0]
    limit = RateLimit(3, 60.0, clock=lambda: now[0])
    assert [limit.allow("a") for _ in range(5)] == [True, True, True, False, False]
    assert limit.allow("b")
    now[0] = 60.0
    assert limit.allow("a")
    limit.forget("a")
    assert [limit.allow("a") for _ in range(3)] == [True, True, True]


# -- the patient's own messages (tracker store) ------------------------------------------------------------


def tracker(tmp_path, events: List[Dict[str, Any]]) -> str:
    """A SQLite tracker store with Rasa's `events` table holding these (sender_id, type_name, data) events."""
    url = f"sqlite:///{tmp_path / 'conversations.sqlite'}"
    engine = sa.create_engine(url)
    table = sa.Table(
        "events",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(255), index=True),
        sa.Column("type_name", sa.String(255)),
        sa.Column("timestamp", sa.Float),
        sa.Column("intent_name", sa.String(255)),
        sa.Column("action_name", sa.String(255)),
        sa.Column("data", sa.Text),
    )
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        for e in events:
            row = {"sender_id": e["sender_id"], "type_name": e["type"], "data": json.dumps(e["data"])}
            conn.execute(table.insert().values(**row))
    engine.dispose()
    return url


def user(sender_id: str, message_id: Optional[str], text: str = "hi") -> Dict[str, Any]:
    return {"sender_id": sender_id, "type": "user", "data": {"event": "user", "text": text, "message_id": message_id}}


ME, OTHER = f"web:{'a' * 32}", f"web:{'b' * 32}"
MINE, THEIRS = "1" * 32, "2" * 32


@pytest.fixture
def conversations(tmp_path) -> PatientMessages:
    url = tracker(
        tmp_path,
        [
            user(ME, MINE),
            {"sender_id": ME, "type": "bot", "data": {"event": "bot", "text": f"about {THEIRS}"}},
            user(OTHER, THEIRS),
            user(ME, None, text=f"I saw {THEIRS} somewhere"),  # the id in a message's text is not the message's id
            user("messenger:1", "m_abc%_"),
        ],
    )
    messages = PatientMessages(url)
    yield messages
    messages.close()


def test_only_a_patient_message_of_the_same_conversation_counts(conversations):
    assert conversations.sent(ME, MINE)
    assert not conversations.sent(ME, THEIRS)  # another conversation's message
    assert not conversations.sent(OTHER, MINE)
    assert not conversations.sent(ME, "3" * 32)  # made up
    assert not conversations.sent(ME, "x" * 1000)
    assert conversations.sent("messenger:1", "m_abc%_")  # LIKE's wildcards are escaped
    assert not conversations.sent("messenger:1", "m_abc%")
    assert not conversations.sent("messenger:1", "m%")


def test_no_tracker_yet_means_no_message(tmp_path):
    assert not PatientMessages(f"sqlite:///{tmp_path / 'empty.sqlite'}").sent(ME, MINE)
    assert not PatientMessages(None).sent(ME, MINE)


def test_apply_rating_stores_replaces_and_refuses(conversations, store_url, caplog, monkeypatch):
    monkeypatch.setattr("bot.channels.feedback.LOOKUP_PAUSES", (0.01,))
    store = FeedbackStore(shared_store(store_url).engine)
    with caplog.at_level(logging.DEBUG):
        assert asyncio.run(apply_rating(conversations, ME, MINE, "down", "socketio", store)) == STORED
        assert store.ratings_for(ME) == {MINE: "down"}
        assert asyncio.run(apply_rating(conversations, ME, MINE, "up", "socketio", store)) == STORED
        assert store.ratings_for(ME) == {MINE: "up"}
        assert asyncio.run(apply_rating(conversations, ME, THEIRS, "down", "socketio", store)) == UNKNOWN
        assert asyncio.run(apply_rating(conversations, ME, MINE, REMOVE, "socketio", store)) == "removed"
    assert store.ratings_for(ME) == {} and store.ratings_for(OTHER) == {}
    logged = caplog.text
    for secret in (ME, OTHER, MINE, THEIRS):
        assert secret not in logged


# -- the Messenger / Instagram replies' ids ------------------------------------------------------------------


def test_sent_messages_map_a_reply_to_its_patient_message(store_url):
    sent = SentMessages(shared_store(store_url).engine)
    sent.record("m_reply_1", "messenger:1", "m_patient_1")
    sent.record("m_reply_1", "messenger:1", "m_other")  # recorded once
    assert sent.reply_to("m_reply_1", "messenger:1") == "m_patient_1"
    assert sent.reply_to("m_reply_1", "messenger:2") is None  # another patient cannot rate it
    assert sent.reply_to("m_unknown", "messenger:1") is None
    with pytest.raises(ValueError):
        sent.record("x" * 256, "messenger:1", "m")


def test_retention_and_forget_me_cover_the_replies_ids(store_url, tmp_path):
    engine = shared_store(store_url).engine
    old = datetime(2020, 1, 1, tzinfo=timezone.utc)
    SentMessages(engine, clock=lambda: old).record("m_old", "messenger:1", "m_p0")
    SentMessages(engine).record("m_new", "messenger:1", "m_p1")
    SentMessages(engine).record("m_kept", "messenger:2", "m_p2")
    tracker_url = tracker(tmp_path, [])
    apply_retention(90, tracker_url, store_url)
    sent = SentMessages(engine)
    assert sent.reply_to("m_old", "messenger:1") is None and sent.reply_to("m_new", "messenger:1") == "m_p1"
    forget_in_console(engine, "messenger:1", [], sa.create_engine(tracker_url))
    assert sent.reply_to("m_new", "messenger:1") is None and sent.reply_to("m_kept", "messenger:2") == "m_p2"
    assert sent.delete_older_than(1, now=datetime.now(timezone.utc) + timedelta(days=2)) == 1


class FakeClient:
    """Stands in for GraphClient: answers each send as Meta does, with a message id."""

    def __init__(self) -> None:
        self.bodies: List[Dict[str, Any]] = []

    async def send(self, body: Dict[str, Any], what: str, retry: bool = True) -> Optional[Dict[str, Any]]:
        self.bodies.append(body)
        return {"recipient_id": body["recipient"]["id"], "message_id": f"m_sent_{len(self.bodies)}"}


def test_replies_to_a_patient_message_are_recorded_and_others_are_not(store_url):
    sent = SentMessages(shared_store(store_url).engine)
    answer = MessengerOutput(FakeClient())
    answer.reply_to, answer.record_reply = "m_patient", sent.record

    async def reply() -> None:
        await answer.send_text_message("messenger:1", "one\n\ntwo")
        await answer.settle(5)  # as MetaInput.handle does at the end of a turn

    asyncio.run(reply())
    assert [sent.reply_to(f"m_sent_{n}", "messenger:1") for n in (1, 2)] == ["m_patient", "m_patient"]
    staff = MessengerOutput(FakeClient(), message_tag="HUMAN_AGENT")  # a staff member's message: no reply_to
    staff.record_reply = sent.record
    asyncio.run(staff.send_text_message("messenger:2", "Hello, this is Anna"))
    assert sent.reply_to("m_sent_1", "messenger:2") is None


class TimedClient(FakeClient):
    """FakeClient that also notes when each message (not a sender action) was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.message_times: List[float] = []

    async def send(self, body: Dict[str, Any], what: str, retry: bool = True) -> Optional[Dict[str, Any]]:
        if "message" in body:
            self.message_times.append(time.monotonic())
        return await super().send(body, what, retry)


@pytest.mark.parametrize("trouble", ["slow", "failing"])
def test_a_slow_or_failing_database_neither_delays_nor_loses_the_patients_replies(
    store_url, tmp_path, monkeypatch, caplog, trouble
):
    """Recording a reply's id (for ratings) happens beside the conversation: a busy SQLite file or an unreachable
    PostgreSQL server does not hold the patient's replies back, and the turn waits for it at most
    REPLY_RECORD_WAIT; a slow write still lands, a failed one is logged by its type only."""
    monkeypatch.setattr("bot.channels.meta.REPLY_RECORD_WAIT", 0.3)
    channel = meta_channel(MessengerInput, store_url, tracker(tmp_path, []))
    channel.client = client = TimedClient()
    writes = threading.Semaphore(0)

    def record(sent_mid: str, conversation: str, reply_to: str) -> None:  # 2 s per write, or an error quoting ids
        time.sleep(2.0)
        if trouble == "failing":
            raise sa.exc.OperationalError(f"INSERT {sent_mid} {reply_to}", {}, Exception("database is locked"))
        channel.sent_messages.record(sent_mid, conversation, reply_to)
        writes.release()

    channel.record_reply = record  # type: ignore[method-assign]

    async def answer(message: Any) -> None:
        for part in ("one", "two", "three"):
            await message.output_channel.send_text_message(message.sender_id, part)

    incoming = IncomingMessage(PSID, "hi", "text", "m_patient_1", "m_patient_1", PAGE)

    async def turn() -> float:
        start = time.monotonic()
        await channel.handle(incoming, answer)
        return start

    with caplog.at_level(logging.DEBUG):
        started = time.monotonic()
        start = asyncio.run(turn())  # asyncio.run returns once the worker threads are done too
        ended = time.monotonic()
    assert len(client.message_times) == 3, "every reply went out"
    assert client.message_times[-1] - start < 1.0, "the replies did not wait for the database (2 s a write)"
    assert ended - started >= 2.0  # the writes carried on after the turn
    conversation = f"messenger:{PSID}"
    recorded = [channel.sent_messages.reply_to(f"m_sent_{n}", conversation) for n in (3, 4, 5)]  # after 2 actions
    if trouble == "slow":
        assert all(writes.acquire(timeout=5) for _ in range(3))
        assert recorded == ["m_patient_1"] * 3, "a slow write still lands: the replies can be rated"
        assert "3 replies' ids still being recorded" in caplog.text
    else:
        assert recorded == [None] * 3
        assert caplog.text.count("a reply's id was not recorded (OperationalError)") == 3
    for secret in (PSID, "m_patient_1", "m_sent_"):
        assert secret not in caplog.text


def test_the_turn_waits_for_a_quick_record_so_a_rating_right_after_it_finds_the_reply(store_url, tmp_path):
    conversation = f"messenger:{PSID}"
    channel = meta_channel(MessengerInput, store_url, tracker(tmp_path, [user(conversation, "m_patient_2")]))
    channel.client = FakeClient()

    def record(sent_mid: str, conversation: str, reply_to: str) -> None:
        time.sleep(0.2)  # a database that takes a moment, well within REPLY_RECORD_WAIT
        channel.sent_messages.record(sent_mid, conversation, reply_to)

    channel.record_reply = record  # type: ignore[method-assign]

    async def answer(message: Any) -> None:
        await message.output_channel.send_text_message(message.sender_id, "an answer")

    # the reply is the third send (after mark_seen and typing_on): the fake Graph API names it m_sent_3
    reaction = {"reaction": "dislike", "action": "react", "mid": "m_sent_3"}
    [rating] = parse_webhook(payload(event(reaction=reaction))).ratings

    async def turn_then_rating() -> Optional[str]:
        incoming = IncomingMessage(PSID, "hi", "text", "m_patient_2", "m_patient_2", PAGE)
        handled = asyncio.ensure_future(channel.handle(incoming, answer))
        await asyncio.sleep(0)  # the rating arrives while the turn is under way: it waits for the turn's lock
        outcome = await channel.rate(rating)
        await handled
        return outcome

    assert asyncio.run(turn_then_rating()) == STORED
    assert FeedbackStore(shared_store(store_url).engine).ratings_for(conversation) == {"m_patient_2": "down"}


def test_a_rating_waits_for_a_turn_another_rasa_process_has_not_saved_yet(store_url, tmp_path, monkeypatch):
    """Webhooks are shared out among the Rasa processes: a reaction can reach this process while the process that
    answered is still saving the turn. The rating is stored once the patient message is in the tracker."""
    monkeypatch.setattr("bot.channels.feedback.LOOKUP_PAUSES", (0.1, 0.2, 0.4, 0.8))
    conversation = f"messenger:{PSID}"
    channel = meta_channel(MessengerInput, store_url, tracker(tmp_path, []))
    channel.sent_messages.record("m_reply", conversation, "m_patient")  # the other process sent the reply
    reaction = {"reaction": "like", "action": "react", "mid": "m_reply"}
    [rating] = parse_webhook(payload(event(reaction=reaction))).ratings
    saved = threading.Timer(0.3, tracker, (tmp_path, [user(conversation, "m_patient")]))  # ... and saves its turn
    saved.start()
    try:
        assert asyncio.run(channel.rate(rating)) == STORED
    finally:
        saved.join()
    assert FeedbackStore(shared_store(store_url).engine).ratings_for(conversation) == {"m_patient": "up"}


def meta_channel(cls, store_url: str, tracker_url: str):
    settings = ChannelSettings.load(cls.platform, None, {"META_APP_SECRET": "s", "META_VERIFY_TOKEN": "v"})
    channel = cls(settings, seen=SeenMessages(None), sent=SentMessages(shared_store(store_url).engine))
    channel.patient_messages = PatientMessages(tracker_url)
    return channel


@pytest.mark.parametrize("cls, prefix", [(MessengerInput, "messenger"), (InstagramInput, "instagram")])
def test_a_rating_of_a_reply_rates_the_patient_message_it_answered(store_url, tmp_path, cls, prefix, monkeypatch):
    monkeypatch.setattr("bot.channels.feedback.LOOKUP_PAUSES", (0.01,))
    conversation = f"{prefix}:{PSID}"
    tracker_url = tracker(tmp_path, [user(conversation, "m_patient")])
    channel = meta_channel(cls, store_url, tracker_url)
    channel.sent_messages.record("m_reply", conversation, "m_patient")
    channel.sent_messages.record("m_reply_to_nothing", conversation, "m_not_stored")  # e.g. a too long message
    feedback = FeedbackStore(shared_store(store_url).engine)
    ratings = parse_webhook(
        payload(
            event(reaction={"reaction": "dislike", "action": "react", "mid": "m_reply"}),
            event(sender="100000000000002", reaction={"reaction": "like", "action": "react", "mid": "m_reply"}),
            event(reaction={"reaction": "like", "action": "react", "mid": "m_staff_message"}),
            event(reaction={"reaction": "like", "action": "react", "mid": "m_reply_to_nothing"}),
        )
    ).ratings

    async def rate_all() -> List[Optional[str]]:
        return [await channel.rate(rating) for rating in ratings]

    assert asyncio.run(rate_all()) == [STORED, None, None, UNKNOWN]
    assert feedback.ratings_for(conversation) == {"m_patient": "down"}
    assert feedback.ratings_for(f"{prefix}:100000000000002") == {}
    unreact = parse_webhook(payload(event(reaction={"action": "unreact", "mid": "m_reply"}))).ratings[0]
    assert asyncio.run(channel.rate(unreact)) == "removed"
    assert feedback.ratings_for(conversation) == {}


# -- the socket.io channel's `feedback` event (handlers called directly, as in tests/e2e/test_socketio_channel.py) --

SESSION, OTHER_SESSION = "a" * 32, "b" * 32


@pytest.fixture
def socket_handlers(monkeypatch, tmp_path, store_url):
    """The channel's handlers on a recording Socket.IO server, its tracker with one patient message in each of two
    sessions, and a count of the tracker lookups."""
    from bot.channels import socketio as channel
    from tests.e2e.test_socketio_channel import RecordingServer

    server = RecordingServer()
    monkeypatch.setattr("rasa.core.channels.socketio.AsyncServer", lambda *args, **kwargs: server)
    monkeypatch.setattr("bot.channels.feedback.LOOKUP_PAUSES", (0.01,))
    input_channel = channel.SocketIOInput.from_credentials({"session_persistence": True, "metadata_key": "metadata"})
    input_channel._seen = SeenMessages(None)
    received: List[Any] = []

    async def on_new_message(message: Any) -> None:
        received.append(message)

    input_channel.blueprint(on_new_message)
    url = tracker(tmp_path, [user(f"web:{SESSION}", MINE), user(f"web:{OTHER_SESSION}", THEIRS)])
    lookups: List[str] = []
    messages = PatientMessages(url)
    original = messages.sent
    messages.sent = lambda sender, message_id: lookups.append(message_id) or original(sender, message_id)  # type: ignore
    input_channel._patient_messages = messages
    events = server.handlers["/"]

    def call(event: str, *args: Any) -> Any:
        return asyncio.run(events[event](*args))

    call("session_request", "sid-me", {"session_id": SESSION})
    call("session_request", "sid-other", {"session_id": OTHER_SESSION})
    return call, FeedbackStore(shared_store(store_url).engine), lookups, received


def test_a_socket_rates_its_own_sessions_message(socket_handlers):
    call, store, _, _ = socket_handlers
    assert call("feedback", "sid-me", {"message_id": MINE, "rating": "down"}) == {"ok": True}
    assert store.ratings_for(f"web:{SESSION}") == {MINE: "down"}
    assert call("feedback", "sid-me", {"message_id": MINE, "rating": "up"}) == {"ok": True}  # changed: replaced
    assert store.ratings_for(f"web:{SESSION}") == {MINE: "up"}


def test_attack_rating_another_sessions_message_or_a_made_up_one_is_refused(socket_handlers, caplog):
    call, store, _, _ = socket_handlers
    with caplog.at_level(logging.DEBUG):
        assert call("feedback", "sid-me", {"message_id": THEIRS, "rating": "down"}) == {
            "ok": False,
            "reason": "unknown_message",
        }
        assert call("feedback", "sid-me", {"message_id": "c" * 32, "rating": "down"})["reason"] == "unknown_message"
        assert call("feedback", "sid-nobody", {"message_id": MINE, "rating": "down"})["reason"] == "not_joined"
    assert store.ratings_for(f"web:{SESSION}") == {} and store.ratings_for(f"web:{OTHER_SESSION}") == {}
    for secret in (SESSION, OTHER_SESSION, MINE, THEIRS, "c" * 32, "sid-me"):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    "data",
    [
        None,
        "down",
        [MINE, "down"],
        {"message_id": MINE},
        {"message_id": MINE, "rating": "sideways"},
        {"message_id": "x" * 1_000_000, "rating": "down"},
        {"message_id": MINE, "rating": "down", "session_id": OTHER_SESSION},
        {"message_id": MINE, "rating": "down", "padding": ["x"] * 100_000},
    ],
)
def test_attack_malformed_or_huge_payloads_are_refused_before_any_lookup(socket_handlers, data):
    call, store, lookups, _ = socket_handlers
    assert call("feedback", "sid-me", data) == {"ok": False, "reason": "malformed"}
    assert lookups == [] and store.ratings_for(f"web:{SESSION}") == {}


def test_attack_a_flood_is_cut_off_before_the_database(socket_handlers):
    call, store, lookups, _ = socket_handlers
    answers = [call("feedback", "sid-me", {"message_id": MINE, "rating": "down"}) for _ in range(100)]
    assert answers.count({"ok": True}) == 30
    assert answers[30:] == [{"ok": False, "reason": "too_many"}] * 70
    assert len(lookups) == 30
    assert call("feedback", "sid-other", {"message_id": THEIRS, "rating": "up"}) == {"ok": True}  # others unaffected


def test_the_widgets_message_id_reaches_rasa_and_every_reply_carries_it(socket_handlers):
    call, _, _, received = socket_handlers
    call("user_uttered", "sid-me", {"message": "hi", "session_id": SESSION, "metadata": {"message_id": MINE}})
    call("user_uttered", "sid-me", {"message": "hi", "session_id": SESSION, "metadata": {"message_id": "bad"}})
    first, second = received
    assert first.message_id == MINE and first.output_channel.reply_to == MINE
    assert second.message_id != "bad" and second.output_channel.reply_to is None  # Rasa's own id; nothing to rate
