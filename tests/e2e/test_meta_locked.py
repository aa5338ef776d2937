"""With no secrets in the environment the channels still load from credentials.yml (as `rasa run` loads
them) but refuse every webhook with 403. Runs the two channels' blueprints in a small Sanic server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Dict, Iterator, Optional, Tuple

import pytest

from bot.channels.webhook_auth import sign
from tests.conftest import ROOT, free_port
from tests.support.fake_graph import TEST_APP_SECRET, TEST_VERIFY_TOKEN

pytestmark = pytest.mark.e2e

SERVER = """
import sys
from sanic import Sanic
from rasa.core.run import create_http_input_channels

async def on_new_message(message):
    print("REACHED THE ASSISTANT", flush=True)

app = Sanic("meta_locked")
for channel in create_http_input_channels(None, "credentials.yml"):
    if channel.name() in ("facebook", "instagram"):
        app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/" + channel.url_prefix())
app.run(host="127.0.0.1", port=int(sys.argv[1]), access_log=False)
"""
SECRET_PREFIXES = ("META_", "MESSENGER_", "INSTAGRAM_")


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[str, subprocess.Popen]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_PREFIXES)}
    env["PYTHONPATH"] = str(ROOT)
    log = tmp_path_factory.mktemp("meta-locked") / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while request(f"{url}/webhooks/facebook/")[0] != 200:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "locked server did not start"
            time.sleep(0.3)
        yield url, process
    finally:
        process.terminate()
        process.wait(20)
    output = log.read_text()
    assert "REACHED THE ASSISTANT" not in output
    assert "no app secret" in output


def request(url: str, body: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None) -> Tuple[int, str]:
    try:
        with urllib.request.urlopen(  # noqa: S310 (loopback)
            urllib.request.Request(url, data=body, headers=headers or {}), timeout=10
        ) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


@pytest.mark.parametrize("platform, obj", [("facebook", "page"), ("instagram", "instagram")])
def test_without_secrets_every_webhook_is_refused(locked, platform, obj):
    url, _ = locked
    webhook = f"{url}/webhooks/{platform}/webhook"
    for token in (TEST_VERIFY_TOKEN, ""):
        status, _ = request(f"{webhook}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=7")
        assert status == 403
    event = {"sender": {"id": "1"}, "recipient": {"id": "2"}, "message": {"mid": "m", "text": "hi"}}
    body = json.dumps({"object": obj, "entry": [{"id": "2", "messaging": [event]}]}).encode()
    for signature in (None, sign("", body), sign(TEST_APP_SECRET, body)):
        headers = {"Content-Type": "application/json"}
        if signature:
            headers["X-Hub-Signature-256"] = signature
        assert request(webhook, body, headers) == (403, "forbidden")
