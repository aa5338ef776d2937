"""What the servers themselves say to a patient when the assistant cannot answer: one place for these sentences.

The assistant's own answers are responses in domain/; these are sent by the Rasa process when it cannot run
the assistant at all (conversations database, lock store or action server unreachable, an unexpected error),
so they must not depend on the model, the action server or the database.
"""

from __future__ import annotations

from bot.clinic.profile import load_profile

URGENT = "If this is urgent: call 111 in an emergency, or Healthline on 0800 611 116."


def technical_problem() -> str:
    """The "technical problem" answer, with the clinic's contact route from the clinic profile."""
    route = load_profile().contact_route()
    return (
        "Sorry, I can't answer right now because of a technical problem on our side, and I haven't kept that "
        f"message. Please send it again in a few minutes. To reach the clinic, {route}. {URGENT}"
    )


TECHNICAL_PROBLEM = technical_problem()
