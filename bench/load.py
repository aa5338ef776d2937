"""REST load generator: conversations of realistic patient messages, latency percentiles and throughput."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from typing import Dict, List, Optional

import aiohttp

MESSAGES = [
    "hi there",
    "do I need a GP referral?",
    "can I see a physio at the same time?",
    "what do I need for ACC",
    "what's an ACC45",
    "what are read codes",
    "how many sessions will I need",
    "what is cupping",
    "how do the glute muscles work together",
    "what exercises strengthen my glutes",
    "where are you",
    "do you do a free consultation",
    "how much does it cost",
    "thanks",
]


def rest_headers() -> Dict[str, str]:
    """The REST channel's bearer token when $REST_CHANNEL_TOKEN is set (the production profile requires it)."""
    token = os.environ.get("REST_CHANNEL_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def _conversation(
    session: aiohttp.ClientSession, url: str, turns: int, latencies: List[float], every: float = 0.0, delay: float = 0.0
) -> int:
    """One patient: `turns` messages, each sent once the reply came and at least `every` s after the last one."""
    sender = f"bench-{uuid.uuid4().hex[:10]}"
    errors = 0
    await asyncio.sleep(delay)
    due = time.perf_counter()
    for i in range(turns):
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        started = time.perf_counter()
        due = started + every  # a patient whose reply came late does not type faster to catch up
        async with session.post(url, json={"sender": sender, "message": MESSAGES[i % len(MESSAGES)]}) as response:
            body = await response.json(content_type=None)
            if response.status != 200 or not body:
                errors += 1
        latencies.append(time.perf_counter() - started)
    return errors


async def run_load(rasa_url: str, conversations: int, turns: int, rate: Optional[float] = None) -> Dict[str, float]:
    """`conversations` concurrent conversations of `turns` messages each; latencies in milliseconds.

    Without `rate` every conversation sends its next message as soon as the reply arrives (the most the
    server can do). With `rate` (messages/s, all conversations together) each conversation sends one
    message every `conversations / rate` seconds, starts spread over that interval (patients read and type).
    """
    url = f"{rasa_url}/webhooks/rest/webhook"
    latencies: List[float] = []
    timeout = aiohttp.ClientTimeout(total=120)
    every = conversations / rate if rate else 0.0
    async with aiohttp.ClientSession(timeout=timeout, headers=rest_headers()) as session:
        started = time.perf_counter()
        errors = await asyncio.gather(
            *[
                _conversation(session, url, turns, latencies, every, every * n / conversations)
                for n in range(conversations)
            ]
        )
        wall = time.perf_counter() - started
    return {
        "conversations": conversations,
        "offered_msg_s": rate or 0.0,
        "messages": len(latencies),
        "errors": sum(errors),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "throughput_msg_s": round(len(latencies) / wall, 1),
    }
