"""Warnings of our dependencies that are noise for whoever runs the assistant, dropped one by one.

Python hides deprecation warnings raised inside libraries, but Sanic (imported by `rasa run` and the action
server) turns every `DeprecationWarning` on for the whole process (`filterwarnings("once", ...)` in
sanic/app.py), so start-up printed a dozen warnings about the libraries' own use of other libraries: nothing
to act on for someone running or changing the assistant. Each one is listed in `NOISE` by the file that
raises it and the start of its message; any other warning still shows, and so do these ones raised elsewhere.

They are dropped when they would be shown (a `warnings.showwarning` hook), not by entries in
`warnings.filters`: Sanic and Rasa put blanket entries in front of any installed before them ("once" for
every DeprecationWarning, every UserWarning), and the first entry that matches wins.

Installed in the Rasa process by logging.yml (its `quiet_warnings` filter: Rasa reads the logging config
before it imports the libraries that warn), and in the action server and the web service by the launcher, which
runs them as `python -m bot.processes.warning_filters bot.processes.action_server ...` (rasa-sdk's imports warn
first) and `... bot.web` (it reads the domain's responses with Rasa's loader).
"""

from __future__ import annotations

import logging
import re
import runpy
import sys
import warnings
from typing import Any, Optional, TextIO, Tuple, Type

# (file that raises the warning, start of its message), both regular expressions
NOISE: Tuple[Tuple[str, str], ...] = (
    (r"sanic_cors/extension\.py", "distutils Version classes are deprecated"),
    # the importer's file; the import hook's when TensorFlow is kept out (bot/processes/without_tensorflow.py)
    (r"(rasa/shared/utils/validation|bot/processes/without_tensorflow)\.py", "pkg_resources is deprecated as an API"),
    (r"pkg_resources/__init__\.py", r"Deprecated call to `pkg_resources\.declare_namespace"),
    (r"tensorflow/lite/python/util\.py", r"jax\.xla_computation is deprecated"),
    (r"rasa/core/tracker_store\.py", r"Calling URL\(\) directly is deprecated"),  # SQLAlchemy 1.4, in Rasa 3.6
    (r"(matplotlib|packaging)/\w+\.py", r"'\w+' deprecated - use '\w+'"),  # pyparsing 3's renamed methods
    (r"typer/\w+\.py", r"'(click\.utils\.get_\w+_stream|BaseCommand)' is deprecated"),  # Click 8.2
    (r"spacy/cli/_util\.py", r"Importing 'parser\.split_arg_string' is deprecated"),  # Click 8.2
    (r"<frozen importlib\._bootstrap>", r"the load_module\(\) method is deprecated"),  # a Rasa dependency's importer
)
_NOISE = tuple((re.compile(rf"(?:^|[/\\]){path}$"), re.compile(message)) for path, message in NOISE)


def is_noise(message: Warning | str, category: Type[Warning], filename: str) -> bool:
    """True for a deprecation warning listed in `NOISE`."""
    path = filename.replace("\\", "/")
    return issubclass(category, DeprecationWarning) and any(
        file.search(path) and text.match(str(message)) for file, text in _NOISE
    )


def install() -> None:
    """Drop the warnings in `NOISE` from now on in this process; every other warning is shown as before."""
    shown = warnings.showwarning
    if getattr(shown, "drops_noise", False):
        return

    def showwarning(
        message: Warning | str, category: Type[Warning], filename: str, lineno: int, file: Optional[TextIO] = None,
        line: Optional[str] = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        if not is_noise(message, category, filename):
            shown(message, category, filename, lineno, file, line, **kwargs)

    showwarning.drops_noise = True  # type: ignore[attr-defined]
    warnings.showwarning = showwarning


def quiet_warnings(name: Optional[str] = None) -> logging.Filter:
    """Factory for `logging.config.dictConfig` (logging.yml): installs the hook, returns a filter passing all."""
    install()
    return logging.Filter(name or "")


def main() -> None:
    """`python -m bot.processes.warning_filters MODULE [ARGS...]`: `python -m MODULE ARGS...` with the hook."""
    if len(sys.argv) < 2:
        sys.exit("usage: python -m bot.processes.warning_filters MODULE [ARGS...]")
    install()
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
