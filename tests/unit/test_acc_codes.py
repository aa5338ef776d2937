"""ACC45 and Read code shapes (bot/clinic/acc_codes.py), table-driven."""

from __future__ import annotations

import pytest

from bot.clinic.acc_codes import (
    acc45_matches,
    find_acc45,
    is_valid_acc45,
    mask_acc45,
    normalise_acc45,
    normalise_read_code,
    without_acc45,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("AB12345", "AB12345"),
        ("ab12345", "AB12345"),
        ("Ab 12345", "AB12345"),
        (" AB 123 45 ", "AB12345"),
        ("12345AB", "12345AB"),
        ("12345 ab", "12345AB"),
        ("1234ABC", "1234ABC"),
        ("1234 abc", "1234ABC"),
        ("1234-ABC", "1234ABC"),
        ("zz99999", "ZZ99999"),
        ("00000AA", "00000AA"),
        ("", None),
        (None, None),
        ("AB1234", None),
        ("AB123456", None),
        ("A123456", None),
        ("ABC1234", None),
        ("123456A", None),
        ("1234AB1", None),
        ("12345ABC", None),
        ("ABCDEFG", None),
        ("1234567", None),
        ("AB12 34X", None),
        ("AB1234%", None),
        ("ÀB12345", None),
        ("AB１２３４５", None),
    ],
)
def test_normalise_acc45(text, expected):
    assert normalise_acc45(text) == expected
    assert is_valid_acc45(text) is (expected is not None)


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("my claim number is ab 12345 thanks", "AB12345"),
        ("ACC45: 1234ABC", "1234ABC"),
        ("it's 12345-ab", "12345AB"),
        ("I have AB123456 somewhere", None),
        ("no number yet", None),
        ("XAB12345", None),
        # written with a space or dash, as patients type them: found when the letters are not a word
        ("my acc45 is AB 12345", "AB12345"),
        ("it's 12345 AB", "12345AB"),
        ("its 1234 abc i think", "1234ABC"),
        ("1234-abc", "1234ABC"),
        ("in 12345 ab thanks", "12345AB"),  # "in 12345" is words; the number after it is still found
        # a number the message names: a year then lower-case letters, or capitals that spell a word
        ("my acc45 is 2024 abc", "2024ABC"),
        ("ACC45: 1999-xyz", "1999XYZ"),
        ("claim number is 2024 abc", "2024ABC"),
        ("acc45 no. 1234 AND", "1234AND"),
        ("MY ACC45 IS 2024 AND", "2024AND"),
        ("written as one: 2024and", "2024AND"),
    ],
)
def test_find_acc45_in_a_sentence(sentence, expected):
    assert find_acc45(sentence) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "I hurt my knee in march 2024 and it still hurts",
        "since 2023 for my back",
        "hurt it on 3 March 2024 and it still hurts",
        "I HURT MY KNEE IN MARCH 2024 AND IT STILL HURTS",
        "been sore since 2024 ACC approved it in may",
        "2019-ish",
        "from 2021 til now",
        "paid 1200 for it",
        "ran 10000 km this year",
        "booked in 12345 ok",
        "it's 2024 abc",  # the trade-off: a year then lower-case letters, not named as the number
        "claim number is 1234 and I hurt it in june",  # named, but "and" is a word: 1234 is no ACC45
        "my acc45 since 2024 and",  # "since" is not a label
    ],
)
def test_a_number_followed_by_a_word_is_no_acc45(sentence):
    assert find_acc45(sentence) is None
    assert list(acc45_matches(sentence)) == []
    assert without_acc45(sentence) == sentence


def test_matches_are_every_number_in_order_and_known_ones_even_where_they_read_as_words():
    text = "AB 12345 or 12345-ab, since 2024 and 1234ABC"
    assert [normalise_acc45(m.group(0)) for m in acc45_matches(text)] == ["AB12345", "12345AB", "1234ABC"]
    assert [m.group(0) for m in acc45_matches("it is 1234 ago", known={"1234AGO"})] == ["1234 ago"]
    assert find_acc45("it is 1234 ago") is None


def test_without_acc45_removes_only_numbers():
    assert without_acc45("acc45 12345AB, hurt it on 3 March 2024 and it aches") == (
        "acc45  , hurt it on 3 March 2024 and it aches"
    )
    assert without_acc45("AB 12345 then 1234abc", "#") == "# then #"
    assert without_acc45(None) == ""


def test_mask_keeps_only_the_ends():
    assert mask_acc45("AB12345") == "AB•••45"
    assert "123" not in mask_acc45("1234ABC")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("S57..", "S57.."),
        ("s57..", "S57.."),
        ("14L..", "14L.."),
        ("N245.", "N245."),
        ("7N1..", "7N1.."),
        ("S5700", "S5700"),
        ("S57", None),
        ("S57...", None),
        ("hello", None),
        ("acc45", None),
        ("", None),
        (".....", None),
        ("S.57.", None),
    ],
)
def test_read_codes(text, expected):
    assert normalise_read_code(text) == expected
