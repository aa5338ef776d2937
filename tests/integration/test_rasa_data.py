"""Rasa's own checks: the training data validates cleanly and the test stories pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPORTS, ROOT, require_model

pytestmark = pytest.mark.slow
RASA = str(Path(sys.executable).parent / "rasa")


def run_rasa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([RASA, *args], cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_data_validates_without_warnings():
    result = run_rasa("data", "validate", "--domain", "domain", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_stories_have_no_prediction_errors():
    out = REPORTS / "core"
    result = run_rasa(
        "test",
        "core",
        "--model",
        str(require_model()),
        "--stories",
        "tests/stories",
        "--fail-on-prediction-errors",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert (out / "story_report.json").exists()
    assert (
        not (out / "failed_test_stories.yml")
        .read_text()
        .strip()
        .replace("# None of the test stories failed - all good!", "")
    )
