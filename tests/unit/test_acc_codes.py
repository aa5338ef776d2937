"""ACC45 and Read code shapes (bot/clinic/acc_codes.py), table-driven."""

from __future__ import annotations

import pytest

from bot.clinic.acc_codes import find_acc45, is_valid_acc45, mask_acc45, normalise_acc45, normalise_read_code


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
    ],
)
def test_find_acc45_in_a_sentence(sentence, expected):
    assert find_acc45(sentence) == expected


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
