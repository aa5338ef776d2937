"""The clinic profile (clinic_profile.yml): clinic details that the knowledge files do not give.

Values still written as "<<FILL IN: ...>>" are placeholders and read as unknown (None), so callers
can say "I don't know" instead of inventing a fact. The clinic's address is not here: it is a fact of the
domain (domain/facts.yml), which the responses quote too.
"""

from __future__ import annotations

import copy
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import yaml

from bot.responses import facts

SOCIAL_PAGES = (("Facebook", "facebook_url"), ("Instagram", "instagram_url"))  # pages patients can message, by name
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "clinic_profile.yml"
PLACEHOLDER_PREFIX = "<<FILL IN"


def is_placeholder(value: object) -> bool:
    """True for a missing value or one still marked "<<FILL IN: ...>>"."""
    return value is None or (
        isinstance(value, str) and (not value.strip() or value.strip().startswith(PLACEHOLDER_PREFIX))
    )


@dataclass(frozen=True)
class ClinicProfile:
    """Known clinic details; `get` answers None for anything not filled in."""

    values: Dict[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> Optional[str]:
        value = self.values.get(key)
        return None if is_placeholder(value) or isinstance(value, (dict, list)) else str(value).strip()

    def section(self, key: str) -> Dict[str, Any]:
        """A nested mapping of the profile (e.g. `cliniko:`), as written; {} when absent."""
        value = self.values.get(key)
        return dict(value) if isinstance(value, dict) else {}

    @property
    def name(self) -> str:
        return self.get("name") or "Acute Acupuncture"

    @property
    def address(self) -> str:
        """The clinic's address, from domain/facts.yml."""
        return "{clinic_address}, {clinic_city}".format(**facts())

    def page_url(self, key: str) -> Optional[str]:
        """A web page of the clinic's (`facebook_url`, `instagram_url`), when filled in with an https:// address."""
        url = self.get(key)
        return url if url and url.startswith("https://") and " " not in url else None

    def contact_route(self) -> str:
        """How a patient reaches a person at the clinic, from what the profile knows. Pages and numbers are written
        out in full, so every channel makes them tappable (the widget links URLs, phone numbers and e-mails;
        Messenger and Instagram do it themselves)."""
        ways = []
        if self.get("phone"):
            ways.append(f"call {self.get('phone')}")
        if self.get("email"):
            ways.append(f"email {self.get('email')}")
        ways.append(f"visit us at {self.address}")
        pages = [f"{name} ({url})" for name, key in SOCIAL_PAGES if (url := self.page_url(key))]
        if pages:
            ways.append("message the clinic on " + " or ".join(pages))
        elif not (self.get("phone") or self.get("email")):
            ways.append("message the clinic on Facebook or Instagram")
        return ", ".join(ways[:-1]) + (" or " if len(ways) > 1 else "") + ways[-1]


def load_profile(path: Optional[str] = None) -> ClinicProfile:
    """Read the profile from `path`, $CLINIC_PROFILE, or clinic_profile.yml at the repo root.

    The file is read afresh whenever it changed (staff edit it while the servers run); unchanged, its parsed
    contents are reused: parsing it was most of a clinic-details answer's time in the action server (`make profile`).
    """
    source = Path(path or os.environ.get("CLINIC_PROFILE") or DEFAULT_PATH)
    stat = source.stat()
    version = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)  # a copy keeping its mtime: new ctime
    return ClinicProfile(copy.deepcopy(_parsed_profile(str(source), version)))


@functools.lru_cache(maxsize=8)
def _parsed_profile(source: str, _version: Tuple[int, int, int, int]) -> Dict[str, Any]:
    """The profile file's contents; cached per version of the file (inode, size, modification and change times)."""
    data = yaml.safe_load(Path(source).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{source}: the clinic profile must be a mapping of keys to values")
    return {str(k): v for k, v in data.items()}
