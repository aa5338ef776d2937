"""Multi-turn patient conversations (tests/data/conversations/*.yml) over REST against the real stack.

One aggregated test plays every conversation, writes tests/reports/conversations.md (and every transcript to
tests/output/conversations-transcripts.md) and fails when fewer than 95 % of the conversations pass.
The format of the files is described in tests/support/conversation_runner.py.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any, List

import pytest

from bot.channels.sender_ids import REST, namespaced
from bot.clinic.injury_dates import clinic_today
from bot.storage.booking_requests import BookingRequest, BookingRequestStore
from tests.conftest import OUTPUT, REPORTS, rest_send, texts
from tests.support.conversation_runner import (
    Result,
    check_turn,
    load_conversations,
    problems,
    render,
    report,
    run_conversation,
    transcripts,
)

PASS_SHARE = 0.95
MIN_CONVERSATIONS = 60
COMMAND = ".venv/bin/python -m pytest tests/e2e/test_conversations.py -q"
WORKERS = int(os.environ.get("CONVERSATION_WORKERS", "4"))


def test_conversation_files_are_well_formed() -> None:
    """Every turn has a check, names are unique, and there are enough (and long enough) conversations."""
    conversations = load_conversations()
    assert problems(conversations) == []
    assert len(conversations) >= MIN_CONVERSATIONS
    assert sum(len(c.turns) for c in conversations) / len(conversations) >= 3


def test_checks_can_fail() -> None:
    """The runner's checks: placeholders, expect / expect_not / starts_with / order / recorded requests."""
    today = date(2026, 1, 10)
    assert render("it was {date:-20d}, i.e. {date_long:-20d}", today) == "it was 21 December, i.e. 21 December 2025"
    reply = "No — I'm not a person. Call 111 now; Healthline is 0800 611 116."
    assert (
        check_turn(
            {"expect": ["not a PERSON"], "starts_with": "No", "order": ["111", "Healthline"]}, reply, None, today
        )
        is None
    )
    assert check_turn({"expect": ["booking"]}, reply, None, today)
    assert check_turn({"expect_not": ["call 111"]}, reply, None, today)
    assert check_turn({"starts_with": "Yes"}, reply, None, today)
    assert check_turn({"order": ["Healthline", "111"]}, reply, None, today)
    row = BookingRequest(kind="booking", sender_id="s", name="Aroha", acc_details={"claim_status": "approved"})
    assert (
        check_turn(
            {"requests": 1, "request": {"name": "Aroha", "acc_details.claim_status": "approved"}}, "", [row], today
        )
        is None
    )
    assert check_turn({"requests": 0}, "", [row], today)
    assert check_turn({"request": {"name": "Ok. Its Aroha"}}, "", [row], today)
    assert check_turn({"request": {"phone": None, "email": None}}, "", [row], today) is None


@pytest.mark.e2e
def test_conversations(stack: Any) -> None:
    """Play every conversation; at least 95 % must pass (the report lists each failing turn)."""
    store = BookingRequestStore(stack.env["BOOKING_REQUESTS_DB_URL"])
    today = clinic_today()

    def send(sender: str, message: str) -> str:
        return texts(rest_send(stack, sender, message))

    def recorded(sender: str) -> List[Any]:
        return store.list(sender_id=namespaced(REST, sender))

    conversations = load_conversations()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results: List[Result] = list(pool.map(lambda c: run_conversation(c, send, recorded, today), conversations))
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "conversations.md").write_text(report(results, COMMAND), encoding="utf-8")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "conversations-transcripts.md").write_text(transcripts(results), encoding="utf-8")
    passed = sum(r.passed for r in results)
    failed = "\n".join(
        f"- {r.conversation.file}: {r.conversation.name} (turn {r.turn}: {r.user!r}): {r.failure}"
        for r in results
        if not r.passed
    )
    assert passed / len(results) >= PASS_SHARE, (
        f"{passed}/{len(results)} conversations pass; see tests/reports/conversations.md\n{failed}"
    )
