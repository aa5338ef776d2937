"""Build the widget's files: one versioned bundle (widget.<contenthash>.js) and the short-cached loader (widget.js).

The bundle is socket.io-client's browser build (web_widget/node_modules, pinned by package-lock.json, installed by
`npm ci`) plus web_widget/src/widget.js and widget.css, wrapped in one function so nothing leaks into the host
page. `python -m bot.web.assets [--out DIR]` prints the sizes (raw and gzipped) and can write the files out.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Dict, Optional

from bot.web.settings import ROOT

JS_TYPE = "text/javascript"  # Starlette adds "; charset=utf-8"


class MissingWidgetDependency(RuntimeError):
    """web_widget/node_modules lacks socket.io-client: run `npm ci` in web_widget (`make widget-deps`)."""


@dataclass(frozen=True)
class Asset:
    """A file served from memory, with its precompressed copy and a strong ETag."""

    name: str
    body: bytes
    media_type: str = JS_TYPE

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def etag(self) -> str:
        return f'"{self.digest[:32]}"'

    @cached_property
    def gzipped(self) -> bytes:
        return _gzip(self.body)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


@dataclass(frozen=True)
class WidgetBundle:
    version: str
    socketio_version: str
    script: Asset

    @property
    def filename(self) -> str:
        return self.script.name


def _js_literal(value: Any) -> str:
    """A JavaScript literal (JSON) that is also safe inside an HTML <script> element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _minify_css(css: str) -> str:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"\s+", " ", css)
    return re.sub(r"\s*([{};:,>])\s*", r"\1", css).strip()


def build_bundle(widget_dir: Optional[Path] = None) -> WidgetBundle:
    """Read the sources and return the bundle; its file name carries the hash of its content."""
    widget_dir = Path(widget_dir or ROOT / "web_widget")
    package = json.loads((widget_dir / "package.json").read_text())
    client_dir = widget_dir / "node_modules" / "socket.io-client"
    client_file = client_dir / "dist" / "socket.io.min.js"
    if not client_file.exists():
        raise MissingWidgetDependency(f"{client_file} is missing: run `npm ci` in {widget_dir} (or `make widget-deps`)")
    client_version = json.loads((client_dir / "package.json").read_text())["version"]
    pinned = package["dependencies"]["socket.io-client"]
    if client_version != pinned:
        raise MissingWidgetDependency(
            f"socket.io-client {client_version} installed, {pinned} pinned: run `npm ci` in {widget_dir}"
        )
    client = re.sub(r"^//# sourceMappingURL=.*$", "", client_file.read_text(), flags=re.M).strip()
    widget = (widget_dir / "src" / "widget.js").read_text().strip()
    css = _minify_css((widget_dir / "src" / "widget.css").read_text())
    version = package["version"]
    source = "\n".join(
        [
            f"/*! Acute Acupuncture chat widget {version} | includes Socket.IO client {client_version} (MIT) */",
            "(function () {",
            "if (window.AcuteChatWidget && window.AcuteChatWidget.instance) return;",
            "var io = (function () {",
            "var module = { exports: {} }, exports = module.exports, define;",
            client,
            "return module.exports;",
            "})();",
            "(function (io, WIDGET_VERSION, WIDGET_CSS) {",
            widget,
            f"}})(io, {_js_literal(version)}, {_js_literal(css)});",
            "})();",
            "",
        ]
    ).encode()
    digest = hashlib.sha256(source).hexdigest()[:12]
    return WidgetBundle(version, client_version, Asset(f"widget.{digest}.js", source))


def loader_script(bundle: WidgetBundle, defaults: Dict[str, Any]) -> Asset:
    """widget.js: remembers its own <script> tag (for the data- settings) and loads the current bundle."""
    source = (
        f"/*! Acute Acupuncture chat widget loader {bundle.version} */\n"
        "(function () {\n"
        "var w = (window.AcuteChatWidget = window.AcuteChatWidget || {});\n"
        "if (w.loader) return;\n"
        "var s = document.currentScript;\n"
        "if (!s) return;\n"
        "w.loader = s;\n"
        f"w.defaults = {_js_literal(defaults)};\n"
        "var b = document.createElement('script');\n"
        f"b.src = new URL('widget/{bundle.filename}', s.src).href;\n"
        "b.async = true;\n"
        "if (s.nonce) b.nonce = s.nonce;\n"
        "document.head.appendChild(b);\n"
        "})();\n"
    )
    return Asset("widget.js", source.encode())


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description="Build the chat widget bundle and print its size.")
    parser.add_argument("--out", type=Path, help="write widget.<hash>.js and widget.js into this directory")
    parser.add_argument("--server-url", default="http://127.0.0.1:5005", help="the Rasa URL the loader defaults to")
    args = parser.parse_args(argv)
    bundle = build_bundle()
    loader = loader_script(bundle, {"serverUrl": args.server_url})
    for asset in (bundle.script, loader):
        print(f"{asset.name}: {len(asset.body)} bytes, {len(asset.gzipped)} bytes gzipped (level 9)")
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / asset.name).write_bytes(asset.body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
