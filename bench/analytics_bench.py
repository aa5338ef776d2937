"""The analytics with 100,000 synthetic conversations (part of `make bench`, or `python -m bench.analytics_bench`).

1. bot/analytics/synthetic.py writes 100,000 conversations over 90 days (and ratings) into temporary SQLite
   databases;
2. the first full aggregation is timed (bot/analytics/aggregates.py);
3. the web service runs as in production (`python -m bot.web`, uvicorn, its own process) on those databases; a
   logged-in staff session asks over HTTP for the analytics page (default period, and 90 days per week) and the
   review list (all, and with a flag filter), each at least 5 times after a warm-up: medians and maxima.

Target: each page under 1 s. Results: bench/analytics_results.json and .md. BENCH_ANALYTICS_CONVERSATIONS changes
the number (e.g. for a quick look).
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import httpx
import sqlalchemy as sa

from bot.analytics import synthetic
from bot.analytics.aggregates import Aggregator
from bot.analytics.store import sessions_table
from bot.staff.accounts import StaffAccounts
from bot.storage.transcripts import TranscriptReader

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench"
CONVERSATIONS = int(os.environ.get("BENCH_ANALYTICS_CONVERSATIONS", "100000"))
DAYS, SEED, REQUESTS = 90, 1, 7
TARGET_S = 1.0
PASSWORD = "long enough password for the analytics"
PAGES = {
    "analytics, last 7 days per day": "/staff/analytics",
    "analytics, last 90 days per week": "/staff/analytics?period=90&by=week",
    "review list": "/staff/review",
    "review list, flag fallback": "/staff/review?flag=fallback",
    "review list, flag thumbs down, Messenger": "/staff/review?flag=thumbs_down&channel=messenger",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_web(tracker_url: str, requests_url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "RASA_TRACKER_DB_URL": tracker_url,
        "BOOKING_REQUESTS_DB_URL": requests_url,
        "WEB_PORT": str(port),
        "SMTP_HOST": "",
        "ANALYTICS_INTERVAL": "60",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.web"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the web service did not start")


def log_in(client: httpx.Client) -> None:
    page = client.get("/staff/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    answer = client.post(
        "/staff/login", data={"username": "bench", "password": PASSWORD, "login_csrf": token, "next": "/staff/"}
    )
    if answer.status_code != 303:
        raise RuntimeError(f"log-in failed: {answer.status_code}")


def measure(client: httpx.Client, path: str) -> Dict[str, float]:
    client.get(path)  # warm-up (the first request makes the conversations' references of a review page)
    times: List[float] = []
    for _ in range(REQUESTS):
        began = time.perf_counter()
        answer = client.get(path)
        times.append(time.perf_counter() - began)
        if answer.status_code != 200:
            raise RuntimeError(f"{path}: {answer.status_code}")
    return {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3), "requests": REQUESTS}


def run() -> Dict[str, object]:
    results: Dict[str, object] = {"conversations": CONVERSATIONS, "days": DAYS, "target_s": TARGET_S}
    with tempfile.TemporaryDirectory() as tmp:
        tracker_url = f"sqlite:///{Path(tmp) / 'conversations.sqlite'}"
        requests_url = f"sqlite:///{Path(tmp) / 'requests.sqlite'}"
        began = time.perf_counter()
        expected = synthetic.generate(tracker_url, CONVERSATIONS, DAYS, SEED, requests_url=requests_url)
        results["generate_s"] = round(time.perf_counter() - began, 1)
        results["events"] = expected.events
        results["tracker_db_mb"] = round((Path(tmp) / "conversations.sqlite").stat().st_size / 2**20)
        requests = sa.create_engine(requests_url, future=True)
        began = time.perf_counter()
        update = Aggregator(requests, TranscriptReader(tracker_url).engine).update()
        results["first_aggregation_s"] = round(time.perf_counter() - began, 1)
        results["events_read"] = update.rows
        with requests.connect() as conn:
            results["sessions"] = conn.execute(sa.select(sa.func.count()).select_from(sessions_table)).scalar()
        StaffAccounts(requests).create("bench", "Bench", PASSWORD)
        requests.dispose()
        port = free_port()
        web = start_web(tracker_url, requests_url, port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                log_in(client)
                results["pages"] = {name: measure(client, path) for name, path in PAGES.items()}
        finally:
            web.terminate()
            web.wait(timeout=30)
    results["all_under_target"] = all(p["median_s"] < TARGET_S for p in results["pages"].values())
    return results


def render(results: Dict[str, object]) -> str:
    lines = [
        "# Analytics benchmark",
        "",
        f"{results['conversations']:,} synthetic conversations over {results['days']} days "
        f"({results['events']:,} tracker events, {results['tracker_db_mb']} MB of SQLite), "
        f"written in {results['generate_s']} s (bot/analytics/synthetic.py).",
        "",
        f"- First full aggregation: **{results['first_aggregation_s']} s** ({results['events_read']:,} events read, "
        f"{results['sessions']:,} sessions stored)",
        "",
        f"Pages over HTTP (`python -m bot.web`, a logged-in staff session), {REQUESTS} requests each after a warm-up;"
        f" target under {TARGET_S:.0f} s:",
        "",
        "| Page | Median | Max |",
        "|---|---|---|",
    ]
    for name, page in results["pages"].items():
        lines.append(f"| {name} | {page['median_s'] * 1000:.0f} ms | {page['max_s'] * 1000:.0f} ms |")
    lines += ["", f"All under the target: {'yes' if results['all_under_target'] else 'NO'}", ""]
    return "\n".join(lines)


def main() -> int:
    results = run()
    (OUT / "analytics_results.json").write_text(json.dumps(results, indent=2) + "\n")
    (OUT / "analytics_results.md").write_text(render(results))
    print(render(results))
    return 0 if results["all_under_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
