"""Chat history in Redis Streams (the stream ids are the history ids)."""

from __future__ import annotations

from collections.abc import Iterable

from rooms.engine.history import HistoryEntry, parse_history_id
from server.engines.redis.connection import RedisConnection, unavailable_as_domain_error


@unavailable_as_domain_error
class RedisHistory:
    def __init__(self, conn: RedisConnection) -> None:
        self._redis = conn.redis
        self._keys = conn.keys

    async def append(self, channel: str, payload: bytes, max_len: int) -> str:
        # "~" lets Redis trim whole stream nodes only: cheap, keeps >= max_len entries.
        entry_id = await self._redis.xadd(
            self._keys.history(channel), {"p": payload}, maxlen=max_len, approximate=True
        )
        return entry_id.decode()

    async def before(self, channel: str, before: str | None, limit: int) -> list[HistoryEntry]:
        # Nothing is below 0-0, and Redis rejects the interval "(0-0" outright.
        if limit <= 0 or (before is not None and parse_history_id(before) == (0, 0)):
            return []
        upper = "+" if before is None else f"({before}"
        rows = await self._redis.xrevrange(self._keys.history(channel), upper, "-", count=limit)
        return _entries(reversed(rows))

    async def after(self, channel: str, after: str, limit: int) -> list[HistoryEntry]:
        parse_history_id(after)
        if limit <= 0:
            return []
        rows = await self._redis.xrange(self._keys.history(channel), f"({after}", "+", count=limit)
        return _entries(rows)

    async def get(self, channel: str, entry_id: str) -> bytes | None:
        parse_history_id(entry_id)
        rows = await self._redis.xrange(self._keys.history(channel), entry_id, entry_id)
        return rows[0][1].get(b"p") if rows else None

    async def delete(self, channel: str, entry_id: str) -> bool:
        parse_history_id(entry_id)
        return bool(await self._redis.xdel(self._keys.history(channel), entry_id))


def _entries(rows: Iterable[tuple[bytes, dict[bytes, bytes]]]) -> list[HistoryEntry]:
    return [(entry_id.decode(), fields[b"p"]) for entry_id, fields in rows]
