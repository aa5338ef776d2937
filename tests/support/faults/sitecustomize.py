"""TEST-ONLY fault injection: an error inside spaCy's NLU pipeline for messages that carry a sentinel.

Never used in production. The test fixture `stack` (tests/conftest.py) starts the real servers with this
folder on `PYTHONPATH`, so Python imports this module at start-up in every process the tests start (Rasa
server, action server, web service). It does something only in the Rasa server (`rasa run`, or the launcher's
`python -m bot.processes.rasa_cli run`; not `rasa run actions`): when spaCy's `spacy.language` module is
imported there (lazily, through an import hook: nothing is imported here), `Language.make_doc` is wrapped so
that a text containing `FAULT_SENTINEL` raises `InjectedNLUFault`. The error is raised from spaCy's own call chain
(`Language.__call__` -> `Language._ensure_doc` -> `make_doc`), so the traceback has frames whose local
variables (`text`, `doc_like`) hold the patient's message, and the exception's message quotes it too: the
worst case for the logs. tests/e2e/test_zz_log_privacy.py sends such a message and checks that no log holds it.
Every other text, and every other process, is left alone.

If another `sitecustomize` module is on the path after this folder (a distribution's), it is run too.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any, Optional, Sequence

FAULT_SENTINEL = "zz-fault-sentinel"
_HERE = os.path.dirname(os.path.abspath(__file__))


class InjectedNLUFault(RuntimeError):
    """The error this module raises inside spaCy's pipeline (its name is what the test looks for in the log)."""


RASA_ENTRY = "bot.processes.rasa_cli"  # how the launcher runs Rasa's command line: `python -m bot.processes.rasa_cli`


def is_rasa_server(argv: Sequence[str], orig_argv: Sequence[str] = ()) -> bool:
    """True for `rasa run ...` and `python -m bot.processes.rasa_cli run ...` (the Rasa server), False for
    `rasa run actions` and any other command. `orig_argv`: the whole command line (with `-m` `sys.argv` has `-m`)."""
    if argv and os.path.basename(argv[0]) == "rasa":
        arguments = list(argv[1:])
    elif RASA_ENTRY in orig_argv and orig_argv[list(orig_argv).index(RASA_ENTRY) - 1] == "-m":
        arguments = list(orig_argv[list(orig_argv).index(RASA_ENTRY) + 1 :])
    else:
        return False
    return arguments[:1] == ["run"] and arguments[1:2] != ["actions"]


def patch_spacy_language(module: ModuleType) -> None:
    """Wrap `Language.make_doc` of the imported `spacy.language` module to fail for sentinel texts."""
    language = module.Language
    original = language.make_doc
    if getattr(original, "fault_injected", False):
        return

    def make_doc(self: Any, text: str) -> Any:
        if isinstance(text, str) and FAULT_SENTINEL in text:
            raise InjectedNLUFault(f"test fault injected by tests/support/faults/sitecustomize.py for text {text!r}")
        return original(self, text)

    make_doc.fault_injected = True  # type: ignore[attr-defined]
    language.make_doc = make_doc


class _PatchAfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import hook: lets `spacy.language` be imported as usual, then patches it (once)."""

    target = "spacy.language"

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Optional[ModuleSpec]:
        if fullname != self.target:
            return None
        sys.meta_path.remove(self)  # the real spec, from the other finders
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        self._loader = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec: ModuleSpec) -> Optional[ModuleType]:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        patch_spacy_language(module)


def _chain_next_sitecustomize() -> None:
    """Run the next `sitecustomize` on the path, if there is one (this module shadows it)."""
    others = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


def _install() -> None:
    if is_rasa_server(sys.argv, getattr(sys, "orig_argv", ())):
        if "spacy.language" in sys.modules:
            patch_spacy_language(sys.modules["spacy.language"])
        else:
            sys.meta_path.insert(0, _PatchAfterImport())


if __name__ == "sitecustomize":  # imported by Python at start-up (not when a test imports the constants)
    _install()
    _chain_next_sitecustomize()
