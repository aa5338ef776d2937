"""`make bench`: training time, model load time, REST latency/throughput and peak RSS; then the analytics pages
with 100,000 synthetic conversations (bench/analytics_bench.py).

Writes bench/results.json and bench/results.md; the README quotes them. Medians of several runs
where the machine's noise matters, and ratios against the reference in
../shared/knowledge/rasa-on-this-machine.md (a vanilla `rasa init` bot on this machine).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List

import psutil

from bench import analytics_bench
from bench.load import run_load
from bot.processes.launcher import ROOT, Stack

REFERENCE = {"train_s": 372, "load_s": 180, "p50_1_ms": 265, "throughput_10": 4.4, "rss_mb": 1100}
TARGETS = {"train_s": 180, "load_s": 30, "p95_10_ms": 100, "throughput_10": 40, "rss_mb": 800}
OUT = ROOT / "bench"


class PeakRss(threading.Thread):
    """Samples the resident memory of a process tree every 100 ms and keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            time.sleep(0.1)


def train(out_dir: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).parent / "rasa"),
            "train",
            "--out",
            out_dir,
            "--fixed-model-name",
            "bench",
            "--force",
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def start_and_measure_load(model: str, data_dir: str) -> tuple[Stack, float]:
    stack = Stack(
        rasa_port=5105,
        action_port=5155,
        web=False,  # Rasa and the action server only: the web service is not on the message path
        model=model,
        log_dir=Path(data_dir) / "logs",
        tracker_db=str(Path(data_dir) / "bench.sqlite"),
    )
    started = time.perf_counter()
    stack.start()
    stack.wait_ready(timeout=900)
    asyncio.run(run_load(stack.rasa_url, 1, 1))  # first answer
    return stack, time.perf_counter() - started


def main() -> int:
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    results: Dict[str, object] = {"machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]}}
    with tempfile.TemporaryDirectory() as tmp:
        train_times = [train(tmp) for _ in range(runs)]
        model = str(Path(tmp) / "bench.tar.gz")
        load_times: List[float] = []
        for _ in range(runs - 1):
            stack, seconds = start_and_measure_load(model, tmp)
            load_times.append(seconds)
            stack.stop()
        stack, seconds = start_and_measure_load(model, tmp)
        load_times.append(seconds)
        rss = PeakRss(stack.processes["rasa"].pid)
        rss.start()
        try:
            single = [asyncio.run(run_load(stack.rasa_url, 1, 60)) for _ in range(runs)]
            ten = [asyncio.run(run_load(stack.rasa_url, 10, 30)) for _ in range(runs)]
        finally:
            rss.running = False
            rss.join()
            stack.stop()

    def med(rows: List[Dict[str, float]], key: str) -> float:
        return round(statistics.median(r[key] for r in rows), 1)

    results.update(
        {
            "runs": runs,
            "train_s": round(statistics.median(train_times), 1),
            "load_s": round(statistics.median(load_times), 1),
            "one_conversation": {k: med(single, k) for k in ("p50_ms", "p95_ms", "throughput_msg_s", "errors")},
            "ten_conversations": {k: med(ten, k) for k in ("p50_ms", "p95_ms", "throughput_msg_s", "errors")},
            "peak_rss_mb": round(rss.peak / 2**20),
            "raw": {"train_s": train_times, "load_s": load_times, "one": single, "ten": ten},
        }
    )
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (OUT / "results.md").write_text(render(results))
    print(render(results))
    return analytics_bench.main()  # the analytics with 100,000 conversations -> bench/analytics_results.*


def render(r: Dict) -> str:
    one, ten = r["one_conversation"], r["ten_conversations"]
    rows = [
        (
            "full training",
            f"{r['train_s']} s",
            f"{REFERENCE['train_s']} s",
            f"≤ {TARGETS['train_s']} s",
            REFERENCE["train_s"] / r["train_s"],
        ),
        (
            "model load (start to first answer)",
            f"{r['load_s']} s",
            f"≈ {REFERENCE['load_s']} s",
            f"≤ {TARGETS['load_s']} s",
            REFERENCE["load_s"] / r["load_s"],
        ),
        (
            "1 conversation p50 / p95",
            f"{one['p50_ms']} / {one['p95_ms']} ms",
            f"{REFERENCE['p50_1_ms']} ms p50",
            "",
            REFERENCE["p50_1_ms"] / one["p50_ms"],
        ),
        (
            "10 conversations p50 / p95",
            f"{ten['p50_ms']} / {ten['p95_ms']} ms",
            "2000 / 4300 ms",
            f"p95 ≤ {TARGETS['p95_10_ms']} ms",
            4300 / ten["p95_ms"],
        ),
        (
            "10 conversations throughput",
            f"{ten['throughput_msg_s']} msg/s",
            f"{REFERENCE['throughput_10']} msg/s",
            f"≥ {TARGETS['throughput_10']} msg/s",
            ten["throughput_msg_s"] / REFERENCE["throughput_10"],
        ),
        (
            "peak RSS (rasa run)",
            f"{r['peak_rss_mb']} MB",
            f"{REFERENCE['rss_mb']} MB",
            f"≤ {TARGETS['rss_mb']} MB",
            REFERENCE["rss_mb"] / r["peak_rss_mb"],
        ),
    ]
    lines = [
        f"Medians of {r['runs']} runs on {r['machine']['cores']} cores; errors: "
        f"{one['errors']} (1 conv), {ten['errors']} (10 conv). Ratio = how many times better than the reference.",
        "",
        "| measure | this assistant | reference (vanilla `rasa init`) | target | ratio |",
        "|---|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} | {e:.1f}× |" for a, b, c, d, e in rows],
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
