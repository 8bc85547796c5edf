"""Fixed-window rate limits, counted in the engine so they hold across nodes."""

from __future__ import annotations

from rooms.engine import Engine
from rooms.errors import RateLimited


class RateLimiter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def hit(self, key: str, count: int, window: float) -> None:
        """Count one hit; raise RateLimited past ``count`` hits within ``window`` s."""
        if count <= 0:
            return
        used = await self.engine.counters.incr(f"rl:{key}", 1, ttl=window)
        if used > count:
            raise RateLimited(f"at most {count} messages per {window:g} s")
