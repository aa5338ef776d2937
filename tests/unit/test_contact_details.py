"""Contact details for call-back requests (bot/clinic/contact_details.py), table-driven."""

from __future__ import annotations

import pytest

from bot.clinic.contact_details import normalise_nz_phone, parse_contact, parse_name


@pytest.mark.parametrize(
    "text, expected",
    [
        ("021 123 4567", "0211234567"), ("(04) 123-4567", "041234567"), ("+64 21 123 4567", "0211234567"),
        ("0064211234567", "0211234567"), ("0800 611 116", "0800611116"), ("027-555-0101", "0275550101"),
        ("12345", None), ("1234567890123", None), ("+61 2 9999 9999", None), ("phone", None), ("", None),
    ],
)
def test_nz_phone(text, expected):
    assert normalise_nz_phone(text) == expected


@pytest.mark.parametrize(
    "text, phone, email",
    [
        ("call me on 021 123 4567", "0211234567", None),
        ("aroha@example.co.nz", None, "aroha@example.co.nz"),
        ("Sam.Smith+acc@Example.NZ please", None, "sam.smith+acc@example.nz"),
        ("021 555 0101 or me@mail.com", "0215550101", "me@mail.com"),
        ("my number is +64 4 123 4567", "041234567", None),
    ],
)
def test_parse_contact(text, phone, email):
    contact = parse_contact(text)
    assert contact is not None and (contact.phone, contact.email) == (phone, email)


@pytest.mark.parametrize("text", ["", "no", "my email is aroha@", "123", "call me maybe", "a@b", "@example.com"])
def test_parse_contact_refuses_what_is_not_a_contact(text):
    assert parse_contact(text) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Aroha Ngata", "Aroha Ngata"), ("my name is sam", "Sam"), ("I'm Mere-Anne O'Neil", "Mere-Anne O'Neil"),
        ("Tūī", "Tūī"), ("its jo.", "Jo"), ("Dr. Who", "Dr. Who"),
        ("ok. its Aroha", "Aroha"), ("Aroha here", "Aroha"), ("I'm Aroha Smith", "Aroha Smith"),
        ("it's Aroha", "Aroha"), ("kia ora, I'm Wiremu", "Wiremu"), ("sure, Aroha", "Aroha"),
        ("nah don't worry about it", None), ("never mind", None), ("Never Mind", None), ("leave it", None),
        ("", None), ("12345", None), ("R2D2", None), ("a@b.com", None), ("one two three four five six", None),
    ],
)
def test_parse_name(text, expected):
    assert parse_name(text) == expected
