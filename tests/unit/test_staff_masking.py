"""Masking what identifies a patient in the staff console (bot/staff/masking.py), on text as patients type it."""

from __future__ import annotations

import pytest

from bot.staff.masking import LABELS, MaskedText, kind_of, mask


@pytest.mark.parametrize(
    "text, expected, kind",
    [
        ("my acc45 is AB12345 thx", "my acc45 is [ACC45 number] thx", "acc45"),
        ("acc number 12345ab", "acc number [ACC45 number]", "acc45"),
        ("its 1234 abc i think", "its [ACC45 number] i think", "acc45"),
        ("my acc45 is 2024 abc", "my acc45 is [ACC45 number]", "acc45"),  # a year, but named as the number
        ("ring me on 021 123 4567", "ring me on [phone]", "phone"),
        ("+64 21 123 4567", "[phone]", "phone"),
        ("0064 21 123 4567 pls", "[phone] pls", "phone"),
        ("landline (04) 499-1234.", "landline [phone].", "phone"),
        ("my number:0211234567thanks", "my number:[phone]thanks", "phone"),
        ("in the UK +44 20 7946 0958", "in the UK [phone]", "phone"),
        ("sam.smith@example.co.nz", "[email]", "email"),
        ("email me at sam.smith@example.co.nz.", "email me at [email].", "email"),
        ("aroha@māori.nz", "[email]", "email"),
        ("o'neil@example.com", "[email]", "email"),
    ],
)
def test_details_patients_type_are_masked(text, expected, kind):
    masked = mask(text)
    assert masked == MaskedText(expected, hidden=1, kinds={kind})


def test_several_details_in_one_message_are_counted():
    masked = mask("Aroha, 021 123 4567 or aroha@example.nz, acc45 AB 12345", known=["Aroha Ngata"])
    assert masked.text == "[name], [phone] or [email], acc45 [ACC45 number]"
    assert masked.hidden == 4
    assert masked.kinds == {"name", "phone", "email", "acc45"}


def test_names_from_the_slots_are_masked_wherever_they_appear_but_not_inside_words():
    known = ["Sam Smith"]
    masked = mask("hi im sam. SAM SMITH here. Samoa trip, smithy, Sam's knee, samsmith", known)
    assert masked.text == "hi im [name]. [name] here. Samoa trip, smithy, [name]'s knee, samsmith"
    assert masked.hidden == 3 and masked.kinds == {"name"}


def test_a_hyphenated_or_apostrophe_name_is_one_label_and_its_parts_are_masked_too():
    masked = mask("Mere-Anne O'Neil here. Thanks Mere-Anne! Mere said Neil would call", ["Mere-Anne O'Neil"])
    assert masked.text == "[name] here. Thanks [name]! [name] said [name] would call"


def test_known_values_are_masked_by_their_kind():
    assert kind_of("Aroha") == "name"
    assert kind_of("0211234567") == "phone"
    assert kind_of("kiri@example.org") == "email"
    assert kind_of("AB12345") == "acc45"
    masked = mask("text 0211234567 and AB12345 or kiri@example.org", ["0211234567", "AB12345", "kiri@example.org"])
    assert masked.text == "text [phone] and [ACC45 number] or [email]"
    assert masked.hidden == 3


def test_a_known_acc45_is_masked_even_where_it_reads_as_words():
    assert mask("it is 1234 ago").text == "it is 1234 ago"
    assert mask("it is 1234 ago", ["1234AGO"]).text == "it is [ACC45 number]"


@pytest.mark.parametrize(
    "text",
    [
        "my knee has been sore for 3 weeks",
        "I hurt it on 05-03-2024 playing netball",
        "injured 14.03.2024, seen by GP 2024-03-12",
        "hurt it on 03.04.24 and again 12/03/2024",
        "in march 2024 and since then it aches",
        "since 2023 but worse now",
        "since 2024 ACC approved it",
        "paid 1200 for it",
        "hurt it 2 weeks ago, call 111 if it gets worse",
        "I'm 45 and play rugby",
        "",
    ],
)
def test_text_with_nothing_to_hide_and_dates_of_injury_are_unchanged(text):
    masked = mask(text, known=["Aroha"])
    assert masked == MaskedText(text, hidden=0, kinds=set())


def test_public_numbers_are_left_as_they_are():
    text = "Call Healthline free on 0800 611 116 (or +64 800 611 116); we will ring you on 021 123 4567"
    masked = mask(text, public=["0800 611 116"])
    assert masked.text == "Call Healthline free on 0800 611 116 (or +64 800 611 116); we will ring you on [phone]"
    assert mask(text).hidden == 3


def test_labels_never_hold_the_detail():
    secret = "Aroha Ngata 021 123 4567 AB12345 aroha@example.nz"
    masked = mask(secret, ["Aroha Ngata"])
    for detail in ("Aroha", "Ngata", "123", "4567", "12345", "example"):
        assert detail not in masked.text
    assert masked.text == " ".join(LABELS[kind] for kind in ("name", "phone", "acc45", "email"))
