"""Per-person budgets of the rate classes commands declare (rooms/commands.py).

Fixed windows counted in the engine, so a person's tabs on every node share one
budget. A command takes one unit before it runs and gives it back when it is refused
(an empty message, a mute), so only what succeeds is counted.
"""

from __future__ import annotations

from rooms import errors, names
from rooms.commands import RateClass
from rooms.context import Limits
from rooms.engine import Engine


class RateLimiter:
    def __init__(self, engine: Engine, limits: Limits) -> None:
        self.engine = engine
        self.limits = limits

    async def take(self, rate: RateClass, person_id: str) -> str | None:
        """Use one unit of ``rate``; the counter's key (to refund), or None when the
        class is switched off. Raises ``rate_limited`` past the budget."""
        count, window = rate.count(self.limits), rate.window(self.limits)
        if count <= 0:
            return None
        key = names.rate_counter(rate.name, person_id)
        used = await self.engine.counters.incr(key, 1, ttl=window)
        if used > count:
            raise errors.RATE_LIMITED(f"at most {count} {rate.what} per {window:g} s")
        return key

    async def refund(self, key: str) -> None:
        await self.engine.counters.incr(key, -1)
