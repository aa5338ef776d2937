"""What a message means to a running form: an interruption, the end of the form, or the form's to read.

The forms' validation actions (actions/acc_eligibility.py, actions/booking.py) use `is_interruption` to leave such a
message alone (so the form is rejected and the rules answer it) and `ends_form` to keep nothing of it. Both read the
table in bot/dialogue/intents.py, from which `python -m bot.dialogue.rule_files` (`make rules`) writes the rules that
answer these messages (tests/unit/test_rule_files.py checks the rule files are up to date).
"""

from __future__ import annotations

from typing import Optional

from bot.dialogue.intents import ENDS, INTERRUPTS, SWITCHES, row


def answer_action(intent: str) -> Optional[str]:
    """The action that answers `intent` mid-form, or None if the intent is not an interruption."""
    entry = row(intent)
    return entry.in_form_answer_for(intent) if entry and entry.during_form is INTERRUPTS else None


def ends_form(intent: Optional[str], form: Optional[str] = None) -> bool:
    """True for "stop", a red flag, "delete my data" or another flow than `form`: never an answer to `form`."""
    entry = row(intent)
    if entry is None or entry.during_form not in (ENDS, SWITCHES):
        return False
    starts = entry.flow_form(intent or "")
    return starts is None or starts != form  # asking for the form that is running is an answer to it


def is_interruption(intent: Optional[str], form: Optional[str] = None) -> bool:
    """True when the message is a question or request for something else, not an answer to `form`."""
    return bool(intent) and (ends_form(intent, form) or answer_action(intent) is not None)
