"""A fake Graph API Send endpoint on 127.0.0.1 that records what it receives (Meta channel tests).

It answers POST /vNN.N/me/messages like Meta does ({"recipient_id", "message_id"}), can be told to
fail the next calls to a recipient, and keeps every request for the tests to assert on.
`python -m tests.support.fake_graph --port 8999` runs it on its own and prints what it receives.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, urlsplit

# Test-only values: never real secrets.
TEST_APP_SECRET = "test-app-secret-0123456789"
TEST_VERIFY_TOKEN = "test-verify-token-0123"
TEST_MESSENGER_TOKEN = "test-messenger-page-token-0123"
TEST_INSTAGRAM_TOKEN = "test-instagram-token-0123"
TEST_API_VERSION = "v99.0"

SEND_PATH = re.compile(r"^/v\d+(\.\d+)?/me/messages$")


def meta_env(base_url: str) -> Dict[str, str]:
    """Environment for `rasa run` with the Meta channels pointed at a fake Graph API at `base_url`."""
    return {
        "META_APP_SECRET": TEST_APP_SECRET,
        "META_VERIFY_TOKEN": TEST_VERIFY_TOKEN,
        "MESSENGER_PAGE_ACCESS_TOKEN": TEST_MESSENGER_TOKEN,
        "INSTAGRAM_ACCESS_TOKEN": TEST_INSTAGRAM_TOKEN,
        "META_GRAPH_BASE_URL": base_url,
        "META_GRAPH_API_VERSION": TEST_API_VERSION,
    }


@dataclass
class Received:
    """One request the fake Graph API received."""

    method: str
    path: str
    query: Dict[str, str]
    body: Any
    status: int = 200
    answer: Any = None  # what the fake answered: {"recipient_id", "message_id"} for a delivered message

    @property
    def message_id(self) -> Optional[str]:
        """The `message_id` the fake gave a delivered message (Meta's id of the page's message)."""
        return self.answer.get("message_id") if isinstance(self.answer, dict) else None

    @property
    def recipient(self) -> Optional[str]:
        return (self.body.get("recipient") or {}).get("id") if isinstance(self.body, dict) else None

    @property
    def message(self) -> Optional[Dict[str, Any]]:
        return self.body.get("message") if isinstance(self.body, dict) else None

    @property
    def sender_action(self) -> Optional[str]:
        return self.body.get("sender_action") if isinstance(self.body, dict) else None

    @property
    def messaging_type(self) -> Optional[str]:
        """The Send API `messaging_type` ("RESPONSE", "MESSAGE_TAG"...), None if the body has none."""
        return self.body.get("messaging_type") if isinstance(self.body, dict) else None

    @property
    def tag(self) -> Optional[str]:
        """The message tag ("HUMAN_AGENT") of a MESSAGE_TAG send, None if the body has none."""
        return self.body.get("tag") if isinstance(self.body, dict) else None


@dataclass
class FakeGraph:
    """The fake server; `start()` runs it in a daemon thread."""

    host: str = "127.0.0.1"
    port: int = 0
    received: List[Received] = field(default_factory=list)
    _failures: Dict[str, List[Tuple[int, Dict[str, Any], Dict[str, str]]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Optional[ThreadingHTTPServer] = None
    _counter: int = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeGraph:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (quiet)
                pass

            def _answer(self, status: int, payload: Dict[str, Any], headers: Optional[Dict[str, str]] = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(404, {"error": {"message": "Unknown path", "type": "GraphMethodException", "code": 100}})

            def do_POST(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                status, payload, headers = fake._respond(parts.path, body)
                with fake._lock:
                    query = dict(parse_qsl(parts.query))
                    fake.received.append(Received("POST", parts.path, query, body, status, payload))
                self._answer(status, payload, headers)

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="fake-graph", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _respond(self, path: str, body: Any) -> Tuple[int, Dict[str, Any], Dict[str, str]]:
        if not SEND_PATH.match(path) or not isinstance(body, dict):
            error = {"message": "Unsupported post request", "type": "GraphMethodException", "code": 100}
            return 400, {"error": error}, {}
        recipient = (body.get("recipient") or {}).get("id")
        kind = "sender_action" if "sender_action" in body else "message"
        with self._lock:
            planned = self._failures.get(f"{kind}:{recipient}")
            if planned:
                return planned.pop(0)
            self._counter += 1
            number = self._counter
        if "sender_action" in body:
            return 200, {"recipient_id": recipient}, {}
        return 200, {"recipient_id": recipient, "message_id": f"m_fake_{number}"}, {}

    # -- what the tests use ----------------------------------------------------------------------------

    def fail(
        self, recipient: str, status: int, error: Dict[str, Any], times: int = 1, kind: str = "message", **headers: str
    ) -> None:
        """Answer the next `times` posts of `kind` ("message" or "sender_action") to `recipient` with an error."""
        with self._lock:
            self._failures.setdefault(f"{kind}:{recipient}", []).extend([(status, {"error": error}, headers)] * times)

    def requests_to(self, recipient: str) -> List[Received]:
        with self._lock:
            return [r for r in self.received if r.recipient == recipient]

    def messages_to(self, recipient: str, delivered_only: bool = True) -> List[Dict[str, Any]]:
        """The `message` objects posted for `recipient`, in order (by default only those answered 200)."""
        return [
            r.message
            for r in self.requests_to(recipient)
            if r.message is not None and (r.status == 200 or not delivered_only)
        ]

    def sends_to(self, recipient: str) -> List[Received]:
        """The message posts (not sender actions) for `recipient`, in order, whatever Meta answered; each has its
        `messaging_type`, `tag`, `message` and `status`."""
        return [r for r in self.requests_to(recipient) if r.message is not None]

    def actions_to(self, recipient: str) -> List[str]:
        return [r.sender_action for r in self.requests_to(recipient) if r.sender_action]

    def wait_for_messages(self, recipient: str, count: int, timeout: float = 30) -> List[Dict[str, Any]]:
        """Block until at least `count` messages reached `recipient`; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.messages_to(recipient)
            if len(messages) >= count:
                return messages
            if time.monotonic() > deadline:
                raise AssertionError(f"{recipient}: expected {count} messages within {timeout} s, got {messages}")
            time.sleep(0.05)

    def wait_for_actions(self, recipient: str, action: str, count: int = 1, timeout: float = 30) -> List[str]:
        """Block until `action` was posted at least `count` times for `recipient`."""
        deadline = time.monotonic() + timeout
        while self.actions_to(recipient).count(action) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{recipient}: no {action} within {timeout} s: {self.actions_to(recipient)}")
            time.sleep(0.05)
        return self.actions_to(recipient)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8999)
    port = parser.parse_args().port
    graph = FakeGraph(port=port).start()
    print(f"fake Graph API on {graph.url} (META_GRAPH_BASE_URL={graph.url}); Ctrl-C stops", flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            for request in graph.received[seen:]:
                print(request.path, json.dumps(request.body), flush=True)
            seen = len(graph.received)
    except KeyboardInterrupt:
        graph.stop()


if __name__ == "__main__":
    main()
