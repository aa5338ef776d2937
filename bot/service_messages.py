"""What the servers themselves say to a patient when the assistant cannot answer.

The sentences are responses in domain/service.yml, like every other answer. They are sent by the Rasa
process when it cannot run the assistant at all (conversations database, lock store or action server
unreachable, an unexpected error), so they must not depend on the model, the action server or the database:
they are read from the domain files once, at import (bot/responses.py).
"""

from __future__ import annotations

from bot.clinic.profile import load_profile
from bot.responses import response_text


def technical_problem() -> str:
    """The "technical problem" answer, with the clinic's contact route from the clinic profile."""
    return response_text("utter_technical_problem", contact_route=load_profile().contact_route())


TECHNICAL_PROBLEM = technical_problem()
