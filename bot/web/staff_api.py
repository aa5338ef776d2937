"""Staff API: booking and hand-off requests, behind a bearer token ($STAFF_API_TOKEN; unset = always refused)."""

from __future__ import annotations

import hmac
from typing import Any, Dict, Optional

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response

from bot.storage.booking_requests import KINDS
from bot.web.dependencies import RequestStore, Settings

REFUSED = HTTPException(
    status_code=401,
    detail="a valid staff token is required",
    headers={"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"},
)


def token_matches(expected: Optional[str], authorization: Optional[str]) -> bool:
    """Constant-time check of an `Authorization: Bearer <token>` header; no expected token = never matches."""
    if not expected:
        return False
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return False
    return hmac.compare_digest(presented.strip().encode(), expected.encode())


def require_staff(response: Response, settings: Settings, authorization: Optional[str] = Header(None)) -> None:
    """Every staff route: 401 unless the request carries the staff token; never cached."""
    response.headers["Cache-Control"] = "no-store"
    if not token_matches(settings.staff_api_token, authorization):
        raise REFUSED


router = APIRouter(prefix="/staff", tags=["staff"], dependencies=[Depends(require_staff)])


@router.get("/requests")
def list_requests(
    store: RequestStore,
    kind: Optional[str] = Query(None, regex=f"^({'|'.join(KINDS)})$"),
    sender_id: Optional[str] = Query(None, max_length=255),
    limit: int = Query(100, ge=1, le=1000),
) -> Dict[str, Any]:
    """Booking and hand-off requests, newest first."""
    found = store.list(limit=limit, kind=kind, sender_id=sender_id)
    return {"requests": [item.to_dict() for item in found], "count": len(found)}
