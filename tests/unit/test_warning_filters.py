"""Dependencies' deprecation noise dropped one by one (bot/processes/warning_filters.py), every other warning kept."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import List

import pytest

from bot.processes import warning_filters
from bot.processes.warning_filters import is_noise

ROOT = Path(__file__).resolve().parents[2]
SITE = "/venv/lib/python3.10/site-packages"
# each warning `make run` printed before (issue #12): the file that raises it, its message
SEEN_AT_START_UP = [
    ("sanic_cors/extension.py", "distutils Version classes are deprecated. Use packaging.version instead."),
    ("rasa/shared/utils/validation.py", "pkg_resources is deprecated as an API. See https://setuptools.pypa.io/"),
    # the same, where Rasa runs without TensorFlow: the import hook's frame is the importer's
    ("bot/processes/without_tensorflow.py", "pkg_resources is deprecated as an API. See https://setuptools.pypa.io/"),
    ("pkg_resources/__init__.py", "Deprecated call to `pkg_resources.declare_namespace('ruamel')`."),
    ("tensorflow/lite/python/util.py", "jax.xla_computation is deprecated. Please use the AOT APIs."),
    ("rasa/core/tracker_store.py", "Calling URL() directly is deprecated and will be disabled in a future release."),
    ("matplotlib/fontconfig_pattern.py", "'setParseAction' deprecated - use 'set_parse_action'"),
    ("packaging/requirements.py", "'originalTextFor' deprecated - use 'original_text_for'"),
    ("typer/__init__.py", "'click.utils.get_binary_stream' is deprecated and will be removed in Click 9.0."),
    ("typer/completion.py", "'BaseCommand' is deprecated and will be removed in Click 9.0. Use 'Command' instead."),
    ("spacy/cli/_util.py", "Importing 'parser.split_arg_string' is deprecated, it will only be available in ..."),
]


def test_the_importers_notice_from_a_frozen_module_is_noise():
    """Seen when the web service and the action server import Rasa (the domain's loader, bot/responses.py)."""
    message = "the load_module() method is deprecated and slated for removal in Python 3.12; use exec_module() instead"
    assert is_noise(message, DeprecationWarning, "<frozen importlib._bootstrap>")
    assert not is_noise(message, DeprecationWarning, f"{SITE}/mypackage/loader.py")


@pytest.mark.parametrize("path, message", SEEN_AT_START_UP)
def test_the_start_up_noise_is_recognised_by_file_and_message(path, message):
    assert is_noise(message, DeprecationWarning, f"{SITE}/{path}")


@pytest.mark.parametrize(
    "message, category, filename",
    [
        ("distutils Version classes are deprecated", DeprecationWarning, "/repo/bot/web/app.py"),  # our code
        ("distutils Version classes are deprecated", DeprecationWarning, f"{SITE}/not_sanic_cors/extension.py"),
        ("something else is deprecated", DeprecationWarning, f"{SITE}/sanic_cors/extension.py"),
        ("pkg_resources is deprecated as an API", UserWarning, f"{SITE}/rasa/shared/utils/validation.py"),
        ("Slot auto-fill has been removed in 3.0", UserWarning, f"{SITE}/rasa/shared/core/slot_mappings.py"),
    ],
)
def test_any_other_warning_is_kept(message, category, filename):
    assert not is_noise(message, category, filename)


def test_install_drops_the_noise_whatever_filters_come_first(monkeypatch):
    shown: List[str] = []
    monkeypatch.setattr(warnings, "showwarning", lambda message, *args, **kwargs: shown.append(str(message)))
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # as Sanic's "once" for every DeprecationWarning: nothing filtered before
        warning_filters.install()
        warning_filters.install()  # idempotent
        noise, kept = SEEN_AT_START_UP[0][1], "a deprecation of ours"
        warnings.warn_explicit(noise, DeprecationWarning, f"{SITE}/sanic_cors/extension.py", 39)
        warnings.warn_explicit(kept, DeprecationWarning, f"{SITE}/sanic_cors/extension.py", 40)
        warnings.warn_explicit(noise, DeprecationWarning, str(ROOT / "bot" / "web" / "app.py"), 1)
    assert shown == [kept, noise]


def test_running_a_module_through_it_keeps_its_arguments_and_drops_only_the_noise(tmp_path):
    """How the launcher runs the action server: `python -m bot.processes.warning_filters MODULE ARGS...`."""
    (tmp_path / "sanic_cors").mkdir()
    (tmp_path / "sanic_cors" / "__init__.py").write_text("")
    (tmp_path / "sanic_cors" / "extension.py").write_text(
        "import warnings\n"
        "def warn(message):\n"
        "    warnings.warn(message, DeprecationWarning, stacklevel=1)\n"
    )
    (tmp_path / "server.py").write_text(
        textwrap.dedent(
            """
            import sys, warnings
            warnings.filterwarnings("once", category=DeprecationWarning)  # as Sanic does on import
            from sanic_cors.extension import warn
            warn("distutils Version classes are deprecated. Use packaging.version instead.")
            warn("another deprecation")
            print(__name__, sys.argv[0].endswith("server.py"), sys.argv[1:])
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.processes.warning_filters", "server", "--port", "1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "__main__ True ['--port', '1']"  # as `python -m server --port 1`
    assert "another deprecation" in result.stderr and "distutils" not in result.stderr
