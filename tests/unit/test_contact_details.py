"""Contact details for call-back requests (bot/clinic/contact_details.py), table-driven."""

from __future__ import annotations

import pytest

from bot.clinic.contact_details import (
    email_address,
    normalise_nz_phone,
    nz_phone_number,
    parse_contact,
    parse_name,
    without_contact,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("021 123 4567", "0211234567"),
        ("(04) 123-4567", "041234567"),
        ("+64 21 123 4567", "0211234567"),
        ("0064211234567", "0211234567"),
        ("0800 611 116", "0800611116"),
        ("027-555-0101", "0275550101"),
        ("12345", None),
        ("1234567890123", None),
        ("+61 2 9999 9999", None),
        ("phone", None),
        ("", None),
    ],
)
def test_nz_phone(text, expected):
    assert normalise_nz_phone(text) == expected
    assert nz_phone_number(text) == expected  # phonenumbers agrees on every one of these


@pytest.mark.parametrize(
    "text, expected",
    [
        # what phonenumbers reads right and the digit rule above did not
        ("+64 (0)21 123 4567", "0211234567"),
        ("+64 021 123 4567", "0211234567"),
        ("0800 1234", None),
        # landlines, mobiles, 0800 / 0508, in the forms patients write them
        ("04 499 1234", "044991234"),
        ("(03) 477 1234", "034771234"),
        ("+64 9 123 4567", "091234567"),
        ("0064 4 499 1234", "044991234"),
        ("022 1234 5678", "02212345678"),
        ("0508 123 456", "0508123456"),
        ("0800 61 11 16", "0800611116"),
        ("021 1234", None),
        ("4991234", None),
        ("211234567", None),
        ("+1 415 555 0101", None),
        ("021 123 4567 ext 5", None),
        ("0800 ACUPUNCTURE", None),
    ],
)
def test_nz_phone_number(text, expected):
    assert nz_phone_number(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Aroha@Example.co.nz", "aroha@example.co.nz"),
        ("o'neil@example.nz", "o'neil@example.nz"),
        ("aroha@māori.nz", "aroha@māori.nz"),
        ("sam..smith@example.nz", None),
        ("sam.@example.nz", None),
        ("kiri@example", None),
        ("kiri@-example.nz", None),
        ("kiri@exam_ple.nz", None),
        ("no email", None),
    ],
)
def test_email_address(text, expected):
    assert email_address(text) == expected


@pytest.mark.parametrize(
    "text, phone, email",
    [
        ("call me on 021 123 4567", "0211234567", None),
        ("aroha@example.co.nz", None, "aroha@example.co.nz"),
        ("Sam.Smith+acc@Example.NZ please", None, "sam.smith+acc@example.nz"),
        ("021 555 0101 or me@mail.com", "0215550101", "me@mail.com"),
        ("my number is +64 4 123 4567", "041234567", None),
        ("ring 04 499 1234 ext 12 after 5", "044991234", None),
        ("+64 (0)27 555 0101", "0275550101", None),
        ("it's o'neil@example.nz", None, "o'neil@example.nz"),
        ("Kiri, kiri@māori.nz.", None, "kiri@māori.nz"),
        ("sam..smith@example.nz or 021 555 0101", "0215550101", None),
        ("acc45 AB12345, 0800 611 116", "0800611116", None),
    ],
)
def test_parse_contact(text, phone, email):
    contact = parse_contact(text)
    assert contact is not None and (contact.phone, contact.email) == (phone, email)


@pytest.mark.parametrize(
    "text",
    ["", "no", "my email is aroha@", "123", "call me maybe", "a@b", "@example.com", "sam..smith@example.nz",
     "born 12/03/1990", "AB12345", "021 1234", "+61 2 9999 9999"],
)  # fmt: skip
def test_parse_contact_refuses_what_is_not_a_contact(text):
    assert parse_contact(text) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Aroha Ngata", "Aroha Ngata"),
        ("my name is sam", "Sam"),
        ("I'm Mere-Anne O'Neil", "Mere-Anne O'Neil"),
        ("Tūī", "Tūī"),
        ("its jo.", "Jo"),
        ("Dr. Who", "Dr. Who"),
        ("ok. its Aroha", "Aroha"),
        ("Aroha here", "Aroha"),
        ("I'm Aroha Smith", "Aroha Smith"),
        ("it's Aroha", "Aroha"),
        ("kia ora, I'm Wiremu", "Wiremu"),
        ("sure, Aroha", "Aroha"),
        ("nah don't worry about it", None),
        ("never mind", None),
        ("Never Mind", None),
        ("leave it", None),
        ("", None),
        ("12345", None),
        ("R2D2", None),
        ("a@b.com", None),
        ("one two three four five six", None),
    ],
)
def test_parse_name(text, expected):
    assert parse_name(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Aroha, 021 123 4567", "Aroha"),
        ("Aroha +64 (0)21 123 4567", "Aroha"),
        ("Sam Smith sam@example.com", "Sam Smith"),
        ("Mere and my number is 04 499 1234 ext 12", "Mere"),
        ("acc45 AB12345", "acc45 AB12345"),
    ],
)
def test_without_contact(text, expected):
    assert without_contact(text) == expected
