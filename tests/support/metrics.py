"""Scraping a server's `/metrics` in the end-to-end tests: over a raw connection (any path, any header), parsed with
prometheus-client's own parser."""

from __future__ import annotations

import http.client
import urllib.parse
from typing import Dict, Optional, Tuple

from prometheus_client.parser import text_string_to_metric_families

Samples = Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]


def get(base_url: str, path: str = "/metrics", headers: Optional[Dict[str, str]] = None) -> Tuple[int, str]:
    """(status, body) of GET `path` sent exactly as written (no client-side normalisation of the path)."""
    parts = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def parse(text: str) -> Samples:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(base_url: str, token: Optional[str] = None) -> Tuple[str, Samples]:
    """The text and samples of `base_url`/metrics; asserts the server let the scrape through."""
    status, text = get(base_url, headers={"Authorization": f"Bearer {token}"} if token else {})
    assert status == 200, (status, text[:200])
    return text, parse(text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def total(samples: Samples, name: str) -> float:
    """The sum of `name` over all its label values."""
    return sum(v for (sample, _), v in samples.items() if sample == name)


def label_values(samples: Samples, prefix: str = "clinic_") -> Dict[str, set]:
    """Every label's values among the samples whose name starts with `prefix`."""
    found: Dict[str, set] = {}
    for (name, labels), _ in samples.items():
        if name.startswith(prefix):
            for label, label_value in labels:
                found.setdefault(label, set()).add(label_value)
    return found
