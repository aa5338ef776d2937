"""Health and readiness: /healthz (the web service answers), /readyz (the Rasa server is ready, with its model and
conversations database, and the action server answers)."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Tuple

import httpx
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from bot.web.dependencies import Bundle, Settings
from bot.web.settings import WebSettings

NO_STORE = {"Cache-Control": "no-store"}

router = APIRouter(tags=["health"])


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


@router.get("/healthz")
def healthz(bundle: Bundle) -> JSONResponse:
    """The web service itself answers."""
    widget = {"version": bundle.version, "file": bundle.filename} if bundle else "missing"
    return JSONResponse({"status": "ok", "widget": widget}, headers=NO_STORE)


@router.get("/readyz")
async def readyz(settings: Settings) -> JSONResponse:
    """Ready when the Rasa server and the action server both answer; 503 otherwise."""
    ready, checks = await check(settings)
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
        headers=NO_STORE,
    )
