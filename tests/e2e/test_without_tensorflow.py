"""The `rasa run` that the launcher starts (as `make run` does) answers without TensorFlow loaded: no TensorFlow
library mapped in its memory, a resident size TensorFlow alone would exceed, and its log says why
(bot/processes/without_tensorflow.py, bot/processes/rasa_cli.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

import psutil
import pytest

from bot.processes.launcher import Stack
from tests.conftest import rest_send, texts

pytestmark = pytest.mark.e2e

# Measured after ~20 messages (this 2-core machine): 312 MB without TensorFlow, 651 MB with it (`import tensorflow`
# alone is ~420 MB). After the whole end-to-end suite: see the assertion's message.
RSS_LIMIT_MB = 450


def assert_without_tensorflow(pid: int) -> None:
    """The Rasa process `pid` runs through the entry, has no TensorFlow library mapped, and is small (also used by
    tests/e2e/test_production.py)."""
    process = psutil.Process(pid)
    assert "bot.processes.rasa_cli" in process.cmdline()  # the launcher's entry, not the `rasa` script
    mapped = {line.split()[-1] for line in Path(f"/proc/{pid}/maps").read_text().splitlines()}
    assert not [path for path in mapped if "tensorflow" in path], "a TensorFlow library is loaded in rasa run"
    rss_mb = process.memory_info().rss >> 20
    assert rss_mb < RSS_LIMIT_MB, f"rasa run uses {rss_mb} MB"


def test_rasa_run_answers_without_tensorflow_in_memory(stack: Stack):
    assert "No referral needed" in texts(rest_send(stack, f"notf-{uuid.uuid4().hex[:8]}", "do I need a GP referral?"))
    assert_without_tensorflow(stack.processes["rasa"].pid)
    log = (stack.log_dir / "rasa.log").read_text(errors="replace")
    assert "TensorFlow is not loaded: the model uses no TensorFlow component" in log
