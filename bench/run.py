"""`make bench`: training time, model load time, REST latency/throughput and peak RSS, the cost of message 200
against message 5, the `make run` stack's start to first answer and memory per process; then the analytics pages
with 100,000 synthetic conversations (bench/analytics_bench.py).

Writes bench/results.json and bench/results.md; the README quotes them. Medians of several runs
where the machine's noise matters, and ratios against the reference in
../shared/knowledge/rasa-on-this-machine.md (a vanilla `rasa init` bot on this machine). The machine's speed that
day is measured too (`calibration_s`: a fixed pure-Python loop), since this shared machine's speed varies from day
to day: compare runs of different days by it.

Settings: BENCH_RUNS (3), BENCH_SKIP=training,analytics (parts left out, for a quick run), BENCH_OUT (a name instead
of `results`, e.g. to measure another commit with this script).
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

from bench import analytics_bench, stack_memory
from bench.load import run_load
from bench.production_bench import latency_at
from bot.processes.launcher import ROOT, Stack

REFERENCE = {"train_s": 372, "load_s": 180, "p50_1_ms": 265, "throughput_10": 4.4, "rss_mb": 1100}
TARGETS = {
    "train_s": 180,
    "load_s": 8,  # start to first answer (#17)
    "p95_10_ms": 100,
    "throughput_10": 100,  # one Rasa process (#17)
    "rss_mb": 800,
    "stack_mb": 500,  # the whole `make run` stack (#17)
    "ratio_200_5": 1.5,
}
OUT = ROOT / "bench"


def calibration_s(repeats: int = 5) -> float:
    """The machine's speed today: median seconds of a fixed pure-Python loop (lower is faster)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        total = 0
        for i in range(5_000_000):
            total += i % 7
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


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
            *("--config", "config.yml", "--domain", "domain", "--data", "data"),  # as `make train`: domain/ is a folder
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
    skip = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))
    name = os.environ.get("BENCH_OUT", "results")
    results: Dict[str, object] = {
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0], "calibration_s": calibration_s()},
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        .stdout.strip(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        if "training" in skip:
            train_times, model = [], str(ROOT / "models" / "clinic.tar.gz")
        else:
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
        try:
            long = latency_at(stack.rasa_url, runs)  # message 5 and message 200 of one conversation
        finally:
            stack.stop()
    stack_figures = stack_memory.measure(runs)

    def med(rows: List[Dict[str, float]], key: str) -> float:
        return round(statistics.median(r[key] for r in rows), 1)

    results.update(
        {
            "runs": runs,
            "train_s": round(statistics.median(train_times), 1) if train_times else None,
            "load_s": round(statistics.median(load_times), 1),
            "one_conversation": {k: med(single, k) for k in ("p50_ms", "p95_ms", "throughput_msg_s", "errors")},
            "ten_conversations": {k: med(ten, k) for k in ("p50_ms", "p95_ms", "throughput_msg_s", "errors")},
            "peak_rss_mb": round(rss.peak / 2**20),
            "message_5_ms": long["msg5_ms"],
            "message_200_ms": long["msg200_ms"],
            "ratio_200_5": round(long["msg200_ms"] / long["msg5_ms"], 2),
            "make_run": stack_figures,
            "raw": {"train_s": train_times, "load_s": load_times, "one": single, "ten": ten, "long": long["raw"]},
        }
    )
    (OUT / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (OUT / f"{name}.md").write_text(render(results))
    print(render(results))
    return 0 if "analytics" in skip else analytics_bench.main()  # 100,000 conversations -> bench/analytics_results.*


def render(r: Dict) -> str:
    one, ten, stack = r["one_conversation"], r["ten_conversations"], r["make_run"]
    rows = [
        (
            "model load (start to first answer, Rasa and actions)",
            f"{r['load_s']} s",
            f"≈ {REFERENCE['load_s']} s",
            f"≤ {TARGETS['load_s']} s",
            REFERENCE["load_s"] / r["load_s"],
        ),
        (
            "`make run` start to first answer",
            f"{stack['first_answer_s']} s",
            f"≈ {REFERENCE['load_s']} s",
            f"≤ {TARGETS['load_s']} s",
            REFERENCE["load_s"] / stack["first_answer_s"],
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
            "message 200 / message 5 (one conversation)",
            f"{r['message_200_ms']} / {r['message_5_ms']} ms = {r['ratio_200_5']}×",
            "",
            f"≤ {TARGETS['ratio_200_5']}×",
            None,
        ),
        (
            "peak RSS (rasa run)",
            f"{r['peak_rss_mb']} MB",
            f"{REFERENCE['rss_mb']} MB",
            f"≤ {TARGETS['rss_mb']} MB",
            REFERENCE["rss_mb"] / r["peak_rss_mb"],
        ),
        (
            "peak RSS, whole `make run` stack",
            f"{stack['peak_total_mb']} MB ("
            + ", ".join(f"{part} {mb}" for part, mb in stack["peak_mb"].items())
            + ")",
            "",
            f"< {TARGETS['stack_mb']} MB",
            None,
        ),
    ]
    if r.get("train_s"):
        rows.insert(
            0,
            (
                "full training",
                f"{r['train_s']} s",
                f"{REFERENCE['train_s']} s",
                f"≤ {TARGETS['train_s']} s",
                REFERENCE["train_s"] / r["train_s"],
            ),
        )
    lines = [
        f"Medians of {r['runs']} runs on {r['machine']['cores']} cores (commit {r.get('commit', '?')}; this machine's "
        f"speed that day: {r['machine'].get('calibration_s', '?')} s for bench/run.py's calibration loop, lower is "
        f"faster); errors: {one['errors']} (1 conv), {ten['errors']} (10 conv). Ratio = how many times better than "
        "the reference.",
        "",
        "| measure | this assistant | reference (vanilla `rasa init`) | target | ratio |",
        "|---|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} | {f'{e:.1f}×' if e else ''} |" for a, b, c, d, e in rows],
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
