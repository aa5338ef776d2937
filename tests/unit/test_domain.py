"""Domain checks: answers fit every channel's limits; generated rules are up to date."""

from __future__ import annotations

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
