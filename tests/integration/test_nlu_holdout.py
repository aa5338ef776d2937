"""NLU evaluation on held-out phrasings (tests/data/nlu_holdout.yml) that are not in the training data.

Thresholds come from the measurement written to tests/reports/nlu_holdout.md.
"""

from __future__ import annotations

import json
from typing import Dict, List, Tuple

import pytest

from bench.nlu_scoring import FAQ_ANSWER_PREFIXES, NOT_ANSWERED, parse_holdout, summarise
from bot.dialogue.rule_files import domain_intents
from tests.conftest import REPORTS, require_model

pytestmark = pytest.mark.slow

MIN_ANSWERED_CORRECTLY = 0.95  # share of FAQ/clinic/red-flag lines that get their own answer
MIN_OUT_OF_SCOPE_HELD = 0.90  # share of out-of-scope lines NOT answered as an FAQ
MIN_RED_FLAG_RECALL = 1.0  # every held-out emergency line gets the urgent-care advice


def evaluate() -> Tuple[List[Dict], Dict]:
    rows = parse_holdout(str(require_model()))
    return rows, summarise(rows)


def write_report(rows: List[Dict], summary: Dict) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "nlu_holdout.json").write_text(json.dumps({"summary": summary, "rows": rows}, indent=2))
    errors = [
        r
        for r in rows
        if r["predicted"] != r["expected"] and not (r["expected"] == "out_of_scope" and r["predicted"] in NOT_ANSWERED)
    ]
    lines = [
        "# NLU held-out evaluation",
        "",
        f"- FAQ/clinic/red-flag lines answered correctly: {summary['answered_correctly']:.1%} "
        f"of {summary['answerable_lines']} (threshold {MIN_ANSWERED_CORRECTLY:.0%})",
        f"- out-of-scope lines not answered as an FAQ: {summary['out_of_scope_not_answered']:.1%} "
        f"of {summary['out_of_scope_lines']} (threshold {MIN_OUT_OF_SCOPE_HELD:.0%})",
        f"- out-of-scope lines answered with the out-of-scope reply or the fallback: "
        f"{summary['out_of_scope_to_fallback']:.1%} (the rest got a chit-chat reply such as a greeting)",
        f"- red-flag recall: {summary['red_flag_recall']:.1%}",
        "",
        "| text | expected | predicted | confidence |",
        "|---|---|---|---|",
        *[f"| {r['text']} | {r['expected']} | {r['predicted']} | {r['confidence']} |" for r in errors],
    ]
    (REPORTS / "nlu_holdout.md").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def results() -> Dict:
    rows, summary = evaluate()
    write_report(rows, summary)
    return summary


def test_holdout_has_enough_lines_per_topic(results):
    topics = {k: v["total"] for k, v in results["per_intent"].items() if k.startswith(FAQ_ANSWER_PREFIXES)}
    expected = {i for i in domain_intents() if i.startswith(FAQ_ANSWER_PREFIXES)}
    assert expected <= set(topics), f"FAQ topics without held-out lines: {expected - set(topics)}"
    small = {k: n for k, n in topics.items() if n < 5}
    assert not small, f"FAQ topics with fewer than 5 held-out lines: {small}"
    assert results["out_of_scope_lines"] >= 20


def test_faq_lines_are_answered_correctly(results):
    assert results["answered_correctly"] >= MIN_ANSWERED_CORRECTLY, "see tests/reports/nlu_holdout.md"


def test_out_of_scope_lines_are_not_answered_as_faq(results):
    assert results["out_of_scope_not_answered"] >= MIN_OUT_OF_SCOPE_HELD, "see tests/reports/nlu_holdout.md"


def test_every_red_flag_is_caught(results):
    assert results["red_flag_recall"] >= MIN_RED_FLAG_RECALL, "see tests/reports/nlu_holdout.md"
