"""End-to-end "forget me": after confirmation the conversation and the requests of that sender are gone, and so
are the analytics' rows of it, even when the analytics are updated while Rasa writes the turn again."""

from __future__ import annotations

import sqlite3
import time
import uuid

import pytest
import sqlalchemy as sa

from bot.analytics.aggregates import Aggregator
from bot.analytics.store import sessions_table
from bot.channels.sender_ids import REST, namespaced
from bot.storage.booking_requests import BookingRequestStore
from bot.storage.transcripts import TranscriptReader
from tests.conftest import rest_send, texts

pytestmark = pytest.mark.e2e


def event_count(stack, sender: str) -> int:
    with sqlite3.connect(stack.tracker_db) as conn:
        return conn.execute(
            "SELECT COUNT(*) FROM events WHERE sender_id = ?", (namespaced(REST, sender),)
        ).fetchone()[0]


def contact_request(stack, sender: str) -> None:
    """A hand-off request with a name and a phone number, stored for staff."""
    for message in ("/request_contact", "Aroha Ngata", "021 123 4567"):
        rest_send(stack, sender, message)
    assert BookingRequestStore(stack.env["BOOKING_REQUESTS_DB_URL"]).list(sender_id=namespaced(REST, sender))


def analytics_rows(store: BookingRequestStore, sender: str) -> int:
    s = sessions_table.c
    with store.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(s.sender_id == namespaced(REST, sender))
        return conn.execute(query).scalar()


def test_forget_me_deletes_conversation_and_requests(stack):
    store = BookingRequestStore(stack.env["BOOKING_REQUESTS_DB_URL"])
    analytics = Aggregator(store.engine, TranscriptReader(f"sqlite:///{stack.tracker_db}").engine)
    sender, other = f"forget-{uuid.uuid4().hex[:8]}", f"keep-{uuid.uuid4().hex[:8]}"
    contact_request(stack, sender)
    contact_request(stack, other)
    assert "Shall I delete them?" in texts(rest_send(stack, sender, "please delete my data"))
    analytics.update()
    assert analytics_rows(store, sender) == 1
    done = texts(rest_send(stack, sender, "yes"))
    assert "I've deleted this conversation" in done
    assert store.list(sender_id=namespaced(REST, sender)) == []
    deadline = time.monotonic() + 15  # the second pass runs once Rasa has saved the turn
    while (event_count(stack, sender) or analytics_rows(store, sender)) and time.monotonic() < deadline:
        analytics.update()  # as the web service may, while the turn Rasa wrote again is there
        time.sleep(0.05)
    analytics.update()
    assert event_count(stack, sender) == 0
    assert analytics_rows(store, sender) == 0 and analytics_rows(store, other) == 1
    # the other patient's data stays
    assert event_count(stack, other) > 0 and store.list(sender_id=namespaced(REST, other))
    # the assistant still answers, in a fresh conversation
    assert "No referral needed" in texts(rest_send(stack, sender, "do I need a GP referral?"))


def test_forget_me_declined_keeps_everything(stack):
    store = BookingRequestStore(stack.env["BOOKING_REQUESTS_DB_URL"])
    sender = f"keep-{uuid.uuid4().hex[:8]}"
    contact_request(stack, sender)
    rest_send(stack, sender, "forget me")
    assert "haven't deleted anything" in texts(rest_send(stack, sender, "no"))
    assert event_count(stack, sender) > 0 and store.list(sender_id=namespaced(REST, sender))


def test_forget_me_in_the_middle_of_a_form_stops_it_and_nothing_is_remembered(stack):
    """After an ACC check, "delete my data" in the contact form: the form stops, then everything is forgotten,
    including what the Rasa process kept in memory (the next contact request doesn't offer ACC details)."""
    sender = f"forget-{uuid.uuid4().hex[:8]}"
    for message in ("am I covered by ACC?", "three weeks ago", "yes", "AB 12345"):
        rest_send(stack, sender, message)
    assert "looks eligible" in texts(rest_send(stack, sender, "I don't know"))
    rest_send(stack, sender, "/request_contact")
    asked = texts(rest_send(stack, sender, "please delete my data"))
    assert "stopped the questions" in asked and "Shall I delete them?" in asked
    assert "I've deleted this conversation" in texts(rest_send(stack, sender, "yes"))
    deadline = time.monotonic() + 15
    while event_count(stack, sender) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert event_count(stack, sender) == 0
    rest_send(stack, sender, "/request_contact")
    rest_send(stack, sender, "Aroha Ngata")
    done = texts(rest_send(stack, sender, "021 123 4567"))
    assert "passed your request" in done and "ACC check details" not in done


def test_forget_me_deletes_the_consoles_records_and_leaves_only_that_a_deletion_happened(stack):
    """Audit entries and the console's reference of a conversation go with it; the audit log keeps one line."""
    from bot.staff.audit import VIEWED_CONVERSATION, VIEWED_REQUEST, AuditLog
    from bot.staff.conversation_refs import ConversationRefs

    store = BookingRequestStore(stack.env["BOOKING_REQUESTS_DB_URL"])
    sender, other = f"forget-{uuid.uuid4().hex[:8]}", f"keep-{uuid.uuid4().hex[:8]}"
    contact_request(stack, sender)
    contact_request(stack, other)
    audit, refs = AuditLog(store.engine), ConversationRefs(store.engine)
    mine, theirs = namespaced(REST, sender), namespaced(REST, other)
    request_id = store.list(sender_id=mine)[0].id
    audit.record("aroha", VIEWED_REQUEST, request_id=request_id, conversation=mine)
    audit.record("aroha", VIEWED_CONVERSATION, conversation=theirs)
    ref = refs.ref_for(mine)
    assert "Shall I delete them?" in texts(rest_send(stack, sender, "forget me"))
    assert "I've deleted this conversation" in texts(rest_send(stack, sender, "yep"))
    assert audit.entries(conversation=mine) == [] and audit.entries(request_id=request_id) == []
    assert refs.sender_for(ref) is None
    latest = audit.entries(limit=1)[0]
    assert latest.action == "a patient's data was deleted (forget me)"
    assert latest.conversation is None and latest.request_id is None and latest.username is None
    assert [e.action for e in audit.entries(conversation=theirs)] == [VIEWED_CONVERSATION]
