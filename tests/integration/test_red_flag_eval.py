"""Red-flag triage on held-out lines written as patients type, in two files, each measured on its own.

- tests/data/red_flags.yml (230 lines): written alongside the patterns and the training data;
- tests/data/red_flags_blind.yml (130 lines: 60 emergencies, 70 look-alikes): written by someone who had not seen
  the system. First pass with the model before any change made for it (the honest held-out figure):
  recall 52/60 = 86.7 % (emergency 20/22, emergency_typo 14/18, emergency_in_long_message 18/20);
  over-triage 12/70 = 17.1 % (negated 3/25, chronic 2/25, other 7/20). Later figures on this file are no
  longer blind: the patterns and the detector were then changed for the causes of its misses.

Two measures per file, reported separately and per kind in tests/reports/red_flags.md:
- recall: emergency lines (typos, inside other questions, after negated or chronic talk) that get `red_flag`;
- over-triage: look-alike lines (negated symptoms, chronic pain, "broke my PB", healed fractures) that get it.
In each file every emergency must get the urgent-care advice, and fewer than 1 in 10 look-alikes may get it.
None of the lines is in the training data (`test_eval_lines_are_not_training_examples`).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from bench.nlu_scoring import NOT_ANSWERED
from bot.nlu.red_flag_detector import RED_FLAG_INTENT
from tests.conftest import REPORTS, ROOT, require_model

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parents[1] / "data"
EVAL_SETS = {"red_flags.yml": HERE / "red_flags.yml", "red_flags_blind.yml": HERE / "red_flags_blind.yml"}
KINDS = {
    True: ("emergency", "emergency_typo", "emergency_in_long_message"),
    False: ("negated", "chronic_lookalike", "other_lookalike"),
}
MIN_LINES = 200  # both files together
MIN_RECALL = 1.0  # every emergency gets the urgent-care advice
MAX_OVER_TRIAGE = 0.10  # share of look-alikes that get it anyway (strictly below)


def load_lines(name: str) -> List[Dict]:
    return yaml.safe_load(EVAL_SETS[name].read_text())["lines"]


def all_lines() -> List[Dict]:
    return [line for name in EVAL_SETS for line in load_lines(name)]


def predict(texts: List[str]) -> List[Dict]:
    """Parse every line with the trained model, as bench.nlu_scoring.parse_holdout does for the holdout."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(require_model()))

    async def parse_all() -> List[Dict]:
        return [await agent.parse_message(t) for t in texts]

    return asyncio.run(parse_all())


def pattern_kinds(texts: List[str]) -> List[List[str]]:
    """The red-flag pattern kinds the spaCy pipeline finds in each line (for the report: pattern or classifier)."""
    import spacy

    from bot.nlu.red_flag_detector import red_flag_kinds

    nlp = spacy.load(ROOT / ".build" / "spacy_en_clinic")
    return [red_flag_kinds(doc) for doc in nlp.pipe(texts)]


def rate(rows: List[Dict]) -> float:
    return sum(r["predicted"] == RED_FLAG_INTENT for r in rows) / len(rows) if rows else 0.0


def summarise(rows: List[Dict]) -> Dict:
    flags = [r for r in rows if r["red_flag"]]
    lookalikes = [r for r in rows if not r["red_flag"]]
    by_kind: Dict[str, List[Dict]] = defaultdict(list)
    for r in rows:
        by_kind[r["kind"]].append(r)
    return {
        "lines": len(rows),
        "emergency_lines": len(flags),
        "lookalike_lines": len(lookalikes),
        "recall": rate(flags),
        "over_triage": rate(lookalikes),
        "per_kind": {
            kind: {"lines": len(rs), "red_flag": sum(r["predicted"] == RED_FLAG_INTENT for r in rs)}
            for kind, rs in ((k, by_kind[k]) for k in (*KINDS[True], *KINDS[False]))
        },
        # what the look-alikes that were not triaged got instead, per kind
        "lookalike_intents": {
            kind: dict(Counter(r["predicted"] for r in by_kind[kind] if r["predicted"] != RED_FLAG_INTENT))
            for kind in KINDS[False]
        },
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def file_section(name: str, rows: List[Dict], summary: Dict) -> List[str]:
    misses = [r for r in rows if r["red_flag"] and r["predicted"] != RED_FLAG_INTENT]
    over = [r for r in rows if not r["red_flag"] and r["predicted"] == RED_FLAG_INTENT]
    not_flagged = [r for r in rows if not r["red_flag"] and r["predicted"] != RED_FLAG_INTENT]
    header = ["| text | kind | predicted | confidence | patterns |", "|---|---|---|---|---|"]

    def table(selected: List[Dict]) -> List[str]:
        if not selected:
            return ["(none)"]
        return header + [
            f"| {_cell(r['text'])} | {r['kind']} | {r['predicted']} | {r['confidence']} | "
            f"{', '.join(r['patterns']) or '-'} |"
            for r in selected
        ]

    return [
        f"## tests/data/{name}",
        "",
        f"- recall (emergency lines that get the urgent-care advice): {summary['recall']:.1%} "
        f"of {summary['emergency_lines']} (threshold {MIN_RECALL:.0%})",
        f"- over-triage (look-alike lines that get it anyway): {summary['over_triage']:.1%} "
        f"of {summary['lookalike_lines']} (threshold below {MAX_OVER_TRIAGE:.0%})",
        "",
        "| kind | lines | predicted red_flag | rate |",
        "|---|---|---|---|",
        *[
            f"| {kind} | {c['lines']} | {c['red_flag']} | {c['red_flag'] / c['lines']:.1%} |"
            for kind, c in summary["per_kind"].items()
            if c["lines"]
        ],
        "",
        "`patterns`: the red-flag pattern kinds the spaCy pipeline found (before negation); `-`: none, so a",
        "`red_flag` prediction came from the classifier.",
        "",
        f"### Missed emergencies ({len(misses)})",
        "",
        *table(misses),
        "",
        f"### Over-triaged look-alikes ({len(over)})",
        "",
        *table(over),
        "",
        "### What the other look-alikes got",
        "",
        *[
            f"- {kind}: " + ", ".join(f"{k} {v}" for k, v in sorted(got.items(), key=lambda kv: -kv[1]))
            for kind, got in summary["lookalike_intents"].items()
        ],
        "",
        *table(not_flagged),
        "",
    ]


def write_report(per_file: Dict[str, Dict]) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "red_flags.json").write_text(json.dumps(per_file, indent=2))
    overview = [
        "# Red-flag triage evaluation (tests/integration/test_red_flag_eval.py)",
        "",
        "| file | lines | recall | over-triage |",
        "|---|---|---|---|",
        *[
            f"| tests/data/{name} | {r['summary']['lines']} | {r['summary']['recall']:.1%} "
            f"of {r['summary']['emergency_lines']} | {r['summary']['over_triage']:.1%} "
            f"of {r['summary']['lookalike_lines']} |"
            for name, r in per_file.items()
        ],
        "",
        "First pass on tests/data/red_flags_blind.yml (written without seeing the system), before any change made for",
        "it: recall 52/60 = 86.7 %, over-triage 12/70 = 17.1 % (see the module docstring of the test).",
        "",
    ]
    sections = [line for name, r in per_file.items() for line in file_section(name, r["rows"], r["summary"])]
    (REPORTS / "red_flags.md").write_text("\n".join(overview + sections))


@pytest.fixture(scope="module")
def per_file() -> Dict[str, Dict]:
    """Rows and summary per evaluation file (one model load, one report for both)."""
    named = [(name, line) for name in EVAL_SETS for line in load_lines(name)]
    texts = [line["text"] for _, line in named]
    parsed = predict(texts)
    rows: Dict[str, List[Dict]] = defaultdict(list)
    for (name, line), p, kinds in zip(named, parsed, pattern_kinds(texts)):
        rows[name].append(
            {
                "text": line["text"],
                "red_flag": bool(line["red_flag"]),
                "kind": line["kind"],
                "predicted": p["intent"]["name"],
                "confidence": round(float(p["intent"].get("confidence") or 0), 3),
                "patterns": kinds,
            }
        )
    result = {name: {"summary": summarise(rows[name]), "rows": rows[name]} for name in EVAL_SETS}
    write_report(result)
    return result


def test_eval_sets_have_an_answer_key_per_line():
    lines = all_lines()
    assert len(lines) >= MIN_LINES
    for line in lines:
        assert isinstance(line["red_flag"], bool), line
        assert line["kind"] in KINDS[line["red_flag"]], line
        assert line["red_flag"] or line.get("why"), f"a look-alike needs a `why`: {line}"
    assert len({line["text"].lower() for line in lines}) == len(lines), "duplicate lines (within or across files)"
    per_kind = Counter(line["kind"] for line in lines)
    assert all(per_kind[k] >= 20 for kinds in KINDS.values() for k in kinds), per_kind


def _normalised(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


def test_eval_lines_are_not_training_examples():
    """Held out: training additions are phrased differently, never copied from either file."""
    training = set()
    for path in (ROOT / "data").rglob("*.yml"):
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu") or []:
            for example in str(block.get("examples") or "").splitlines():
                training.add(_normalised(example.strip().lstrip("-").strip()))
    copied = [line["text"] for line in all_lines() if _normalised(line["text"]) in training]
    assert not copied, copied


@pytest.mark.parametrize("name", list(EVAL_SETS))
def test_every_emergency_gets_urgent_care_advice(per_file, name):
    assert per_file[name]["summary"]["recall"] >= MIN_RECALL, f"{name}: see tests/reports/red_flags.md"


@pytest.mark.parametrize("name", list(EVAL_SETS))
def test_few_lookalikes_get_urgent_care_advice(per_file, name):
    assert per_file[name]["summary"]["over_triage"] < MAX_OVER_TRIAGE, f"{name}: see tests/reports/red_flags.md"


@pytest.mark.parametrize("name", list(EVAL_SETS))
def test_lookalikes_that_are_not_triaged_are_not_left_unanswered_en_masse(per_file, name):
    """Look-alikes are patients talking about their pain: most should get a real answer, not the fallback."""
    got = per_file[name]["summary"]["lookalike_intents"].values()
    other: Counter = sum((Counter(g) for g in got), Counter())
    unanswered = sum(n for intent, n in other.items() if intent in NOT_ANSWERED)
    answered = sum(n for intent, n in other.items() if intent not in NOT_ANSWERED)
    assert answered >= unanswered, f"{name}: see tests/reports/red_flags.md: {other}"
