"""The storage/messaging contract of an engine (memory, redis), split by concern.

Each concern is a small Protocol with a memory and a Redis implementation
(server/engines/), and one contract suite run against both
(tests/engine/).
:class:`Engine` bundles one of each for a node, plus the lifecycle.

Values are opaque ``bytes`` (msgpack written by the domain) so both engines behave
the same: nothing is shared by reference, and what goes in is what comes out.

An engine that cannot serve a call right now raises :class:`EngineUnavailable`, never
its client library's errors, so the domain and the gateway need not know the store.
"""

from __future__ import annotations

from typing import Protocol

from rooms.engine.counters import Counters
from rooms.engine.documents import Documents
from rooms.engine.history import Appended, History, HistoryEntry, parse_history_id
from rooms.engine.presence import Back, CappedAdd, PresenceStore
from rooms.engine.pubsub import MessageHandler, PubSub

__all__ = [
    "Appended",
    "Back",
    "CappedAdd",
    "Counters",
    "Documents",
    "Engine",
    "EngineUnavailable",
    "History",
    "HistoryEntry",
    "Lifecycle",
    "MessageHandler",
    "PresenceStore",
    "PubSub",
    "parse_history_id",
]


class EngineUnavailable(Exception):
    """The store cannot serve this call now: unreachable, no free connection within
    the wait, or no answer in time. Whether the call took effect is unknown; the same
    request may succeed a moment later (the gateway answers ``unavailable``, which
    clients retry with backoff)."""


class Lifecycle(Protocol):
    """Start-up, shutdown and health of one implementation's shared resources."""

    async def start(self) -> None:
        """Connect, start heartbeats/listeners. Called once before use."""
        ...

    async def close(self) -> None:
        """Stop background work and release connections. Idempotent."""
        ...

    async def ping(self) -> None:
        """Raise if the backing store is unreachable (used by /readyz)."""
        ...


class Engine:
    """State, counters, chat history, presence and pub/sub for one node of an
    event cluster: one part per concern, all from the same implementation."""

    def __init__(
        self,
        node_id: str,
        *,
        docs: Documents,
        counters: Counters,
        history: History,
        presence: PresenceStore,
        pubsub: PubSub,
        lifecycle: Lifecycle,
    ) -> None:
        #: Unique id of this process; presence entries are tagged with it.
        self.node_id = node_id
        self.docs = docs
        self.counters = counters
        self.history = history
        self.presence = presence
        self.pubsub = pubsub
        self._lifecycle = lifecycle

    async def start(self) -> None:
        """Connect, start heartbeats/listeners. Called once before use."""
        await self._lifecycle.start()

    async def close(self) -> None:
        """Stop background work and release connections. Idempotent."""
        await self._lifecycle.close()

    async def ping(self) -> None:
        """Raise if the backing store is unreachable (used by /readyz)."""
        await self._lifecycle.ping()
