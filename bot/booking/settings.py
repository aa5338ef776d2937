"""Which booking system the chat uses, from the clinic profile's `booking_provider` (clinic_profile.yml):

- "link": the clinic's online booking page (`booking_url`), else a call-back offer (the behaviour before booking in
  the chat);
- "request": a call-back offer only;
- "cliniko": times and booking in the chat through Cliniko's API (bot/booking/cliniko.py), configured by the
  profile's `cliniko:` section and the secret CLINIKO_API_KEY in the environment.
Another system is one more adapter implementing bot/booking/provider.py and one more name here (docs/booking.md).
"""

from __future__ import annotations

import logging
import os
from typing import Mapping, Optional

from bot.booking.provider import BookingProvider, BookingUnavailable
from bot.clinic.profile import ClinicProfile, load_profile

logger = logging.getLogger(__name__)

PROVIDERS = ("link", "request", "cliniko")
IN_CHAT = ("cliniko",)  # providers that book in the chat (the booking form)


def provider_name(profile: Optional[ClinicProfile] = None) -> str:
    """The profile's booking provider; an unknown name is logged and read as "request" (a call-back never fails)."""
    name = (profile or load_profile()).get("booking_provider") or "link"
    if name not in PROVIDERS:
        logger.error(
            "unknown booking_provider in the clinic profile; using 'request' (one of %s)", ", ".join(PROVIDERS)
        )
        return "request"
    return name


def booking_system(profile: Optional[ClinicProfile] = None, environ: Mapping[str, str] = os.environ) -> BookingProvider:
    """The adapter of the profile's provider. Raises BookingUnavailable("not_configured") when it cannot be set up."""
    profile = profile or load_profile()
    name = provider_name(profile)
    if name != "cliniko":
        raise BookingUnavailable("not_configured")
    from bot.booking.cliniko import ClinikoProvider, ClinikoSettings  # only when a clinic uses it

    # a provider per call is cheap: its caches (times, practitioners' names) are the adapter's, for the process
    return ClinikoProvider(ClinikoSettings.load(profile.section("cliniko"), environ, clinic_name=profile.name))
