"""Review of one conversation and annotation of its messages in the staff console, over FastAPI's TestClient, on
conversations Rasa's own SQLTrackerStore wrote; the training file (download, and `rasa data validate` on an export);
forget me and retention of annotations.

Attacks first: another conversation's message through this conversation's reference, a bot message, an intent the
domain does not have, no session, no CSRF token. The browser test: tests/e2e/test_review_annotate_browser.py.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterator

import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.privacy.retention import apply_retention
from bot.staff.annotations import AnnotationStore, annotations_table
from bot.staff.audit import (
    ANNOTATED,
    CHANGED_ANNOTATION,
    DELETED_ANNOTATION,
    DOWNLOADED_TRAINING_FILE,
    SHOWED_DETAILS,
    VIEWED_ANNOTATIONS,
    VIEWED_CONVERSATION,
)
from bot.staff.export_annotations import export_annotations
from bot.staff.forget import forget_in_console
from bot.storage.booking_requests import BookingRequestStore
from bot.storage.feedback import FeedbackStore
from bot.storage.transcripts import events_table
from bot.web.app import create_app
from bot.web.settings import WebSettings
from tests.integration.test_staff_console import BUNDLE, PASSWORD, logged_in

ROOT = Path(__file__).resolve().parents[2]
PATIENT = "web:" + "a" * 32
OTHER = "messenger:5550001"
NOW = time.time()
NEEDLES = "hi im Aroha Ngata, i really hate needles can i still do it"
DETAILS = "my number is 027 555 0199 and acc45 XY98765"


def user(text: str, intent: str, confidence: float, at: float, message_id: str, **parse_data) -> UserUttered:
    data = {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text, **parse_data}
    return UserUttered(text, parse_data=data, timestamp=at, message_id=message_id)


def bot(text: str, response: str, at: float, **data) -> BotUttered:
    return BotUttered(text, data, {"utter_action": response}, timestamp=at)


def save(tracker_store: SQLTrackerStore, sender_id: str, events) -> None:
    asyncio.run(tracker_store.save(DialogueStateTracker.from_events(sender_id, events)))


@pytest.fixture()
def tracker_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Two conversations as `rasa run` stores them: the patient's (two sessions), and another one."""
    url = f"sqlite:///{tmp_path / 'conversations.sqlite'}"
    monkeypatch.setenv("RASA_TRACKER_DB_URL", url)
    domain = Domain.from_dict({"slots": {"contact_name": {"type": "text", "mappings": [{"type": "custom"}]}}})
    tracker_store = SQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "conversations.sqlite"))
    t0 = NOW - 3600
    save(
        tracker_store,
        PATIENT,
        [
            ActionExecuted("action_session_start", timestamp=t0),
            SessionStarted(timestamp=t0),
            ActionExecuted("action_listen", timestamp=t0),
            user("Aroha Ngata", "nlu_fallback", 0.3, t0 + 0.5, "m-name"),  # read by the form, not the fallback
            SlotSet("contact_name", "Aroha Ngata", timestamp=t0 + 0.5),
            bot("What's the best phone number?", "utter_ask_contact_detail", t0 + 0.6),
            user(NEEDLES, "nlu_fallback", 0.3, t0 + 1, "m-needles"),
            bot("Sorry, I didn't quite understand. Could you say that another way?", "utter_fallback", t0 + 2),
            user(DETAILS, "inform", 0.45, t0 + 3, "m-details"),
            bot("Thanks, Aroha Ngata.", "utter_ack", t0 + 4, buttons=[{"title": "Yes please", "payload": "/affirm"}]),
            user("/affirm", "affirm", 1.0, t0 + 5, "m-button"),
            bot("Good.", "utter_ok", t0 + 6),
            ActionExecuted("action_session_start", timestamp=t0 + 1800),
            SessionStarted(timestamp=t0 + 1800),
            user("do i need a referral", "faq_referral", 0.99, t0 + 1801, "m-referral"),
            bot("No referral needed.", "utter_faq_referral", t0 + 1802),
            user(
                "sounds good",
                "book_appointment",
                0.8,
                t0 + 1803,
                "m-context",
                context={"original_intent": "affirm", "reason": "accepts the offer free_consult"},
            ),
            user("crushing chest pain", "red_flag", 1.0, t0 + 1804, "m-red"),
            bot("You may need urgent medical care: call 111.", "utter_red_flag", t0 + 1805),
        ],
    )
    save(tracker_store, OTHER, [user("secret words of another patient", "greet", 0.9, t0, "m-other")])
    tracker_store.engine.dispose()
    return url


@pytest.fixture()
def store(tmp_path: Path, tracker_url: str) -> BookingRequestStore:
    return BookingRequestStore(f"sqlite:///{tmp_path / 'requests.sqlite'}")


@pytest.fixture()
def client(store: BookingRequestStore) -> Iterator[TestClient]:
    settings = WebSettings(rasa_url="http://127.0.0.1:9", action_server_url="http://127.0.0.1:9")
    app = create_app(settings, bundle=BUNDLE, store_factory=lambda: store)
    app.state.web.staff().accounts.create("aroha", "Aroha", PASSWORD)
    FeedbackStore(store.engine).record(PATIENT, "m-needles", "down", channel="socketio")
    with TestClient(app) as test_client:
        yield test_client


def ref_of(client: TestClient, sender_id: str) -> str:
    return client.app.state.web.staff().refs.ref_for(sender_id)


def event_ids(url: str) -> Dict[str, int]:
    """message text -> row id of the patient messages (and the first bot message, "bot")."""
    engine = sa.create_engine(url, future=True)
    t = events_table.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.id, t.type_name, t.data).order_by(t.id)).all()
    engine.dispose()
    ids = {}
    for row in rows:
        if row.type_name == "user":
            ids[yaml.safe_load(row.data)["text"]] = row.id
        elif row.type_name == "bot":
            ids.setdefault("bot", row.id)
    return ids


def audit_rows(client: TestClient):
    return client.app.state.web.staff().audit.entries(limit=50)


def stored(store: BookingRequestStore):
    return AnnotationStore(store.engine).all()


def annotate(client: TestClient, csrf: str, ref: str, event_id, intent: str = "faq_suitability"):
    data = {"csrf_token": csrf, "event_id": str(event_id), "intent": intent}
    return client.post(f"/staff/review/{ref}/annotate", data=data, follow_redirects=False)


# ---------- attacks first


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/staff/review/REF"),
        ("get", "/staff/annotations"),
        ("post", "/staff/review/REF/show"),
        ("post", "/staff/review/REF/annotate"),
        ("post", "/staff/annotations/training.yml"),
        ("post", "/staff/annotations/1/text"),
        ("post", "/staff/annotations/1/delete"),
    ],
)
def test_without_a_session_nothing_is_shown_or_stored(client, store, tracker_url, method, path):
    path = path.replace("REF", ref_of(client, PATIENT))
    data = {"csrf_token": "x", "event_id": str(event_ids(tracker_url)[NEEDLES]), "intent": "faq_suitability"}
    response = getattr(client, method)(path, **({"data": data} if method == "post" else {}), follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/staff/login")
    assert "needles" not in response.text and "faq_suitability" not in response.text
    assert stored(store) == []


def test_posts_without_the_csrf_token_are_refused(client, store, tracker_url):
    logged_in(client)
    ref = ref_of(client, PATIENT)
    assert annotate(client, "wrong", ref, event_ids(tracker_url)[NEEDLES]).status_code == 403
    assert client.post(f"/staff/review/{ref}/show", data={"csrf_token": "wrong"}).status_code == 403
    download = client.post("/staff/annotations/training.yml", data={"csrf_token": "wrong"})
    assert download.status_code == 403 and "nlu" not in download.text
    assert stored(store) == []


def test_another_conversations_message_cannot_be_annotated_through_this_reference(client, store, tracker_url):
    client, csrf = logged_in(client)
    ids = event_ids(tracker_url)
    ref = ref_of(client, PATIENT)
    for event_id in (ids["secret words of another patient"], ids["bot"], ids["/affirm"], 999999):
        response = annotate(client, csrf, ref, event_id)
        assert response.status_code == 404, event_id
        assert "secret words" not in response.text
    assert annotate(client, csrf, ref, "1 OR 1=1").status_code == 422
    assert annotate(client, csrf, ref, ids[NEEDLES], intent="nlu_fallback").status_code == 422  # not in the domain
    assert annotate(client, csrf, ref, ids[NEEDLES], intent="x" * 500).status_code == 422
    assert annotate(client, csrf, "no-such-ref", ids[NEEDLES]).status_code == 404
    assert stored(store) == []
    assert ANNOTATED not in {row.action for row in audit_rows(client)}


# ---------- the page


def test_the_review_shows_sessions_intents_marks_and_ratings_with_details_hidden(client, tracker_url):
    client, csrf = logged_in(client)
    ref = ref_of(client, PATIENT)
    page = client.get(f"/staff/review/{ref}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    main = page.text.split('<main id="main"', 1)[1]
    for detail in ("Aroha", "Ngata", "027 555 0199", "XY98765", "secret words"):
        assert detail not in main
    assert "hi im [name], i really hate needles can i still do it" in main
    assert "my number is [phone] and acc45 [ACC45 number]" in main
    assert "Thanks, [name]." in main  # the assistant's reply repeating the name
    assert main.count("Session started") == 2
    rows = {m.group(1): m.group(2) for m in re.finditer(r'<tr id="m(\d+)"[^>]*>(.*?)</tr>', main, re.S)}
    ids = event_ids(tracker_url)
    needles, details = rows[str(ids[NEEDLES])], rows[str(ids[DETAILS])]
    assert '<span class="mark fallback">Fallback</span>' in needles and "Low confidence" in needles
    assert "Patient: not helpful" in needles
    assert "Not understood (fallback)" in needles and "30 %" in needles
    assert "Low confidence" in details and "mark fallback" not in details and "45 %" in details
    name = rows[str(ids["Aroha Ngata"])]
    assert "[name]" in name and "Low confidence" in name and "mark fallback" not in name  # the form took it
    assert "Red flag" in rows[str(ids["crushing chest pain"])]
    assert "Yes please" in rows[str(ids["/affirm"])] and "nothing to annotate" in rows[str(ids["/affirm"])]
    referral = rows[str(ids["do i need a referral"])]
    assert "mark" not in referral and "GP referral needed?" in referral and "99 %" in referral
    context = rows[str(ids["sounds good"])]
    assert "The classifier read Yes" in context and "accepts the offer free_consult" in context
    # the choice list: the domain's intents in staff's words, grouped; no choice made yet
    assert '<option value="out_of_scope">Out of scope</option>' in needles
    assert '<optgroup label="Questions">' in needles and '<option value="">Choose…</option>' in needles
    assert 'value="shared_attachment"' not in needles
    assert (audit_rows(client)[0].action, audit_rows(client)[0].conversation) == (VIEWED_CONVERSATION, PATIENT)

    shown = client.post(f"/staff/review/{ref}/show", data={"csrf_token": csrf}).text
    assert NEEDLES in shown and DETAILS in shown
    assert audit_rows(client)[0].action == SHOWED_DETAILS


def test_the_conversation_page_links_to_its_review(client):
    client, _ = logged_in(client)
    ref = ref_of(client, PATIENT)
    assert f'href="/staff/review/{ref}">Review and annotate</a>' in client.get(f"/staff/conversations/{ref}").text


# ---------- annotating


def test_an_annotation_keeps_the_message_with_neutral_placeholders_and_is_audited(client, store, tracker_url):
    client, csrf = logged_in(client)
    ref, ids = ref_of(client, PATIENT), event_ids(tracker_url)
    response = annotate(client, csrf, ref, ids[NEEDLES])
    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/review/{ref}?saved={ids[NEEDLES]}#m{ids[NEEDLES]}"
    assert annotate(client, csrf, ref, ids[DETAILS], "out_of_scope").status_code == 303
    by_event = {a.event_id: a for a in stored(store)}
    needles, details = by_event[ids[NEEDLES]], by_event[ids[DETAILS]]
    assert needles.text == "hi im Alex, i really hate needles can i still do it"
    assert (needles.intent, needles.predicted_intent, needles.confidence) == ("faq_suitability", "nlu_fallback", 0.3)
    assert (needles.username, needles.sender_id) == ("aroha", PATIENT)
    assert details.text == "my number is 021 123 4567 and acc45 AB12345"
    # nothing of the patient in the table, whatever column
    with store.engine.connect() as conn:  # the words kept, not the times (a timestamp may hold "027")
        rows = conn.execute(sa.select(annotations_table)).all()
    dump = repr([[value for value in row if isinstance(value, str)] for row in rows])
    for detail in ("Aroha", "Ngata", "027", "0199", "XY98765"):
        assert detail not in dump
    annotated = [row for row in audit_rows(client) if row.action == ANNOTATED]
    assert [(row.username, row.conversation, row.detail) for row in annotated] == [
        ("aroha", PATIENT, "out_of_scope"),
        ("aroha", PATIENT, "faq_suitability"),
    ]

    page = client.get(response.headers["location"]).text
    row = re.search(rf'<tr id="m{ids[NEEDLES]}"[^>]*>(.*?)</tr>', page, re.S).group(1)
    assert "Saved." in row and "Annotated “Is acupuncture right for me?” by aroha" in row
    assert '<option value="faq_suitability" selected>' in row and "Choose…" not in row

    # saving again replaces
    assert annotate(client, csrf, ref, ids[NEEDLES], "faq_after_treatment").status_code == 303
    assert sorted(a.intent for a in stored(store)) == ["faq_after_treatment", "out_of_scope"]


def test_the_annotations_page_and_the_downloaded_training_file(client, store, tracker_url):
    client, csrf = logged_in(client)
    ref, ids = ref_of(client, PATIENT), event_ids(tracker_url)
    annotate(client, csrf, ref, ids[NEEDLES])
    annotate(client, csrf, ref, ids["do i need a referral"], "faq_referral")  # already in the training data
    annotate(client, csrf, ref, ids[DETAILS], "faq_acc45")  # "my number is ..." conflicts with nothing
    page = client.get("/staff/annotations").text
    assert "hi im Alex, i really hate needles can i still do it" in page and "Aroha" not in page.split("<main")[1]
    assert "2 examples for 2 intents" in page and "1 already in the training data" in page
    assert f'href="/staff/review/{ref}#m{ids[NEEDLES]}"' in page

    download = client.post("/staff/annotations/training.yml", data={"csrf_token": csrf})
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="reviewed.yml"'
    assert download.headers["cache-control"] == "no-store"
    parsed = yaml.safe_load(download.text)
    assert parsed["nlu"] == [
        {"intent": "faq_acc45", "examples": "- my number is 021 123 4567 and acc45 AB12345\n"},
        {"intent": "faq_suitability", "examples": "- hi im Alex, i really hate needles can i still do it\n"},
    ]
    assert download.text == export_annotations(store.engine, out=None).yaml  # what `make export-annotations` writes
    entry = audit_rows(client)[0]
    assert (entry.action, entry.detail, entry.conversation) == (DOWNLOADED_TRAINING_FILE, "2 examples", None)


def test_staff_correct_or_delete_a_kept_text_masked_again_and_audited(client, store, tracker_url):
    client, csrf = logged_in(client)
    ref, ids = ref_of(client, PATIENT), event_ids(tracker_url)
    annotate(client, csrf, ref, ids[NEEDLES])
    annotate(client, csrf, ref, ids[DETAILS], "faq_acc45")
    by_event = {a.event_id: a for a in stored(store)}
    needles, details = by_event[ids[NEEDLES]], by_event[ids[DETAILS]]
    page = client.get("/staff/annotations").text
    assert f'<tr id="a{needles.id}">' in page and "read each text before it goes into the training file" in page
    assert audit_rows(client)[0].action == VIEWED_ANNOTATIONS

    # attacks: another session's token, a made-up annotation
    forged = {"csrf_token": "wrong", "text": "x"}
    assert client.post(f"/staff/annotations/{needles.id}/text", data=forged).status_code == 403
    assert client.post(f"/staff/annotations/{needles.id}/delete", data={"csrf_token": "wrong"}).status_code == 403
    assert client.post("/staff/annotations/999999/delete", data={"csrf_token": csrf}).status_code == 404
    assert len(stored(store)) == 2

    # staff's correction is kept, masked again: a number or the patient's name typed in does not stay
    typed = "hi, i really hate needles can i still do it, call 027 555 0199, Aroha"
    answer = client.post(
        f"/staff/annotations/{needles.id}/text", data={"csrf_token": csrf, "text": typed}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith(f"#a{needles.id}")
    kept = {a.id: a.text for a in stored(store)}[needles.id]
    assert kept == "hi, i really hate needles can i still do it, call 021 123 4567, Alex"
    entry = audit_rows(client)[0]
    assert (entry.action, entry.conversation, entry.detail) == (CHANGED_ANNOTATION, PATIENT, None)
    assert "Saved." in client.get(answer.headers["location"]).text

    answer = client.post(f"/staff/annotations/{details.id}/delete", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert [a.id for a in stored(store)] == [needles.id]
    assert audit_rows(client)[0].action == DELETED_ANNOTATION
    assert "Annotation deleted." in client.get(answer.headers["location"]).text


# ---------- forget me and retention


def test_forget_me_deletes_the_conversations_annotations(client, store, tracker_url):
    client, csrf = logged_in(client)
    ids = event_ids(tracker_url)
    annotate(client, csrf, ref_of(client, PATIENT), ids[NEEDLES])
    annotate(client, csrf, ref_of(client, OTHER), ids["secret words of another patient"], "greet")
    forget_in_console(store.engine, PATIENT, [], sa.create_engine(tracker_url))
    assert [a.sender_id for a in stored(store)] == [OTHER]


def test_retention_unlinks_old_annotations_and_keeps_the_masked_text(client, store, tracker_url):
    client, csrf = logged_in(client)
    ids = event_ids(tracker_url)
    annotate(client, csrf, ref_of(client, PATIENT), ids[NEEDLES])
    result = apply_retention(90, tracker_url, str(store.engine.url), now=NOW + 91 * 86400)
    assert result.events > 0 and result.console >= 1
    (kept,) = stored(store)
    assert (kept.sender_id, kept.event_id) == (None, None)
    assert (kept.text, kept.intent) == ("hi im Alex, i really hate needles can i still do it", "faq_suitability")
    assert "hi im Alex" in export_annotations(store.engine, out=None).yaml  # still training data


# ---------- Rasa accepts an export


@pytest.mark.slow
def test_rasa_data_validate_accepts_an_export_with_awkward_text(tmp_path, store):
    """Quotes, colons, brackets, YAML and Markdown characters, emoji, a leading dash: `rasa data validate`."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("reviewed.yml"))
    annotations = AnnotationStore(store.engine)
    awkward = [
        ("any parking: near by? [or] {not} & *star* !tag %x @y `tick` 'q' \"dq\"", "clinic_hours"),
        ("- starts with a dash #hash", "out_of_scope"),
        ("can u do my nan's hip?? 👵🏽 she's 90", "ask_other_body_part"),
        ("i really hate needles can i still do it", "faq_suitability"),
        ("Alex here, text 021 123 4567 or name@example.com about AB12345", "request_contact"),
        ("key: value", "out_of_scope"),
    ]
    for n, (text, intent) in enumerate(awkward, start=1):
        annotations.save("aroha", PATIENT, n, datetime.now(timezone.utc), text, "nlu_fallback", 0.3, intent)
    export = export_annotations(store.engine, data / "nlu" / "reviewed.yml", data)
    assert export.written == len(awkward) and not export.conflicts
    # Rasa reads each line back as the text it was, with no entity read into it
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    examples = RasaYAMLReader().read(data / "nlu" / "reviewed.yml").intent_examples
    read = sorted((m.get("text"), m.get("intent"), m.get("entities") or []) for m in examples)
    expected = [(text.replace("[", "(").replace("]", ")"), intent, []) for text, intent in awkward]
    assert read == sorted(expected)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "rasa"),
            "data",
            "validate",
            "--domain",
            "domain",
            "--data",
            str(data),
            "--fail-on-warnings",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "reviewed.yml" not in output  # no warning about the exported file
