"""Rasa's command line (`rasa ...`), with TensorFlow kept out of `rasa run` and `rasa shell` when the model needs none.

    python -m bot.processes.rasa_cli run --model models/clinic.tar.gz ...     (what the launcher runs)

Same arguments and behaviour as the `rasa` command (it calls Rasa's own `rasa.__main__.main`). For `run` (not
`run actions`) and `shell`, first: when `without_tensorflow.tensorflow_needed` finds no reason to load TensorFlow
(the model's components, $RASA_TENSORFLOW), `without_tensorflow.install()`; one log line says which, and why. Then,
when the model loads with skops, skops.io is imported before Rasa (`import_skops_first`: seconds faster). Every
other command (`train`, `test`, …) runs exactly as `rasa` does.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tarfile
from pathlib import Path
from typing import List, Optional

from bot.processes import without_tensorflow

GUARDED_COMMANDS = ("run", "shell")
DEFAULT_MODELS = "models"  # rasa.shared.constants.DEFAULT_MODELS_PATH
LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s  - %(message)s"  # Rasa's (rasa.utils.io.configure_colored_logging)

# Components whose `load` imports skops.io (Rasa 3.6: rasa/nlu/classifiers/)
SKOPS_COMPONENTS = frozenset(
    {
        "rasa.nlu.classifiers.logistic_regression_classifier.LogisticRegressionClassifier",
        "rasa.nlu.classifiers.sklearn_intent_classifier.SklearnIntentClassifier",
    }
)

logger = logging.getLogger("bot.processes.rasa_cli")  # not __main__, its name when run with -m


def serves_a_model(argv: List[str]) -> bool:
    """True for `rasa run` (not `rasa run actions`) and `rasa shell`."""
    return bool(argv) and argv[0] in GUARDED_COMMANDS and argv[:2] != ["run", "actions"]


def model_argument(argv: List[str]) -> Path:
    """The model path given to `rasa run`/`rasa shell` (`--model`/`-m`, or a last positional path as Rasa accepts)."""
    # Rasa's `parse_last_positional_argument_as_model_path`: a last positional path is appended as the last
    # `--model`, so it wins over an earlier one
    if len(argv) >= 2 and argv[:2] != ["run", "actions"] and not argv[-2].startswith("-") and os.path.exists(argv[-1]):
        return Path(argv[-1])
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-m", "--model", default=None)
    known, _ = parser.parse_known_args(argv[1:])
    return Path(known.model) if known.model else Path(DEFAULT_MODELS)


def _log(level: int, message: str) -> None:
    """One line in Rasa's format on stderr, before Rasa configures logging (which would drop it)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT, "%Y-%m-%d %H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.log(level, message)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


def keep_tensorflow_out(argv: List[str]) -> bool:
    """Install the guard when this command serves a model that needs no TensorFlow; say what was decided."""
    if not serves_a_model(argv):
        return False
    reason = without_tensorflow.tensorflow_needed(model_argument(argv), os.environ)
    if reason:
        _log(logging.INFO, f"Loading TensorFlow: {reason}")
        return False
    without_tensorflow.install()
    _log(logging.INFO, "TensorFlow is not loaded: the model uses no TensorFlow component (RASA_TENSORFLOW=1 loads it)")
    return True


def import_skops_first(argv: List[str]) -> bool:
    """Import skops.io before Rasa when the model loads with it (LogisticRegressionClassifier): 2.5 s instead of
    5 s (10 s with TensorFlow loaded), measured. At import, skops computes the names of the types it trusts by looking
    for each numpy and scipy ufunc in every module of `sys.modules` (`skops.io._utils.whichmodule`), so its import
    time grows with the modules already imported: ~1,500 before Rasa, ~3,200 after (~6,000 with TensorFlow). The
    names are the same either way (numpy's and scipy's modules come first in `sys.modules`; compared for the three
    orders with skops 0.9)."""
    if not serves_a_model(argv):
        return False
    model = without_tensorflow.latest_model(model_argument(argv))
    try:
        components = without_tensorflow.model_components(model) if model else frozenset()
    except (OSError, ValueError, KeyError, TypeError, tarfile.TarError):
        return False  # Rasa says why it cannot load the model
    if not components & SKOPS_COMPONENTS:
        return False
    import skops.io  # noqa: F401

    return True


def main(argv: Optional[List[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    keep_tensorflow_out(argv)
    import_skops_first(argv)
    sys.argv = ["rasa", *argv]  # what Rasa's main parses, as from the `rasa` command

    from rasa.__main__ import main as rasa_main  # after the guard: Rasa imports TensorFlow's modules

    rasa_main()


if __name__ == "__main__":
    main()
