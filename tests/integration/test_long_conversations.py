"""Long conversations: the bounded working tracker answers exactly as Rasa's own SQL tracker store does.

One model, loaded in this process, talks to the session's action server twice with the same 68-message
script: once with Rasa's `SQLTrackerStore` (the whole session replayed for every message) and once with
`ClinicSQLTrackerStore` (bot/storage/tracker_window.py). The script runs a form for longer than the window (FAQs
asked in the middle of the ACC check), fills the contact form long after the check (it offers to pass the check's
answers on, which are by then before the window), undoes a message (`/back`) and restarts (`/restart`), and ends
with two multi-turn FAQ paths (tests/stories/test_faq_paths.yml) after more turns than the window holds. Every reply
and every stored event must be the same.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from rasa.core.agent import Agent
from rasa.core.tracker_store import SQLTrackerStore
from rasa.utils.endpoints import EndpointConfig

from bot.storage.tracker_store import ClinicSQLTrackerStore
from bot.storage.tracker_window import WINDOW_TURNS
from tests.conftest import OUTPUT, require_model

pytestmark = pytest.mark.e2e

FAQS = [
    "do I need a GP referral?",
    "can I see a physio at the same time?",
    "what's an ACC45",
    "what are read codes",
    "how many sessions will I need",
    "what is cupping",
    "how do the glute muscles work together",
]
SCRIPT = [
    "hi there",
    *FAQS,
    "am I covered by ACC?",
    "three weeks ago",
    *FAQS,  # the ACC check stays active for longer than the window
    "yes",
    "AB 12345",
    "what is cupping",
    "I don't know",
    *FAQS,  # the ACC check's answers are now before the window, and the contact form asks about them
    "/request_contact",
    "Aroha Ngata",
    "do I need a GP referral?",
    "021 123 4567",
    "yes",
    "thanks",
    *FAQS,
    "check my eligibility",
    "2 months ago",
    "/back",
    "18 months ago",
    *FAQS,
    "/restart",
    "hi",
    *FAQS[:3],
    # the multi-turn FAQ paths of tests/stories/test_faq_paths.yml, after more turns than the window holds
    "how do the glute muscles work together",
    "what does the gluteus medius do",
    "what exercises strengthen my glutes",
    "do you do a free consult",
    "yes",
    "hi",
    "does ACC cover acupuncture",
    "what's an ACC45",
    "what are read codes",
    "I'd like to book",
    "bye",
]


def _stored(db: Path, sender: str) -> List[Tuple]:
    """The sender's stored events, without what differs between two runs (timestamps, ids)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT type_name, action_name, intent_name, data FROM events WHERE sender_id = ? ORDER BY id", (sender,)
        ).fetchall()
    out = []
    for type_name, action, intent, data in rows:
        event = json.loads(data)
        out.append((type_name, action, intent, event.get("name"), json.dumps(event.get("value")), event.get("text")))
    return out


async def _talk(agent: Agent, store, sender: str) -> List[List[Dict]]:
    agent.tracker_store = agent.processor.tracker_store = store
    replies = []
    for message in SCRIPT:
        answer = await agent.handle_text(message, sender_id=sender)
        replies.append([{k: m.get(k) for k in ("text", "buttons")} for m in answer or []])
    return replies


@pytest.fixture(scope="module")
def agent(stack) -> Agent:
    """The trained model in this process, with the session's action server."""
    endpoint = EndpointConfig(f"{stack.action_url}/webhook", headers={"Authorization": f"Bearer {stack.action_token}"})
    return Agent.load(str(require_model()), action_endpoint=endpoint)


def test_same_replies_and_events_as_rasas_store(agent, tmp_path):
    sender = f"long-{uuid.uuid4().hex[:8]}"
    plain = SQLTrackerStore(domain=agent.domain, dialect="sqlite", db=str(tmp_path / "plain.sqlite"))
    windowed = ClinicSQLTrackerStore(domain=agent.domain, dialect="sqlite", db=str(tmp_path / "window.sqlite"))

    expected = asyncio.run(_talk(agent, plain, sender))
    OUTPUT.mkdir(parents=True, exist_ok=True)  # to compare the replies across changes
    (OUTPUT / "long_conversation_replies.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False))
    got = asyncio.run(_talk(agent, windowed, sender))

    for message, want, have in zip(SCRIPT, expected, got):
        assert have == want, f"different replies to {message!r}"
    assert _stored(tmp_path / "window.sqlite", sender) == _stored(tmp_path / "plain.sqlite", sender)
    # the conversation really was longer than the window, and the window really was used
    assert len(SCRIPT) > 5 * WINDOW_TURNS
    tracker = asyncio.run(windowed.retrieve(sender))
    assert sum(e.type_name == "user" for e in tracker.events) <= 2 * WINDOW_TURNS
    assert "No referral needed" in json.dumps(expected)  # the script was answered, not just failed alike
    after_consult = SCRIPT.index("do you do a free consult") + 1
    # "yes" to the free consultation's offer books it, even with the window (bot/dialogue/offers.py)
    assert "To book your free 15-minute consultation" in expected[after_consult][0]["text"]


def _stored_in_full(db: Path, sender: str) -> List[Dict]:
    """Every stored event as JSON, all of it but what differs between two runs (timestamps, message ids)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender,)).fetchall()
    def without_varying(value):
        if isinstance(value, dict):
            return {k: without_varying(v) for k, v in value.items() if k not in ("timestamp", "message_id")}
        return [without_varying(v) for v in value] if isinstance(value, list) else value

    return [without_varying(json.loads(data)) for (data,) in rows]


def test_the_speed_ups_change_no_reply_and_no_stored_event(agent, tmp_path, monkeypatch):
    """bot/rasa_patches.py's pure speed-ups (4, 8, 12 to 17, 20) against Rasa's own code, in full: the intents'
    confidences and rankings, the policies' confidences, every slot."""
    from bot import rasa_patches

    sender = f"speed-{uuid.uuid4().hex[:8]}"
    fast_db, rasa_db = tmp_path / "fast.sqlite", tmp_path / "rasa.sqlite"
    store = ClinicSQLTrackerStore(domain=agent.domain, dialect="sqlite", db=str(fast_db))
    fast = asyncio.run(_talk(agent, store, sender))
    plans = agent.processor.graph_runner._clinic_graph_steps.values()
    assert any(unread for _, _, unread in plans)  # the NLU graph ran without token rows (20)
    with monkeypatch.context() as rasas_own:
        for owner, attribute, original in [
            (rasa_patches.Event, "resolve_by_type", staticmethod(rasa_patches._resolve_uncached)),
            (rasa_patches.RulePolicy, "_get_possible_keys", rasa_patches._rasa_get_possible_keys),
            (rasa_patches.RemoteAction, "_validate_action_result", rasa_patches._rasa_validate_action_result),
            (rasa_patches.DaskGraphRunner, "run", rasa_patches._rasa_graph_run),
            (rasa_patches.LogisticRegressionClassifier, "_create_X", rasa_patches._rasa_create_x),
            (rasa_patches.SpacyEntityExtractor, "process", rasa_patches._rasa_extract_spacy_entities),
            (rasa_patches.DialogueStateTracker, "past_states", rasa_patches._rasa_past_states),
            (rasa_patches.CountVectorsFeaturizer, "process", rasa_patches._rasa_count_vectors_process),
        ]:
            rasas_own.setattr(owner, attribute, original)
        rasas_own.delattr(rasa_patches.Slot, "__copy__")
        store = ClinicSQLTrackerStore(domain=agent.domain, dialect="sqlite", db=str(rasa_db))
        slow = asyncio.run(_talk(agent, store, sender))
    assert fast == slow
    assert _stored_in_full(fast_db, sender) == _stored_in_full(rasa_db, sender)
    assert len(_stored_in_full(fast_db, sender)) > 5 * len(SCRIPT)
