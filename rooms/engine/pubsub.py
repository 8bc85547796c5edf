"""Messages between nodes (media routing, kicks)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

MessageHandler = Callable[[bytes], Awaitable[None]]


class PubSub(Protocol):
    async def publish(self, channel: str, payload: bytes) -> None:
        """Send ``payload`` to every subscriber of ``channel`` on every node.

        At most once: a node whose connection is down meanwhile misses it.
        """
        ...

    async def subscribe(self, channel: str, handler: MessageHandler) -> None:
        """Call ``handler(payload)`` for every message published on ``channel`` by
        any node, this one included, in the order each node published them.

        Returns once subscribed, so a publish right after it is received. A
        handler that raises is logged; the others still get the message.
        """
        ...
