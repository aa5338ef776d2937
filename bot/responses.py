"""Response texts and facts from domain/, for Python code that needs them without running an action.

Every sentence the assistant says is a response in domain/. Rasa sends most of them itself (rules, and
custom actions that name a response). A few messages are sent by code outside any action, when the assistant
cannot run a turn (bot/service_messages.py) or a message is too long to read (bot/channels/message_limits.py),
and some code quotes a fact (the clinic's address in the contact route): they read the same domain files here,
once, with Rasa's own loader and interpolation, so they say exactly what the assistant would.

The facts (`FACTS`) are slots of domain/facts.yml that nothing sets: their `initial_value` is the one place
for the emergency number, Healthline's number and the clinic's address.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any, Dict

from rasa.core.nlg.interpolator import interpolate_text
from rasa.shared.core.domain import Domain

DOMAIN_DIR = Path(__file__).resolve().parents[1] / "domain"
FACTS = ("emergency_number", "healthline_number", "clinic_address", "clinic_city")
_VARIABLE = re.compile(r"{([^\n{}]+?)}")  # a response variable, as rasa.core.nlg.interpolator reads it


def load_domain(path: Path = DOMAIN_DIR) -> Domain:
    """The domain as Rasa loads it, without the notice Rasa prints on every load (slot auto-fill removed in 3.0)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Slot auto-fill has been removed")
        return Domain.load(path)


DOMAIN = load_domain()


def facts(domain: Domain = DOMAIN) -> Dict[str, str]:
    """The facts: slot name -> its initial value."""
    values = {slot.name: slot.initial_value for slot in domain.slots}
    missing = [name for name in FACTS if values.get(name) is None]
    if missing:
        raise ValueError(f"{DOMAIN_DIR}: no initial value for the fact slots {missing}")
    return {name: str(values[name]) for name in FACTS}


def response_text(response: str, /, **values: Any) -> str:
    """The text of `response` (its first variation), its variables filled from the facts and `values`.

    Raises KeyError for a response the domain does not have or a variable with no value, rather than send
    "{contact_route}" to a patient.
    """
    variations = DOMAIN.responses.get(response)
    if not variations or "text" not in variations[0]:
        raise KeyError(f"domain/ has no response {response!r} with a text")
    template = variations[0]["text"]
    filled = {**facts(), **values}
    missing = sorted(set(_VARIABLE.findall(template)) - filled.keys())
    if missing:
        raise KeyError(f"response {response!r}: no value for {missing}")
    return interpolate_text(template, filled)
