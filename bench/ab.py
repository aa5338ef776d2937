"""Per-message cost of this checkout against another one, measured interleaved on the same machine.

    python -m bench.ab /path/to/other/checkout [pairs]

Each checkout runs its own action server and `rasa run` (its own code and its trained models/clinic.tar.gz)
and gets the REST load of `make bench` (1 conversation x 60 messages, 5 runs; 10 conversations x 30, 3 runs).
The two alternate `pairs` times (default 3) so the machine's noise falls on both; the medians and their
ratios go to bench/ab_results.md. Used for #11: "per-message cost stays within 20 % of today's".
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

OUT = Path(__file__).resolve().parent / "ab_results.md"
KEYS = ("one_p50", "one_p95", "ten_p50", "ten_p95", "ten_tput")


def measure_here(port: int) -> Dict[str, float]:
    """Start this checkout's stack, play the load, stop it; medians of the runs."""
    from bench.load import run_load

    try:
        from bot.processes.launcher import ROOT, Stack
    except ImportError:  # a checkout from before #12's layout
        from bot.launcher import ROOT, Stack  # type: ignore[no-redef]

    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(
            rasa_port=port,
            action_port=port + 50,
            web=False,
            model=str(ROOT / "models" / "clinic.tar.gz"),
            log_dir=Path(tmp) / "logs",
            tracker_db=str(Path(tmp) / "bench.sqlite"),
        )
        stack.start()
        try:
            stack.wait_ready(timeout=600)
            asyncio.run(run_load(stack.rasa_url, 1, 5))  # warm up
            one = [asyncio.run(run_load(stack.rasa_url, 1, 60)) for _ in range(5)]
            ten = [asyncio.run(run_load(stack.rasa_url, 10, 30)) for _ in range(3)]
        finally:
            stack.stop()

    def med(rows: List[Dict[str, float]], key: str) -> float:
        return round(statistics.median(r[key] for r in rows), 1)

    return {
        "one_p50": med(one, "p50_ms"),
        "one_p95": med(one, "p95_ms"),
        "ten_p50": med(ten, "p50_ms"),
        "ten_p95": med(ten, "p95_ms"),
        "ten_tput": med(ten, "throughput_msg_s"),
    }


def measure(checkout: Path, port: int) -> Dict[str, float]:
    """`measure_here` run inside `checkout` (its own code), with this venv's Python."""
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--here", str(port)],  # this file, the checkout's modules
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _ratio(medians: Dict[str, Dict[str, float]], key: str) -> float:
    return medians["this"][key] / medians["other"][key]


def main(argv: List[str]) -> int:
    if argv[:1] == ["--here"]:
        print(json.dumps(measure_here(int(argv[1]))))
        return 0
    other, here = Path(argv[0]).resolve(), Path(__file__).resolve().parent.parent
    pairs = int(argv[1]) if len(argv) > 1 else 3
    runs: Dict[str, List[Dict[str, float]]] = {"other": [], "this": []}
    for _ in range(pairs):
        runs["other"].append(measure(other, 5205))
        runs["this"].append(measure(here, 5205))
    medians = {name: {k: statistics.median(r[k] for r in rows) for k in KEYS} for name, rows in runs.items()}
    lines = [
        f"# Per-message cost: this checkout vs {other}",
        "",
        f"`python -m bench.ab {other} {pairs}`: medians of {pairs} interleaved pairs (ms; throughput in msg/s).",
        "",
        "| measure | other | this | this / other |",
        "|---|---|---|---|",
        *[f"| {k} | {medians['other'][k]:.1f} | {medians['this'][k]:.1f} | {_ratio(medians, k):.2f} |" for k in KEYS],
        "",
        "Raw runs: " + json.dumps(runs),
    ]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:-2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
