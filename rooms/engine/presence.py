"""Who is where, cluster-wide: sessions of members in scopes, owned by nodes."""

from __future__ import annotations

from typing import Literal, Protocol

CappedAdd = Literal["joined", "present", "full"]
"""Outcome of :meth:`PresenceStore.add_capped`."""

Back = tuple[str, str, bytes]
"""(scope, member, info) of a member whose session :meth:`PresenceStore.restore_lapsed`
added back as their first one in that scope."""


class PresenceStore(Protocol):
    async def add(self, scope: str, sid: str, member: str, info: bytes) -> bool:
        """Record session ``sid`` of ``member`` in ``scope``, owned by this node.

        True when this is the member's first session in the scope (they "joined").
        Adding the same sid twice is a no-op returning False.
        """
        ...

    async def add_capped(
        self, scope: str, sid: str, member: str, info: bytes, cap: int
    ) -> CappedAdd:
        """``add`` that admits at most ``cap`` distinct members, atomically across
        nodes (two nodes racing for the last seat: exactly one gets it).

        ``"joined"``: the member is new in the scope and took a seat. ``"present"``:
        the member (or this very sid) was already there, so no seat was needed; the
        session is recorded as by ``add``. ``"full"``: ``cap`` other members are in;
        nothing changed. Entries are ordinary presence sessions: removed with
        ``remove``, listed by ``members``, reaped with their node.
        """
        ...

    async def remove(self, scope: str, sid: str) -> str | None:
        """Forget session ``sid``; return the member id when that was their last
        session in the scope (they "left"), else None."""
        ...

    async def remove_sessions(self, sid: str) -> list[tuple[str, str]]:
        """The socket ``sid`` of this node is gone: forget every session it still has,
        in any scope, including those whose ``remove`` raised. Returns the (scope,
        member) pairs that left. Once called, none of them is ever restored; when it
        raises, call it again until it returns (nothing is lost meanwhile)."""
        ...

    async def members(self, scope: str) -> dict[str, bytes]:
        """member id -> info of everyone with at least one session in ``scope``."""
        ...

    async def count(self, scope: str) -> int:
        """How many members (people, not sessions) ``scope`` has."""
        ...

    async def reap_dead_nodes(self) -> list[tuple[str, str]]:
        """Remove sessions of nodes whose heartbeat expired.

        Returns the (scope, member) pairs that left as a result, so the caller can
        tell the rooms. Safe to call concurrently from several nodes.
        """
        ...

    async def restore_lapsed(self) -> list[Back]:
        """After this node's heartbeat lapsed (others may have reaped it while its
        sockets stayed connected): add back exactly the sessions the reapers took,
        never one that was removed otherwise (by a command on any node, or because its
        socket left). Returns who is back: (scope, member, info) where the member had
        no other session left in the scope. [] when nothing lapsed; when it raises,
        the next call tries again.
        """
        ...
