"""Small records grouped in named collections."""

from __future__ import annotations

from typing import Protocol


class Documents(Protocol):
    """Opaque ``bytes`` values under string keys, in named collections.

    What goes in is what comes out (any bytes, not only UTF-8); collections are
    independent of each other and exist as soon as something is put in them.
    """

    async def get(self, collection: str, key: str) -> bytes | None:
        """The value stored under ``key``, or None."""
        ...

    async def put(self, collection: str, key: str, value: bytes) -> None:
        """Store ``value`` under ``key``, replacing any previous value."""
        ...

    async def put_new(self, collection: str, key: str, value: bytes) -> bool:
        """Store only if ``key`` is absent; True when stored (atomic)."""
        ...

    async def delete(self, collection: str, key: str) -> bool:
        """True when something was deleted."""
        ...

    async def all(self, collection: str) -> dict[str, bytes]:
        """Every key -> value of ``collection`` (empty when it has none)."""
        ...
