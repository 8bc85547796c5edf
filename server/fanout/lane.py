"""A client's single ordered path to its transport, so acks, broadcasts and pings
keep the order they were sent in, without a task or an await per packet.

A reader that stops reading makes its transport buffer grow; past ``max_buffer``
bytes the lane aborts that one connection (the client reconnects and resumes from
its history cursor) instead of holding up the broadcast for everyone else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.fanout.corker import Corker


class Lane:
    """Ordered writes to one client's transport, with a bound on its backlog."""

    __slots__ = (
        "_on_overflow",
        "alive",
        "corker",
        "max_buffer",
        "pending",
        "transport",
    )

    def __init__(
        self, transport, max_buffer: int, on_overflow: Callable[[], None], corker: Corker
    ) -> None:
        self.transport = transport
        self.max_buffer = max_buffer
        self.alive = True
        self.pending: list[bytes] = []
        self.corker = corker
        self._on_overflow = on_overflow

    def write(self, frame: bytes) -> bool:
        if not self.alive:
            return False
        if not self.pending:
            self.corker.mark(self)
        self.pending.append(frame)
        return True

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        if not pending or not self.alive:
            return
        transport = self.transport
        if transport.is_closing():
            self.alive = False
            return
        transport.write(pending[0] if len(pending) == 1 else b"".join(pending))
        if transport.get_write_buffer_size() > self.max_buffer:
            self.alive = False
            self._on_overflow()
            transport.abort()  # connection_lost runs later, from the loop
