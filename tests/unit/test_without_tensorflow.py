"""`rasa run`/`rasa shell` without TensorFlow (bot/processes/without_tensorflow.py, bot/processes/rasa_cli.py): when
it is used, what Rasa's modules get, what everyone else gets, and that any use at run time fails loudly.

The guard changes the whole process, so it is installed only in child processes here (`run_guarded`); they import
no Rasa (tests/integration/test_without_tensorflow.py does, with the real model)."""

from __future__ import annotations

import builtins
import io
import json
import os
import subprocess
import sys
import tarfile
import textwrap
import types
from pathlib import Path
from typing import Iterable

import pytest

from bot.processes import rasa_cli, without_tensorflow
from bot.processes.without_tensorflow import TENSORFLOW_FREE_COMPONENTS, tensorflow_needed

ROOT = Path(__file__).resolve().parents[2]
DIET = "rasa.nlu.classifiers.diet_classifier.DIETClassifier"
TED = "rasa.core.policies.ted_policy.TEDPolicy"
CLINIC = sorted(TENSORFLOW_FREE_COMPONENTS)  # this project's config.yml (the shipped model: integration test)


def make_model(path: Path, components: Iterable[str]) -> Path:
    """A model archive with only what the decision reads: metadata.json's predict_schema."""
    nodes = {f"node{i}": {"uses": name, "fn": "process"} for i, name in enumerate(components)}
    data = json.dumps({"predict_schema": {"nodes": nodes}, "train_schema": {"nodes": {}}}).encode()
    with tarfile.open(path, "w:gz") as archive:
        archive.addfile(tarfile.TarInfo("components"), None)
        info = tarfile.TarInfo("metadata.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


# ---- when: the decision ------------------------------------------------------------------------------------------


def test_a_model_of_tensorflow_free_components_runs_without_tensorflow(tmp_path):
    assert tensorflow_needed(make_model(tmp_path / "m.tar.gz", CLINIC), {}) is None
    assert tensorflow_needed(make_model(tmp_path / "m.tar.gz", CLINIC), {"RASA_TENSORFLOW": "0"}) is None


@pytest.mark.parametrize("component", [DIET, TED, "rasa.nlu.selectors.response_selector.ResponseSelector"])
def test_a_model_with_a_tensorflow_component_loads_tensorflow_and_says_which(tmp_path, component):
    reason = tensorflow_needed(make_model(tmp_path / "m.tar.gz", [*CLINIC, component]), {})
    assert reason and component in reason


def test_an_unknown_component_loads_tensorflow(tmp_path):
    """An allow-list: a component nobody checked (someone's own, a new Rasa one) gets Rasa as it is."""
    reason = tensorflow_needed(make_model(tmp_path / "m.tar.gz", [*CLINIC, "bot.nlu.new_thing.NewThing"]), {})
    assert reason and "bot.nlu.new_thing.NewThing" in reason


def test_the_switch_loads_tensorflow_whatever_the_model(tmp_path):
    reason = tensorflow_needed(make_model(tmp_path / "m.tar.gz", CLINIC), {"RASA_TENSORFLOW": "1"})
    assert reason == "RASA_TENSORFLOW=1 is set"


def test_a_model_that_cannot_be_read_loads_tensorflow(tmp_path):
    """Rasa then reports the problem itself, as it would without this module."""
    assert "no model file" in tensorflow_needed(tmp_path / "missing.tar.gz", {})
    (tmp_path / "damaged.tar.gz").write_bytes(b"not a gzip file")
    assert "cannot be read" in tensorflow_needed(tmp_path / "damaged.tar.gz", {})


def test_a_folder_means_its_newest_model_as_for_rasa(tmp_path):
    old = make_model(tmp_path / "old.tar.gz", CLINIC)
    new = make_model(tmp_path / "new.tar.gz", [*CLINIC, DIET])
    os.utime(old, (1_000, 1_000))
    assert DIET in tensorflow_needed(tmp_path, {})
    os.utime(new, (500, 500))
    assert tensorflow_needed(tmp_path, {}) is None


@pytest.mark.parametrize(
    "argv, guarded",
    [(["run", "--model", "m"], True), (["shell"], True), (["run", "actions"], False), (["train"], False), ([], False)],
)
def test_only_run_and_shell_are_guarded(argv, guarded):
    assert rasa_cli.serves_a_model(argv) is guarded


def test_the_model_argument_as_rasa_reads_it(tmp_path):
    model = make_model(tmp_path / "m.tar.gz", CLINIC)
    assert rasa_cli.model_argument(["run", "--model", "a.tar.gz", "--port", "1"]) == Path("a.tar.gz")
    assert rasa_cli.model_argument(["shell", "-m", "b.tar.gz"]) == Path("b.tar.gz")
    assert rasa_cli.model_argument(["run", "--port", "1", str(model)]) == model  # Rasa's last positional path
    assert rasa_cli.model_argument(["run", "--port", "1"]) == Path("models")
    assert rasa_cli.model_argument(["shell", str(model)]) == model  # the positional path alone
    assert rasa_cli.model_argument(["run", "--model", "a.tar.gz", str(model)]) == model  # Rasa appends it last


def test_the_entry_says_why_it_loads_tensorflow_and_installs_nothing(tmp_path, monkeypatch, capsys):
    model = make_model(tmp_path / "m.tar.gz", [*CLINIC, DIET])
    monkeypatch.setattr(without_tensorflow, "install", lambda: pytest.fail("installed for a TensorFlow model"))
    assert rasa_cli.keep_tensorflow_out(["run", "--model", str(model)]) is False
    line = capsys.readouterr().err.strip()
    assert " INFO     bot.processes.rasa_cli  - Loading TensorFlow: the model" in line and DIET in line


def test_the_entry_installs_the_guard_for_a_tensorflow_free_model(tmp_path, monkeypatch, capsys):
    model = make_model(tmp_path / "m.tar.gz", CLINIC)
    installed = []
    monkeypatch.setattr(without_tensorflow, "install", lambda: installed.append(True))
    monkeypatch.delenv("RASA_TENSORFLOW", raising=False)
    assert rasa_cli.keep_tensorflow_out(["shell", "--model", str(model)]) is True
    assert installed == [True]
    assert "TensorFlow is not loaded" in capsys.readouterr().err
    monkeypatch.setenv("RASA_TENSORFLOW", "1")
    assert rasa_cli.keep_tensorflow_out(["shell", "--model", str(model)]) is False
    assert "Loading TensorFlow: RASA_TENSORFLOW=1 is set" in capsys.readouterr().err


# ---- the Rasa version ----------------------------------------------------------------------------------------------


def test_another_rasa_version_is_refused(monkeypatch):
    with pytest.raises(RuntimeError, match=r"checked against Rasa 3\.6\.21, not 3\.7\.0.*RASA_TENSORFLOW=1"):
        without_tensorflow.check_rasa_version("3.7.0")
    without_tensorflow.check_rasa_version(without_tensorflow.CHECKED_RASA_VERSION)
    monkeypatch.setattr(without_tensorflow.importlib.metadata, "version", lambda name: "3.6.22")
    before = builtins.__import__
    with pytest.raises(RuntimeError, match="not 3.6.22"):
        without_tensorflow.install()
    assert builtins.__import__ is before and not without_tensorflow.installed()  # refused before changing anything


def test_checked_against_the_same_rasa_as_the_patches():
    from bot import rasa_patches

    assert without_tensorflow.CHECKED_RASA_VERSION == rasa_patches.CHECKED_RASA_VERSION


def test_too_late_once_tensorflow_is_imported(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", types.ModuleType("tensorflow"))
    with pytest.raises(RuntimeError, match="tensorflow already imported"):
        without_tensorflow.install()
    assert not without_tensorflow.installed()


# ---- what the guarded process looks like --------------------------------------------------------------------------

# A stand-in for one of Rasa's modules: what Rasa 3.6 does with TensorFlow at import time (rasa/utils/tensorflow/,
# rasa/nlu/classifiers/diet_classifier.py), run as a module named rasa.*.
RASA_LIKE_MODULE = """
from typing import Optional
import numpy as np
import tensorflow as tf
import tensorflow.keras.backend as K
from tensorflow.keras import layers
from keras.utils import tf_utils

class Dense(layers.Dense):
    pass

class Model(tf.keras.Model):
    @tf.function(experimental_relax_shapes=True)
    def step(self, x: Optional[tf.Tensor]) -> tf.Tensor:
        return x

@tf.keras.utils.register_keras_serializable(package="Rasa")
def loss(x: tf.Tensor | None) -> tf.Tensor:
    return K.sum(x)

def uses_tensorflow(x):
    return tf.constant(x)

def imports_tensorflow_at_run_time():
    from tensorflow import config
    return config

FLOAT = tf.float32

def build_model():
    return Model()

def build_layer():
    return Dense(3)

def numpy_dtype():
    return FLOAT.as_numpy_dtype
"""


def run_guarded(code: str) -> subprocess.CompletedProcess:
    """`code` in a fresh Python after install(), with `rasa_like` = RASA_LIKE_MODULE imported as rasa.test_module."""
    prelude = textwrap.dedent(
        f"""
        import sys, types, importlib, importlib.util
        from bot.processes import without_tensorflow
        from bot.processes.without_tensorflow import TensorFlowNotLoaded
        without_tensorflow.install()
        rasa_like = types.ModuleType("rasa.test_module")
        exec(compile({RASA_LIKE_MODULE!r}, "rasa/test_module.py", "exec"), rasa_like.__dict__)
        """
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr[-3000:]


def test_rasas_modules_import_with_placeholders_and_real_tensorflow_is_never_loaded():
    result = run_guarded(
        """
        assert isinstance(rasa_like.Model, type) and isinstance(rasa_like.Dense, type)  # subclasses of placeholders
        assert rasa_like.Model.step.__name__ == "step"  # @tf.function left the function as it was
        assert rasa_like.loss.__name__ == "loss"
        assert sys.modules["tensorflow"] is None and sys.modules["keras"] is None
        maps = open("/proc/self/maps").read()
        assert "tensorflow" not in maps, "a TensorFlow library is mapped"
        print("ok")
        """
    )
    assert_ok(result)
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(
    "statement",
    [
        "import tensorflow",
        "import tensorflow as tf",
        "from tensorflow.keras import layers",
        "import keras",
        "import tensorflow_hub",
        "importlib.import_module('tensorflow')",
    ],
)
def test_anyone_else_finds_no_tensorflow(statement):
    """thinc, transformers, our code…: an ImportError, as on a machine without TensorFlow, also after Rasa's import."""
    result = run_guarded(
        f"""
        try:
            {statement}
        except ImportError as error:
            print(type(error).__name__, error)
        else:
            raise SystemExit("imported")
        assert importlib.util.find_spec("tensorflow") is None
        """
    )
    assert_ok(result)
    assert result.stdout.startswith("ModuleNotFoundError")


def test_thincs_optional_import_sees_no_tensorflow():
    """The library that broke on a placeholder module served to everyone (spaCy's thinc, thinc/compat.py)."""
    result = run_guarded("import thinc.compat\nassert thinc.compat.has_tensorflow is False, 'thinc found TF'")
    assert_ok(result)


@pytest.mark.parametrize(
    "call, what",
    [
        ("rasa_like.uses_tensorflow(1)", "tensorflow.constant"),
        ("rasa_like.build_model()", "rasa.test_module.Model"),
        ("rasa_like.build_layer()", "rasa.test_module.Dense"),
        ("rasa_like.loss(1)", "tensorflow.keras.backend.sum"),
        ("rasa_like.imports_tensorflow_at_run_time()", "tensorflow.config"),
        ("rasa_like.numpy_dtype()", "tensorflow.float32.as_numpy_dtype"),
    ],
)
def test_any_use_of_tensorflow_at_run_time_fails_loudly(call, what):
    """A Rasa upgrade using TensorFlow on the prediction path, or a TensorFlow component: an error, never a dummy."""
    result = run_guarded(
        f"""
        try:
            {call}
        except TensorFlowNotLoaded as error:
            print(error)
        else:
            raise SystemExit("no error")
        """
    )
    assert_ok(result)
    message = result.stdout.strip()
    assert message.startswith(f"{what} used by rasa.test_module (rasa/test_module.py:"), message
    assert "runs without TensorFlow" in message and "RASA_TENSORFLOW=1" in message
