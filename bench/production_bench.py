"""`make bench-production`: the production profile against the local one, on this machine.

- per-message latency at message 5 and at message 200 of one REST conversation (median of
  BENCH_CONVERSATIONS conversations, 3 by default), for the local profile (`Stack`, SQLite tracker store,
  Rasa called directly) and the production profile (PostgreSQL + Redis, 2 Rasa processes behind nginx);
  ratio message 200 / message 5 in each profile (the cost must not grow with the conversation), target ≤ 1.5;
- throughput and p50/p95 with 10 and 50 concurrent conversations (bench/load.py), production profile
  with 1 and with 2 Rasa processes behind nginx: as fast as the replies come (capacity), and paced at
  `PACED_RATE` messages/s in all (the compass target: >= 40 msg/s at p95 <= 100 ms).

PostgreSQL and Redis are the throw-away servers of tests/support/services.py (fsync off). Writes
bench/production_results.json and bench/production_results.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Dict, List

from bench.load import MESSAGES, rest_headers, run_load
from bot.processes.launcher import ROOT, Stack
from bot.processes.production import ProductionStack
from tests.support.services import LocalPostgres, LocalRedis

OUT = ROOT / "bench"
MODEL = os.environ.get("RASA_MODEL", str(ROOT / "models" / "clinic.tar.gz"))
AT = (5, 200)  # message numbers whose latency is compared
TARGET_RATIO = 1.5
TURNS = 14  # messages per conversation in the concurrency runs (bench/load.py's list once)
PACED_RATE = 40.0  # messages/s offered in the paced runs: the compass target is this at p95 <= 100 ms
PACED_TURNS = 28
P95_TARGET_MS = 100.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, sender: str, message: str) -> float:
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json", **rest_headers()},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 (loopback)
        body = json.loads(response.read())
    if response.status != 200 or not body:
        raise RuntimeError(f"no answer to {message!r}")
    return (time.perf_counter() - started) * 1000


def latency_at(url: str, conversations: int) -> Dict[str, object]:
    """Median latency (ms) of message 5 and message 200 over `conversations` sequential conversations."""
    _post(url, f"warm-{uuid.uuid4().hex[:8]}", "hi")
    samples: Dict[int, List[float]] = {n: [] for n in AT}
    for _ in range(conversations):
        sender = f"long-{uuid.uuid4().hex[:10]}"
        for n in range(1, max(AT) + 1):
            ms = _post(url, sender, MESSAGES[(n - 1) % len(MESSAGES)])
            if n in samples:
                samples[n].append(round(ms, 1))
    return {
        **{f"msg{n}_ms": round(statistics.median(v), 1) for n, v in samples.items()},
        "raw": {str(n): v for n, v in samples.items()},
    }


def concurrency(url: str) -> Dict[str, Dict[str, float]]:
    """10 and 50 conversations as fast as the server answers, then paced at `PACED_RATE` messages/s."""
    asyncio.run(run_load(url, 2, 2))  # warm-up
    flat_out = {str(c): asyncio.run(run_load(url, c, TURNS)) for c in (10, 50)}
    paced = {f"{c}@{PACED_RATE:g}": asyncio.run(run_load(url, c, PACED_TURNS, rate=PACED_RATE)) for c in (10, 50)}
    return {**flat_out, **paced}


def main() -> int:
    runs = int(os.environ.get("BENCH_CONVERSATIONS", "3"))
    os.environ.setdefault("REST_CHANNEL_TOKEN", secrets.token_urlsafe(24))  # the production profile requires one
    results: Dict[str, object] = {
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "conversations": runs,
        "turns_concurrent": TURNS,
    }
    tmp = Path(tempfile.mkdtemp(prefix="bench-production-"))
    postgres = LocalPostgres(Path(tempfile.mkdtemp(prefix="bench-production-pg-")), free_port())
    lock_store = LocalRedis(free_port())
    try:
        local = Stack(
            rasa_port=free_port(),
            action_port=free_port(),
            web=False,
            model=MODEL,
            tracker_db=str(tmp / "local.sqlite"),
            log_dir=tmp / "logs-local",
        )
        local.start()
        try:
            local.wait_ready(timeout=900)
            results["local"] = latency_at(local.rasa_url, runs)
        finally:
            local.stop()
        postgres.start()
        lock_store.start()
        for workers in (2, 1):
            stack = ProductionStack(
                database_url=postgres.url,
                redis_url=lock_store.url,
                worker_ports=[free_port() for _ in range(workers)],
                public_port=free_port(),
                action_port=free_port(),
                model=MODEL,
                workdir=tmp / f"run-{workers}",
                log_dir=tmp / f"logs-{workers}",
            )
            stack.workdir.mkdir(parents=True, exist_ok=True)
            stack.start()
            try:
                stack.wait_ready(timeout=900)
                if workers == 2:
                    results["production"] = latency_at(stack.public_url, runs)
                results[f"workers_{workers}"] = concurrency(stack.public_url)
            finally:
                stack.stop()
    finally:
        lock_store.stop()
        postgres.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(postgres.workdir, ignore_errors=True)
    first, last = min(AT), max(AT)
    results["ratio"] = {
        profile: round(results[profile][f"msg{last}_ms"] / results[profile][f"msg{first}_ms"], 2)
        for profile in ("local", "production")
    }
    (OUT / "production_results.json").write_text(json.dumps(results, indent=2) + "\n")
    (OUT / "production_results.md").write_text(render(results))
    print(render(results))
    return 0


def render(r: Dict) -> str:
    local, prod, ratio = r["local"], r["production"], r["ratio"]
    lines = [
        f"`make bench-production` on {r['machine']['cores']} cores, everything on 127.0.0.1 "
        "(PostgreSQL with fsync off, Redis, nginx).",
        "",
        f"Latency of one message in a conversation (median of {r['conversations']} conversations of "
        f"{max(AT)} messages, one at a time). Target: message {max(AT)} ≤ {TARGET_RATIO}× message {min(AT)}.",
        "",
        "| profile | " + " | ".join(f"message {n}" for n in AT) + f" | ratio {max(AT)}/{min(AT)} | target |",
        "|---|" + "---|" * (len(AT) + 2),
        *[
            f"| {name} | "
            + " | ".join(f"{row[f'msg{n}_ms']} ms" for n in AT)
            + f" | {ratio[key]}× | {'met' if ratio[key] <= TARGET_RATIO else 'missed'} |"
            for key, name, row in (
                ("local", "local (SQLite, 1 Rasa)", local),
                ("production", "production (PostgreSQL + Redis, 2 Rasa + nginx)", prod),
            )
        ],
        "",
        f"Concurrent conversations through nginx, production profile: {r['turns_concurrent']} messages each "
        f"sent as fast as the replies come, or {PACED_TURNS} messages each paced so that all together offer "
        f"{PACED_RATE:g} messages/s. Compass target: ≥ {PACED_RATE:g} msg/s at p95 ≤ {P95_TARGET_MS:g} ms (met: "
        "the server kept up with the offered rate, within 5 %, and p95 stayed under the limit); the runs as fast "
        "as possible measure capacity, where p95 is mostly queueing.",
        "",
        "| Rasa processes | conversations | offered | throughput | p50 | p95 | errors | compass target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for workers in (1, 2):
        for row in r[f"workers_{workers}"].values():
            paced = bool(row.get("offered_msg_s"))
            offered = f"{row['offered_msg_s']:g} msg/s" if paced else "as fast as possible"
            met = row["throughput_msg_s"] >= PACED_RATE * 0.95 and row["p95_ms"] <= P95_TARGET_MS
            verdict = ("met" if met else "missed") if paced else "(capacity)"
            lines.append(
                f"| {workers} | {row['conversations']} | {offered} | {row['throughput_msg_s']} msg/s | "
                f"{row['p50_ms']} ms | {row['p95_ms']} ms | {row['errors']} | {verdict} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
