"""The console's routes: log-in, inbox of requests, a request with its conversation, live chats and takeover,
the audit log. Every page needs a staff session (bot/web/console/auth.py); every POST its CSRF token.

Patients' details (names, phone numbers, e-mails, ACC45 numbers) are hidden in what the pages show
(bot/staff/masking.py) until a staff member presses "Show details", which the audit log records. Conversations are
named in URLs by an opaque reference (bot/staff/conversation_refs.py), never by their sender id.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterable, List, Optional

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from bot.clinic.profile import load_profile
from bot.responses import facts
from bot.staff import audit
from bot.staff.masking import mask
from bot.staff.takeover import TakeoverUnavailable
from bot.storage.booking_requests import KINDS, STATUSES, BookingRequest
from bot.web.console import auth
from bot.web.console.auth import Services, Staff, StaffJson, StaffPost
from bot.web.console.templates import CONSOLE_HEADERS, clinic_time, render

router = APIRouter(prefix="/staff", tags=["staff console"], include_in_schema=False)

ACTIVE_WINDOW = timedelta(hours=1)  # "live chats": conversations with a message in the last hour
POLL_SECONDS = 3  # how often the pages ask for news (console.js)
NOT_DELIVERED = {  # reasons of bot/channels/staff.py, in the words the conversation page shows
    "not_connected": "Not delivered: the patient's chat window is closed, and the widget does not fetch missed "
    "messages. Contact them another way.",
    "outside_window": "Meta allows no more messages to this patient (their last message was over 7 days ago).",
    "send_failed": "Sending failed. Try again, or contact the patient another way.",
    "no_live_channel": "This conversation's channel cannot receive messages from staff.",
    "already_paused": "This chat was already taken over.",
    "not_paused": "The assistant was already answering this chat.",
    "not_taken_over": "Take over the chat first: the assistant is answering this conversation.",
    "unknown_conversation": "This conversation no longer exists (it may have been deleted at the patient's wish).",
    "invalid": "That message could not be sent (too long, or empty).",
}
ALREADY = ("already_paused", "not_paused")


def no_store(response: Response) -> Response:
    response.headers.update(CONSOLE_HEADERS)
    return response


# ---------- log-in


@router.get("/login")
def login_form(request: Request, staff: Services, next: str = Query("/staff/", max_length=500)) -> Response:
    if auth.current_session(request, staff):
        return RedirectResponse(auth.safe_next(next), status_code=303)
    return auth.login_page(request, next)


router.post("/login")(auth.log_in)
router.post("/logout")(auth.log_out)


# ---------- inbox


def inbox_context(staff: Services, status: Optional[str], kind: Optional[str]) -> Dict[str, Any]:
    requests = staff.requests.list(limit=200, status=status or None, kind=kind or None)
    return {
        "requests": requests,
        "counts": staff.requests.count_by_status(),
        "status": status or "",
        "kind": kind or "",
        "statuses": STATUSES,
        "kinds": KINDS,
        "notifications": notification_problems(staff),
        "mail_enabled": staff.outbox.enabled,
    }


def notification_problems(staff: Services) -> List[Dict[str, Any]]:
    """Requests whose e-mail has not gone out although it was tried (the request itself is safe in the inbox)."""
    return [asdict(problem) for problem in staff.outbox.problems(limit=20)] if staff.outbox.enabled else []


@router.get("/")
def inbox(
    request: Request,
    staff: Services,
    session: Staff,
    status: Optional[str] = Query(None, regex=f"^({'|'.join(STATUSES)})?$"),
    kind: Optional[str] = Query(None, regex=f"^({'|'.join(KINDS)})?$"),
) -> Response:
    return render(request, "inbox.html", {"session": session, "page": "inbox", **inbox_context(staff, status, kind)})


@router.get("/inbox.json")
def inbox_news(
    request: Request,
    staff: Services,
    session: StaffJson,
    status: Optional[str] = Query(None, regex=f"^({'|'.join(STATUSES)})?$"),
    kind: Optional[str] = Query(None, regex=f"^({'|'.join(KINDS)})?$"),
) -> Response:
    """What the inbox page refreshes every few seconds: the counts and the rows of the table."""
    context = inbox_context(staff, status, kind)
    rows = render(request, "inbox_rows.html", {"session": session, **context}).body.decode()
    latest = max((r.id or 0 for r in context["requests"]), default=0)
    return no_store(JSONResponse({"new": context["counts"]["new"], "latest": latest, "rows": rows}))


# ---------- one request


def request_or_404(staff: Services, request_id: int) -> BookingRequest:
    found = staff.requests.get(request_id)
    if found is None:
        raise HTTPException(status_code=404, detail="no such request (it may have been deleted at the patient's wish)")
    return found


def request_known_values(found: BookingRequest) -> List[str]:
    values = [found.name, found.phone, found.email]
    if found.acc_details:
        values.append(found.acc_details.get("acc45"))
    return [value for value in values if value]


def show_request(request: Request, staff: Services, session: Any, request_id: int, reveal: bool) -> Response:
    found = request_or_404(staff, request_id)
    summary = staff.transcripts.summary(found.sender_id)
    known = request_known_values(found) + (list(summary.personal_values) if summary else [])
    entries = conversation_entries(staff, found.sender_id, known, reveal) if summary else []
    staff.audit.record(
        session.user.username,
        audit.SHOWED_DETAILS if reveal else audit.VIEWED_REQUEST,
        request_id=found.id,
        conversation=found.sender_id,
    )
    context = {
        "session": session,
        "page": "inbox",
        "item": found,
        "reveal": reveal,
        "summary": summary,
        "entries": entries,
        "ref": staff.refs.ref_for(found.sender_id) if summary else None,
        "statuses": STATUSES,
        "history": staff.audit.entries(limit=20, request_id=found.id),
        "notification": notification_of(staff, found.id),
    }
    return render(request, "request.html", context)


def notification_of(staff: Services, request_id: Optional[int]) -> Optional[Dict[str, Any]]:
    if not staff.outbox.enabled or request_id is None:
        return None
    found = staff.outbox.status_of([request_id]).get(request_id)
    return asdict(found) if found is not None else None


@router.get("/requests/{request_id}")
def request_page(request: Request, staff: Services, session: Staff, request_id: int) -> Response:
    return show_request(request, staff, session, request_id, reveal=False)


@router.post("/requests/{request_id}/show")
def request_revealed(request: Request, staff: Services, session: StaffPost, request_id: int) -> Response:
    """The same page with the details shown (a POST: recorded, and never in a URL or the browser's history)."""
    return show_request(request, staff, session, request_id, reveal=True)


@router.post("/requests/{request_id}/status")
def change_status(
    staff: Services, session: StaffPost, request_id: int, status: str = Form(..., regex=f"^({'|'.join(STATUSES)})$")
) -> Response:
    before = request_or_404(staff, request_id)
    staff.requests.set_status(request_id, status, by=session.user.username)
    staff.audit.record(
        session.user.username,
        audit.CHANGED_STATUS,
        request_id=request_id,
        conversation=before.sender_id,
        detail=f"{before.status} → {status}",
    )
    return RedirectResponse(f"/staff/requests/{request_id}?changed=1", status_code=303)


@router.post("/requests/{request_id}/notify")
def resend_notification(staff: Services, session: StaffPost, request_id: int) -> Response:
    request_or_404(staff, request_id)
    if staff.outbox.retry_now(request_id):
        staff.audit.record(session.user.username, audit.RETRY_NOTIFICATION, request_id=request_id)
    return RedirectResponse(f"/staff/requests/{request_id}", status_code=303)


# ---------- conversations


def public_numbers() -> List[str]:
    """Numbers that are never a patient's: emergency, Healthline, the clinic's own (not hidden in transcripts)."""
    known_facts = facts()
    return [known_facts["emergency_number"], known_facts["healthline_number"], load_profile().get("phone") or ""]


def conversation_entries(
    staff: Services, sender_id: str, known: Iterable[str], reveal: bool, after_id: int = 0
) -> List[Dict[str, Any]]:
    """The conversation as the pages show it: patients' details hidden unless `reveal`, in what the patient wrote
    and in the assistant's replies that repeat them ("Thanks, Aroha")."""
    known = [value for value in known if value]
    public = [number for number in public_numbers() if number]
    shown = []
    for entry in staff.transcripts.entries(sender_id, after_id=after_id):
        text = entry.text or ""
        hidden = 0
        if not reveal and entry.who in ("patient", "assistant"):
            masked = mask(text, known, public)
            text, hidden = masked.text, masked.hidden
        shown.append(
            {
                "id": entry.id,
                "at": clinic_time(entry.at),
                "who": entry.who,
                "text": text,
                "intent": entry.intent,
                "confidence": None if entry.confidence is None else round(entry.confidence * 100),
                "staff_name": entry.staff_name,
                "buttons": list(entry.buttons or []),
                "note": entry.note,
                "hidden": hidden,
            }
        )
    return shown


def sender_or_404(staff: Services, ref: str) -> str:
    sender_id = staff.refs.sender_for(ref)
    if sender_id is None or not staff.transcripts.exists(sender_id):
        raise HTTPException(status_code=404, detail="no such conversation (it may have been deleted)")
    return sender_id


def live_list(staff: Services) -> List[Dict[str, Any]]:
    """Conversations with a message in the last hour, and every conversation still taken over whatever its age
    (a paused conversation never expires: forgotten, its patient would wait in silence)."""
    since = datetime.now(timezone.utc) - ACTIVE_WINDOW
    items = staff.transcripts.active_since(since, limit=50)
    listed = {item.sender_id for item in items}
    for sender_id in staff.audit.taken_over():
        summary = staff.transcripts.summary(sender_id) if sender_id not in listed else None
        if summary is not None and summary.paused:
            items.append(summary)
    items.sort(key=lambda item: (not item.paused, -item.last_at.timestamp()))
    refs = staff.refs.refs_for(item.sender_id for item in items)
    return [{"ref": refs[item.sender_id], "summary": item} for item in items]


@router.get("/conversations")
def conversations(request: Request, staff: Services, session: Staff) -> Response:
    return render(request, "conversations.html", {"session": session, "page": "live", "items": live_list(staff)})


@router.get("/conversations.json")
def conversations_news(request: Request, staff: Services, session: StaffJson) -> Response:
    items = live_list(staff)
    rows = render(request, "conversation_rows.html", {"session": session, "items": items}).body.decode()
    return no_store(JSONResponse({"count": len(items), "rows": rows}))


def show_conversation(request: Request, staff: Services, session: Any, ref: str, reveal: bool) -> Response:
    sender_id = sender_or_404(staff, ref)
    summary = staff.transcripts.summary(sender_id)
    entries = conversation_entries(staff, sender_id, summary.personal_values if summary else [], reveal)
    staff.audit.record(
        session.user.username, audit.SHOWED_DETAILS if reveal else audit.VIEWED_CONVERSATION, conversation=sender_id
    )
    context = {
        "session": session,
        "page": "live",
        "ref": ref,
        "summary": summary,
        "entries": entries,
        "reveal": reveal,
        "hidden": sum(e["hidden"] for e in entries),
        "requests": staff.requests.list(limit=10, sender_id=sender_id),
        "poll_seconds": POLL_SECONDS,
        "takeover_available": staff.takeover.available,
    }
    return render(request, "conversation.html", context)


@router.get("/conversations/{ref}")
def conversation_page(request: Request, staff: Services, session: Staff, ref: str) -> Response:
    return show_conversation(request, staff, session, ref, reveal=False)


@router.post("/conversations/{ref}/show")
def conversation_revealed(request: Request, staff: Services, session: StaffPost, ref: str) -> Response:
    return show_conversation(request, staff, session, ref, reveal=True)


@router.get("/conversations/{ref}/entries")
def conversation_news(staff: Services, session: StaffJson, ref: str, after: int = Query(0, ge=0)) -> Response:
    """New entries since `after` (details hidden), and whether the assistant is paused: console.js asks every few s."""
    sender_id = sender_or_404(staff, ref)
    summary = staff.transcripts.summary(sender_id)
    entries = conversation_entries(staff, sender_id, summary.personal_values if summary else [], False, after_id=after)
    return no_store(JSONResponse({"entries": entries, "paused": bool(summary and summary.paused)}))


async def takeover_call(
    staff: Services, session: Any, ref: str, call: str, text: Optional[str] = None
) -> Dict[str, Any]:
    """Takes over, hands back or sends through the Rasa process (bot/staff/takeover.py); what the page should say."""
    sender_id = sender_or_404(staff, ref)
    client, name = staff.takeover, session.user.first_name
    try:
        if call == "takeover":
            delivery = await client.take_over(sender_id, name)
        elif call == "handback":
            delivery = await client.hand_back(sender_id, name)
        else:
            delivery = await client.send(sender_id, name, text or "")
    except TakeoverUnavailable:
        return {
            "ok": False,
            "message": "The assistant's server did not answer in time. Reload the page to see whether it went "
            "through before trying again.",
        }
    if delivery.status != 200:
        return {"ok": False, "message": NOT_DELIVERED.get(delivery.reason or "", NOT_DELIVERED["send_failed"])}
    if call != "message" and delivery.reason not in ALREADY:
        action = audit.TOOK_OVER if call == "takeover" else audit.HANDED_BACK
        staff.audit.record(session.user.username, action, conversation=sender_id)
        if call == "takeover":
            start_chat_requests(staff, session.user.username, sender_id)
    if delivery.delivered:
        return {"ok": True, "delivered": True, "message": ""}
    fallback = "" if delivery.reason in ALREADY else NOT_DELIVERED["send_failed"]
    return {"ok": True, "delivered": False, "message": NOT_DELIVERED.get(delivery.reason or "", fallback)}


def start_chat_requests(staff: Services, username: str, sender_id: str) -> None:
    """Taking the chat over is what a "wants a person in the chat" request asked for: it is now in progress."""
    for item in staff.requests.list(sender_id=sender_id, kind="chat", status="new"):
        staff.requests.set_status(item.id, "in_progress", by=username)
        staff.audit.record(
            username, audit.CHANGED_STATUS, request_id=item.id, conversation=sender_id, detail="new → in_progress"
        )


def takeover_answer(request: Request, ref: str, result: Dict[str, Any]) -> Response:
    """JSON for console.js; without script, back to the conversation page."""
    if request.headers.get(auth.CSRF_HEADER):
        return no_store(JSONResponse(result, status_code=200 if result["ok"] else 409))
    return RedirectResponse(f"/staff/conversations/{ref}", status_code=303)


@router.post("/conversations/{ref}/takeover")
async def take_over(request: Request, staff: Services, session: StaffPost, ref: str) -> Response:
    return takeover_answer(request, ref, await takeover_call(staff, session, ref, "takeover"))


@router.post("/conversations/{ref}/handback")
async def hand_back(request: Request, staff: Services, session: StaffPost, ref: str) -> Response:
    return takeover_answer(request, ref, await takeover_call(staff, session, ref, "handback"))


@router.post("/conversations/{ref}/message")
async def send_message(
    request: Request,
    staff: Services,
    session: StaffPost,
    ref: str,
    text: str = Form(..., min_length=1, max_length=1000),
) -> Response:
    return takeover_answer(request, ref, await takeover_call(staff, session, ref, "message", text.strip()))


# ---------- audit


@router.get("/audit")
def audit_page(
    request: Request, staff: Services, session: Staff, user: Optional[str] = Query(None, max_length=40)
) -> Response:
    entries = staff.audit.entries(limit=300, username=user or None)
    refs = staff.refs.refs_for(entry.conversation for entry in entries if entry.conversation)
    users = staff.accounts.list()
    return render(
        request,
        "audit.html",
        {"session": session, "page": "audit", "entries": entries, "refs": refs, "users": users, "user": user or ""},
    )
