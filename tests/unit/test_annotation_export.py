"""Annotations (bot/staff/annotations.py), the intents staff choose from (bot/staff/intent_choices.py) and their
export as Rasa NLU YAML (bot/staff/export_annotations.py): duplicates and conflicts left out, sorted, valid YAML.
`rasa data validate` on an export: tests/integration/test_annotations_console.py."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List

import pytest
import sqlalchemy as sa
import yaml

from bot.staff.annotations import Annotation, AnnotationStore
from bot.staff.export_annotations import (
    HEADER,
    build_export,
    export_annotations,
    main,
    normalise,
    training_examples,
    training_line,
)
from bot.staff.intent_choices import LABELS, NOT_TYPED, domain_intents, intent_groups, label

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)


def annotation(text: str, intent: str, n: int = 0) -> Annotation:
    return Annotation(n, NOW, "aroha", "web:x", n, NOW, text, "nlu_fallback", 0.3, intent)


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    """A small training set: entity markup, mixed case, an examples list with metadata."""
    nlu = tmp_path / "data" / "nlu"
    nlu.mkdir(parents=True)
    (nlu / "faq.yml").write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: faq_referral\n  examples: |\n    - Do I need a GP referral\n    - do i need a  referral?\n"
        "- intent: faq_acc45\n  examples: |\n    - my acc45 is [AB12345](ACC45)\n"
        "- intent: clinic_hours\n  examples:\n  - text: when are you open\n    metadata: {source: x}\n"
        "- synonym: glute\n  examples: |\n    - glutes\n",
        encoding="utf-8",
    )
    (tmp_path / "data" / "rules").mkdir()
    (tmp_path / "data" / "rules" / "r.yml").write_text('version: "3.1"\nrules: []\n', encoding="utf-8")
    return tmp_path / "data"


def test_examples_compare_without_case_spacing_or_entity_markup():
    assert normalise("  My ACC45 is [AB12345](ACC45)  ") == "my acc45 is ab12345"
    assert normalise('its [sore]{"entity": "pain"} now') == "its sore now"
    assert normalise("Do  I\tneed a\nGP referral") == "do i need a gp referral"


@pytest.mark.parametrize(
    "text, line",
    [
        ("  hi\nthere\t you ", "hi there you"),
        ("is [this](intent) markup", "is (this)(intent) markup"),
        ("bell\x07 and \x1b escape", "bell and escape"),
        ("/affirm", None),
        ("   ", None),
        ("", None),
        ("- starts with a dash: yes # and a hash", "- starts with a dash: yes # and a hash"),
        ("emoji 👍🏽 and “quotes”", "emoji 👍🏽 and “quotes”"),
    ],
)
def test_a_message_becomes_one_safe_example_line(text, line):
    assert training_line(text) == line


def test_training_examples_read_every_nlu_file_but_the_output(data_dir):
    found = training_examples(data_dir)
    assert found["do i need a gp referral"] == {"faq_referral"}
    assert found["my acc45 is ab12345"] == {"faq_acc45"}
    assert found["when are you open"] == {"clinic_hours"}
    assert "glutes" not in found  # a synonym, not an example
    assert "do i need a gp referral" not in training_examples(data_dir, skip=data_dir / "nlu" / "faq.yml")


def test_export_drops_duplicates_and_leaves_out_conflicts(data_dir):
    annotations: List[Annotation] = [
        annotation("i really hate needles can i still do it", "faq_suitability", 1),
        annotation("I really hate needles  can I still do it", "faq_suitability", 2),  # repeated (normalised)
        annotation("DO I NEED A GP REFERRAL", "faq_referral", 3),  # already trained
        annotation("my acc45 is AB12345", "faq_acc45", 4),  # already trained, with entity markup there
        annotation("Do I need a referral?", "faq_acc45", 5),  # conflicts with the training data
        annotation("can i come in on a saturday", "clinic_hours", 6),
        annotation("Can I come in on a Saturday", "book_appointment", 7),  # conflicts with another annotation
        annotation("what about tuesdays", "no_such_intent", 8),
        annotation("/affirm", "affirm", 9),
        annotation("are you open on a weekend Alex", "clinic_hours", 10),
        annotation("any good jokes", "out_of_scope", 11),
    ]
    export = build_export(annotations, data_dir, out=data_dir / "nlu" / "reviewed.yml")
    assert export.examples == {
        "clinic_hours": ["are you open on a weekend Alex"],
        "faq_suitability": ["i really hate needles can i still do it"],
        "out_of_scope": ["any good jokes"],
    }
    assert (export.written, export.already_trained, export.repeated, export.unusable) == (3, 2, 1, 1)
    assert export.unknown_intents == [("what about tuesdays", "no_such_intent")]
    conflicts = {(c.text, c.intent, c.others, c.where) for c in export.conflicts}
    assert conflicts == {
        ("Do I need a referral?", "faq_acc45", ("faq_referral",), "training data"),
        ("can i come in on a saturday", "clinic_hours", ("book_appointment",), "annotations"),
        ("Can I come in on a Saturday", "book_appointment", ("clinic_hours",), "annotations"),
    }
    report = export.report("out.yml")
    assert "wrote 3 examples of 3 intents to out.yml" in report
    assert "dropped 2 already in the training data, 1 repeated" in report
    assert "conflict: faq_acc45 here, faq_referral in the training data): Do I need a referral?" in report


def test_the_yaml_is_rasa_nlu_sorted_with_a_header(data_dir):
    annotations = [
        annotation("zebra crossing hurt my glute", "ongoing_pain"),
        annotation("Are you open Sundays?", "clinic_hours"),
        annotation("any parking: near by? [or] {not} & *star* !tag %x @y `tick` 'q' \"dq\"", "clinic_hours"),
        annotation("- dash first", "clinic_hours"),
    ]
    text = build_export(annotations, data_dir).yaml
    assert text.startswith(HEADER) and "make export-annotations" in text and "rewrites this file" in text
    parsed = yaml.safe_load(text)
    assert parsed["version"] == "3.1"
    assert [item["intent"] for item in parsed["nlu"]] == ["clinic_hours", "ongoing_pain"]
    lines = [line[2:] for line in parsed["nlu"][0]["examples"].splitlines()]
    assert lines == [
        "- dash first",
        "any parking: near by? (or) {not} & *star* !tag %x @y `tick` 'q' \"dq\"",
        "Are you open Sundays?",
    ]
    assert parsed["nlu"][0]["examples"].endswith("\n")


def test_no_annotation_gives_a_valid_empty_file(data_dir):
    parsed = yaml.safe_load(build_export([], data_dir).yaml)
    assert parsed == {"version": "3.1", "nlu": []}


def test_a_new_export_does_not_count_the_previous_one_as_training_data(tmp_path, data_dir):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'requests.sqlite'}", future=True)
    store = AnnotationStore(engine)
    store.save(
        "aroha", "web:a", 7, NOW, "i really hate needles can i still do it", "nlu_fallback", 0.3, "faq_suitability"
    )
    out = data_dir / "nlu" / "reviewed.yml"
    first = export_annotations(engine, out, data_dir)
    second = export_annotations(engine, out, data_dir)
    assert first.written == second.written == 1 and second.already_trained == 0
    assert out.read_text(encoding="utf-8") == first.yaml


def test_the_command_writes_the_file_and_prints_counts(tmp_path, data_dir, capsys):
    url = f"sqlite:///{tmp_path / 'requests.sqlite'}"
    engine = sa.create_engine(url, future=True)
    AnnotationStore(engine).save("aroha", "web:a", 7, NOW, "any good jokes", "thank", 0.4, "out_of_scope")
    out = tmp_path / "out" / "reviewed.yml"
    assert main(["--out", str(out), "--requests-db-url", url, "--data", str(data_dir)]) == 0
    assert "- intent: out_of_scope\n  examples: |\n    - any good jokes\n" in out.read_text(encoding="utf-8")
    assert f"wrote 1 examples of 1 intents to {out}" in capsys.readouterr().out


def test_the_shipped_training_data_is_read(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    found = training_examples(data)
    assert len(found) > 1000
    assert set().union(*found.values()) == domain_intents() | NOT_TYPED  # every intent has examples


# ---------- the choices


def test_the_choices_are_the_domains_intents_in_readable_words():
    groups = dict(intent_groups())
    assert list(groups)[:2] == ["Questions", "Clinic details"]
    names = {choice.name for choices in groups.values() for choice in choices}
    assert names == domain_intents()
    assert "out_of_scope" in names and label("out_of_scope") == "Out of scope"
    assert not names & NOT_TYPED  # a shared photo is never typed
    assert label("faq_new_topic") == "Faq new topic"


def test_every_intent_has_a_label_written_for_staff():
    """A new intent in domain/ needs its words in LABELS (bot/staff/intent_choices.py)."""
    assert domain_intents() - set(LABELS) == set()


# ---------- the store


def test_saving_again_replaces_and_forget_me_deletes(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'requests.sqlite'}", future=True)
    store = AnnotationStore(engine)
    store.save("aroha", "web:a", 7, NOW, "hi Alex", "greet", 0.9, "greet")
    store.save("mere", "web:a", 7, NOW, "hi Alex", "greet", 0.9, "out_of_scope")
    store.save("mere", "web:b", 7, NOW, "other", "deny", 0.5, "affirm")
    mine = store.for_conversation("web:a")
    assert list(mine) == [7] and mine[7].intent == "out_of_scope" and mine[7].username == "mere"
    assert store.count() == 2
    assert store.forget("web:a") == 1
    assert store.for_conversation("web:a") == {} and store.count() == 1


def test_retention_unlinks_old_annotations_and_keeps_their_training_data(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'requests.sqlite'}", future=True)
    store = AnnotationStore(engine)
    store.save("aroha", "web:old", 3, NOW - timedelta(days=100), "old words", "greet", 0.4, "thank")
    store.save("aroha", "web:new", 4, NOW - timedelta(days=10), "new words", "greet", 0.4, "thank")
    assert store.unlink_older_than(90, now=NOW) == 1
    assert store.unlink_older_than(90, now=NOW) == 0
    kept = {a.text: a for a in store.all()}
    assert (kept["old words"].sender_id, kept["old words"].event_id, kept["old words"].intent) == (None, None, "thank")
    assert kept["new words"].sender_id == "web:new"
    assert store.for_conversation("web:old") == {}
