"""Run `rasa run` / `rasa shell` without loading TensorFlow when the model uses no TensorFlow component.

Rasa 3.6 imports TensorFlow at module level even for a pipeline that never uses it (base classes of DIET and TED,
`tf.function` decorators, type hints, via `rasa.core.policies.policy` and `rasa.engine.recipes.default_components`):
~4.6 s and ~420 MB of each Rasa process, for nothing, with this project's config.yml. `install()` keeps it out:

- Rasa's own modules (`rasa`, `rasa.*`) that import a TensorFlow module (`TENSORFLOW_MODULES`: tensorflow,
  keras, tensorflow_hub, …) get an inert placeholder module. Its attributes are placeholder classes that can be
  subclassed, used in type hints and as decorators while a Rasa module is being imported (its `<module>` frame is
  on the stack), which is all Rasa does with TensorFlow when no component needs it.
- Outside import time, any attribute of a placeholder or any call of one (a Rasa upgrade that uses TensorFlow on the
  prediction path, a TensorFlow component in the model) raises `TensorFlowNotLoaded`, naming what was used, by which
  module, and the switch (`RASA_TENSORFLOW=1`). Never a dummy value.
- Everyone else (thinc, transformers, our code, …) sees a machine without TensorFlow: `import tensorflow` raises
  ModuleNotFoundError (an ImportError), `importlib.util.find_spec("tensorflow")` returns None.

Why a `builtins.__import__` hook and `None` in `sys.modules`, not an import hook (`sys.meta_path`) alone: finders
are asked once per module name, and the module they give is then cached in `sys.modules` for every later importer,
so thinc would get Rasa's placeholder (the first attempt failed that way: thinc calls
`tensorflow.config.get_visible_devices`). `None` in `sys.modules` is Python's own "this module is absent" (import
statements, `importlib.import_module` and `find_spec` all honour it), and the `__import__` hook, which sees the
importing module's globals on every import statement, cached or not, hands Rasa its placeholders before that.
Its costs: a Python call per import statement (well under a microsecond), and its frame stands between an importer
and the module imported, so a warning a module raises about its own import (`stacklevel=2`) names this file instead
of the importer (bot/processes/warning_filters.py knows the one seen).

Used only when `tensorflow_needed` finds no reason to load TensorFlow: every component of the model's prediction
graph (its metadata.json) is in `TENSORFLOW_FREE_COMPONENTS`, and $RASA_TENSORFLOW is not set. The list is an
allow-list: a component not in it (DIETClassifier, TEDPolicy, a new one) means real TensorFlow, and a log line says
so. Checked against Rasa `CHECKED_RASA_VERSION` (a Rasa upgrade: re-read what its modules do with TensorFlow at
import time and on the prediction path, run tests/integration/test_without_tensorflow.py, then change it).
Installed by the entry bot/processes/rasa_cli.py, which the launcher and the production profile run; `rasa train`,
the tests' training and every other process are unchanged. Standard library only: it runs before anything else is
imported.
"""

from __future__ import annotations

import builtins
import functools
import importlib.metadata
import json
import sys
import tarfile
import types
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Mapping, NoReturn, Optional

CHECKED_RASA_VERSION = "3.6.21"  # the same as bot/rasa_patches.py (tests/unit/test_without_tensorflow.py)
SWITCH_ENV = "RASA_TENSORFLOW"  # "1": load TensorFlow as Rasa does, whatever the model
# top-level modules of TensorFlow and the libraries that exist only around it (installed with Rasa 3.6)
TENSORFLOW_MODULES = frozenset(
    {"tensorflow", "tensorflow_estimator", "tensorflow_hub", "tensorflow_io_gcs_filesystem", "tensorflow_text"}
    | {"tensorflow_addons", "tensorflow_probability", "keras", "tf_keras"}
)
# Components (classes named in a model's predict_schema) that use no TensorFlow when predicting. Rasa's own
# graph nodes of the default recipe, the NLU components and policies of config.yml, and this project's components.
TENSORFLOW_FREE_COMPONENTS = frozenset(
    {
        "rasa.core.policies.ensemble.DefaultPolicyPredictionEnsemble",
        "rasa.graph_components.converters.nlu_message_converter.NLUMessageConverter",
        "rasa.graph_components.providers.domain_provider.DomainProvider",
        "rasa.graph_components.providers.rule_only_provider.RuleOnlyDataProvider",
        "rasa.nlu.classifiers.regex_message_handler.RegexMessageHandler",
        "rasa.nlu.utils.spacy_utils.SpacyNLP",
        "rasa.nlu.tokenizers.spacy_tokenizer.SpacyTokenizer",
        "rasa.nlu.tokenizers.whitespace_tokenizer.WhitespaceTokenizer",
        "rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer.CountVectorsFeaturizer",
        "rasa.nlu.classifiers.logistic_regression_classifier.LogisticRegressionClassifier",
        "rasa.nlu.classifiers.fallback_classifier.FallbackClassifier",
        "rasa.nlu.extractors.spacy_entity_extractor.SpacyEntityExtractor",
        "rasa.core.policies.rule_policy.RulePolicy",
        "bot.nlu.unknown_words.UnknownWordsFallback",
        "bot.nlu.red_flag_detector.RedFlagDetector",
    }
)
MODEL_METADATA = "metadata.json"


class TensorFlowNotLoaded(RuntimeError):
    """TensorFlow was used at run time in a process that runs without it."""


def _off_switch() -> str:
    return f"set {SWITCH_ENV}=1 to run Rasa with TensorFlow (bot/processes/without_tensorflow.py)"


# ---- the decision -----------------------------------------------------------------------------------------------


def latest_model(path: Path) -> Optional[Path]:
    """The model file Rasa loads for `--model path`: the file itself, or the newest *.tar.gz of a folder
    (`rasa.model.get_latest_model`)."""
    if path.is_file():
        return path
    models = list(path.glob("*.tar.gz")) if path.is_dir() else []
    return max(models, key=lambda model: model.stat().st_mtime) if models else None


@functools.lru_cache(maxsize=4)
def model_components(model: Path) -> FrozenSet[str]:
    """The classes of the model's prediction graph (`uses` of its predict_schema nodes); OSError, ValueError or
    tarfile.TarError when the archive or its metadata cannot be read."""
    with tarfile.open(model, "r:gz") as archive:
        member = next((m for m in archive if m.name.lstrip("/") == MODEL_METADATA), None)
        file = archive.extractfile(member) if member else None
        if file is None:
            raise ValueError(f"no {MODEL_METADATA} in the archive")
        metadata = json.load(file)
    return frozenset(node["uses"] for node in metadata["predict_schema"]["nodes"].values())


def tensorflow_needed(model: Path, environ: Mapping[str, str]) -> Optional[str]:
    """Why this Rasa process must load TensorFlow (a sentence for the log), or None when the model needs none."""
    if environ.get(SWITCH_ENV, "").strip() not in ("", "0"):
        return f"{SWITCH_ENV}={environ[SWITCH_ENV]} is set"
    found = latest_model(model)
    if found is None:
        return f"no model file at {model} to check (Rasa says why it cannot load one)"
    try:
        components = model_components(found)
    except (OSError, ValueError, KeyError, TypeError, tarfile.TarError) as error:
        return f"the components of {found} cannot be read ({type(error).__name__}: {error})"
    needing = sorted(components - TENSORFLOW_FREE_COMPONENTS)
    if needing:
        return (
            f"the model {found} uses {', '.join(needing)}, not known to run without TensorFlow "
            "(TENSORFLOW_FREE_COMPONENTS in bot/processes/without_tensorflow.py)"
        )
    return None


def check_rasa_version(installed: Optional[str] = None) -> None:
    """RuntimeError unless the installed Rasa is the one this module was checked against (read without importing
    Rasa)."""
    installed = installed or importlib.metadata.version("rasa")
    if installed != CHECKED_RASA_VERSION:
        raise RuntimeError(
            f"bot/processes/without_tensorflow.py was checked against Rasa {CHECKED_RASA_VERSION}, not {installed}: "
            f"check what the new Rasa does with TensorFlow (module docstring), or {_off_switch()}"
        )


# ---- the placeholders -------------------------------------------------------------------------------------------


def _is_rasa(module_name: object) -> bool:
    return isinstance(module_name, str) and (module_name == "rasa" or module_name.startswith("rasa."))


def _rasa_module_being_imported() -> bool:
    """True while the body of a Rasa module runs (its `<module>` frame is on the stack): Rasa's import time."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name == "<module>" and _is_rasa(frame.f_globals.get("__name__")):
            return True
        frame = frame.f_back
    return False


def _refuse(what: str) -> NoReturn:
    caller = sys._getframe(2)
    raise TensorFlowNotLoaded(
        f"{what} used by {caller.f_globals.get('__name__', '?')} ({caller.f_code.co_filename}:{caller.f_lineno}) "
        f"at run time, but this Rasa process runs without TensorFlow: {_off_switch()}"
    )


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


class Placeholder(type):
    """What Rasa gets for any TensorFlow name: a class (so it can be a base class or a type hint) that yields more
    placeholders while Rasa is being imported and raises `TensorFlowNotLoaded` when used afterwards."""

    def __getattr__(cls, name: str) -> Any:
        if _is_dunder(name):  # Python's own protocols (copy, typing, pickle) ask for these: not TensorFlow's
            raise AttributeError(name)
        what = f"{cls.__module__}.{cls.__qualname__}.{name}"
        if not _rasa_module_being_imported():
            _refuse(what)
        return placeholder(what)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        what = f"{cls.__module__}.{cls.__qualname__}"
        if not _rasa_module_being_imported():
            _refuse(what)
        if len(args) == 1 and not kwargs and callable(args[0]):
            return args[0]  # a decorator (`@tf.function`, `@register_keras_serializable()`): the function as is
        return placeholder(f"{what}()")

    def __getitem__(cls, item: Any) -> Any:  # generic type hints: tf.Variable[...]
        return cls

    def __or__(cls, other: Any) -> Any:  # `tf.Tensor | None`
        return cls

    def __ror__(cls, other: Any) -> Any:
        return cls


def placeholder(qualified_name: str) -> Placeholder:
    """A placeholder class standing for the TensorFlow object `qualified_name` ("tensorflow.keras.Model")."""
    module, _, name = qualified_name.rpartition(".")
    return Placeholder(name, (), {"__module__": module, "__qualname__": name})


class PlaceholderModule(types.ModuleType):
    """What a Rasa module gets for `import tensorflow` (or any module in `TENSORFLOW_MODULES`)."""

    def __getattr__(self, name: str) -> Any:
        if _is_dunder(name):
            raise AttributeError(name)
        what = f"{self.__name__}.{name}"
        if not _rasa_module_being_imported():
            _refuse(what)
        return placeholder(what)


# ---- the import hook --------------------------------------------------------------------------------------------

_original_import: Optional[Callable[..., types.ModuleType]] = None
_placeholder_modules: Dict[str, PlaceholderModule] = {}


def _placeholder_module(name: str) -> PlaceholderModule:
    if name not in _placeholder_modules:
        _placeholder_modules[name] = PlaceholderModule(name, "placeholder: TensorFlow is not loaded in this process")
    return _placeholder_modules[name]


def _import(
    name: str,
    globals: Optional[Mapping[str, Any]] = None,
    locals: Optional[Mapping[str, Any]] = None,
    fromlist: Any = (),
    level: int = 0,
) -> types.ModuleType:
    """`builtins.__import__`, except for TensorFlow's modules: placeholders for Rasa, absent for anyone else."""
    assert _original_import is not None
    if level == 0 and name.partition(".")[0] in TENSORFLOW_MODULES:
        if not _is_rasa((globals or {}).get("__name__")):
            raise ModuleNotFoundError(
                f"No module named {name!r}: this Rasa process runs without TensorFlow; {_off_switch()}",
                name=name.partition(".")[0],
            )
        # `import a.b` binds `a`; `from a.b import c` takes c from `a.b`
        return _placeholder_module(name if fromlist else name.partition(".")[0])
    return _original_import(name, globals, locals, fromlist, level)


def installed() -> bool:
    return _original_import is not None


def install() -> None:
    """From now on this process runs without TensorFlow (module docstring). Before Rasa is imported."""
    global _original_import
    if installed():
        return
    check_rasa_version()
    loaded = sorted(name for name in TENSORFLOW_MODULES if sys.modules.get(name) is not None)
    if loaded:
        raise RuntimeError(f"{', '.join(loaded)} already imported: install() must run before Rasa is imported")
    for name in TENSORFLOW_MODULES:
        sys.modules[name] = None  # type: ignore[assignment]  # Python's marker of an absent module
    _original_import = builtins.__import__
    builtins.__import__ = _import
