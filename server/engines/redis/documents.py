"""Documents as one Redis hash per collection."""

from __future__ import annotations

from server.engines.redis.connection import RedisConnection, unavailable_as_domain_error


@unavailable_as_domain_error
class RedisDocuments:
    def __init__(self, conn: RedisConnection) -> None:
        self._redis = conn.redis
        self._keys = conn.keys

    async def get(self, collection: str, key: str) -> bytes | None:
        return await self._redis.hget(self._keys.doc(collection), key)

    async def put(self, collection: str, key: str, value: bytes) -> None:
        await self._redis.hset(self._keys.doc(collection), key, value)

    async def put_new(self, collection: str, key: str, value: bytes) -> bool:
        return bool(await self._redis.hsetnx(self._keys.doc(collection), key, value))

    async def delete(self, collection: str, key: str) -> bool:
        return bool(await self._redis.hdel(self._keys.doc(collection), key))

    async def all(self, collection: str) -> dict[str, bytes]:
        raw = await self._redis.hgetall(self._keys.doc(collection))
        return {k.decode(): v for k, v in raw.items()}
