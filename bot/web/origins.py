"""The browsers' origins the web service and Rasa allow (CORS, the socket.io channel): parsed in one place.

Standard library only: the launcher (bot/processes/launcher.py) reads them too, and stays small without pydantic.
"""

from __future__ import annotations

import re
from typing import Optional, Tuple


def default_allowed_origins(port: int) -> Tuple[str, ...]:
    """The demo page's own origins: what a local `make run` needs."""
    return (f"http://127.0.0.1:{port}", f"http://localhost:{port}")


def parse_origins(value: Optional[str]) -> Tuple[str, ...]:
    """'https://a.nz, https://b.nz/' -> ('https://a.nz', 'https://b.nz'); commas or spaces separate."""
    return tuple(origin.rstrip("/") for origin in re.split(r"[,\s]+", value or "") if origin.strip())
