"""Remember recently seen message ids, so a webhook Meta delivers twice is handled once."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Callable


class RecentIds:
    """A bounded set of ids that forgets the oldest entries (by count and by age).

    In memory and per process: it covers Meta's redeliveries (minutes to hours apart), not a restart.
    """

    def __init__(
        self, max_size: int = 50_000, ttl_seconds: float = 24 * 3600, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_size = max_size
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def first_time(self, key: str) -> bool:
        """True the first time `key` is seen (and remember it); False for a repeat."""
        now = self._clock()
        while self._seen:
            seen_at = next(iter(self._seen.values()))
            if now - seen_at <= self.ttl_seconds and len(self._seen) < self.max_size:
                break
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True
