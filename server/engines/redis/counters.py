"""Counters as Redis strings (INCRBY, PEXPIRE NX)."""

from __future__ import annotations

from server.engines.redis.connection import RedisConnection, unavailable_as_domain_error


@unavailable_as_domain_error
class RedisCounters:
    def __init__(self, conn: RedisConnection) -> None:
        self._redis = conn.redis
        self._keys = conn.keys

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        name = self._keys.counter(key)
        if ttl is None:
            return await self._redis.incrby(name, amount)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incrby(name, amount)
            # NX: only a fresh counter gets a TTL, so the window starts at the first hit.
            pipe.pexpire(name, max(1, int(ttl * 1000)), nx=True)
            value, _ = await pipe.execute()
        return value
