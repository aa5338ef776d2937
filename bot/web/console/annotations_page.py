"""Every annotation as it is kept, what the training file would hold, and staff's corrections.

- `GET /staff/annotations`: the annotations, newest first, and the training file's counts
  (bot/staff/export_annotations.py); audited, since a kept text may hold a detail the masking could not know (a name
  mentioned in passing).
- `POST /staff/annotations/{id}/text`: staff correct a kept text (masked again with the neutral placeholders before
  it is kept); `POST /staff/annotations/{id}/delete`: an annotation goes. Both audited, without the text.
- `POST /staff/annotations/training.yml`: the training file as a download (for staff without a terminal), audited.
"""

from __future__ import annotations

from typing import List

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from bot.staff import audit
from bot.staff.annotations import MAX_TEXT, Annotation, AnnotationStore, annotation_store
from bot.staff.export_annotations import build_export
from bot.staff.intent_choices import label
from bot.staff.masking import PLACEHOLDERS, mask
from bot.web.console.auth import Services, Staff, StaffPost
from bot.web.console.pages import public_numbers
from bot.web.console.review_conversation import known_values
from bot.web.console.templates import CONSOLE_HEADERS, render

router = APIRouter(prefix="/staff", tags=["staff console"], include_in_schema=False)

TRAINING_FILE = "reviewed.yml"


@router.get("/annotations")
def annotations_page(request: Request, staff: Services, session: Staff) -> Response:
    store = annotation_store(staff.requests.engine)
    annotations: List[Annotation] = store.all(limit=500)
    refs = staff.refs.refs_for(a.sender_id for a in annotations if a.sender_id)
    staff.audit.record(session.user.username, audit.VIEWED_ANNOTATIONS)
    context = {
        "session": session,
        "page": "review",
        "annotations": annotations,
        "refs": refs,
        "export": build_export(store.all()),
        "label": label,
        "max_text": MAX_TEXT,
        "changed": request.query_params.get("changed"),
    }
    return render(request, "annotations.html", context)


def annotation_or_404(store: AnnotationStore, annotation_id: int) -> Annotation:
    found = store.get(annotation_id)
    if found is None:
        raise HTTPException(status_code=404, detail="no such annotation (it may have been deleted)")
    return found


@router.post("/annotations/{annotation_id}/text")
def change_text(
    staff: Services,
    session: StaffPost,
    annotation_id: int,
    text: str = Form(..., min_length=1, max_length=MAX_TEXT),
) -> Response:
    """The kept text as staff corrected it, masked again: a correction can remove a detail, never add one."""
    store = annotation_store(staff.requests.engine)
    found = annotation_or_404(store, annotation_id)
    summary = staff.transcripts.summary(found.sender_id) if found.sender_id else None
    known = known_values(staff, found.sender_id, summary.personal_values) if summary else []
    kept = mask(" ".join(text.split()), known, public_numbers(), labels=PLACEHOLDERS).text
    store.set_text(annotation_id, kept)
    staff.audit.record(session.user.username, audit.CHANGED_ANNOTATION, conversation=found.sender_id)
    return RedirectResponse(f"/staff/annotations?changed={annotation_id}#a{annotation_id}", status_code=303)


@router.post("/annotations/{annotation_id}/delete")
def delete_annotation(staff: Services, session: StaffPost, annotation_id: int) -> Response:
    store = annotation_store(staff.requests.engine)
    found = annotation_or_404(store, annotation_id)
    store.delete(annotation_id)
    staff.audit.record(session.user.username, audit.DELETED_ANNOTATION, conversation=found.sender_id)
    return RedirectResponse("/staff/annotations?changed=deleted", status_code=303)


@router.post("/annotations/training.yml")
def download_training_file(staff: Services, session: StaffPost) -> Response:
    """What `make export-annotations` writes, as a download (for staff without a terminal)."""
    export = build_export(annotation_store(staff.requests.engine).all())
    staff.audit.record(session.user.username, audit.DOWNLOADED_TRAINING_FILE, detail=f"{export.written} examples")
    return Response(
        export.yaml,
        media_type="application/yaml; charset=utf-8",
        headers={**CONSOLE_HEADERS, "Content-Disposition": f'attachment; filename="{TRAINING_FILE}"'},
    )
