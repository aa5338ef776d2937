"""RedFlagDetector: negation scope, past events, worries, and the classifier-only red_flag rule.

Phrasings here are unit cases for the rules, not the evaluation set (tests/data/red_flags.yml).
"""

from __future__ import annotations

from typing import Dict, List, Optional

import pytest
import spacy
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.build_spacy import build
from bot.nlu.red_flag_detector import RedFlagDetector, candidates, chronic_or_played_down, reported_red_flags


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    path = tmp_path_factory.mktemp("spacy") / "pipeline"
    build().to_disk(path)
    return spacy.load(path)


def reasons(nlp, text: str) -> List[Optional[str]]:
    return [c.reason for c in candidates(nlp(text))]


@pytest.mark.parametrize(
    "text",
    [
        "I haven't lost any bladder control",
        "no tingling or numbness in my groin",
        "i don't have a temperature",
        "never fainted",
        "without any fever",
        "neither numbness in the saddle area nor tingling",
        "the doctor said nothing's fractured",
        "gp ruled out a fracture",
        "my hip isn't dislocated",
        "i didnt break anything",
        "my bladder and bowels are fine",
        "fracture was ruled out",
    ],
)
def test_denied_red_flags_are_not_reported(nlp, text):
    assert reasons(nlp, text), f"the pattern should still find a candidate in {text!r}"
    assert reported_red_flags(nlp(text)) == []
    assert set(reasons(nlp, text)) == {"denied"}


@pytest.mark.parametrize(
    "text",
    [
        "I can't feel my legs",  # the cue is part of the pattern
        "i cant control my bladder",
        "i have no bladder control",  # "no" is the symptom here
        "no feeling between my legs",
        "i don't want to be alive",
        "don't know if it's broken",  # uncertainty
        "not sure if my pelvis is broken",
        "no idea whether it's fractured",
        "i've never had such bad chest pain",  # intensity
        "i haven't been able to control my bladder",  # lost ability
        "i cannot walk without fainting",  # an inability earlier in the clause
        "i can no longer feel my feet",
    ],
)
def test_negation_inside_the_symptom_stays_an_emergency(nlp, text):
    assert reported_red_flags(nlp(text)), text


@pytest.mark.parametrize(
    "text",
    [
        "no fever, but i have chest pain",
        "i don't have a fever and my chest hurts",
        "no bowel problems but i wet myself",
        "no incontinence. i can't feel my legs though",
    ],
)
def test_a_real_red_flag_next_to_a_denied_one_is_reported(nlp, text):
    assert "denied" in reasons(nlp, text), text
    assert reported_red_flags(nlp(text)), text


@pytest.mark.parametrize(
    "text, reason",
    [
        ("i fractured my pelvis in 2015", "past"),
        ("my broken leg healed last summer", "past"),
        ("had a heart attack years ago", "past"),
        ("is acupuncture ok if i faint easily", "worry"),
        ("hope i don't pass out", "denied"),
        ("can i come in if i have a temperature", "worry"),
    ],
)
def test_past_events_and_worries_are_not_reported(nlp, text, reason):
    assert reasons(nlp, text) and set(reasons(nlp, text)) == {reason}


@pytest.mark.parametrize(
    "text",
    [
        "i broke my hip last year and i think i've broken it again today",  # recent
        "i fainted",  # an event, not a worry
        "i'm scared because i passed out",
        "i want to kill myself, i had these thoughts years ago too",  # never history
    ],
)
def test_recent_events_and_reported_faints_stay_emergencies(nlp, text):
    assert reported_red_flags(nlp(text)), text


@pytest.mark.parametrize(
    "text",
    ["I'm broke this month", "my phone is broken", "i broke my 5k record", "my car broke down", "breast stroke"],
)
def test_other_senses_are_not_candidates(nlp, text):
    assert candidates(nlp(text)) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("my glute has hurt for months", "chronic"),
        ("the pain keeps coming back", "chronic"),
        ("it's been sore for a fortnight", "chronic"),
        ("it healed but still aches", "past"),
        ("my legs aren't weak, just tired", "played_down"),
        ("it's just stiff", "played_down"),
        ("i can't breathe", None),
        ("pain since last night", None),
    ],
)
def test_chronic_or_played_down(text, expected):
    assert chronic_or_played_down(text) == expected


def message(nlp, text: str, ranking: List[Dict]) -> Message:
    msg = Message(data={TEXT: text})
    msg.set(SPACY_DOCS[TEXT], nlp(text))
    msg.set("intent", dict(ranking[0]))
    msg.set("intent_ranking", [dict(r) for r in ranking])
    return msg


def test_a_reported_red_flag_overrides_the_classifier(nlp):
    msg = message(
        nlp, "how much is it? also no fever but crushing chest pain", [{"name": "clinic_prices", "confidence": 0.9}]
    )
    RedFlagDetector({}).process([msg])
    assert msg.get("intent") == {"name": "red_flag", "confidence": 1.0}


def test_a_denied_red_flag_does_not_override_the_classifier(nlp):
    msg = message(
        nlp, "no numbness in my groin, can acupuncture help", [{"name": "faq_acupuncture_glute", "confidence": 0.8}]
    )
    RedFlagDetector({}).process([msg])
    assert msg.get("intent")["name"] == "faq_acupuncture_glute"


def test_classifier_red_flag_with_only_denied_words_goes_to_the_runner_up(nlp):
    ranking = [
        {"name": "red_flag", "confidence": 0.6},
        {"name": "faq_acupuncture_glute", "confidence": 0.35},
        {"name": "greet", "confidence": 0.05},
    ]
    msg = message(nlp, "never had incontinence, can acupuncture help my glute", ranking)
    RedFlagDetector({}).process([msg])
    assert msg.get("intent") == {"name": "faq_acupuncture_glute", "confidence": 0.35}
    assert [r["name"] for r in msg.get("intent_ranking")] == ["faq_acupuncture_glute", "greet", "red_flag"]


def test_classifier_red_flag_for_chronic_pain_becomes_ongoing_pain(nlp):
    ranking = [{"name": "red_flag", "confidence": 0.7}, {"name": "ongoing_pain", "confidence": 0.2}]
    msg = message(nlp, "my bum has been killing me for months", ranking)
    RedFlagDetector({}).process([msg])
    assert msg.get("intent") == {"name": "ongoing_pain", "confidence": 0.3}


def test_an_unsure_runner_up_gives_ongoing_pain_for_pain_and_the_fallback_otherwise(nlp):
    ranking = [{"name": "red_flag", "confidence": 0.7}, {"name": "deny", "confidence": 0.1}]
    pain = message(nlp, "i didn't pass out, my hip is just sore", ranking)
    other = message(nlp, "i didn't pass out", ranking)
    RedFlagDetector({}).process([pain, other])
    assert pain.get("intent")["name"] == "ongoing_pain"
    assert other.get("intent")["name"] == "nlu_fallback"


def test_classifier_red_flag_without_a_stated_reason_stands(nlp):
    """The classifier's net catches phrasings the patterns miss: it is only lowered for a reason."""
    ranking = [{"name": "red_flag", "confidence": 0.7}, {"name": "ongoing_pain", "confidence": 0.2}]
    msg = message(nlp, "my calf went purple and cold", ranking)
    RedFlagDetector({}).process([msg])
    assert msg.get("intent") == {"name": "red_flag", "confidence": 0.7}


@pytest.mark.parametrize(
    "text",
    [
        "the physio asked about numbness in my groin and i dont, so probably muscular",  # elliptical, after
        "any loss of bladder control? nope",
        "incontinence? no, never",
        "i cant say ive had any tingling around my privates",  # hedged: "can't say" is no lost ability
        "couldn't say i've noticed a fever",
    ],
)
def test_denials_after_the_symptom_and_hedged_denials(nlp, text):
    assert reasons(nlp, text) and set(reasons(nlp, text)) == {"denied"}, reasons(nlp, text)


@pytest.mark.parametrize(
    "text",
    [
        "i have saddle numbness and i dont know what to do",  # the clause goes on: a report
        "numbness in my groin and i didnt notice it till today",
        "i cant control my bowels",  # "can't" + verb stays an inability
        "lost control of my bladder, no idea why",
    ],
)
def test_a_denial_word_after_the_symptom_that_is_not_a_denial(nlp, text):
    assert reported_red_flags(nlp(text)), reasons(nlp, text)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("does acupuncture help patients who have had a heart attack?", "question"),
        ("do you see anyone with incontinence?", "question"),
        ("can cupping make you collapse?", "question"),
        ("is it common to feel faint after cupping?", "question"),
        ("will i pass out when the needles go in?", "worry"),
        ("am i gonna faint?", "worry"),
        ("my son had a fever the other week, can he still come?", "worry"),
        ("i cant breathe without a flat white in the morning", "idiom"),
        ("honestly cant breathe without my gym session haha", "idiom"),
    ],
)
def test_questions_about_others_worries_and_figures_of_speech(nlp, text, reason):
    assert reasons(nlp, text) and set(reasons(nlp, text)) == {reason}, reasons(nlp, text)


@pytest.mark.parametrize(
    "text",
    [
        "is it normal to have chest pain after acupuncture?",  # only fainting is a known after-effect
        "can acupuncture cause chest pain? mine started after the needles",  # no "you"/"people": may be theirs
        "do you think i'm having a stroke?",  # "do you think", not "do you treat"
        "i feel like i'm gonna pass out",  # a report, not a question
        "i feel like im going to faint, what do i do?",  # the question is another clause
        "i had a fever last week and it's back today with hip agony",  # recent
        "i cant breathe without stopping every few steps",  # not an everyday thing
        "people who know me would be better off without me?",  # suicidal thoughts are never a question about others
    ],
)
def test_reports_that_look_like_questions_or_idioms_stay_emergencies(nlp, text):
    assert reported_red_flags(nlp(text)), reasons(nlp, text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("no issues with my waterworks, the glute aches", "reassured"),
        ("sensation down there is completely normal, it's the hip", "reassured"),
        ("it has ached since my 30s", "chronic"),
        ("tingles now and then", "chronic"),
        ("been years like this", "chronic"),
        ("the old back problem again", "chronic"),
        ("hammered chest and triceps yesterday", "other_sense"),
        ("leg day wrecked my glutes", "other_sense"),
        ("broke my parkrun record", "other_sense"),
        ("backstroke hurts my hip", "other_sense"),
        ("my chest is tight", None),
    ],
)
def test_more_reasons_to_lower_the_classifiers_red_flag(text, expected):
    assert chronic_or_played_down(text) == expected


def test_a_reassured_message_lowers_only_a_classifier_red_flag(nlp):
    ranking = [{"name": "red_flag", "confidence": 0.5}, {"name": "ongoing_pain", "confidence": 0.4}]
    lowered = message(nlp, "no problems with the toilet, feeling is normal, my buttock aches", ranking)
    reported = message(nlp, "feeling is normal but i wet myself this morning", ranking)
    RedFlagDetector({}).process([lowered, reported])
    assert lowered.get("intent")["name"] == "ongoing_pain"
    assert reported.get("intent") == {"name": "red_flag", "confidence": 1.0}
