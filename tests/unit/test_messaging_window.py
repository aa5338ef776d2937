"""bot/channels/messaging_window.py: Meta's 24-hour window, the human-agent tag up to 7 days, then nothing."""

from __future__ import annotations

import pytest

from bot.channels.messaging_window import (
    HOUR,
    HUMAN_AGENT_TAG,
    MARGIN,
    Window,
    message_tag,
    messaging_window,
)

NOW = 1_800_000_000.0
DAY = 24 * HOUR


@pytest.mark.parametrize(
    ("age", "window"),
    [
        (0, Window.RESPONSE),
        (-120, Window.RESPONSE),  # the patient's clock ahead of ours: still the open window
        (1 * HOUR, Window.RESPONSE),
        (DAY - MARGIN - 1, Window.RESPONSE),
        (DAY - MARGIN, Window.HUMAN_AGENT),  # the tag a few minutes early: Rasa stored the message after Meta got it
        (DAY + 1, Window.HUMAN_AGENT),
        (30 * HOUR, Window.HUMAN_AGENT),
        (6 * DAY, Window.HUMAN_AGENT),
        (7 * DAY - MARGIN - 1, Window.HUMAN_AGENT),
        (7 * DAY - MARGIN, Window.CLOSED),
        (7 * DAY + 1, Window.CLOSED),
        (30 * DAY, Window.CLOSED),
    ],
)
def test_window_by_the_age_of_the_patients_last_message(age, window):
    assert messaging_window(NOW - age, NOW) is window


def test_no_message_from_the_patient_known_means_nothing_may_be_sent():
    assert messaging_window(None, NOW) is Window.CLOSED


def test_only_the_human_agent_window_needs_a_tag():
    assert message_tag(Window.HUMAN_AGENT) == HUMAN_AGENT_TAG == "HUMAN_AGENT"
    assert message_tag(Window.RESPONSE) is None
    assert message_tag(Window.CLOSED) is None
