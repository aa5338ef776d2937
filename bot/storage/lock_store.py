"""The production profile's lock store: Rasa's RedisLockStore that fails fast and tells the patient.

Rasa 3.6's RedisLockStore passes only `socket_timeout` (10 s) to redis-py; when Redis is down the REST
channel swallows the error and answers `[]` (the patient sees nothing). This store, named in the
production endpoints file as `bot.storage.lock_store.ClinicRedisLockStore` (bot/processes/production.py):

- connects and reads with short timeouts (`socket_timeout`, `socket_connect_timeout`: 2 s by default), so
  a message never waits long on an unreachable Redis;
- when the lock cannot be taken because Redis fails, `LockStoreUnavailable` is raised at once and the patient
  gets the technical-problem answer (bot/rasa_patches.py; nothing is processed, nothing is stored: they can
  send the message again); redis-py reconnects by itself, so the next message after Redis is back is answered
  normally;
- a failure to release the lock after the message was handled is logged, not raised (the answers are
  already there; a ticket left behind expires after the lock lifetime).
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Dict, Optional, Text

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)


class LockStoreUnavailable(LockError):
    """Redis could not be reached to take the conversation's lock."""


class ClinicRedisLockStore(RedisLockStore):
    """RedisLockStore with short socket timeouts; Redis failures become `LockStoreUnavailable`."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        config: Dict[str, Any] = {**(endpoint_config.kwargs if endpoint_config else {}), **kwargs}
        host = (endpoint_config.url if endpoint_config else None) or config.pop("host", None) or "localhost"
        connect_timeout = float(config.pop("socket_connect_timeout", 2))
        config["socket_timeout"] = float(config.get("socket_timeout", 2))
        super().__init__(host=host, **config)
        self.red.connection_pool.connection_kwargs["socket_connect_timeout"] = connect_timeout

    @asynccontextmanager
    async def lock(
        self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncGenerator[TicketLock, None]:
        try:
            ticket = self.issue_ticket(conversation_id, lock_lifetime)
        except LockError as error:
            if isinstance(error.__context__, redis.RedisError):
                raise LockStoreUnavailable(f"Redis lock store unreachable: {error.__context__}") from None
            raise
        try:
            try:
                lock = await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
            except redis.RedisError as error:
                raise LockStoreUnavailable(f"Redis lock store unreachable: {error}") from None
            yield lock
        finally:
            try:
                self.cleanup(conversation_id, ticket)
            except redis.RedisError as error:
                logger.warning("Could not release the conversation lock (it will expire): %s", error)
