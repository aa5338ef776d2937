"""Readiness: is the Rasa server ready (model, conversations database) and does the action server answer?"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Tuple

import httpx

from bot.web.settings import WebSettings


async def probe(client: httpx.AsyncClient, url: str) -> Dict[str, Any]:
    """GET url: ok when it answers 2xx in time."""
    try:
        response = await client.get(url)
    except httpx.HTTPError as error:
        return {"ok": False, "url": url, "error": type(error).__name__}
    return {"ok": response.is_success, "url": url, "status": response.status_code}


async def check(settings: WebSettings) -> Tuple[bool, Dict[str, Dict[str, Any]]]:
    """(all ready, details per dependency): Rasa's REST channel and the action server's /health, in parallel."""
    urls = {
        "rasa": f"{settings.rasa_url}/webhooks/ready/",  # model loaded, conversations database writable
        "actions": f"{settings.action_server_url}/health",
    }
    async with httpx.AsyncClient(timeout=settings.readiness_timeout, trust_env=False) as client:
        results = await asyncio.gather(*(probe(client, url) for url in urls.values()))
    details = dict(zip(urls, results))
    return all(result["ok"] for result in results), details
