"""`make nlu-compare`: does the clinic's spaCy pipeline measurably help? Train the NLU with and without it.

"with spaCy" is config.yml as shipped; "without" swaps SpacyNLP + SpacyTokenizer for WhitespaceTokenizer
(and drops the spaCy-based components). Both are evaluated on tests/data/nlu_holdout.yml; the result goes to
tests/reports/nlu_compare.md and the README.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

import yaml

from bench.nlu_scoring import parse_holdout, summarise
from bot.processes.launcher import ROOT

SPACY_ONLY = {"SpacyNLP", "SpacyTokenizer", "SpacyEntityExtractor", "bot.nlu.red_flag_detector.RedFlagDetector"}


def without_spacy(config: Dict) -> Dict:
    pipeline: List[Dict] = [c for c in config["pipeline"] if c["name"] not in SPACY_ONLY]
    return {**config, "pipeline": [{"name": "WhitespaceTokenizer"}, *pipeline]}


def train_nlu(config: Dict, out: Path) -> Path:
    config_path = out / "config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    subprocess.run(
        [
            str(Path(sys.executable).parent / "rasa"),
            "train",
            "nlu",
            "--config",
            str(config_path),
            "--nlu",
            "data/nlu",
            "--domain",
            "domain",
            "--out",
            str(out),
            "--fixed-model-name",
            "nlu",
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return out / "nlu.tar.gz"


def score(model: Path) -> Dict[str, float]:
    summary = summarise(parse_holdout(str(model)))
    return {
        "FAQ lines answered correctly": summary["answered_correctly"],
        "out-of-scope not answered as FAQ": summary["out_of_scope_not_answered"],
        "out-of-scope to fallback": summary["out_of_scope_to_fallback"],
        "red-flag recall": summary["red_flag_recall"],
    }


def main() -> int:
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, cfg in (
            ("with spaCy (config.yml)", config),
            ("without spaCy (WhitespaceTokenizer)", without_spacy(config)),
        ):
            out = Path(tmp) / name.split()[0]
            out.mkdir()
            results[name] = score(train_nlu(cfg, out))
    keys = list(next(iter(results.values())))
    lines = ["| pipeline | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    lines += [f"| {name} | " + " | ".join(f"{r[k]:.1%}" for k in keys) + " |" for name, r in results.items()]
    report = "Held-out evaluation (tests/data/nlu_holdout.yml), `make nlu-compare`:\n\n" + "\n".join(lines) + "\n"
    (ROOT / "tests" / "reports").mkdir(parents=True, exist_ok=True)
    (ROOT / "tests" / "reports" / "nlu_compare.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
