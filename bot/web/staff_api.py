"""Staff API: booking and hand-off requests, behind a bearer token ($STAFF_API_TOKEN; unset = always refused)."""

from __future__ import annotations

import hmac
from typing import Any, Callable, Dict, Optional

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from bot.storage.booking_requests import KINDS, BookingRequestStore
from bot.web.settings import WebSettings

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


def staff_router(settings: WebSettings, store_factory: Callable[[], BookingRequestStore]) -> APIRouter:
    """Routes under /staff; the store is created on the first authorised request."""
    stores: Dict[str, BookingRequestStore] = {}

    def require_staff(request: Request, response: Response) -> None:
        response.headers["Cache-Control"] = "no-store"
        if not token_matches(settings.staff_api_token, request.headers.get("Authorization")):
            raise REFUSED

    router = APIRouter(prefix="/staff", dependencies=[Depends(require_staff)])

    @router.get("/requests")
    def list_requests(
        kind: Optional[str] = Query(None, regex=f"^({'|'.join(KINDS)})$"),
        sender_id: Optional[str] = Query(None, max_length=255),
        limit: int = Query(100, ge=1, le=1000),
    ) -> Dict[str, Any]:
        """Booking and hand-off requests, newest first."""
        if "store" not in stores:
            stores["store"] = store_factory()
        found = stores["store"].list(limit=limit, kind=kind, sender_id=sender_id)
        return {"requests": [item.to_dict() for item in found], "count": len(found)}

    return router
