"""The intent table (bot/dialogue/intents.py), the rules written from it, and what the forms read from it."""

from __future__ import annotations

import random

import pytest
import yaml
from rasa.shared.core.domain import Domain

from bot.dialogue import rule_files
from bot.dialogue.intents import FORMS, GOES_TO_FORM, INTENTS, row, row_key
from bot.dialogue.interruptions import answer_action, ends_form, is_interruption
from bot.dialogue.rule_files import COMMAND, RULES_DIR, generated_files, intents_without_row
from tests.conftest import ROOT

DOMAIN = Domain.load(ROOT / "domain")
INTENT_NAMES = list(DOMAIN.intents)
GENERATED = generated_files(INTENT_NAMES)


@pytest.mark.parametrize("path", sorted(GENERATED), ids=lambda p: p.name)
def test_generated_rule_files_are_up_to_date(path):
    rel = path.relative_to(ROOT)
    assert path.exists(), f"{rel} is missing: run `{COMMAND}`"
    assert path.read_text() == GENERATED[path], f"{rel} is not what the table writes now: run `{COMMAND}`"


def test_generated_rules_do_not_depend_on_the_order_of_the_domains_intents():
    shuffled = INTENT_NAMES[:]
    random.Random(12).shuffle(shuffled)
    assert generated_files(shuffled) == GENERATED == generated_files(reversed(INTENT_NAMES))


def test_every_intent_has_a_row_and_every_row_an_intent():
    assert intents_without_row(INTENT_NAMES) == [], "add a row to INTENTS in bot/dialogue/intents.py"
    used = {row_key(intent) for intent in INTENT_NAMES}
    assert set(INTENTS) - used == set(), "rows in bot/dialogue/intents.py for intents the domain no longer has"


def test_the_tables_forms_and_answers_are_the_domains():
    assert sorted(FORMS) == sorted(DOMAIN.form_names)
    known = set(DOMAIN.action_names_or_texts)
    for intent in INTENT_NAMES:
        entry = row(intent)
        for action in (entry.answer_for(intent), entry.in_form_answer_for(intent)):
            assert action is None or action in known, f"{intent}: {action} is not in domain/"


def test_hand_written_rules_leave_each_intents_answer_to_the_table():
    generated = {path.name for path in GENERATED}
    for path in sorted(RULES_DIR.glob("*.yml")):
        if path.name in generated:
            continue
        for rule in yaml.safe_load(path.read_text()).get("rules", []):
            first = rule["steps"][0]
            if "intent" in first and not rule.get("conversation_start"):
                assert row(first["intent"]).answer is None, f"{path.name}: '{rule['rule']}' belongs in the table"


@pytest.mark.parametrize("form", FORMS)
def test_questions_interrupt_any_form(form):
    for intent in ("faq_referral", "clinic_hours", "bot_challenge", "human_handoff"):
        assert is_interruption(intent, form) and not ends_form(intent, form)
    assert answer_action("faq_referral") == "utter_faq_referral"
    assert answer_action("clinic_prices") == "action_clinic_details"


@pytest.mark.parametrize("form", FORMS)
def test_stop_a_red_flag_and_forget_me_end_any_form(form):
    for intent in ("stop", "red_flag", "forget_me"):
        assert ends_form(intent, form) and is_interruption(intent, form)
        assert answer_action(intent) is None


def test_another_flow_ends_a_form_but_asking_for_the_running_form_does_not():
    assert ends_form("book_appointment", "acc_eligibility_form") and ends_form("book_appointment", "contact_form")
    assert ends_form("request_contact", "acc_eligibility_form")
    assert not ends_form("request_contact", "contact_form") and not is_interruption("request_contact", "contact_form")
    assert ends_form("check_acc_eligibility", "contact_form")
    assert not is_interruption("check_acc_eligibility", "acc_eligibility_form")


@pytest.mark.parametrize("intent", ["affirm", "deny", "dont_know", "inform", "greet", "out_of_scope", None, "unknown"])
def test_answers_and_the_rest_go_to_the_form(intent):
    assert not is_interruption(intent, "acc_eligibility_form") and not ends_form(intent, "contact_form")
    if intent in INTENTS:
        assert INTENTS[intent].during_form is GOES_TO_FORM


def test_the_check_before_training_passes_on_current_files_and_names_stale_ones(monkeypatch, tmp_path, capsys):
    assert rule_files.main(["--check"]) == 0
    stale = tmp_path / "answers.yml"
    stale.write_text("rules: []\n")
    monkeypatch.setattr(rule_files, "generated_files", lambda: {stale: "rules:\n  - rule: x\n"})
    monkeypatch.setattr(rule_files, "ROOT", tmp_path)
    assert rule_files.main(["--check"]) == 1
    assert "answers.yml is not what bot/dialogue/intents.py writes now: run `make rules`" in capsys.readouterr().err
    assert stale.read_text() == "rules: []\n"  # the check writes nothing
