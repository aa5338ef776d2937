"""Domain checks: answers fit every channel's limits, their variables are filled; generated rules are up to date."""

from __future__ import annotations

import re

import yaml
from rasa.shared.core.domain import Domain

from tests.conftest import ROOT

DOMAIN = Domain.load(ROOT / "domain").as_dict()


def responses():
    for name, variants in DOMAIN["responses"].items():
        for variant in variants:
            yield name, variant


def test_responses_fit_instagram_and_phone_screens():
    too_long = {name: len(v["text"]) for name, v in responses() if len(v.get("text", "")) > 640}
    assert not too_long, f"responses over 640 characters (Instagram allows 1000, a template 640): {too_long}"


def test_button_titles_fit_meta_quick_replies():
    titles = [b["title"] for _, v in responses() for b in v.get("buttons", [])]
    assert titles and all(len(t) <= 20 for t in titles), [t for t in titles if len(t) > 20]


def steps(data):
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from steps(value)
    elif isinstance(data, list):
        for value in data:
            yield from steps(value)


def test_responses_of_rules_and_stories_fill_every_variable_from_a_slot():
    """Rasa fills a response's `{variable}` from the slots (the facts of domain/facts.yml); a response that
    a rule or story sends has nothing else, so a misspelt variable would reach the patient as "{...}"."""
    sent = {
        step["action"]
        for path in [*(ROOT / "data" / "rules").glob("*.yml"), *(ROOT / "data" / "stories").glob("*.yml")]
        for step in steps(yaml.safe_load(path.read_text()))
        if str(step.get("action", "")).startswith("utter_")
    }
    assert "utter_red_flag" in sent
    unfilled = {
        name: variables
        for name in sent
        for variant in DOMAIN["responses"][name]
        if (variables := set(re.findall(r"{([^\n{}]+?)}", variant.get("text", ""))) - set(DOMAIN["slots"]))
    }
    assert not unfilled, f"variables that are not slots: {unfilled}"
