"""The clinic's spaCy pipeline: built from the repo, lemmas, entity and red-flag patterns."""

from __future__ import annotations

import pytest
import spacy
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.build_spacy import build
from bot.nlu.red_flag_detector import RedFlagDetector, red_flag_kinds


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    path = tmp_path_factory.mktemp("spacy") / "pipeline"
    build().to_disk(path)
    return spacy.load(path)  # loaded by path, as config.yml does


def ents(nlp, text):
    return [(e.text, e.label_) for e in nlp(text).ents]


def test_pipeline_components(nlp):
    assert nlp.pipe_names == ["lemmatizer", "entity_ruler"]
    assert [t.lemma_ for t in nlp("referrals hurts running")] == ["referral", "hurt", "run"]


@pytest.mark.parametrize(
    "text, entity",
    [
        ("my acc45 is AB 12345", ("AB 12345", "ACC45")),
        ("claim 12345ab", ("12345ab", "ACC45")),
        ("number 1234ABC please", ("1234ABC", "ACC45")),
        ("read code S57..", ("S57..", "READ_CODE")),
        ("sore bum since netball", ("bum", "BODY_PART")),
        ("my gluteus medius", ("gluteus medius", "BODY_PART")),
    ],
)
def test_entities(nlp, text, entity):
    assert entity in ents(nlp, text)


def test_acc45_word_is_not_a_read_code(nlp):
    assert ("acc45", "READ_CODE") not in ents(nlp, "what is an acc45")


@pytest.mark.parametrize(
    "text, kind",
    [
        ("I can't control my bladder since the fall", "bladder_bowel"),
        ("lost control of my bowels", "bladder_bowel"),
        ("numbness in my groin", "saddle_numbness"),
        ("saddle numbness and bum pain", "saddle_numbness"),
        ("i cant feel my groin", "saddle_numbness"),
        ("I think I broke my hip", "fracture_deformity"),
        ("my leg looks deformed after the crash", "fracture_deformity"),
        ("bad chest pain", "chest_breathing"),
        ("I can't breathe properly", "chest_breathing"),
        ("fever and severe pain in my glute", "fever"),
        ("I passed out at the gym", "other_emergency"),
        ("I cannot feel my legs", "other_emergency"),
        # as patients type: typos, text-speak, kiwi English
        ("cant controll my bladdr", "bladder_bowel"),
        ("i cnt hold my wee", "bladder_bowel"),
        ("numbnes around my privates", "saddle_numbness"),
        ("i think i broek my ankle", "fracture_deformity"),
        ("my knee's bent teh wrong way", "fracture_deformity"),
        ("chst pian", "chest_breathing"),
        ("CANT BREATHE", "chest_breathing"),
        ("got a feva and my glute is agony", "fever"),
        ("i fanted", "other_emergency"),
        ("having suicidle thoughts", "suicidal"),
        # stroke signs, suicidal thoughts without the word, lost ability, heavy bleeding
        ("her mouth has dropped on one side", "stroke"),
        ("his voice is all slurry and strange", "stroke"),
        ("i cant speak properly all of a sudden", "stroke"),
        ("my hand went floppy", "stroke"),
        ("everyone would be better off without me", "suicidal"),
        ("i just dont want to be around anymore", "suicidal"),
        ("wish i wasnt alive", "suicidal"),
        ("havent been able to stop peeing myself", "bladder_bowel"),
        ("haven't got any control over my bladder", "bladder_bowel"),
        ("wee keeps dribbling out", "bladder_bowel"),
        ("blood dripping down my leg", "other_emergency"),
        ("its bled right through the dressing", "other_emergency"),
        ("cant wiggle my toes", "other_emergency"),
        ("i cant feel my right leg", "other_emergency"),
        ("a bone is poking through", "fracture_deformity"),
        ("heard this awful crack", "fracture_deformity"),
        ("cant stand on my left leg", "fracture_deformity"),
        ("heaviness in the middle of my chest", "chest_breathing"),
        # typo families
        ("numm between my legs", "saddle_numbness"),
        ("tingling round my privits", "saddle_numbness"),
        ("i passd out", "other_emergency"),
        ("hi temp and my hip is agony", "fever"),
    ],
)
def test_red_flags(nlp, text, kind):
    assert kind in red_flag_kinds(nlp(text))


@pytest.mark.parametrize(
    "text",
    [
        "do I need a referral",
        "my bum is sore after running",
        "can acupuncture help my hip",
        "how many sessions",
        # red-flag words in other senses
        "I'm broke until payday",
        "the link is broken",
        "i broke my PB on saturday",
        "chest day then glutes",
        "i swim breast stroke",
        "what's the temperature outside",
        "I can pee fine",
        "this pain is killing me",
        "my arm went dead after sleeping on it",
        "i twisted my knee at netball",
        "ran 10 kms yesterday",
        "i talk to my mum every day",
    ],
)
def test_ordinary_questions_are_not_red_flags(nlp, text):
    assert red_flag_kinds(nlp(text)) == []


def test_detector_overrides_the_classifier(nlp):
    message = Message(data={TEXT: "referral? also I have chest pain"})
    message.set(SPACY_DOCS[TEXT], nlp(message.get(TEXT)))
    message.set("intent", {"name": "faq_referral", "confidence": 0.9})
    message.set(
        "intent_ranking", [{"name": "faq_referral", "confidence": 0.9}, {"name": "red_flag", "confidence": 0.05}]
    )
    RedFlagDetector({}).process([message])
    assert message.get("intent") == {"name": "red_flag", "confidence": 1.0}
    assert [r["name"] for r in message.get("intent_ranking")] == ["red_flag", "faq_referral"]


def test_detector_leaves_other_messages_alone(nlp):
    message = Message(data={TEXT: "do I need a referral"})
    message.set(SPACY_DOCS[TEXT], nlp(message.get(TEXT)))
    message.set("intent", {"name": "faq_referral", "confidence": 0.9})
    RedFlagDetector({}).process([message])
    assert message.get("intent")["name"] == "faq_referral"


def test_numbness_between_the_legs_is_a_red_flag(nlp):
    assert "saddle_numbness" in red_flag_kinds(nlp("i have numbness between my legs since the injury"))
