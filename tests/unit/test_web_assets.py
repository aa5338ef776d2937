"""The widget bundle and loader (bot/web/assets.py): content hash, pinned client, no leaks, valid JavaScript."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.web.assets import MissingWidgetDependency, build_bundle, loader_script
from bot.web.settings import ROOT

WIDGET = ROOT / "web_widget"


def test_bundle_name_carries_the_content_hash():
    bundle = build_bundle()
    assert bundle.filename.startswith("widget.") and bundle.filename.endswith(".js")
    assert bundle.filename == f"widget.{bundle.script.digest[:12]}.js"
    assert build_bundle().filename == bundle.filename  # reproducible


def test_bundle_changes_name_when_the_source_changes(tmp_path: Path):
    copy = tmp_path / "web_widget"
    shutil.copytree(WIDGET, copy, symlinks=True, ignore=shutil.ignore_patterns("axe-core"))
    before = build_bundle(copy).filename
    (copy / "src" / "widget.css").write_text((copy / "src" / "widget.css").read_text() + "\n.x { color: red; }\n")
    assert build_bundle(copy).filename != before


def test_bundle_uses_the_pinned_socketio_client():
    package = json.loads((WIDGET / "package.json").read_text())
    lock = json.loads((WIDGET / "package-lock.json").read_text())
    pinned = package["dependencies"]["socket.io-client"]
    assert pinned.startswith("4.") and pinned[0].isdigit(), "pin an exact socket.io-client 4.x (protocol v5)"
    assert lock["packages"]["node_modules/socket.io-client"]["version"] == pinned
    bundle = build_bundle()
    assert bundle.socketio_version == pinned
    assert f"Socket.IO v{pinned}" in bundle.script.body.decode()
    assert "sourceMappingURL" not in bundle.script.body.decode()


def test_a_different_installed_client_is_refused(tmp_path: Path):
    copy = tmp_path / "web_widget"
    shutil.copytree(WIDGET, copy, symlinks=True, ignore=shutil.ignore_patterns("axe-core"))
    package = json.loads((copy / "package.json").read_text())
    package["dependencies"]["socket.io-client"] = "4.0.0"
    (copy / "package.json").write_text(json.dumps(package))
    with pytest.raises(MissingWidgetDependency, match="npm ci"):
        build_bundle(copy)


def test_missing_node_modules_says_what_to_run(tmp_path: Path):
    package = {"version": "1.0.0", "dependencies": {"socket.io-client": "4.8.4"}}
    (tmp_path / "package.json").write_text(json.dumps(package))
    with pytest.raises(MissingWidgetDependency, match="npm ci"):
        build_bundle(tmp_path)


@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
def test_bundle_and_loader_are_valid_javascript(tmp_path: Path):
    bundle = build_bundle()
    loader = loader_script(bundle, {"serverUrl": "https://chat.example"})
    for asset in (bundle.script, loader):
        path = tmp_path / asset.name
        path.write_bytes(asset.body)
        subprocess.run(["node", "--check", str(path)], check=True)


def test_bundle_defines_no_globals_but_its_own_namespace():
    """socket.io-client is wrapped: it must not set window.io nor register with a page's AMD loader."""
    source = build_bundle().script.body.decode()
    assert "var module = { exports: {} }, exports = module.exports, define;" in source
    assert source.rstrip().endswith("})();")
    assert "window.AcuteChatWidget" in source


def test_loader_defaults_cannot_break_out_of_the_script():
    loader = loader_script(build_bundle(), {"serverUrl": "</script><script>alert(1)</script>"}).body.decode()
    assert "</script>" not in loader
    assert "\\u003c/script\\u003e" in loader


def test_widget_source_never_uses_html_injection():
    source = (WIDGET / "src" / "widget.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source


def test_bundle_stays_under_its_size_budget():
    """Issue #15: the whole bundle (socket.io-client included) stays under 30 KB gzipped, as served."""
    assert len(build_bundle().script.gzipped) < 30 * 1000


FEEDBACK_WORDS = {
    "feedbackQuestion": "utter_widget_feedback_question",
    "feedbackThanks": "utter_widget_feedback_thanks",
    "feedbackUp": "utter_widget_feedback_up",
    "feedbackDown": "utter_widget_feedback_down",
}


def test_the_feedback_rows_words_are_domain_responses_given_by_the_loader():
    """Patient-facing words live in domain/: the loader gives them to the widget; the widget's built-in fallbacks
    (when it is embedded without the loader) are the same words, and it has no other copy of them."""
    from bot.responses import response_text
    from bot.web.app import widget_defaults
    from bot.web.settings import WebSettings

    defaults = widget_defaults(WebSettings.from_env())
    loader = loader_script(build_bundle(), defaults).body.decode()
    source = (WIDGET / "src" / "widget.js").read_text()
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("/*", "*", "//")))
    for key, response in FEEDBACK_WORDS.items():
        words = response_text(response)
        assert defaults[key] == words
        assert f"{json.dumps(key)}: {json.dumps(words)}" in loader
        assert f"setting({json.dumps(key)}, {json.dumps(words)})" in source
        assert code.count(json.dumps(words)) == 1, f"{words!r} written once in widget.js' code, as the fallback"
