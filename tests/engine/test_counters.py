"""Contract of Counters (rooms/engine/counters.py), on every engine."""

from __future__ import annotations

import asyncio
import time

from rooms.engine import Counters, Engine

from .helpers import eventually


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


async def test_incr_is_atomic_across_nodes(engine: Engine, peer: Engine) -> None:
    nodes = [engine.counters, peer.counters]
    values = await asyncio.gather(*(nodes[i % 2].incr("invite-uses") for i in range(50)))
    assert sorted(values) == list(range(1, 51))  # no two callers saw the same count


async def _expired(counters: Counters, key: str) -> bool:
    # Adding 0 reads the count; a counter that expired comes back as 0.
    return await counters.incr(key, 0) == 0


async def test_a_later_longer_ttl_does_not_extend_the_window(counters: Counters) -> None:
    assert await counters.incr("rl", ttl=0.2) == 1
    assert await counters.incr("rl", ttl=60) == 2
    await eventually(lambda: _expired(counters, "rl"))  # times out if it took the 60 s


async def test_a_later_shorter_ttl_does_not_cut_the_window(counters: Counters) -> None:
    assert await counters.incr("rl", ttl=60) == 1
    assert await counters.incr("plain") == 1
    assert await counters.incr("clock", ttl=0.3) == 1
    assert await counters.incr("rl", ttl=0.1) == 2
    await eventually(lambda: _expired(counters, "clock"))
    # 0.3 s have passed: had "rl" taken the 0.1 s it would have restarted at 0
    assert await counters.incr("rl") == 3
    assert await counters.incr("plain") == 2  # no ttl: never expires


async def test_a_counter_created_without_ttl_takes_the_first_one_given(
    counters: Counters,
) -> None:
    assert await counters.incr("c") == 1
    assert await counters.incr("c", ttl=0.1) == 2
    await eventually(lambda: _expired(counters, "c"))
