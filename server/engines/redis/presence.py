"""Presence in Redis hashes, changed by Lua scripts so every step is atomic across
nodes; each session is also recorded under its owner node, so when a node dies
(its heartbeat key expires, see nodes.py) the others can remove its sessions."""

from __future__ import annotations

import logging

from redis.asyncio.client import Pipeline

from rooms.engine.presence import CappedAdd
from server.engines.redis.connection import RedisConnection

log = logging.getLogger(__name__)

# KEYS: sids, info, count, node sessions. ARGV: sid, member, info, node entry.
# Returns -1 for a known sid, else the member's session count after adding.
_ADD_LUA = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return -1 end
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
"""

# KEYS and ARGV as _ADD_LUA, plus ARGV[5] = cap. Like _ADD_LUA, but returns -2 (and
# changes nothing) when the member is new and the scope already has cap members.
_ADD_CAPPED_LUA = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return -1 end
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 0
    and redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[5]) then return -2 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
"""

# KEYS: sids, info, count, node sessions[, node alive]. ARGV: sid, node entry.
# Returns the member when this was their last session, else nil. With the alive key
# (reaping), nothing happens if the node's heartbeat came back meanwhile.
_REMOVE_LUA = """
if KEYS[5] and redis.call('EXISTS', KEYS[5]) == 1 then return false end
redis.call('SREM', KEYS[4], ARGV[2])
local member = redis.call('HGET', KEYS[1], ARGV[1])
if not member then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HINCRBY', KEYS[3], member, -1) > 0 then return false end
redis.call('HDEL', KEYS[3], member)
redis.call('HDEL', KEYS[2], member)
return member
"""

# KEYS: nodes, node alive, node sessions. ARGV: node id.
# Unregister a reaped node unless it came back (heartbeat or new sessions).
_UNREGISTER_LUA = """
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('SCARD', KEYS[3]) > 0 then return 0 end
return redis.call('SREM', KEYS[1], ARGV[1])
"""

_BATCH = 200  # presence removals per pipeline round trip


class RedisPresence:
    def __init__(self, conn: RedisConnection, node_id: str, *, node_timeout: float) -> None:
        self._redis = conn.redis
        self._keys = conn.keys
        self._node_id = node_id
        self._ttl_ms = max(1, int(node_timeout * 1000))
        self._add_script = self._redis.register_script(_ADD_LUA)
        self._add_capped_script = self._redis.register_script(_ADD_CAPPED_LUA)
        self._remove_script = self._redis.register_script(_REMOVE_LUA)
        self._unregister_script = self._redis.register_script(_UNREGISTER_LUA)
        # Our sessions, so we can restore them if our heartbeat lapsed and we were reaped.
        self._own: dict[tuple[str, str], tuple[str, bytes]] = {}

    async def add(self, scope: str, sid: str, member: str, info: bytes) -> bool:
        count = await self._add(scope, sid, member, info)
        if count >= 0:
            self._own[(scope, sid)] = (member, bytes(info))
        return count == 1

    async def _add(
        self, scope: str, sid: str, member: str, info: bytes, client: Pipeline | None = None
    ) -> int:
        keys = [*self._keys.scope(scope), self._keys.node(self._node_id, "sessions")]
        args = [sid, member, info, f"{scope}\0{sid}"]
        return await self._add_script(keys=keys, args=args, client=client)

    async def add_capped(
        self, scope: str, sid: str, member: str, info: bytes, cap: int
    ) -> CappedAdd:
        keys = [*self._keys.scope(scope), self._keys.node(self._node_id, "sessions")]
        args = [sid, member, info, f"{scope}\0{sid}", cap]
        count = await self._add_capped_script(keys=keys, args=args)
        if count == -2:
            return "full"
        if count >= 0:
            self._own[(scope, sid)] = (member, bytes(info))
        return "joined" if count == 1 else "present"

    async def remove(self, scope: str, sid: str) -> str | None:
        self._own.pop((scope, sid), None)
        keys = [*self._keys.scope(scope), self._keys.node(self._node_id, "sessions")]
        member = await self._remove_script(keys=keys, args=[sid, f"{scope}\0{sid}"])
        return member.decode() if member is not None else None

    async def members(self, scope: str) -> dict[str, bytes]:
        raw = await self._redis.hgetall(self._keys.scope(scope)[1])
        return {k.decode(): v for k, v in raw.items()}

    async def count(self, scope: str) -> int:
        return await self._redis.hlen(self._keys.scope(scope)[1])

    # -- this node's sessions as a whole -------------------------------------
    async def restore_own(self) -> None:
        """Add our sessions again (our heartbeat lapsed: others may have reaped us)."""
        log.warning(
            "node %s: heartbeat lapsed, restoring %d sessions", self._node_id, len(self._own)
        )
        own = list(self._own.items())
        for start in range(0, len(own), _BATCH):
            async with self._redis.pipeline(transaction=False) as pipe:
                for (scope, sid), (member, info) in own[start : start + _BATCH]:
                    await self._add(scope, sid, member, info, client=pipe)
                await pipe.execute()

    async def remove_own(self) -> None:
        """Remove all our sessions (on close), without reporting who left."""
        await self._remove_sessions(self._node_id, guarded=False)

    # -- reaping dead nodes ----------------------------------------------------
    async def reap_dead_nodes(self) -> list[tuple[str, str]]:
        nodes = [n.decode() for n in await self._redis.smembers(self._keys.nodes)]
        others = [n for n in nodes if n != self._node_id]
        if not others:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for node in others:
                pipe.exists(self._keys.node(node, "alive"))
            alive = await pipe.execute()
        left: list[tuple[str, str]] = []
        for node, is_alive in zip(others, alive, strict=True):
            if not is_alive:
                left += await self._reap(node)
        return left

    async def _reap(self, node: str) -> list[tuple[str, str]]:
        # The lock only saves duplicate work: the remove script is atomic per
        # session, so even two reapers never report the same member leaving twice.
        lock = self._keys.node(node, "reaper")
        if not await self._redis.set(lock, self._node_id, nx=True, px=max(self._ttl_ms, 10_000)):
            return []
        try:
            left = await self._remove_sessions(node, guarded=True)
            keys = [
                self._keys.nodes,
                self._keys.node(node, "alive"),
                self._keys.node(node, "sessions"),
            ]
            await self._unregister_script(keys=keys, args=[node])
        finally:
            await self._redis.delete(lock)
        if left:
            log.info("node %s reaped dead node %s: %d members left", self._node_id, node, len(left))
        return left

    async def _remove_sessions(self, node: str, *, guarded: bool) -> list[tuple[str, str]]:
        """Remove every session ``node`` owns; ``guarded`` stops if it comes back alive."""
        owned = self._keys.node(node, "sessions")
        guard = [self._keys.node(node, "alive")] if guarded else []
        entries = [e.decode().partition("\0") for e in await self._redis.smembers(owned)]
        left: list[tuple[str, str]] = []
        for start in range(0, len(entries), _BATCH):
            batch = entries[start : start + _BATCH]
            async with self._redis.pipeline(transaction=False) as pipe:
                for scope, _, sid in batch:
                    keys = [*self._keys.scope(scope), owned, *guard]
                    await self._remove_script(keys=keys, args=[sid, f"{scope}\0{sid}"], client=pipe)
                results = await pipe.execute()
            left += [(s, m.decode()) for (s, _, _), m in zip(batch, results, strict=True) if m]
        if node == self._node_id:
            self._own.clear()
        return left
