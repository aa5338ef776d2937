"""Neutral placeholders (bot/staff/masking.py, `PLACEHOLDERS`): what an annotated message keeps instead of a
patient's details, so that it reads like what patients write and teaches the classifier nothing odd."""

from __future__ import annotations

import re

import pytest

from bot.staff.masking import PLACEHOLDERS, mask


def neutral(text: str, known=(), public=()) -> str:
    return mask(text, known, public, labels=PLACEHOLDERS).text


@pytest.mark.parametrize(
    "text, known, expected",
    [
        # names the patient gave (slot values), with apostrophes and hyphens, whole or in part, any case
        ("hi im Mere-Anne O'Neil", ["Mere-Anne O'Neil"], "hi im Alex"),
        ("o'neil here, MERE said to ask", ["Mere-Anne O'Neil"], "Alex here, Alex said to ask"),
        ("it's Siân’s knee", ["Siân"], "it's Alex’s knee"),
        ("Sam's glute is sore, Samoa trip", ["Sam Smith"], "Alex's glute is sore, Samoa trip"),
        ("Te Aroha Ngata-Smith booking", ["Te Aroha Ngata-Smith"], "Alex booking"),
        # emails, also internationalised and with an apostrophe
        ("email me at sam.smith@example.co.nz.", [], "email me at name@example.com."),
        ("o'neil@example.com pls", [], "name@example.com pls"),
        ("aroha@māori.nz", [], "name@example.com"),
        # New Zealand and international phone numbers, however written
        ("ring me on 021 123 9876", [], "ring me on 021 123 4567"),
        ("my number:0279876543thanks", [], "my number:021 123 4567thanks"),
        ("landline (04) 499-1234.", [], "landline 021 123 4567."),
        ("+64 27 555 0199 anytime", [], "021 123 4567 anytime"),
        ("0064 21 987 6543", [], "021 123 4567"),
        ("in the UK +44 20 7946 0958", [], "in the UK 021 123 4567"),
        # ACC45 numbers in the formats patients type
        ("my acc45 is XY98765 thx", [], "my acc45 is AB12345 thx"),
        ("acc number 98765xy", [], "acc number AB12345"),
        ("its 9876 xyz i think", [], "its AB12345 i think"),
        ("claim xy 98765", [], "claim AB12345"),
    ],
)
def test_details_become_neutral_values(text, known, expected):
    assert neutral(text, known) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I hurt it on 05-03-2024 playing netball",
        "injured 14.03.2024, seen by GP 2024-03-12",
        "hurt it on 03.04.24 and again 12/03/2024",
        "in march 2024 and since then it aches",
        "hurt it 2 weeks ago, call 111 if it gets worse",
        "I'm 45 and play rugby",
    ],
)
def test_dates_and_ordinary_numbers_are_left_alone(text):
    assert neutral(text, ["Aroha"]) == text


def test_public_numbers_stay_as_they_are():
    text = "healthline is 0800 611 116 right? call me on 027 555 0199"
    assert neutral(text, public=["0800 611 116"]) == "healthline is 0800 611 116 right? call me on 021 123 4567"


def test_placeholders_are_details_of_their_own_kind_so_a_second_pass_changes_nothing():
    """A placeholder is what a real detail of its kind looks like: the classifier sees a realistic sentence, and
    masking an already masked text again (an annotation saved twice) gives the same text."""
    text = "Alex here, 021 123 4567 or name@example.com, acc45 AB12345"
    masked = mask(text, ["Alex"], labels=PLACEHOLDERS)
    assert masked.text == text
    assert masked.kinds == {"name", "phone", "email", "acc45"}


def test_placeholders_hold_no_rasa_markup_and_no_patient_detail():
    for value in PLACEHOLDERS.values():
        assert not re.search(r"[\[\](){}#:\"']", value), value
    secret = "Aroha Ngata 027 555 0199 XY98765 aroha@example.nz"
    masked = neutral(secret, ["Aroha Ngata"])
    for detail in ("Aroha", "Ngata", "555", "0199", "98765", "aroha@"):
        assert detail not in masked
    assert masked == "Alex 021 123 4567 AB12345 name@example.com"
