"""`make profile`: where a message's time goes in `rasa run` under load (py-spy), as shares of samples.

Starts the assistant (Rasa and actions, like `make bench`), runs 10 concurrent REST conversations while
py-spy samples the Rasa process, and prints the inclusive share of the functions that matter. Sampling
slows the server down; read the shares, not the throughput.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.load import run_load
from bot.processes.launcher import Stack

WATCH = {
    "retrieve": "tracker retrieval (cached session + new rows)",
    "save": "tracker save (SQL insert + commit)",
    "commit": "database commit",
    "_parse_message_with_graph": "NLU (whole pipeline)",
    "_doc_for_text": "NLU: spaCy pipeline (SpacyNLP)",
    "extract_spacy_entities": "NLU: spaCy entity extractor",
    "count_vectors_process": "NLU: count-vector featurizers",
    "create_x": "NLU: classifier input",
    "predict_proba": "NLU: logistic regression",
    "_predict_next_with_tracker": "policies (next action)",
    "past_states": "policies: dialogue states",
    "get_possible_keys": "policies: rule matching",
    "_run_action": "running actions (incl. action server calls)",
    "run_graph": "graph runner (NLU and policies run inside it, bot/rasa_patches.py 13)",
}


def shares(raw: Path) -> Counter:
    """Inclusive share of each watched function in the samples of the server's thread (idle worker threads of
    thread pools, which py-spy can count as active, are left out)."""
    counts: Counter = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack.startswith("_bootstrap"):
            continue
        total += int(n)
        names = {frame.split(" (")[0] for frame in stack.split(";")}
        for name in names & WATCH.keys():
            counts[name] += int(n)
    return Counter({name: count / total for name, count in counts.items()})


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(
            rasa_port=5115, action_port=5165, web=False, tracker_db=f"{tmp}/p.sqlite", log_dir=Path(tmp) / "logs"
        )
        stack.start()
        try:
            stack.wait_ready()
            asyncio.run(run_load(stack.rasa_url, 2, 5))  # warm up
            raw = Path(tmp) / "profile.txt"
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "-p",
                    str(stack.processes["rasa"].pid),
                    "-o",
                    str(raw),
                    "-f",
                    "raw",
                    "-d",
                    "20",
                    "-r",
                    "100",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)
            load = asyncio.run(run_load(stack.rasa_url, 10, 40))
            spy.wait()
            result = shares(raw)
        finally:
            stack.stop()
    print(f"load under py-spy: {load}")
    for name, share in result.most_common():
        print(f"{share:6.1%}  {WATCH[name]} ({name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
