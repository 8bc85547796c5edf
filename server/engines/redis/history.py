"""Chat history in Redis Streams (the stream ids are the history ids).

``append_once`` is one Lua script (the key check, the XADD and the SET of the key run
as one step on the server), so neither two nodes nor a retry racing its first attempt
can append twice, and neither can redis-py's own retry of a command whose reply was
lost. The script is sent by its SHA; after a restart of Redis (its script cache empty)
redis-py loads it again by itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from rooms.engine.history import Appended, HistoryEntry, parse_history_id
from server.engines.redis.connection import RedisConnection, unavailable_as_domain_error

# KEYS: stream, once key. ARGV: payload, max_len, ttl in ms.
# Returns {id, 1} after appending, or {id, 0, settled, payload or nil} for a key seen
# before (the key's value is the id, with "+" once settled).
_APPEND_ONCE_LUA = """
local seen = redis.call('GET', KEYS[2])
if seen then
    local id, settled = seen, 0
    if string.sub(seen, -1) == '+' then id, settled = string.sub(seen, 1, -2), 1 end
    local rows = redis.call('XRANGE', KEYS[1], id, id)
    local payload = false
    if rows[1] then
        local fields = rows[1][2]
        for i = 1, #fields, 2 do
            if fields[i] == 'p' then payload = fields[i + 1] end
        end
    end
    return {id, 0, settled, payload}
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'p', ARGV[1])
redis.call('SET', KEYS[2], id, 'PX', ARGV[3])
return {id, 1}
"""

# KEYS: once key. ARGV: entry id. Marks the key settled if it still names that entry.
_SETTLE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1] .. '+', 'KEEPTTL')
end
return 0
"""


@unavailable_as_domain_error
class RedisHistory:
    def __init__(self, conn: RedisConnection) -> None:
        self._redis = conn.redis
        self._keys = conn.keys
        self._append_once_script = self._redis.register_script(_APPEND_ONCE_LUA)
        self._settle_script = self._redis.register_script(_SETTLE_LUA)

    async def append(self, channel: str, payload: bytes, max_len: int) -> str:
        # "~" lets Redis trim whole stream nodes only: cheap, keeps >= max_len entries.
        entry_id = await self._redis.xadd(
            self._keys.history(channel), {"p": payload}, maxlen=max_len, approximate=True
        )
        return entry_id.decode()

    async def append_once(
        self, channel: str, payload: bytes, max_len: int, key: str, ttl: float
    ) -> Appended:
        reply = await self._append_once_script(
            keys=[self._keys.history(channel), self._keys.once(channel, key)],
            args=[payload, max(1, max_len), max(1, int(ttl * 1000))],
        )
        entry_id = reply[0].decode()
        if reply[1] == 1:
            return Appended(entry_id, True, bytes(payload), False)
        stored = reply[3] if len(reply) > 3 else None
        return Appended(entry_id, False, stored, reply[2] == 1)

    async def settle(self, channel: str, key: str, entry_id: str) -> None:
        parse_history_id(entry_id)
        await self._settle_script(keys=[self._keys.once(channel, key)], args=[entry_id])

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
