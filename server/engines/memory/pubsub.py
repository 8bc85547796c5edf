"""Pub/sub within the one process."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from rooms.engine.pubsub import MessageHandler

log = logging.getLogger(__name__)


class MemoryPubSub:
    def __init__(self) -> None:
        self._handlers: dict[str, list[MessageHandler]] = defaultdict(list)
        self._deliveries: set[asyncio.Task] = set()

    async def publish(self, channel: str, payload: bytes) -> None:
        # Delivered later on its own task, as Redis does, so nothing comes to rely
        # on handlers having run when publish returns.
        for handler in list(self._handlers.get(channel, ())):
            task = asyncio.create_task(self._deliver(channel, handler, bytes(payload)))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    @staticmethod
    async def _deliver(channel: str, handler: MessageHandler, payload: bytes) -> None:
        try:
            await handler(payload)
        except Exception:
            log.exception("pub/sub handler failed on %s", channel)

    async def subscribe(self, channel: str, handler: MessageHandler) -> None:
        self._handlers[channel].append(handler)
        await asyncio.sleep(0)

    def close(self) -> None:
        self._handlers.clear()
