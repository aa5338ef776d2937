"""The `make run` stack as a clinic runs it: start to first answer, and the memory of each of its processes.

Starts `python -m bot.processes.launcher` (what `make run` runs: the launcher, the action server, `rasa run` and the
web service) on free ports with a throw-away conversations database, times it from the start to the first REST
answer, has 10 conversations of 20 messages with it, and samples the resident memory (RSS) of every process of the
tree every 100 ms, keeping each one's peak and the peak of their sum.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Dict, List

import psutil

from bench.load import run_load
from bot.processes.launcher import ROOT

# the launcher's children, by what their command line runs
PARTS = {"rasa": "rasa_cli", "actions": "action_server", "web": "bot.web"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def part_of(process: psutil.Process, launcher_pid: int) -> str:
    """Which part of the stack a process of the tree is (the launcher itself, rasa, actions, web or other)."""
    if process.pid == launcher_pid:
        return "launcher"
    command = " ".join(process.cmdline())
    for part, marker in PARTS.items():
        if marker in command:
            return part
    return "rasa" if " run " in f" {command} " and "rasa" in command else "other"


class TreeMemory(threading.Thread):
    """Peak RSS of each part of a process tree and of the whole tree, sampled every 100 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peaks: Dict[str, int] = {}
        self.peak_total = 0
        self.running = True

    def sample(self) -> None:
        now: Dict[str, int] = {}
        for process in [self.root, *self.root.children(recursive=True)]:
            try:
                part = part_of(process, self.root.pid)
                now[part] = now.get(part, 0) + process.memory_info().rss
            except psutil.Error:
                continue
        for part, rss in now.items():
            self.peaks[part] = max(self.peaks.get(part, 0), rss)
        self.peak_total = max(self.peak_total, sum(now.values()))

    def run(self) -> None:
        while self.running:
            with contextlib.suppress(psutil.Error):
                self.sample()
            time.sleep(0.1)


def _answered(url: str) -> bool:
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=b'{"sender": "bench-start", "message": "hi"}',
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
            return response.status == 200 and response.read().strip() not in (b"", b"[]")
    except OSError:
        return False


def one_start(workdir: Path) -> Dict[str, object]:
    """Start the `make run` stack once: seconds to the first answer, then each part's peak memory under load."""
    rasa_port = _free_port()
    env = {
        **os.environ,
        "RASA_PORT": str(rasa_port),
        "ACTION_PORT": str(_free_port()),
        "WEB_PORT": str(_free_port()),
        "TRACKER_DB": str(workdir / f"conversations-{rasa_port}.sqlite"),
        "LOG_DIR": str(workdir / f"logs-{rasa_port}"),
    }
    started = time.perf_counter()
    launcher = subprocess.Popen(
        [sys.executable, "-m", "bot.processes.launcher"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    memory = TreeMemory(launcher.pid)
    memory.start()
    url = f"http://127.0.0.1:{rasa_port}"
    try:
        while not _answered(url):
            if launcher.poll() is not None or time.perf_counter() - started > 600:
                raise RuntimeError("the make run stack did not answer")
            time.sleep(0.05)
        first_answer = time.perf_counter() - started
        asyncio.run(run_load(url, 10, 20))
        memory.sample()
    finally:
        memory.running = False
        memory.join()
        os.killpg(launcher.pid, signal.SIGTERM)
        try:
            launcher.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)
    return {
        "first_answer_s": round(first_answer, 1),
        "peak_mb": {part: round(rss / 2**20) for part, rss in sorted(memory.peaks.items())},
        "peak_total_mb": round(memory.peak_total / 2**20),
    }


def measure(runs: int = 3) -> Dict[str, object]:
    """`runs` starts of the `make run` stack: medians of the first answer and of the memory figures."""
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        starts: List[Dict[str, object]] = [one_start(Path(tmp)) for _ in range(runs)]
    parts = sorted({part for start in starts for part in start["peak_mb"]})
    return {
        "first_answer_s": round(statistics.median(s["first_answer_s"] for s in starts), 1),
        "peak_mb": {p: round(statistics.median(s["peak_mb"].get(p, 0) for s in starts)) for p in parts},
        "peak_total_mb": round(statistics.median(s["peak_total_mb"] for s in starts)),
        "raw": starts,
    }


if __name__ == "__main__":
    print(measure(int(os.environ.get("BENCH_RUNS", "3"))))
