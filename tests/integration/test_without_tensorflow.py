"""Rasa 3.6.21 with the shipped model, without TensorFlow (bot/processes/without_tensorflow.py): Rasa's modules import,
the model loads and answers, nothing loads TensorFlow, and Rasa's TensorFlow classes fail loudly if used. The guard on
a Rasa upgrade: what Rasa does with TensorFlow at import time and on the prediction path is checked here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from bot.processes.without_tensorflow import tensorflow_needed
from tests.conftest import ROOT, require_model


def run(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_shipped_model_needs_no_tensorflow():
    assert tensorflow_needed(require_model(), {}) is None


def test_rasa_loads_the_model_and_answers_without_tensorflow():
    result = run(
        r"""
        import asyncio, json, re, sys
        from bot.processes import without_tensorflow
        from bot.processes.without_tensorflow import TensorFlowNotLoaded
        without_tensorflow.install()
        import rasa.__main__, rasa.core.run, rasa.engine.recipes.default_components  # what `rasa run` imports
        from rasa.core.agent import Agent
        import bot.storage.tracker_store  # endpoints.yml's tracker store: applies bot/rasa_patches.py
        agent = Agent.load(sys.argv[1])
        replies = asyncio.run(agent.handle_text("do I need a GP referral?", sender_id="integration"))
        import thinc.compat  # spaCy's backend, imported by the model's SpacyNLP
        errors = {}
        from rasa.nlu.classifiers.diet_classifier import DIET
        from rasa.utils.tensorflow.layers import Ffnn
        uses = {"DIET": lambda: DIET(None, None, None, None, {}), "Ffnn": lambda: Ffnn([1], 0.1, 0.1, 0.1)}
        for name, use in uses.items():
            try:
                use()
            except TensorFlowNotLoaded as error:
                errors[name] = str(error)
        maps = [line for line in open("/proc/self/maps") if "tensorflow" in line]
        print(json.dumps({
            "replies": [r.get("text", "") for r in replies],
            "thinc_has_tensorflow": thinc.compat.has_tensorflow,
            "tensorflow_modules": sorted(n for n, m in sys.modules.items() if n.split(".")[0] == "tensorflow" and m),
            "mapped": maps,
            "errors": errors,
            # peak of this process's memory (ru_maxrss would count the forking parent's pages)
            "peak_rss_mb": int(re.search(r"VmHWM:\s+(\d+) kB", open("/proc/self/status").read())[1]) // 1024,
        }))
        """,
        str(require_model()),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert "referral" in " ".join(out["replies"]).lower()
    assert out["thinc_has_tensorflow"] is False
    assert out["tensorflow_modules"] == [] and out["mapped"] == []
    assert set(out["errors"]) == {"DIET", "Ffnn"}, out["errors"]
    assert all("RASA_TENSORFLOW=1" in message for message in out["errors"].values())
    assert out["peak_rss_mb"] < 450, out  # measured 312 MB; with TensorFlow ~650 MB


def test_the_entry_runs_rasas_own_command_line_with_and_without_tensorflow():
    """`python -m bot.processes.rasa_cli` is `rasa`: same arguments; the log line says what was decided."""
    model = str(require_model())
    code = """
        import runpy, sys
        sys.argv = ["-m", *sys.argv[1:]]
        try:
            runpy.run_module("bot.processes.rasa_cli", run_name="__main__")
        except SystemExit:
            pass
        from bot.processes import without_tensorflow
        print("GUARDED" if without_tensorflow.installed() and sys.modules["tensorflow"] is None else "AS RASA IS")
        """
    without = run(code, "run", "--model", model, "--help")
    assert without.returncode == 0, without.stderr[-3000:]
    assert "usage: rasa run" in without.stdout and without.stdout.strip().endswith("GUARDED")
    assert "TensorFlow is not loaded: the model uses no TensorFlow component" in without.stderr
    switched = run(code, "run", "--model", model, "--help", env={"RASA_TENSORFLOW": "1"})
    assert switched.returncode == 0, switched.stderr[-3000:]
    assert switched.stdout.strip().endswith("AS RASA IS")
    assert "Loading TensorFlow: RASA_TENSORFLOW=1 is set" in switched.stderr
