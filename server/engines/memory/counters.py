"""Counters in a dict, with expiry like Redis keys."""

from __future__ import annotations

import time


class MemoryCounters:
    def __init__(self) -> None:
        self._counters: dict[str, tuple[int, float | None]] = {}
        self._next_sweep = 0.0

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        now = time.monotonic()
        if now >= self._next_sweep:  # drop expired counters (rate-limit windows) now and then
            self._counters = {k: v for k, v in self._counters.items() if v[1] is None or v[1] > now}
            self._next_sweep = now + 60
        value, expires = self._counters.get(key, (0, None))
        if expires is not None and expires <= now:
            value, expires = 0, None
        if expires is None and ttl is not None:  # like Redis EXPIRE NX
            expires = now + ttl
        value += amount
        self._counters[key] = (value, expires)
        return value
