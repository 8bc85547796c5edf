"""Contract of Counters (rooms/engine/counters.py), on every engine."""

from __future__ import annotations

import asyncio
import time

from rooms.engine import Counters


async def test_incr(counters: Counters) -> None:
    assert await counters.incr("hits") == 1
    assert await counters.incr("hits", 5) == 6
    assert await counters.incr("hits", -2) == 4
    assert await counters.incr("other") == 1


async def test_incr_ttl_window_starts_at_first_hit(counters: Counters) -> None:
    start = time.monotonic()
    assert await counters.incr("rl", ttl=0.3) == 1
    await asyncio.sleep(0.1)
    assert await counters.incr("rl", ttl=0.3) == 2
    # Past the first hit's window (0.3 s) but inside a window restarted by the
    # second hit (~0.4 s): a fresh count shows the TTL was not extended.
    await asyncio.sleep(max(0.0, start + 0.35 - time.monotonic()))
    assert await counters.incr("rl", 3, ttl=0.3) == 3
