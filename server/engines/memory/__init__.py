"""Single-process engine: everything in dicts, no external service."""

from __future__ import annotations

import uuid

from rooms.engine import Engine
from server.engines.memory.counters import MemoryCounters
from server.engines.memory.documents import MemoryDocuments
from server.engines.memory.history import MemoryHistory
from server.engines.memory.presence import MemoryPresence
from server.engines.memory.pubsub import MemoryPubSub

__all__ = ["MemoryEngine"]


class _Lifecycle:
    def __init__(self, pubsub: MemoryPubSub) -> None:
        self._pubsub = pubsub

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._pubsub.close()

    async def ping(self) -> None:
        return None


class MemoryEngine(Engine):
    def __init__(self, node_id: str | None = None) -> None:
        pubsub = MemoryPubSub()
        super().__init__(
            node_id or uuid.uuid4().hex[:12],
            docs=MemoryDocuments(),
            counters=MemoryCounters(),
            history=MemoryHistory(),
            presence=MemoryPresence(),
            pubsub=pubsub,
            lifecycle=_Lifecycle(pubsub),
        )
