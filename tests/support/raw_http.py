"""A POST over a raw connection, for bodies a server refuses before reading them."""

from __future__ import annotations

import http.client
import urllib.parse
from typing import Dict, Iterator, Union


def post_raw(base_url: str, path: str, headers: Dict[str, str], body: Union[bytes, Iterator[bytes]]) -> int:
    """The response's status, even if the server answers and closes before the whole body is sent.

    urllib raises BrokenPipeError in that case (the server refused the body early, as it should), losing the
    status; here the send stops and the answer is read.
    """
    parts = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.putrequest("POST", path)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        try:
            for chunk in [body] if isinstance(body, bytes) else body:
                connection.send(chunk)
        except OSError:
            pass  # the server answered and closed without reading the rest: read its answer
        return connection.getresponse().status
    finally:
        connection.close()
