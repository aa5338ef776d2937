"""What the analytics count (bot/analytics/markers.py), checked against this project's domain, rules and actions,
and one session's events folded into its facts (bot/analytics/session_facts.py) on hand-made event rows shaped as
Rasa's SQLTrackerStore stores them; the review list's flags of those facts (bot/analytics/reports.py, the SQL the
list runs) and the marks the review page gives their messages (markers.message_marks) agree."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, List, Optional

import sqlalchemy as sa
import yaml

from bot.analytics import markers as m
from bot.analytics.aggregates import _values
from bot.analytics.reports import review_list
from bot.analytics.session_facts import EventRow, SessionFacts, fold_sessions
from bot.analytics.store import create_tables, sessions_table
from bot.staff.intent_choices import LABELS, label
from bot.storage.booking_requests import KINDS
from bot.storage.feedback import metadata as feedback_metadata

ROOT = Path(__file__).resolve().parents[2]
RASA_INTENTS = {"nlu_fallback", "back", "restart", "session_start"}  # Rasa's own, not in domain/


# ---------- the markers name what this project really has


def test_every_marker_names_a_response_intent_form_action_or_slot_of_the_domain():
    from bot.responses import DOMAIN

    responses, intents = set(DOMAIN.responses), set(DOMAIN.intents)
    for response in (m.FALLBACK_RESPONSE, m.RED_FLAG_RESPONSE, m.BOOKING_LINK_RESPONSE, m.BOOKING_MADE_RESPONSE):
        assert response in responses
    assert set(m.REQUEST_STORED) <= responses
    assert {m.RED_FLAG_INTENT, *m.HANDOFF_INTENTS} <= intents
    assert intents >= m.NOT_TOPICS - RASA_INTENTS
    assert set(m.FORM_SUBMITS) == set(DOMAIN.form_names) and m.ACC_FORM in DOMAIN.form_names
    assert set(m.FORM_SUBMITS.values()) <= set(DOMAIN.user_actions)
    assert {m.ELIGIBILITY_SLOT, m.REQUEST_KIND_SLOT} <= {slot.name for slot in DOMAIN.slots}
    assert set(m.REQUEST_KINDS) == set(KINDS)


def test_fallbacks_of_nlu_and_core_both_end_in_utter_fallback():
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    rule_policy = next(p for p in config["policies"] if p["name"] == "RulePolicy")
    assert rule_policy["core_fallback_action_name"] == m.FALLBACK_RESPONSE
    answers = yaml.safe_load((ROOT / "data/rules/answers.yml").read_text())["rules"]
    nlu = [r for r in answers if {"intent": "nlu_fallback"} in r["steps"]]
    assert nlu and {"action": m.FALLBACK_RESPONSE} in nlu[0]["steps"]


def test_each_form_rule_ends_with_the_submit_action_the_markers_expect():
    steps = []
    for path in (ROOT / "data/rules").glob("*.yml"):
        for rule in yaml.safe_load(path.read_text()).get("rules") or []:
            condition = rule.get("condition") or []
            if condition and "active_loop" in condition[0] and {"active_loop": None} in rule["steps"]:
                steps.append((condition[0]["active_loop"], rule["steps"][-1].get("action")))
    for form, submit in m.FORM_SUBMITS.items():
        assert (form, submit) in steps


def test_the_verdict_keeps_the_outcomes_the_markers_count():
    from datetime import date

    from actions.acc_eligibility import verdict_response

    today = date(2026, 11, 29)
    outcomes = {
        verdict_response(date(2026, 11, 1), "approved", "AB12345", 0, today)[1],
        verdict_response(date(2024, 1, 1), "approved", "AB12345", 0, today)[1],
        verdict_response(date(2026, 11, 1), "approved", None, 3, today)[1],
    }
    assert outcomes == {m.ELIGIBLE, m.NOT_ELIGIBLE, m.INCOMPLETE}


def test_topics_are_named_in_the_consoles_one_table_of_intent_labels():
    from bot.responses import DOMAIN

    assert {intent for intent in DOMAIN.intents if m.is_topic(intent)} <= set(LABELS)  # the channels' own too
    assert label("faq_glute_exercises") == "Glute exercises" and label("clinic_prices") == "Prices"
    assert label("shared_attachment") == "Sent a photo or file"
    assert not m.is_topic("affirm") and not m.is_topic("nlu_fallback") and m.is_topic("faq_referral")


def test_channels_of_conversation_ids():
    assert m.channel_key("web:" + "a" * 32) == "web"
    assert m.channel_key("messenger:123") == "messenger"
    assert m.channel_key("rest:tester") == "rest"
    assert m.channel_key("no-prefix") == "rest"


# ---------- hand-made rows


class Events:
    """Rows of one or more senders, ids and times increasing, shaped as SQLTrackerStore writes them."""

    def __init__(self, sender: str = "web:" + "b" * 32, at: float = 1_764_000_000.0) -> None:
        self.sender, self.at, self.rows = sender, at, []

    def _add(self, type_name: str, data: dict, intent: Optional[str] = None, action: Optional[str] = None, gap=1.0):
        self.at += gap
        event = {"event": type_name, "timestamp": self.at, "metadata": {"model_id": "x"}, **data}
        row = EventRow(len(self.rows) + 1, self.sender, type_name, self.at, intent, action, json.dumps(event))
        self.rows.append(row)
        return self

    def start(self, gap: float = 1.0) -> Events:
        self._add("action", {"name": "action_session_start"}, action="action_session_start", gap=gap)
        self._add("session_started", {})
        return self.action("action_listen")

    def user(self, intent: str, confidence: float = 0.9, text: str = "hello") -> Events:
        parse = {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text}
        return self._add("user", {"text": text, "parse_data": parse, "input_channel": "socketio"}, intent=intent)

    def bot(self, response: str, **metadata: Any) -> Events:
        return self._add("bot", {"text": "...", "metadata": {"utter_action": response, **metadata}})

    def action(self, name: str) -> Events:
        return self._add("action", {"name": name}, action=name)

    def utter(self, response: str) -> Events:
        return self.action(response).bot(response)

    def loop(self, name: Optional[str]) -> Events:
        return self._add("active_loop", {"name": name}, action=name)

    def slot(self, name: str, value: Any) -> Events:
        return self._add("slot", {"name": name, "value": value}, action=name)

    def facts(self) -> List[SessionFacts]:
        return fold_sessions(self.rows)


def only(events: Events) -> SessionFacts:
    sessions = events.facts()
    assert len(sessions) == 1
    return sessions[0]


def test_a_faq_conversation_counts_messages_topics_and_its_lowest_confidence():
    facts = only(
        Events().start().user("greet", 1.0, "/greet").utter("utter_greet").action("action_listen")
        .user("faq_referral", 0.55).utter("utter_faq_referral").action("action_listen")
        .user("clinic_prices", 0.97).action("action_clinic_details").bot("utter_clinic_details")
        .user("faq_referral", 0.8).utter("utter_faq_referral")
    )
    assert facts.counts["patient_messages"] == 4 and facts.counts["assistant_messages"] == 4
    assert facts.topics == ["faq_referral", "clinic_prices"]  # first asked first, once each; no small talk
    assert facts.min_confidence == 0.55
    assert facts.channel == "web" and facts.counts["fallbacks"] == 0


def test_buttons_do_not_count_for_low_confidence():
    facts = only(Events().start().user("affirm", 0.2, "/affirm").user("faq_sessions", 0.75))
    assert facts.min_confidence == 0.75


def test_a_fallback_nlu_or_core():
    facts = only(
        Events().start().user("nlu_fallback", 0.3, "blorp qwerty zzzt").utter("utter_fallback")
        .user("out_of_scope", 0.41).utter("utter_fallback")
    )
    assert facts.counts["fallbacks"] == 2
    assert facts.topics == ["out_of_scope"]


def test_a_red_flag_counts_once_for_the_intent_and_its_urgent_answer():
    facts = only(Events().start().user("red_flag", 1.0).utter("utter_red_flag"))
    assert facts.counts["red_flags"] == 1
    reply_only = only(Events().start().user("ongoing_pain", 0.8).utter("utter_red_flag"))
    assert reply_only.counts["red_flags"] == 1  # urgent-care advice given on the context's reading


def acc_check(events: Events) -> Events:
    return (
        events.user("check_acc_eligibility").action("acc_eligibility_form").loop("acc_eligibility_form")
        .slot("requested_slot", "injury_date").bot("utter_ask_injury_date").action("action_listen")
        .user("inform").action("acc_eligibility_form")
    )


def verdict(events: Events, response: str, outcome: str) -> Events:
    return (
        events.slot("requested_slot", None).loop(None).action("action_acc_verdict").bot(response)
        .slot("eligibility", outcome).action("action_listen")
    )


def test_the_acc_funnel_for_each_outcome():
    eligible = only(verdict(acc_check(Events().start()), "utter_acc_verdict_eligible", "eligible"))
    not_eligible = only(verdict(acc_check(Events().start()), "utter_acc_verdict_injury_too_old", "not_eligible"))
    incomplete = only(verdict(acc_check(Events().start()), "utter_acc_verdict_details_missing", "incomplete"))
    for facts in (eligible, not_eligible, incomplete):
        assert facts.counts["acc_started"] == 1 and facts.counts["acc_completed"] == 1
        assert facts.counts["forms_abandoned"] == 0 and facts.open_form is None
    assert (eligible.counts["acc_eligible"], eligible.counts["acc_not_eligible"]) == (1, 0)
    assert (not_eligible.counts["acc_eligible"], not_eligible.counts["acc_not_eligible"]) == (0, 1)
    assert (incomplete.counts["acc_eligible"], incomplete.counts["acc_not_eligible"]) == (0, 0)


def test_a_cancelled_check_is_an_abandoned_form_and_not_completed():
    events = acc_check(Events().start()).user("stop").utter("utter_form_cancelled").action("action_cancel_form")
    facts = only(events.loop(None).slot("eligibility", None).action("action_listen"))
    assert facts.counts["acc_started"] == 1 and facts.counts["acc_completed"] == 0
    assert facts.counts["forms_abandoned"] == 1


def test_a_red_flag_during_a_form_ends_it_abandoned():
    events = acc_check(Events().start()).user("red_flag", 1.0).utter("utter_red_flag").action("action_cancel_form")
    facts = only(events.loop(None).action("action_listen"))
    assert facts.counts["red_flags"] == 1 and facts.counts["forms_abandoned"] == 1


def test_a_form_left_unanswered_is_abandoned_after_an_hour_of_quiet():
    facts = only(acc_check(Events().start()))
    assert facts.open_form == "acc_eligibility_form" and facts.counts["forms_abandoned"] == 0
    assert m.FORM_ABANDONED not in flags(facts, now=facts.last_at + 600)
    assert m.FORM_ABANDONED in flags(facts, now=facts.last_at + 3601)


def test_booking_links_bookings_and_requests_by_kind():
    events = Events().start().user("book_appointment").action("action_booking").bot("utter_booking_link")
    events.slot("request_kind", "booking").action("action_listen")
    # booking in the chat
    events.user("book_appointment").action("booking_form").loop("booking_form").user("affirm")
    events.loop(None).action("action_submit_booking").bot("utter_booking_confirmed").slot("request_kind", None)
    # a person: the "chat" request, then a call-back with request_kind handoff
    events.user("human_handoff").action("action_human_handoff").bot("utter_handoff").slot("request_kind", "handoff")
    events.user("affirm").action("contact_form").loop("contact_form").user("inform").loop(None)
    events.action("action_submit_contact_request").bot("utter_contact_request_sent").slot("request_kind", None)
    # "call me back" with no kind: a call-back to book; then a change
    events.user("request_contact").action("contact_form").loop("contact_form").user("inform").loop(None)
    events.action("action_submit_contact_request").bot("utter_contact_request_sent_with_acc")
    events.user("change_appointment").action("contact_form").loop("contact_form").slot("request_kind", "change")
    events.user("inform").loop(None).action("action_submit_contact_request").bot("utter_change_request_sent")
    facts = only(events)
    counts = facts.counts
    assert counts["booking_links"] == 1 and counts["bookings"] == 1
    assert (counts["requests_chat"], counts["requests_handoff"]) == (1, 1)
    assert (counts["requests_booking"], counts["requests_change"]) == (1, 1)
    assert counts["handoff_asks"] == 2  # human_handoff, request_contact
    assert counts["forms_abandoned"] == 0
    assert m.HANDOFF in flags(facts)


def test_every_request_left_for_the_team_is_a_hand_off_or_call_back():
    """A call-back is a call-back: to book (a booking link offered, then "call me"; a booking the system could not
    make), about an appointment, or to talk to a person."""
    to_book = Events().start().user("book_appointment").action("action_booking").bot("utter_booking_no_link")
    to_book.slot("request_kind", "booking").user("affirm").action("contact_form").loop("contact_form")
    to_book.user("inform").loop(None).action("action_submit_contact_request").bot("utter_contact_request_sent")
    failed = Events().start().user("affirm").bot("utter_booking_failed_request_sent")
    change = Events().start().user("change_appointment").action("contact_form").loop("contact_form")
    change.slot("request_kind", "change").user("inform").loop(None).action("action_submit_contact_request")
    change.bot("utter_change_request_sent")
    for events, kind in ((to_book, "booking"), (failed, "booking"), (change, "change")):
        facts = only(events)
        assert facts.counts["handoff_asks"] == 0 and facts.counts[f"requests_{kind}"] == 1
        assert m.HANDOFF in flags(facts), kind
    assert m.HANDOFF not in flags(only(Events().start().user("book_appointment").bot("utter_booking_link")))


def test_a_staff_members_messages_are_not_the_assistants():
    facts = only(Events().start().user("human_handoff").bot("", staff="Sam").bot("", staff="Sam", notice="joined"))
    assert facts.counts["assistant_messages"] == 0


def test_several_sessions_of_one_sender():
    events = Events().start().user("faq_referral").utter("utter_faq_referral")
    events = acc_check(events)  # left open when the session expires
    events.start(gap=7200).user("nlu_fallback", 0.3).utter("utter_fallback")
    events.start(gap=86400).user("clinic_hours").action("action_clinic_details").bot("utter_clinic_details")
    first, second, third = events.facts()
    assert first.counts["forms_abandoned"] == 1 and first.open_form is None  # Rasa forgot it at the new session
    assert first.ended_at == second.started_at and second.ended_at == third.started_at and third.ended_at is None
    assert first.topics == ["faq_referral", "check_acc_eligibility"]
    assert second.counts["fallbacks"] == 1 and first.counts["fallbacks"] == 0
    assert third.topics == ["clinic_hours"] and third.start_event_id > second.start_event_id
    assert [f.counts["patient_messages"] for f in (first, second, third)] == [3, 1, 1]


def test_folding_row_by_row_after_a_stop_gives_the_same_facts():
    """What the updater does between two updates: the facts and their state kept, then the next rows."""
    from bot.analytics.session_facts import fold_row

    events = verdict(acc_check(Events().start()), "utter_acc_verdict_eligible", "eligible")
    whole = only(events)
    for cut in range(2, len(events.rows)):  # row 1 is the action before `session_started`
        current = None
        for row in events.rows[:cut]:
            current = fold_row(current, row) or current
        stored = SessionFacts(**{**current.__dict__, "counts": dict(current.counts), "topics": list(current.topics)})
        for row in events.rows[cut:]:
            stored = fold_row(stored, row) or stored
        assert stored.counts == whole.counts and stored.topics == whole.topics, cut


# ---------- the review list's flags and the review page's marks: one set of rules


def flags(facts: SessionFacts, now: Optional[float] = None, threshold: float = 0.6) -> List[str]:
    """The flags the review list gives this session: its row stored as the updater stores it, then listed."""
    engine = sa.create_engine("sqlite://", future=True)
    create_tables(engine)
    feedback_metadata.create_all(engine)  # the thumbs-down flag reads the ratings
    with engine.begin() as conn:
        conn.execute(sessions_table.insert(), [_values(facts)])
    moment = datetime.fromtimestamp(now if now is not None else facts.last_at + 60, tz=timezone.utc)
    (item,), _ = review_list(engine, threshold=threshold, now=moment)
    return item.flags


def page_marks(events: Events, threshold: float = 0.6) -> List[str]:
    """The marks the review page gives the session's messages (each patient message with the responses it got)."""
    marks: List[str] = []
    message: Optional[EventRow] = None
    replies: List[Optional[str]] = []
    for row in [*events.rows, None]:
        if row is None or row.type_name == "user":
            if message is not None:
                data = json.loads(message.data)
                confidence = data["parse_data"]["intent"]["confidence"]
                button = m.is_button(data["text"])
                marks += m.message_marks(message.intent_name, confidence, button, replies, threshold)
            message, replies = row, []
        elif row.type_name == "bot" and message is not None:
            replies.append(json.loads(row.data)["metadata"].get("utter_action"))
    return marks


def test_a_flag_in_the_list_is_a_mark_on_a_message_of_the_page():
    sessions = {
        "red flag, intent": Events().start().user("red_flag", 1.0).utter("utter_red_flag"),
        "red flag, advice on the context's reading": Events().start().user("ongoing_pain", 0.8).utter("utter_red_flag"),
        "fallback": Events().start().user("out_of_scope", 0.9).utter("utter_fallback"),
        "low confidence": Events().start().user("faq_sessions", 0.41).utter("utter_faq_sessions"),
        "a button is sure": Events().start().user("affirm", 0.2, "/affirm").utter("utter_anything_else"),
        "nothing": Events().start().user("faq_sessions", 0.9).utter("utter_faq_sessions"),
    }
    for name, events in sessions.items():
        listed = {flag for flag in flags(only(events)) if flag in (m.FALLBACK, m.RED_FLAG, m.LOW_CONFIDENCE)}
        assert listed == set(page_marks(events)), name
    assert page_marks(sessions["red flag, advice on the context's reading"]) == [m.RED_FLAG]
    assert page_marks(sessions["nothing"]) == page_marks(sessions["a button is sure"]) == []


def test_each_flag_has_its_staff_words():
    from bot.web.console.templates import FLAG_LABELS

    assert list(FLAG_LABELS) == list(m.FLAGS)
