"""The web service's analytics: the aggregates kept current in the background, and caught up before a page.

`Analytics.run` is the web service's background task (bot/web/app.py `lifespan`): every `ANALYTICS_INTERVAL`
seconds it folds the new events, in a thread (the database work blocks). Before the review list or the analytics
page, `catch_up` folds what came since, a bounded number of rows, so what staff see includes the last minute; when
the background task is busy with a long first aggregation the page waits a little, then shows what is stored and
says it is still being updated.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading

import sqlalchemy as sa

from bot.analytics.aggregates import Aggregator, UpdateResult
from bot.storage import feedback

logger = logging.getLogger(__name__)

CATCH_UP_ROWS = 50_000  # before a page: about a second of folding at most
BACKGROUND_ROWS = 200_000  # per background step (the first aggregation of a big store takes several)
CATCH_UP_WAIT = 2.0  # seconds a page waits for a background step to finish


class Analytics:
    """The aggregator of one requests' database and one tracker store, and the lock both users of it take."""

    def __init__(self, requests_engine: sa.engine.Engine, tracker_engine: sa.engine.Engine) -> None:
        self.requests_engine, self.tracker_engine = requests_engine, tracker_engine
        feedback.metadata.create_all(requests_engine)  # the ratings' table, read by the reports
        self.aggregator = Aggregator(requests_engine, tracker_engine)
        self._lock = threading.Lock()

    def update(self, max_rows: int = BACKGROUND_ROWS, wait: float = -1) -> UpdateResult:
        """One step; `wait` seconds for the lock (-1: as long as it takes). Not caught up if the lock was busy."""
        if not self._lock.acquire(timeout=wait):
            return UpdateResult(caught_up=False)
        try:
            return self.aggregator.update(max_rows=max_rows)
        finally:
            self._lock.release()

    def catch_up(self) -> bool:
        """Before a page: fold what came since the last update (bounded); True if every stored event is counted."""
        try:
            result = self.update(max_rows=CATCH_UP_ROWS, wait=CATCH_UP_WAIT)
        except sa.exc.SQLAlchemyError as error:
            logger.error("analytics: could not update the aggregates: %s", type(error).__name__)
            return False
        return result.caught_up

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        """The background task: update, then wait `interval` seconds (go on at once while not caught up)."""
        while not stop.is_set():
            caught_up = True
            try:
                caught_up = (await asyncio.to_thread(self.update)).caught_up
            except Exception as error:  # noqa: BLE001 - a database hiccup must not end the task
                logger.error("analytics: update failed: %s", type(error).__name__)
            with contextlib.suppress(asyncio.TimeoutError):  # not caught up: the next step almost at once
                await asyncio.wait_for(stop.wait(), timeout=interval if caught_up else 0.1)


@functools.lru_cache(maxsize=8)
def shared_analytics(requests_engine: sa.engine.Engine, tracker_engine: sa.engine.Engine) -> Analytics:
    """One `Analytics` per pair of databases for the life of the process (the web service's task and pages)."""
    return Analytics(requests_engine, tracker_engine)
