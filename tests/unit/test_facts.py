"""The emergency number, Healthline's number and the clinic's address are written once: domain/facts.yml.

Searched: every string constant of the project's Python code (docstrings and comments are documentation, not
text sent to anyone), every value in domain/*.yml and in clinic_profile.yml. Not searched: tests, docs, the
training data (what patients type: "ok ringing 111 now") and the widget's JavaScript (its fallback text for
when the server cannot be reached).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import pytest
import yaml

from bot.responses import FACTS, facts, response_text
from tests.conftest import ROOT

LITERALS = {
    "111": re.compile(r"(?<!\d)111(?!\d)"),
    "0800 611 116": re.compile(r"0800\s*611\s*116"),
    "Terrace": re.compile(r"Terrace", re.I),
    "Wellington Central": re.compile(r"Wellington\s+Central", re.I),
}
NOT_SEARCHED = ("tests", ".venv", "node_modules", ".build", ".git", "models", "web_widget")


def python_files() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        if not set(path.relative_to(ROOT).parts) & set(NOT_SEARCHED):
            yield path


def docstrings(tree: ast.AST) -> set:
    """ids of the string constants that are docstrings."""
    nodes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, nodes) and node.body and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def python_strings(path: Path, root: Path = ROOT) -> Iterator[Tuple[str, str]]:
    """("file:line", value) for every string constant of a Python file that is not a docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield f"{path.relative_to(root)}:{node.lineno}", node.value


def yaml_strings(data: Any, key: str = "") -> Iterator[Tuple[str, str]]:
    """(key path, value) for every string value in `data`: "slots.clinic_address.initial_value"."""
    if isinstance(data, dict):
        for name, value in data.items():
            yield from yaml_strings(value, f"{key}.{name}" if key else str(name))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from yaml_strings(value, f"{key}[{i}]")
    elif isinstance(data, str):
        yield key, data


def project_strings() -> Iterator[Tuple[str, str]]:
    for path in python_files():
        yield from python_strings(path)
    for path in [*sorted((ROOT / "domain").glob("*.yml")), ROOT / "clinic_profile.yml"]:
        for key, value in yaml_strings(yaml.safe_load(path.read_text(encoding="utf-8"))):
            yield f"{path.relative_to(ROOT)}:{key}", value


def places(literal: str) -> List[str]:
    return [where for where, text in project_strings() for _ in LITERALS[literal].finditer(text)]


@pytest.mark.parametrize(
    "literal, slot",
    [
        ("111", "emergency_number"),
        ("0800 611 116", "healthline_number"),
        ("Terrace", "clinic_address"),
        ("Wellington Central", "clinic_address"),
    ],
)
def test_each_fact_is_written_once_in_domain_facts(literal, slot):
    assert places(literal) == [f"domain/facts.yml:slots.{slot}.initial_value"]


def test_the_search_finds_what_it_looks_for(tmp_path):
    assert list(yaml_strings({"a": [{"text": "call 111"}]})) == [("a[0].text", "call 111")]
    module = tmp_path / "m.py"
    module.write_text('"""Docs: call 111."""\n# call 111\nURGENT = "call 111"\n')
    assert list(python_strings(module, tmp_path)) == [("m.py:3", "call 111")]  # not the docstring or comment


def test_facts_are_the_slots_initial_values():
    assert set(facts()) == set(FACTS)
    assert facts()["healthline_number"] == "0800 611 116" and facts()["emergency_number"] == "111"
    assert facts()["clinic_address"].startswith("163 The Terrace")


def test_a_response_quotes_the_facts():
    text = response_text("utter_red_flag")
    assert "call 111 now" in text and "Healthline on 0800 611 116" in text and "{" not in text
    with pytest.raises(KeyError):
        response_text("utter_technical_problem")  # {contact_route} has no value
