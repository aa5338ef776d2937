"""Clinic profile: placeholders read as unknown, filled values are used."""

from __future__ import annotations

from bot.clinic.profile import ClinicProfile, is_placeholder, load_profile


def test_placeholders_are_unknown():
    assert is_placeholder("<<FILL IN: phone>>")
    assert is_placeholder("  ")
    assert is_placeholder(None)
    assert not is_placeholder("04 123 4567")


def test_the_shipped_profile_invents_nothing():
    profile = load_profile()
    assert profile.address.startswith("163 The Terrace")
    for key in ("phone", "email", "opening_hours", "prices", "practitioners", "booking_url"):
        assert profile.get(key) is None, f"{key} is filled in the shipped profile: is it a real clinic fact?"


def test_contact_route_without_phone_or_email_points_to_address_and_socials():
    route = ClinicProfile({}).contact_route()
    assert "163 The Terrace" in route and "Facebook or Instagram" in route


def test_contact_route_uses_filled_values(tmp_path):
    path = tmp_path / "profile.yml"
    path.write_text('phone: "04 000 0000"\nemail: "<<FILL IN: email>>"\n')
    route = load_profile(str(path)).contact_route()
    assert route.startswith("call 04 000 0000") and "email" not in route and "Facebook" not in route


def test_contact_route_gives_the_clinics_pages_in_full_once_filled_in(tmp_path):
    path = tmp_path / "profile.yml"
    path.write_text(
        'phone: "04 000 0000"\nemail: "hello@acute.example.nz"\nfacebook_url: "https://www.facebook.com/acute"\n'
        'instagram_url: "javascript:alert(1)"\n'
    )
    route = load_profile(str(path)).contact_route()
    assert route == (
        "call 04 000 0000, email hello@acute.example.nz, visit us at 163 The Terrace, Wellington Central, Wellington"
        " or message the clinic on Facebook (https://www.facebook.com/acute)"
    )  # an address that is not https:// is not given to patients


def test_profile_path_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "p.yml"
    path.write_text('opening_hours: "Mon-Fri 9-5"\n')
    monkeypatch.setenv("CLINIC_PROFILE", str(path))
    assert load_profile().get("opening_hours") == "Mon-Fri 9-5"


def test_the_profile_is_parsed_once_per_version_of_the_file(tmp_path, monkeypatch):
    import os

    import yaml

    from bot.clinic import profile as module

    path = tmp_path / "clinic_profile.yml"
    path.write_text("phone: '04 123 4567'\npractitioners: [Aroha]\n", encoding="utf-8")
    parses = []
    real = yaml.safe_load
    monkeypatch.setattr(module.yaml, "safe_load", lambda text: parses.append(1) or real(text))
    first = module.load_profile(str(path))
    first.values["practitioners"].append("someone")  # a caller's change stays its own
    assert module.load_profile(str(path)).values["practitioners"] == ["Aroha"] and len(parses) == 1
    path.write_text("phone: '04 765 4321'\npractitioners: [Aroha]\n", encoding="utf-8")  # staff edit it: same size
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert module.load_profile(str(path)).get("phone") == "04 765 4321" and len(parses) == 2
