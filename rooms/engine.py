"""The storage/messaging contract every engine (memory, redis) implements.

Values are opaque ``bytes`` (msgpack written by the domain) so both engines behave
the same: nothing is shared by reference, and what goes in is what comes out.
The contract test suite (tests/test_engine_contract.py) runs against every engine.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Literal

HistoryEntry = tuple[str, bytes]
"""(id, payload). Ids look like Redis stream ids, ``"<ms>-<seq>"``, and grow strictly."""

MessageHandler = Callable[[bytes], Awaitable[None]]

CappedAdd = Literal["joined", "present", "full"]
"""Outcome of :meth:`Engine.presence_add_capped`."""


def parse_history_id(value: str) -> tuple[int, int]:
    """Split a ``"<ms>-<seq>"`` cursor into integers; ValueError when malformed."""
    ms, _, seq = value.partition("-")
    if not ms.isdigit() or not seq.isdigit() or len(ms) > 15 or len(seq) > 15:
        raise ValueError(f"bad history id {value!r}")
    return int(ms), int(seq)


class Engine(ABC):
    """State, chat history, presence and pub/sub for one event cluster."""

    #: Unique id of this process; presence entries are tagged with it.
    node_id: str

    # -- lifecycle -------------------------------------------------------
    @abstractmethod
    async def start(self) -> None:
        """Connect, start heartbeats/listeners. Called once before use."""

    @abstractmethod
    async def close(self) -> None:
        """Stop background work and release connections. Idempotent."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise if the backing store is unreachable (used by /readyz)."""

    # -- documents: small records grouped in named collections -----------
    @abstractmethod
    async def doc_get(self, collection: str, key: str) -> bytes | None: ...

    @abstractmethod
    async def doc_put(self, collection: str, key: str, value: bytes) -> None: ...

    @abstractmethod
    async def doc_put_new(self, collection: str, key: str, value: bytes) -> bool:
        """Store only if ``key`` is absent; True when stored (atomic)."""

    @abstractmethod
    async def doc_delete(self, collection: str, key: str) -> bool:
        """True when something was deleted."""

    @abstractmethod
    async def doc_all(self, collection: str) -> dict[str, bytes]: ...

    # -- counters ----------------------------------------------------------
    @abstractmethod
    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Atomically add ``amount`` and return the new value.

        ``ttl`` (seconds) is applied only when the counter is created, which makes
        fixed-window rate limits: the window starts at the first hit.
        """

    # -- chat history --------------------------------------------------------
    @abstractmethod
    async def history_append(self, channel: str, payload: bytes, max_len: int) -> str:
        """Append and return the new entry's id; keep about ``max_len`` newest."""

    @abstractmethod
    async def history_before(
        self, channel: str, before: str | None, limit: int
    ) -> list[HistoryEntry]:
        """Up to ``limit`` newest entries with id < ``before`` (all when None),
        returned oldest first."""

    @abstractmethod
    async def history_after(self, channel: str, after: str, limit: int) -> list[HistoryEntry]:
        """Up to ``limit`` oldest entries with id > ``after``, oldest first."""

    @abstractmethod
    async def history_get(self, channel: str, entry_id: str) -> bytes | None: ...

    @abstractmethod
    async def history_delete(self, channel: str, entry_id: str) -> bool: ...

    # -- presence: who is where, cluster-wide ---------------------------------
    @abstractmethod
    async def presence_add(self, scope: str, sid: str, member: str, info: bytes) -> bool:
        """Record session ``sid`` of ``member`` in ``scope``, owned by this node.

        True when this is the member's first session in the scope (they "joined").
        Adding the same sid twice is a no-op returning False.
        """

    @abstractmethod
    async def presence_add_capped(
        self, scope: str, sid: str, member: str, info: bytes, cap: int
    ) -> CappedAdd:
        """``presence_add`` that admits at most ``cap`` distinct members, atomically
        across nodes (two nodes racing for the last seat: exactly one gets it).

        ``"joined"``: the member is new in the scope and took a seat. ``"present"``:
        the member (or this very sid) was already there, so no seat was needed; the
        session is recorded as by ``presence_add``. ``"full"``: ``cap`` other members
        are in; nothing changed. Entries are ordinary presence sessions: removed with
        ``presence_remove``, listed by ``presence_members``, reaped with their node.
        """

    @abstractmethod
    async def presence_remove(self, scope: str, sid: str) -> str | None:
        """Forget session ``sid``; return the member id when that was their last
        session in the scope (they "left"), else None."""

    @abstractmethod
    async def presence_members(self, scope: str) -> dict[str, bytes]:
        """member id -> info of everyone with at least one session in ``scope``."""

    @abstractmethod
    async def presence_count(self, scope: str) -> int:
        """How many members (people, not sessions) ``scope`` has."""

    @abstractmethod
    async def reap_dead_nodes(self) -> list[tuple[str, str]]:
        """Remove sessions of nodes whose heartbeat expired.

        Returns the (scope, member) pairs that left as a result, so the caller can
        tell the rooms. Safe to call concurrently from several nodes.
        """

    # -- pub/sub between nodes ---------------------------------------------------
    @abstractmethod
    async def publish(self, channel: str, payload: bytes) -> None: ...

    @abstractmethod
    async def subscribe(self, channel: str, handler: MessageHandler) -> None:
        """Call ``handler(payload)`` for every message published on ``channel`` by
        any node, this one included."""
