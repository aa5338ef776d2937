"""`/metrics` of the real Rasa server and web service (the session stack runs with $METRICS_TOKEN): refused without
the token; messages sent over REST (one reaching the fallback) move the counters and histograms by exactly what
happened; no label holds a conversation id. The action server failure counter: tests/e2e/test_failures.py; nginx
answering 404 for /metrics in the production profile: tests/e2e/test_production.py."""

from __future__ import annotations

import uuid

import pytest

from bot.metrics import assistant
from tests.conftest import METRICS_TOKEN, rest_send, texts
from tests.support.metrics import get, label_values, moved, scrape, total, value

pytestmark = pytest.mark.e2e

RECEIVED = "clinic_rasa_messages_received_total"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {METRICS_TOKEN}x"},
     {"Authorization": METRICS_TOKEN}, {"X-Forwarded-For": "127.0.0.1"}],
)
def test_without_the_token_both_servers_refuse(stack, headers):
    for url in (stack.rasa_url, stack.web_url):
        status, body = get(url, "/metrics", headers)
        assert status == 401 and "clinic_" not in body and "process_" not in body, (url, status)


def test_messages_replies_fallbacks_and_time_to_answer_are_counted(stack):
    sender = f"metrics-{uuid.uuid4().hex[:12]}"
    _, before = scrape(stack.rasa_url, METRICS_TOKEN)
    answer = rest_send(stack, sender, "do I need a GP referral?")
    fallback = rest_send(stack, sender, "blorp fizzwang quxx zzzt")
    assert "didn't quite understand" in texts(fallback) and "didn't quite understand" not in texts(answer)
    text, after = scrape(stack.rasa_url, METRICS_TOKEN)

    assert moved(before, after, RECEIVED, channel="rest") == 2
    assert moved(before, after, "clinic_rasa_replies_sent_total", channel="rest") == len(answer) + len(fallback)
    assert moved(before, after, "clinic_rasa_fallbacks_total", channel="rest") == 1
    received = total(after, RECEIVED) - total(before, RECEIVED)  # every channel (other tests' Meta messages)
    assert moved(before, after, "clinic_rasa_message_duration_seconds_count") == received
    assert moved(before, after, "clinic_rasa_lock_wait_seconds_count") == received
    seconds = moved(before, after, "clinic_rasa_message_duration_seconds_sum")
    assert 0 < seconds < 30, seconds
    assert value(after, "process_resident_memory_bytes") > 0 and value(after, "process_open_fds") > 0

    assert sender not in text and "blorp" not in text
    labels = label_values(after)
    assert labels["channel"] <= {*assistant.CHANNELS, assistant.OTHER}, labels["channel"]
    assert labels["reason"] <= {*assistant.PROBLEM_REASONS, *assistant.ACTION_FAILURE_REASONS, *assistant.META_REASONS}


def test_the_web_service_counts_requests_by_route_template(stack):
    ref = "Ab3dE5fG7h"
    _, before = scrape(stack.web_url, METRICS_TOKEN)
    status, _ = get(stack.web_url, f"/staff/conversations/{ref}")
    assert status == 303  # to the log-in page
    text, after = scrape(stack.web_url, METRICS_TOKEN)
    route = "/staff/conversations/{ref}"
    assert moved(before, after, "clinic_web_requests_total", route=route, method="GET", status="3xx") == 1
    assert moved(before, after, "clinic_web_request_duration_seconds_count", route=route) == 1
    assert ref not in text
    assert value(after, "process_resident_memory_bytes") > 0
