"""Pushes aggregated per time window, cluster-wide (poll results, reactions, Q&A votes).

A busy webinar produces many small changes per second (votes, reactions); pushing
each one to thousands of sockets would make the cost of one action grow with the
audience. Instead, every change only marks its key (a poll, a session's reactions)
on the node that handled it, with optional counts to add; per window (one second by
default) and key, the cluster sends ONE push:

1. The first change of a key on a node starts one task that sleeps to the end of
   the current window (``window = floor(now / interval)`` of the wall clock, the same
   on every node). Nothing is scheduled while nothing happens.
2. At the window's end the node adds its counts to shared counters (engine counters,
   atomic; cumulative totals per key and part) and races for the window's claim
   (``incr(claim) == 1`` wins, the key expires by itself).
3. The winner waits ``settle`` seconds (the other nodes flush in that time), sets the
   window's ``emitted`` mark, and then builds and sends the push (``emit(key)``),
   reading the totals (or recomputing them from stored ballots) at that moment.
4. A loser reads the ``emitted`` mark after its counts are in: not set yet means the
   winner reads later and includes them; set means the winner may have read before
   them, so the loser marks the key again, which schedules it in the next window.
   Nothing is lost, it only shows up a window later, and the totals stay exact
   because pushes carry cumulative totals (clients show the differences).

At most one push per key and window across the cluster: the claim counter decides.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping

from rooms.context import Services

log = logging.getLogger(__name__)

Key = tuple[str, ...]
MARK_TTL = 60.0  # seconds a window's claim and emitted marks are kept
TOTALS_TTL = 3 * 24 * 3600.0  # cumulative totals outlive any session


class Aggregator:
    """One kind of aggregated push (``name``: "reaction", "poll", "qa").

    ``emit(key)`` builds and sends the one push of a window; it runs on one node per
    window and key."""

    def __init__(
        self,
        services: Services,
        name: str,
        emit: Callable[[Key], Awaitable[None]],
        interval: float = 1.0,
        settle: float = 0.2,
    ) -> None:
        self.services = services
        self.counters = services.engine.counters
        self.name = name
        self.emit = emit
        self.interval = interval
        self.settle = min(settle, interval / 2)
        self._pending: dict[Key, Counter[str]] = {}
        self._tasks: set[asyncio.Task] = set()

    # the shared counters ----------------------------------------------------------------
    def _counter(self, key: Key, *rest: str) -> str:
        return ":".join(("agg", self.name, *key, *rest))

    async def totals(self, key: Key, parts: Iterable[str]) -> dict[str, int]:
        """Cumulative totals of ``parts`` of ``key``, all nodes together (flushed ones)."""
        parts = list(parts)
        values = await asyncio.gather(
            *(self.counters.incr(self._counter(key, "total", p), 0) for p in parts)
        )
        return dict(zip(parts, values, strict=True))

    # marking changes ----------------------------------------------------------------------
    def add(self, key: Key, counts: Mapping[str, int] | None = None) -> None:
        """A change of ``key`` happened on this node (after it was stored); ``counts``
        are added to the key's shared totals at the window's end."""
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = Counter()
            task = asyncio.get_running_loop().create_task(self._flush(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if counts:
            pending.update(counts)

    def _window(self) -> tuple[int, float]:
        """The current window and the seconds left in it."""
        now = self.services.now()
        window = int(now // self.interval)
        left = (window + 1) * self.interval - now
        return window, min(max(left, 0.0), self.interval)

    async def _flush(self, key: Key) -> None:
        window, left = self._window()
        await asyncio.sleep(left)
        counts = self._pending.pop(key, Counter())
        try:
            for part, amount in counts.items():
                if amount:
                    await self.counters.incr(
                        self._counter(key, "total", part), amount, ttl=TOTALS_TTL
                    )
            claim = await self.counters.incr(
                self._counter(key, "claim", str(window)), 1, ttl=MARK_TTL
            )
            emitted = self._counter(key, "emitted", str(window))
            if claim == 1:
                await asyncio.sleep(self.settle)
                await self.counters.incr(emitted, 1, ttl=MARK_TTL)
                await self.emit(key)
            elif await self.counters.incr(emitted, 0, ttl=MARK_TTL) > 0:
                self.add(key)  # the winner may have read before our counts: next window
        except Exception:
            log.exception("aggregated %s push for %s failed", self.name, key)

    async def drain(self) -> None:
        """Wait for what is pending (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
