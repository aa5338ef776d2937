"""Review of one conversation, annotation of its patient messages, and the training file made from annotations.

- `GET /staff/review/{ref}`: each patient message, session by session, with the intent the assistant acted on and
  its confidence (and the classifier's own reading when the conversation's context changed it,
  bot/dialogue/context.py), the answer it got, marks (bot/analytics/markers.py `message_marks`, the rules of the
  review list's flags: low confidence, below `REVIEW_LOW_CONFIDENCE`; answered by the fallback, `utter_fallback`,
  not merely read as `nlu_fallback`: a form asking for a name reads the name itself; red flag, the intent or the
  urgent-care advice), the patient's 👍/👎 (bot/storage/feedback.py) and its annotation. Details hidden as on
  the other pages until "Show details" (a POST, audited).
- `POST /staff/review/{ref}/annotate`: the right intent of one message (bot/staff/annotations.py), stored with
  the message masked by neutral placeholders whatever the page showed; audited ("annotated a message").
The list of every annotation and the training file: bot/web/console/annotations_page.py.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from bot.analytics.markers import is_button, message_marks
from bot.staff import audit
from bot.staff.annotations import annotation_store
from bot.staff.intent_choices import domain_intents, intent_groups, label
from bot.staff.masking import PLACEHOLDERS, mask
from bot.storage.feedback import FeedbackStore
from bot.storage.transcripts import Entry
from bot.web.console.auth import Services, Staff, StaffPost
from bot.web.console.pages import public_numbers, request_known_values, sender_or_404
from bot.web.console.services import StaffServices
from bot.web.console.templates import clinic_time, render
from bot.web.dependencies import Settings

router = APIRouter(prefix="/staff", tags=["staff console"], include_in_schema=False)



def known_values(staff: StaffServices, sender_id: str, slot_values: List[str]) -> List[str]:
    """What identifies this patient: their slot values, and the details of the requests they left."""
    values = list(slot_values)
    for found in staff.requests.list(limit=50, sender_id=sender_id):
        values.extend(request_known_values(found))
    return values


def _patient_row(entry: Entry, text: str, hidden: int) -> Dict[str, Any]:
    confidence = entry.confidence
    button = entry.note == "button" or is_button(entry.text)  # the payload, or the offered button's title
    return {
        "kind": "patient",
        "id": entry.id,
        "at": clinic_time(entry.at),
        "text": text,
        "hidden": hidden,
        "intent": entry.intent,
        "intent_label": label(entry.intent) if entry.intent else "",
        "confidence": None if confidence is None else round(confidence * 100),
        "original_intent": entry.original_intent,
        "original_label": label(entry.original_intent) if entry.original_intent else "",
        "note": None if entry.note == "button" else entry.note,
        "button": button,
        "message_id": entry.message_id,
        "marks": [],  # flag keys (bot/analytics/markers.py FLAGS), once its answers are known
        "answers": [],
    }


def review_sessions(
    staff: StaffServices, sender_id: str, known: List[str], reveal: bool, low: float
) -> List[Dict[str, Any]]:
    """The conversation as sessions ({"id": the session_started row's id (the review list links to `#s<id>`), "started":
    time or "", "rows": [...]}), each patient message a row with the
    replies it got; patients' details masked unless `reveal`."""
    public = [number for number in public_numbers() if number]
    sessions: List[Dict[str, Any]] = [{"id": 0, "started": "", "rows": []}]
    current: Optional[Dict[str, Any]] = None
    replies: Dict[int, Tuple[Entry, List[Optional[str]]]] = {}  # patient row id -> (its entry, responses it got)
    for entry in staff.transcripts.entries(sender_id):
        if entry.who == "event" and entry.note == "new session":
            sessions.append({"id": entry.id, "started": clinic_time(entry.at), "rows": []})
            current = None
            continue
        text, hidden = entry.text or "", 0
        if not reveal and entry.who in ("patient", "assistant"):
            masked = mask(text, known, public)
            text, hidden = masked.text, masked.hidden
        rows = sessions[-1]["rows"]
        if entry.who == "patient":
            current = _patient_row(entry, text, hidden)
            rows.append(current)
            replies[entry.id] = (entry, [])
        elif entry.who in ("assistant", "staff") and current is not None:
            who = "Assistant" if entry.who == "assistant" else f"{entry.staff_name} (staff)"
            current["answers"].append({"who": who, "text": text, "hidden": hidden})
            if entry.who == "assistant":
                replies[current["id"]][1].append(entry.utter_action)
        else:  # a pause, a resume, a restart; staff or assistant messages before any patient message
            rows.append({"kind": "event", "at": clinic_time(entry.at), "text": entry.note or text, "hidden": hidden})
    for row in (row for s in sessions for row in s["rows"] if row["kind"] == "patient"):
        entry, responses = replies[row["id"]]
        row["marks"] = message_marks(entry.intent, entry.confidence, row["button"], responses, low)
    return [session for session in sessions if session["rows"] or session["started"]]


def show_review(
    request: Request, staff: StaffServices, session: Any, settings: Any, ref: str, reveal: bool
) -> Response:
    sender_id = sender_or_404(staff, ref)
    summary = staff.transcripts.summary(sender_id)
    known = known_values(staff, sender_id, summary.personal_values if summary else [])
    sessions = review_sessions(staff, sender_id, known, reveal, settings.review_low_confidence)
    ratings = FeedbackStore(staff.requests.engine).ratings_for(sender_id)
    annotations = annotation_store(staff.requests.engine).for_conversation(sender_id)
    rows = [row for s in sessions for row in s["rows"] if row["kind"] == "patient"]
    for row in rows:
        row["rating"] = ratings.get(row["message_id"]) if row["message_id"] else None
        row["annotation"] = annotations.get(row["id"])
    staff.audit.record(
        session.user.username, audit.SHOWED_DETAILS if reveal else audit.VIEWED_CONVERSATION, conversation=sender_id
    )
    saved = request.query_params.get("saved")
    context = {
        "session": session,
        "page": "review",
        "ref": ref,
        "summary": summary,
        "sessions": sessions,
        "reveal": reveal,
        "hidden": sum(
            row["hidden"] + sum(a["hidden"] for a in row.get("answers", [])) for s in sessions for row in s["rows"]
        ),
        "groups": intent_groups(),
        "label": label,
        "low_percent": round(settings.review_low_confidence * 100),
        "counts": {
            "messages": len(rows),
            "flagged": sum(1 for row in rows if row["marks"]),
            "annotated": sum(1 for row in rows if row["annotation"]),
        },
        "saved": int(saved) if saved and saved.isdigit() else None,
    }
    return render(request, "review_conversation.html", context)


@router.get("/review/{ref}")
def review_page(request: Request, staff: Services, session: Staff, settings: Settings, ref: str) -> Response:
    return show_review(request, staff, session, settings, ref, reveal=False)


@router.post("/review/{ref}/show")
def review_revealed(request: Request, staff: Services, session: StaffPost, settings: Settings, ref: str) -> Response:
    """The same page with the details shown (a POST: recorded, never in a URL or the browser's history)."""
    return show_review(request, staff, session, settings, ref, reveal=True)


@router.post("/review/{ref}/annotate")
def annotate(
    staff: Services,
    session: StaffPost,
    ref: str,
    event_id: int = Form(..., ge=1),
    intent: str = Form(..., max_length=100),
) -> Response:
    """Store the right intent of a patient message of this conversation (never another's: the message is looked up
    by this conversation's sender id), its text masked with neutral placeholders."""
    sender_id = sender_or_404(staff, ref)
    if intent not in domain_intents():
        raise HTTPException(status_code=422, detail="no such intent in the assistant's domain")
    entry = staff.transcripts.patient_entry(sender_id, event_id)
    if entry is None or not entry.text or entry.text.startswith("/"):
        raise HTTPException(status_code=404, detail="no such patient message in this conversation")
    summary = staff.transcripts.summary(sender_id)
    known = known_values(staff, sender_id, summary.personal_values if summary else [])
    neutral = mask(entry.text, known, public_numbers(), labels=PLACEHOLDERS).text
    annotation_store(staff.requests.engine).save(
        session.user.username,
        sender_id,
        event_id,
        entry.at,
        neutral,
        entry.intent,
        entry.confidence,
        intent,
    )
    staff.audit.record(session.user.username, audit.ANNOTATED, conversation=sender_id, detail=intent)
    return RedirectResponse(f"/staff/review/{ref}?saved={event_id}#m{event_id}", status_code=303)
