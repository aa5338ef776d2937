"""Scoring of the held-out NLU set (tests/data/nlu_holdout.yml): one definition for the test and `make nlu-compare`."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List

from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.loading import load_data

HOLDOUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "nlu_holdout.yml"
NOT_ANSWERED = {"out_of_scope", "nlu_fallback"}
# Intents whose answer is clinic/FAQ content: an out-of-scope line must not get one of these.
FAQ_ANSWER_PREFIXES = ("faq_", "clinic_")
FAQ_ANSWERS = {"book_appointment", "check_acc_eligibility"}


def answered_as_faq(intent: str) -> bool:
    return intent.startswith(FAQ_ANSWER_PREFIXES) or intent in FAQ_ANSWERS


def parse_holdout(model: str) -> List[Dict]:
    """Every held-out line with its expected and predicted intent, parsed by the trained model."""
    agent = Agent.load(model)
    examples = load_data(str(HOLDOUT)).intent_examples

    async def parse_all() -> List[Dict]:
        return [await agent.parse_message(e.get("text")) for e in examples]

    return [
        {
            "text": e.get("text"),
            "expected": e.get("intent"),
            "predicted": p["intent"]["name"],
            "confidence": round(float(p["intent"].get("confidence") or 0), 3),
        }
        for e, p in zip(examples, asyncio.run(parse_all()))
    ]


def summarise(rows: List[Dict]) -> Dict:
    """The measures the thresholds apply to, and per-intent counts."""
    answerable = [r for r in rows if r["expected"] != "out_of_scope"]
    oos = [r for r in rows if r["expected"] == "out_of_scope"]
    flags = [r for r in rows if r["expected"] == "red_flag"]
    per_intent: Dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        per_intent[r["expected"]]["total"] += 1
        per_intent[r["expected"]]["correct"] += r["predicted"] == r["expected"]
    return {
        "lines": len(rows),
        "answerable_lines": len(answerable),
        "answered_correctly": sum(r["predicted"] == r["expected"] for r in answerable) / len(answerable),
        "out_of_scope_lines": len(oos),
        "out_of_scope_not_answered": sum(not answered_as_faq(r["predicted"]) for r in oos) / len(oos),
        "out_of_scope_to_fallback": sum(r["predicted"] in NOT_ANSWERED for r in oos) / len(oos),
        "red_flag_lines": len(flags),
        "red_flag_recall": sum(r["predicted"] == "red_flag" for r in flags) / len(flags),
        "per_intent": {k: dict(v) for k, v in sorted(per_intent.items())},
    }
