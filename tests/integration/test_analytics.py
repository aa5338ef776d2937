"""The analytics against a known synthetic data set (bot/analytics/synthetic.py): the stored aggregates, the report's
numbers per day, week and channel, the ACC funnel, topics and thumbs equal what the generator wrote; updating in
steps equals one pass; the review list's filters over the console (TestClient) return exactly the expected
conversations; retention and "forget me"."""

from __future__ import annotations

import random
import re
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Dict, Iterator, List, Tuple
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from bot.analytics import reports, synthetic
from bot.analytics import store as analytics_store
from bot.analytics.aggregates import Aggregator
from bot.analytics.reports import DAY, WEEK, report
from bot.analytics.store import forget_sender, read_state, sessions_table, topics_table
from bot.privacy.retention import apply_retention, delete_sender_events
from bot.staff.forget import forget_in_console
from bot.storage.booking_requests import BookingRequestStore
from bot.storage.feedback import FeedbackStore
from bot.storage.feedback import metadata as feedback_metadata
from bot.storage.transcripts import TranscriptReader, events_table
from bot.web.app import create_app
from bot.web.assets import build_bundle
from bot.web.settings import WebSettings
from tests.conftest import free_port
from tests.support.services import local_postgres

NZ = ZoneInfo("Pacific/Auckland")
END = datetime(2026, 3, 20, 12, 0, tzinfo=NZ).timestamp()  # fixed: the same NZ days on every run
DAYS, CONVERSATIONS, SEED = 20, 400, 7
FIRST, LAST = date(2026, 2, 27), date(2026, 3, 21)  # covers every session start and rating
COMPARED = (
    "patient_messages",
    "assistant_messages",
    "fallbacks",
    "red_flags",
    "handoff_asks",
    "requests_booking",
    "requests_handoff",
    "requests_change",
    "requests_chat",
    "acc_started",
    "acc_completed",
    "acc_eligible",
    "acc_not_eligible",
    "booking_links",
    "bookings",
)
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, synthetic.Expected]:
    """The synthetic conversations and ratings, written once (tests copy them)."""
    folder = tmp_path_factory.mktemp("analytics")
    expected = synthetic.generate(
        f"sqlite:///{folder / 'conversations.sqlite'}",
        CONVERSATIONS,
        DAYS,
        SEED,
        requests_url=f"sqlite:///{folder / 'requests.sqlite'}",
        end=END,
    )
    return folder, expected


@pytest.fixture()
def dbs(data, tmp_path: Path) -> Tuple[str, str, synthetic.Expected]:
    """A fresh copy of the data set: (tracker URL, requests URL, expected)."""
    folder, expected = data
    for name in ("conversations.sqlite", "requests.sqlite"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    return f"sqlite:///{tmp_path / 'conversations.sqlite'}", f"sqlite:///{tmp_path / 'requests.sqlite'}", expected


def engines(tracker_url: str, requests_url: str) -> Tuple[sa.engine.Engine, sa.engine.Engine]:
    return sa.create_engine(requests_url, future=True), TranscriptReader(tracker_url).engine


def aggregated(tracker_url: str, requests_url: str, **options) -> sa.engine.Engine:
    requests, tracker = engines(tracker_url, requests_url)
    result = Aggregator(requests, tracker, **options).update()
    assert result.caught_up and result.rows > 0
    return requests


def expected_by(expected: synthetic.Expected, key) -> Dict[object, Counter]:
    out: Dict[object, Counter] = defaultdict(Counter)
    for session in expected.sessions:
        out[key(session)].update({name: session.counts[name] for name in COMPARED})
        out[key(session)]["conversations"] += 1
    return out


def week_of(day: str) -> str:
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def actual_by(result: reports.Report, channels=None) -> Dict[Tuple[str, str], Counter]:
    out: Dict[Tuple[str, str], Counter] = defaultdict(Counter)
    for metric in ("conversations", *COMPARED):
        for channel, values in result.by_channel[metric].items():
            if channels and channel not in channels:
                continue
            for bucket, value in zip(result.buckets, values):
                if value:
                    out[(bucket.key, channel)][metric] += value
    return out


def test_the_generator_writes_what_it_says(dbs):
    tracker_url, _, expected = dbs
    with sqlite3.connect(tracker_url.removeprefix("sqlite:///")) as conn:
        assert conn.execute("select count(*) from events").fetchone()[0] == expected.events
        started = conn.execute("select count(*) from events where type_name = 'session_started'").fetchone()[0]
        users = conn.execute("select count(*) from events where type_name = 'user'").fetchone()[0]
    assert started == len(expected.sessions) == CONVERSATIONS
    assert users == sum(s.counts["patient_messages"] for s in expected.sessions)
    totals = expected.totals()
    for marker in ("fallbacks", "red_flags", "acc_started", "acc_eligible", "acc_not_eligible", "booking_links",
                   "bookings", "requests_booking", "requests_change", "requests_chat", "thumbs_up", "thumbs_down"):
        assert totals[marker] > 0, marker  # every kind of event is in the set
    assert len({s.sender_id for s in expected.sessions}) < len(expected.sessions)  # some senders came back


def test_per_day_and_channel_the_report_equals_the_generator(dbs):
    tracker_url, requests_url, expected = dbs
    engine = aggregated(tracker_url, requests_url)
    result = report(engine, FIRST, LAST, DAY)
    assert actual_by(result) == expected_by(expected, lambda s: (s.day, s.channel))
    assert result.totals["conversations"] == CONVERSATIONS
    fallbacks = sum(s.counts["fallbacks"] for s in expected.sessions)
    messages = sum(s.counts["patient_messages"] for s in expected.sessions)
    assert result.fallback_rate == pytest.approx(fallbacks / messages)


def test_per_week_and_for_one_channel(dbs):
    tracker_url, requests_url, expected = dbs
    engine = aggregated(tracker_url, requests_url)
    weekly = report(engine, FIRST, LAST, WEEK)
    assert actual_by(weekly) == expected_by(expected, lambda s: (week_of(s.day), s.channel))
    assert [b.key for b in weekly.buckets] == sorted({week_of((FIRST + timedelta(d)).isoformat()) for d in range(23)})
    messenger = report(engine, FIRST, LAST, WEEK, channel="messenger")
    only_messenger = {k: v for k, v in expected_by(expected, lambda s: (week_of(s.day), s.channel)).items()
                      if k[1] == "messenger"}
    assert actual_by(messenger) == only_messenger
    assert set(messenger.by_channel["conversations"]) == {"messenger"}


def test_the_acc_funnel_topics_and_thumbs(dbs):
    tracker_url, requests_url, expected = dbs
    engine = aggregated(tracker_url, requests_url)
    result = report(engine, FIRST, LAST, DAY)
    totals = expected.totals()
    steps = ("acc_started", "acc_completed", "acc_eligible", "acc_not_eligible")
    funnel = {name: result.totals[name] for name in steps}
    assert funnel == {name: totals[name] for name in funnel}
    assert funnel["acc_started"] > funnel["acc_completed"] > funnel["acc_eligible"] > 0
    asked = Counter(topic for s in expected.sessions for topic in s.topics)
    top = asked.most_common()
    assert [(intent, n) for intent, _, n in result.topics] == sorted(top, key=lambda x: (-x[1], x[0]))[:10]
    # ratings by the NZ day they were given, per channel
    thumbs: Dict[Tuple[str, str], int] = Counter()
    for session in expected.sessions:
        for at, rating in session.thumbs:
            thumbs[(datetime.fromtimestamp(at, tz=NZ).date().isoformat(), rating)] += 1
    got = Counter()
    for rating, values in result.thumbs.items():
        for bucket, value in zip(result.buckets, values):
            if value:
                got[(bucket.key, rating)] += value
    assert got == thumbs
    web = report(engine, FIRST, LAST, DAY, channel="web")
    assert sum(web.thumbs["down"]) == sum(
        1 for s in expected.sessions if s.channel == "web" for _, r in s.thumbs if r == "down"
    )


def table_rows(engine: sa.engine.Engine) -> Tuple[List[tuple], List[tuple]]:
    s = sessions_table
    with engine.connect() as conn:
        columns = [c for c in s.c if c.name != "id"]
        sessions = [tuple(r) for r in conn.execute(sa.select(*columns).order_by(s.c.start_event_id))]
        topics = [tuple(r) for r in conn.execute(sa.select(topics_table).order_by(*topics_table.c))]
    return sessions, topics


def test_updating_in_steps_with_events_arriving_between_equals_one_pass(dbs, tmp_path):
    tracker_url, requests_url, _ = dbs
    once = table_rows(aggregated(tracker_url, requests_url))
    # a second tracker store that receives the same events in two halves, cut in the middle of sessions
    source = sqlite3.connect(tracker_url.removeprefix("sqlite:///"))
    rows = source.execute("select * from events order by id").fetchall()
    schema = [sql for (sql,) in source.execute("select sql from sqlite_master where sql is not null")]
    half_path = tmp_path / "arriving.sqlite"
    target = sqlite3.connect(half_path)
    for sql in schema:
        target.execute(sql)
    middle = len(rows) // 2
    target.executemany("insert into events values (?,?,?,?,?,?,?)", rows[:middle])
    target.commit()
    requests, tracker = engines(f"sqlite:///{half_path}", f"sqlite:///{tmp_path / 'steps.sqlite'}")
    aggregator = Aggregator(requests, tracker, batch_rows=97)  # many batches, sessions cut between them
    assert aggregator.update(max_rows=500).caught_up is False  # bounded: stops with more to read
    while not aggregator.update(max_rows=500).caught_up:
        pass
    target.executemany("insert into events values (?,?,?,?,?,?,?)", rows[middle:])
    target.commit()
    assert aggregator.update().caught_up
    assert aggregator.update().rows == 0  # nothing new: nothing counted twice
    assert table_rows(requests) == once


# ---------- the review list over the console


@pytest.fixture()
def console(dbs, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tuple[TestClient, synthetic.Expected, object]]:
    tracker_url, requests_url, expected = dbs
    monkeypatch.setenv("RASA_TRACKER_DB_URL", tracker_url)
    store = BookingRequestStore(requests_url)

    def client_with(threshold: float) -> TestClient:
        settings = WebSettings(rasa_url="http://127.0.0.1:9", review_low_confidence=threshold)
        app = create_app(settings, bundle=BUNDLE, store_factory=lambda: store)
        staff = app.state.web.staff()
        if not staff.accounts.list():
            staff.accounts.create("aroha", "Aroha", PASSWORD)
        return TestClient(app)

    yield client_with, expected, store


BUNDLE = build_bundle()


def log_in(client: TestClient) -> TestClient:
    token = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/staff/login").text).group(1)
    answer = client.post(
        "/staff/login",
        data={"username": "aroha", "password": PASSWORD, "login_csrf": token, "next": "/staff/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return client


def listed(client: TestClient, query: str) -> Tuple[int, Counter]:
    """(the count the page states, the references of every listed row over all pages)."""
    refs: Counter = Counter()
    page, stated = 1, None
    while True:
        answer = client.get(f"/staff/review?{query}&page={page}")
        assert answer.status_code == 200
        stated = int(re.search(r'class="summary">([\d,]+) conversation', answer.text).group(1).replace(",", ""))
        found = re.findall(r'href="/staff/review/([^"#]+)#s\d+"', answer.text)
        refs.update(found)
        if 'rel="next"' not in answer.text:
            return stated, refs
        page += 1


def expected_refs(store: BookingRequestStore, sessions) -> Counter:
    from bot.staff.conversation_refs import ConversationRefs

    refs = ConversationRefs(store.engine).refs_for(s.sender_id for s in sessions)
    return Counter(refs[s.sender_id] for s in sessions)


def test_the_review_list_needs_a_staff_session(console):
    client_with, _, _ = console
    client = client_with(0.6)
    for path in ("/staff/review", "/staff/review?flag=fallback", "/staff/analytics", "/staff/analytics?period=90"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/staff/login?next=")
        assert "conversation" not in answer.text


@pytest.mark.parametrize("flag", ["fallback", "handoff", "red_flag", "form_abandoned", "thumbs_down", "low_confidence"])
def test_each_flag_filter_lists_exactly_the_expected_conversations(console, flag):
    client_with, expected, store = console
    client = log_in(client_with(0.6))
    if flag == "low_confidence":
        sessions = [s for s in expected.sessions if s.min_confidence is not None and s.min_confidence < 0.6]
    else:
        sessions = [s for s in expected.sessions if flag in s.flags]
    assert sessions, flag
    stated, refs = listed(client, f"flag={flag}")
    assert stated == len(sessions)
    assert refs == expected_refs(store, sessions)


def test_day_and_channel_filters_and_no_patient_text(console):
    client_with, expected, store = console
    client = log_in(client_with(0.6))
    day = Counter(s.day for s in expected.sessions).most_common(1)[0][0]
    sessions = [s for s in expected.sessions if s.day == day and s.channel == "instagram"]
    stated, refs = listed(client, f"day={day}&channel=instagram")
    assert stated == len(sessions) and refs == expected_refs(store, sessions)
    page = client.get("/staff/review?flag=fallback").text
    assert "blorp" not in page and "Aroha Ngata" not in page and "021 123 4567" not in page  # no patient text
    assert "web:" not in page and "messenger:" not in page  # no conversation ids either


def test_the_low_confidence_threshold_setting_changes_the_list(console):
    client_with, expected, _ = console
    low = [s for s in expected.sessions if s.min_confidence is not None and s.min_confidence < 0.4]
    high = [s for s in expected.sessions if s.min_confidence is not None and s.min_confidence < 0.6]
    assert 0 < len(low) < len(high)
    assert listed(log_in(client_with(0.4)), "flag=low_confidence")[0] == len(low)
    assert listed(log_in(client_with(0.6)), "flag=low_confidence")[0] == len(high)


def test_the_analytics_page_shows_the_numbers(console):
    client_with, expected, _ = console
    client = log_in(client_with(0.6))
    answer = client.get(f"/staff/analytics?period=custom&from={FIRST}&to={LAST}&by=week")
    assert answer.status_code == 200
    page = answer.text
    assert f">{CONVERSATIONS:,}</span> <span class=\"headline-label\">Conversations" in page
    assert page.count("<svg") >= 6 and "style=" not in page
    for chart in ("chart-conversations", "chart-topics", "chart-fallbacks", "chart-acc", "chart-thumbs"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in page
    started = expected.totals()["acc_started"]
    assert f"<th scope=\"row\">Started</th><td>{started:,}</td>" in page


def urgent_advice_on_the_contexts_reading(c: synthetic.Conversation, rng: random.Random) -> None:
    """Urgent-care advice the context gave a message the classifier read as something else (no `red_flag`)."""
    c.user("it's getting worse and now my leg is numb", "ongoing_pain", 0.82)
    c.topic("ongoing_pain")
    c.utter("utter_red_flag")
    c.listen()


def test_a_conversation_flagged_red_flag_in_the_list_has_the_mark_on_its_page(console, dbs):
    client_with, _, store = console
    tracker_url = dbs[0]
    sender = "web:" + "c" * 32
    add_conversation(tracker_url, sender, urgent_advice_on_the_contexts_reading, END + 3600)
    client = log_in(client_with(0.6))
    ref = expected_refs(store, [synthetic.SessionExpect(sender, "web", END)])
    _, refs = listed(client, "flag=red_flag")
    assert set(ref) <= set(refs)
    page = client.get(f"/staff/review/{next(iter(ref))}").text
    row = page[page.index("leg is numb") - 600 : page.index("leg is numb") + 200]
    assert '<span class="mark red_flag">Red flag</span>' in row


def test_a_conversation_deleted_without_its_rows_leaves_the_list_and_its_total(console, dbs):
    """Its events deleted, its analytics rows not (a "forget me" the action server could not finish): the list
    finishes the forgetting, so each page is full and the total counts only conversations that are there."""
    client_with, expected, store = console
    tracker_url, requests_url = dbs[0], dbs[1]
    client = log_in(client_with(0.6))
    newest = max(expected.sessions, key=lambda s: s.started_at).sender_id
    gone = [s for s in expected.sessions if s.sender_id == newest]
    assert listed(client, "")[0] == CONVERSATIONS
    delete_sender_events(tracker_url, newest)
    page = client.get("/staff/review").text
    stated = int(re.search(r'class="summary">([\d,]+) conversation', page).group(1).replace(",", ""))
    assert stated == CONVERSATIONS - len(gone)
    assert len(re.findall(r'href="/staff/review/[^"#]+#s\d+"', page)) == 50
    assert sender_rows(sa.create_engine(requests_url), newest) == []


def test_the_background_update_starts_once_the_database_can_be_reached(dbs, monkeypatch, caplog):
    """The requests' database is down when the web service starts: the analytics task tries again, and counts
    once it is up (before, it gave up for the life of the process)."""
    tracker_url, requests_url, _ = dbs
    monkeypatch.setenv("RASA_TRACKER_DB_URL", tracker_url)
    attempts: List[int] = []

    def store_factory() -> BookingRequestStore:
        attempts.append(1)
        if len(attempts) < 3:
            raise sa.exc.OperationalError("connect", {}, Exception("could not connect to db-secret-host"))
        return BookingRequestStore(requests_url)

    settings = WebSettings(rasa_url="http://127.0.0.1:9", analytics_interval=0.1)
    app = create_app(settings, bundle=BUNDLE, store_factory=store_factory)
    requests = sa.create_engine(requests_url, future=True)
    counted = 0
    with caplog.at_level("ERROR", logger="bot.web.app"), TestClient(app):
        deadline = time.monotonic() + 30
        while counted < CONVERSATIONS and time.monotonic() < deadline:
            time.sleep(0.2)
            if sa.inspect(requests).has_table("conversation_sessions"):
                with requests.connect() as conn:
                    counted = conn.execute(sa.select(sa.func.count()).select_from(sessions_table)).scalar()
    assert counted == CONVERSATIONS and len(attempts) >= 3
    failures = [r.getMessage() for r in caplog.records if "cannot start updating" in r.getMessage()]
    assert len(failures) == 2 and all(m.endswith(": OperationalError") for m in failures)
    assert "db-secret-host" not in caplog.text


# ---------- retention and forget me


def test_retention_unlinks_old_sessions_and_keeps_the_counts(dbs):
    tracker_url, requests_url, expected = dbs
    engine = aggregated(tracker_url, requests_url)
    before = report(engine, FIRST, LAST).totals
    now = END + 10 * 86400  # 10 days after the last start: sessions of the first ~10 days are older than 20 days
    apply_retention(20, tracker_url, requests_url, now=now)
    with engine.connect() as conn:
        unlinked = conn.execute(sa.select(sa.func.count()).where(sessions_table.c.sender_id.is_(None))).scalar()
        linked = conn.execute(sa.select(sa.func.count()).where(sessions_table.c.sender_id.is_not(None))).scalar()
    old = [s for s in expected.sessions if s.last_at < now - 20 * 86400]
    assert unlinked == len(old) > 0 and linked == CONVERSATIONS - len(old)
    assert report(engine, FIRST, LAST).totals == before  # the numbers stay
    items, total = reports.review_list(engine, threshold=0.6, limit=1000)
    assert total == linked and all(item.sender_id for item in items)


def test_forget_me_deletes_the_senders_sessions(dbs):
    tracker_url, requests_url, expected = dbs
    engine = aggregated(tracker_url, requests_url)
    returning = Counter(s.sender_id for s in expected.sessions)
    sender = next(sender for sender, n in returning.items() if n == 2)
    mine = [s for s in expected.sessions if s.sender_id == sender]
    before = report(engine, FIRST, LAST)
    forget_in_console(engine, sender, [], sa.create_engine(tracker_url))
    after = report(engine, FIRST, LAST)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sessions_table).where(sessions_table.c.sender_id == sender)).first() is None
    assert after.totals["conversations"] == before.totals["conversations"] - 2
    assert after.totals["patient_messages"] == before.totals["patient_messages"] - sum(
        s.counts["patient_messages"] for s in mine
    )
    asked_before = {intent: n for intent, _, n in before.topics}
    asked_after = {intent: n for intent, _, n in after.topics}
    for topic in {t for s in mine for t in s.topics}:
        if topic in asked_before and topic in asked_after:
            assert asked_after[topic] == asked_before[topic] - sum(topic in s.topics for s in mine)


# ---------- forget me while the aggregates are being updated; ids SQLite hands out again


def add_conversation(tracker_url: str, sender: str, scenario, started: float) -> Tuple[List[int], object]:
    """A new session of `sender` written as Rasa writes one (ids handed out by the database); its ids and what it
    holds."""
    conversation = synthetic.Conversation(random.Random(5), sender, sender.split(":")[0], started)
    conversation.start()
    scenario(conversation, conversation.rng)
    engine = sa.create_engine(tracker_url, future=True)
    with engine.begin() as conn:
        before = conn.execute(sa.select(sa.func.max(events_table.c.id))).scalar() or 0
        conn.execute(events_table.insert(), conversation.rows)
        ids = list(conn.execute(sa.select(events_table.c.id).where(events_table.c.id > before)).scalars())
    engine.dispose()
    return ids, conversation.expect


def sender_rows(engine: sa.engine.Engine, sender: str) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.select(sessions_table).where(sessions_table.c.sender_id == sender)).all()


def numbers(engine: sa.engine.Engine) -> Tuple[Dict[str, int], list]:
    result = report(engine, FIRST, LAST + timedelta(days=400))
    return result.totals, result.topics


def test_an_update_that_read_a_conversation_before_it_was_forgotten_does_not_write_it(dbs):
    """The update reads the new events, then "forget me" deletes them and the sender's rows, then the update
    writes: without the forgets counter in its compare-and-set, the forgotten patient's session was written back."""
    tracker_url, requests_url, _ = dbs
    requests = aggregated(tracker_url, requests_url)
    before = numbers(requests)
    sender = "web:" + "f" * 32
    add_conversation(tracker_url, sender, synthetic.scenario_fallback, END + 3600)
    tracker = TranscriptReader(tracker_url).engine
    aggregator = Aggregator(requests, tracker)
    fold, forgotten = aggregator._fold, []

    def fold_then_forget(rows, current):
        folded = fold(rows, current)
        if not forgotten and any(row.sender_id == sender for row in rows):
            forgotten.append(delete_sender_events(tracker_url, sender))
            forget_sender(requests, sender, tracker)
        return folded

    aggregator._fold = fold_then_forget
    result = aggregator.update()
    assert forgotten and forgotten[0] > 0 and result.caught_up
    assert sender_rows(requests, sender) == []
    assert numbers(requests) == before  # counted neither in the conversations nor in the topics
    assert aggregator.update().rows == 0


def test_the_second_pass_forgets_the_session_rasa_saved_again_and_the_rating_of_the_reply(dbs):
    """After `action_forget_me`, Rasa writes the session again; the web service counts it and the patient rates
    the reply before the second pass deletes the events: the second pass forgets those too."""
    from actions.privacy import forget, second_pass

    tracker_url, requests_url, expected = dbs
    requests = aggregated(tracker_url, requests_url)
    sender = next(s.sender_id for s in expected.sessions if s.channel == "web")
    forget(sender, tracker_url, requests_url)
    assert sender_rows(requests, sender) == []
    after_forget = numbers(requests)
    add_conversation(tracker_url, sender, synthetic.scenario_faq, END + 3600)  # the turn Rasa saves again
    FeedbackStore(requests).record(sender, "the-reply", "down", "socketio")
    Aggregator(requests, TranscriptReader(tracker_url).engine).update()
    assert sender_rows(requests, sender) and numbers(requests) != after_forget  # counted meanwhile
    assert second_pass(tracker_url, sender, requests_url) > 0
    assert sender_rows(requests, sender) == [] and FeedbackStore(requests).ratings_for(sender) == {}
    assert numbers(requests) == after_forget
    assert TranscriptReader(tracker_url).entries(sender) == []


def test_new_events_with_the_ids_of_a_forgotten_conversation_are_counted(dbs):
    """SQLite gives a new row max(id) + 1: after the newest conversation is forgotten, the next events get its ids,
    at or below the watermark. Forgetting lowers the watermark to the highest id left, so they are counted."""
    tracker_url, requests_url, _ = dbs
    requests = aggregated(tracker_url, requests_url)
    tracker = TranscriptReader(tracker_url).engine
    with tracker.connect() as conn:
        newest = conn.execute(sa.select(events_table.c.sender_id).order_by(events_table.c.id.desc())).first()[0]
    with requests.connect() as conn:
        mark = read_state(conn).watermark
    delete_sender_events(tracker_url, newest)
    forget_in_console(requests, newest, [], tracker)
    before = numbers(requests)[0]
    newcomer = "web:" + "e" * 32
    ids, expect = add_conversation(tracker_url, newcomer, synthetic.scenario_fallback, END + 7200)
    assert min(ids) <= mark  # the ids came back
    Aggregator(requests, tracker).update()
    (row,) = sender_rows(requests, newcomer)
    assert row.patient_messages == expect.counts["patient_messages"] > 0 and row.fallbacks == expect.counts["fallbacks"]
    after = numbers(requests)[0]
    assert after["conversations"] == before["conversations"] + 1
    assert after["patient_messages"] == before["patient_messages"] + expect.counts["patient_messages"]


def test_after_retention_deleted_every_event_new_ones_are_counted(dbs):
    """A quiet spell longer than the retention period: every event goes, and SQLite starts the ids again at 1."""
    tracker_url, requests_url, expected = dbs
    requests = aggregated(tracker_url, requests_url)
    later = END + 400 * 86400
    assert apply_retention(20, tracker_url, requests_url, now=later).events == expected.events
    newcomer = "web:" + "d" * 32
    ids, expect = add_conversation(tracker_url, newcomer, synthetic.scenario_fallback, later)
    assert min(ids) == 1
    Aggregator(requests, TranscriptReader(tracker_url).engine).update()
    (row,) = sender_rows(requests, newcomer)
    assert row.patient_messages == expect.counts["patient_messages"] > 0


@pytest.fixture(scope="module")
def postgres():
    with local_postgres("analytics-test-pg-", free_port()) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def requests_url(request, dbs) -> str:
    """The requests' database of the data set (SQLite), or a fresh PostgreSQL one."""
    if request.param == "sqlite":
        return dbs[1]
    url = request.getfixturevalue("postgres").new_database("a")
    feedback_metadata.create_all(sa.create_engine(url))  # the report reads the ratings
    return url


def test_an_update_writing_while_a_forget_holds_the_lock_starts_again(dbs, requests_url, monkeypatch):
    """Two threads: the update has read the new conversation; "forget me" deletes it and, in its transaction, holds
    the state's lock while the update tries to write. The update waits, sees the forget's count and starts again
    (SQLite: the database's write lock; PostgreSQL: the row's lock, then the new value)."""
    tracker_url = dbs[0]
    requests = aggregated(tracker_url, requests_url)
    before = numbers(requests)
    sender = "web:" + "b" * 32
    add_conversation(tracker_url, sender, synthetic.scenario_fallback, END + 3600)
    tracker = TranscriptReader(tracker_url).engine
    aggregator = Aggregator(requests, tracker)
    read, locked, release = threading.Event(), threading.Event(), threading.Event()
    fold, highest = aggregator._fold, analytics_store.last_event_id

    def fold_then_wait(rows, current):
        folded = fold(rows, current)
        if not read.is_set():
            read.set()
            assert locked.wait(10)
        return folded

    def last_event_id_slowly(engine):
        locked.set()
        release.wait(10)
        return highest(engine)

    aggregator._fold = fold_then_wait
    monkeypatch.setattr(analytics_store, "last_event_id", last_event_id_slowly)
    updated, forgotten = [], []
    updater = threading.Thread(target=lambda: updated.append(aggregator.update()))
    updater.start()
    assert read.wait(10)
    delete_sender_events(tracker_url, sender)
    forgetting = threading.Thread(target=lambda: forgotten.append(forget_sender(requests, sender, tracker)))
    forgetting.start()
    assert locked.wait(10)
    time.sleep(0.5)  # the update is writing by now: it waits for the lock
    release.set()
    forgetting.join(20)
    updater.join(20)
    assert forgotten and updated and updated[0].caught_up  # both finished, neither raised
    assert sender_rows(requests, sender) == [] and numbers(requests) == before


def test_in_production_both_databases_on_postgresql_the_report_equals_the_generator(postgres):
    """The production profile's set-up: Rasa's events and the console's tables in PostgreSQL. The same known data
    set, aggregated in two steps (a bounded first one), gives the generator's numbers per day, week and channel."""
    tracker_url, requests_url = postgres.new_database("a"), postgres.new_database("a")
    expected = synthetic.generate(tracker_url, CONVERSATIONS, DAYS, SEED, requests_url=requests_url, end=END)
    requests, tracker = engines(tracker_url, requests_url)
    aggregator = Aggregator(requests, tracker, batch_rows=97)  # sessions cut between batches
    assert not aggregator.update(max_rows=500).caught_up  # bounded: stops with more to read
    assert Aggregator(requests, tracker).update().caught_up  # another process carries on from the watermark
    daily = report(requests, FIRST, LAST, DAY)
    assert actual_by(daily) == expected_by(expected, lambda s: (s.day, s.channel))
    weekly = report(requests, FIRST, LAST, WEEK)
    assert actual_by(weekly) == expected_by(expected, lambda s: (week_of(s.day), s.channel))
    totals = expected.totals()
    assert (sum(daily.thumbs["up"]), sum(daily.thumbs["down"])) == (totals["thumbs_up"], totals["thumbs_down"])
    requests.dispose()
    tracker.dispose()
