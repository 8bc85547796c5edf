"""Presence in Redis hashes, changed by Lua scripts so every step is atomic across
nodes; each session is also recorded under its owner node, so when a node dies
(its heartbeat key expires, see nodes.py) the others can remove its sessions.

A node whose heartbeat lapsed while it was alive after all (a long pause, Redis out
of reach) finds what the reapers took in ``fh:node:<id>:reaped`` and adds exactly
that back: a session removed by a command meanwhile (a host put someone out of a call)
was not there to reap, so it stays removed. Reaping, restoring and the cleanups after
disconnects run on the maintenance connection, never queued behind requests.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from rooms.engine.presence import Back, CappedAdd
from server.engines.redis.connection import RedisConnection, unavailable_as_domain_error

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

# KEYS: sids, info, count, node sessions[, node alive, node reaped]. ARGV: sid, node
# entry[, reaped ttl ms]. Returns the member when this was their last session, else
# nil. Reaping (with the alive and reaped keys): nothing happens if the node's
# heartbeat came back meanwhile, and a session that was there is noted as reaped.
_REMOVE_LUA = """
if KEYS[5] and redis.call('EXISTS', KEYS[5]) == 1 then return false end
redis.call('SREM', KEYS[4], ARGV[2])
local member = redis.call('HGET', KEYS[1], ARGV[1])
if not member then return false end
if KEYS[6] then
    redis.call('SADD', KEYS[6], ARGV[2])
    redis.call('PEXPIRE', KEYS[6], ARGV[3])
end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HINCRBY', KEYS[3], member, -1) > 0 then return false end
redis.call('HDEL', KEYS[3], member)
redis.call('HDEL', KEYS[2], member)
return member
"""

# KEYS: sids, info, count, node sessions. ARGV: sid, node entry[, member]. Like
# _REMOVE_LUA; with the member (finishing a removal that failed) the earlier try may
# have run after all (a timeout is no proof it did not), and then nobody was told: so
# the member is reported gone also when the sid is gone and they have no session left.
_RELEASE_LUA = """
redis.call('SREM', KEYS[4], ARGV[2])
local member = redis.call('HGET', KEYS[1], ARGV[1])
if not member then
    if ARGV[3] and redis.call('HEXISTS', KEYS[3], ARGV[3]) == 0 then return ARGV[3] end
    return false
end
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

_BATCH = 200  # presence changes per pipeline round trip
# How long a reaped node's record waits for it to come back: a node away longer
# restores nothing (its sockets will have reconnected elsewhere long before).
_REAPED_TTL_MS = 24 * 3600 * 1000


def _entry(scope: str, sid: str) -> str:
    return f"{scope}\0{sid}"


@unavailable_as_domain_error
class RedisPresence:
    def __init__(self, conn: RedisConnection, node_id: str, *, node_timeout: float) -> None:
        self._redis = conn.redis
        self._maintenance = conn.maintenance_redis
        self._keys = conn.keys
        self._node_id = node_id
        self._ttl_ms = max(1, int(node_timeout * 1000))
        self._add_script = self._redis.register_script(_ADD_LUA)
        self._add_capped_script = self._redis.register_script(_ADD_CAPPED_LUA)
        self._remove_script = self._redis.register_script(_REMOVE_LUA)
        self._release_script = self._redis.register_script(_RELEASE_LUA)
        self._unregister_script = self._redis.register_script(_UNREGISTER_LUA)
        # Our live sessions, sid -> scope -> (member, info): what we may restore
        # after a lapse. A session leaves it the moment it is removed here.
        self._own: dict[str, dict[str, tuple[str, bytes]]] = {}
        # sid -> scope -> member whose removal failed: remove_sessions(sid) finishes them.
        self._unremoved: dict[str, dict[str, str]] = {}
        self._lapses = 0  # heartbeat lapses seen (nodes.py) ...
        self._restored = 0  # ... and how many of them restore_lapsed has handled

    @property
    def _sessions_key(self) -> str:
        return self._keys.node(self._node_id, "sessions")

    async def add(self, scope: str, sid: str, member: str, info: bytes) -> bool:
        try:
            count = await self._add(scope, sid, member, info)
        except BaseException:
            self._may_have_run(scope, sid, member)
            raise
        if count >= 0:
            self._owned(scope, sid, member, info)
        return count == 1

    def _owned(self, scope: str, sid: str, member: str, info: bytes) -> None:
        self._own.setdefault(sid, {})[scope] = (member, bytes(info))
        self._settled(scope, sid)

    def _may_have_run(self, scope: str, sid: str, member: str) -> None:
        """A change to one of our sessions failed, and Redis may have run it all the
        same: remove_sessions(sid) makes sure it is gone once the socket is."""
        self._unremoved.setdefault(sid, {})[scope] = member

    def _settled(self, scope: str, sid: str) -> None:
        """Redis answered for this session: no doubt about it is left."""
        failed = self._unremoved.get(sid)
        if failed is not None and failed.pop(scope, None) is not None and not failed:
            del self._unremoved[sid]

    async def _add(
        self,
        scope: str,
        sid: str,
        member: str,
        info: bytes,
        client: Redis | Pipeline | None = None,
    ) -> int:
        keys = [*self._keys.scope(scope), self._sessions_key]
        args = [sid, member, info, _entry(scope, sid)]
        return await self._add_script(keys=keys, args=args, client=client)

    async def add_capped(
        self, scope: str, sid: str, member: str, info: bytes, cap: int
    ) -> CappedAdd:
        keys = [*self._keys.scope(scope), self._sessions_key]
        args = [sid, member, info, _entry(scope, sid), cap]
        try:
            count = await self._add_capped_script(keys=keys, args=args)
        except BaseException:
            self._may_have_run(scope, sid, member)
            raise
        if count == -2:
            return "full"
        if count >= 0:
            self._owned(scope, sid, member, info)
        return "joined" if count == 1 else "present"

    async def remove(self, scope: str, sid: str) -> str | None:
        # Out of _own first: whatever happens below, a lapse must not restore it.
        owned = self._forget_own(scope, sid)
        keys = [*self._keys.scope(scope), self._sessions_key]
        try:
            member = await self._remove_script(keys=keys, args=[sid, _entry(scope, sid)])
        except BaseException:
            if owned is not None:  # remove_sessions(sid) finishes it when the socket is gone
                self._may_have_run(scope, sid, owned)
            raise
        self._settled(scope, sid)
        return member.decode() if member is not None else None

    def _forget_own(self, scope: str, sid: str) -> str | None:
        """Take one of our sessions out of _own; its member, None if it was not ours."""
        sessions = self._own.get(sid)
        session = sessions.pop(scope, None) if sessions is not None else None
        if sessions is not None and not sessions:
            del self._own[sid]
        return session[0] if session is not None else None

    async def remove_sessions(self, sid: str) -> list[tuple[str, str]]:
        members = {scope: member for scope, (member, _) in self._own.pop(sid, {}).items()}
        failed = self._unremoved.pop(sid, {})
        members.update(failed)
        if not members:
            return []  # the usual case: every area removed its own on disconnect
        scopes = sorted(members)
        try:
            async with self._maintenance.pipeline(transaction=False) as pipe:
                for scope in scopes:
                    # the member only for removals that failed (see _RELEASE_LUA)
                    member = [failed[scope]] if scope in failed else []
                    await self._release_script(
                        keys=[*self._keys.scope(scope), self._sessions_key],
                        args=[sid, _entry(scope, sid), *member],
                        client=pipe,
                    )
                results = await pipe.execute()
        except BaseException:
            self._unremoved.setdefault(sid, {}).update(members)  # any of them may have run
            raise
        return [(scope, m.decode()) for scope, m in zip(scopes, results, strict=True) if m]

    async def members(self, scope: str) -> dict[str, bytes]:
        raw = await self._redis.hgetall(self._keys.scope(scope)[1])
        return {k.decode(): v for k, v in raw.items()}

    async def count(self, scope: str) -> int:
        return await self._redis.hlen(self._keys.scope(scope)[1])

    # -- this node's sessions as a whole -------------------------------------
    def lapsed(self) -> None:
        """Our heartbeat key had expired (nodes.py): others may have reaped us."""
        self._lapses += 1

    async def restore_lapsed(self) -> list[Back]:
        lapses = self._lapses
        if lapses == self._restored:
            return []
        reaped_key = self._keys.node(self._node_id, "reaped")
        reaped = {e.decode() for e in await self._maintenance.smembers(reaped_key)}
        todo = [
            (scope, sid, member, info)
            for sid, sessions in self._own.items()
            for scope, (member, info) in sessions.items()
            if _entry(scope, sid) in reaped
        ]
        back: list[Back] = []
        for start in range(0, len(todo), _BATCH):
            batch = todo[start : start + _BATCH]
            async with self._maintenance.pipeline(transaction=False) as pipe:
                for scope, sid, member, info in batch:
                    await self._add(scope, sid, member, info, client=pipe)
                counts = await pipe.execute()
            back += [(s, m, i) for (s, _, m, i), n in zip(batch, counts, strict=True) if n == 1]
        if reaped:  # exactly what we read: a new lapse may be adding to it already
            await self._maintenance.srem(reaped_key, *reaped)
        self._restored = lapses
        log.warning(
            "node %s: heartbeat had lapsed; %d of %d reaped sessions restored, %d people back",
            self._node_id,
            len(todo),
            len(reaped),
            len(back),
        )
        return back

    async def remove_own(self) -> None:
        """Remove all our sessions (on close), without reporting who left."""
        await self._remove_sessions(self._node_id, guarded=False)

    # -- reaping dead nodes ----------------------------------------------------
    async def reap_dead_nodes(self) -> list[tuple[str, str]]:
        redis = self._maintenance
        nodes = [n.decode() for n in await redis.smembers(self._keys.nodes)]
        others = [n for n in nodes if n != self._node_id]
        if not others:
            return []
        async with redis.pipeline(transaction=False) as pipe:
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
        redis = self._maintenance
        lock = self._keys.node(node, "reaper")
        if not await redis.set(lock, self._node_id, nx=True, px=max(self._ttl_ms, 10_000)):
            return []
        try:
            left = await self._remove_sessions(node, guarded=True)
            keys = [
                self._keys.nodes,
                self._keys.node(node, "alive"),
                self._keys.node(node, "sessions"),
            ]
            await self._unregister_script(keys=keys, args=[node], client=redis)
        finally:
            await redis.delete(lock)
        if left:
            log.info("node %s reaped dead node %s: %d members left", self._node_id, node, len(left))
        return left

    async def _remove_sessions(self, node: str, *, guarded: bool) -> list[tuple[str, str]]:
        """Remove every session ``node`` owns; ``guarded`` (reaping) stops if it comes
        back alive and notes what it took in the node's reaped set."""
        redis = self._maintenance
        owned = self._keys.node(node, "sessions")
        extra_keys = (
            [self._keys.node(node, "alive"), self._keys.node(node, "reaped")] if guarded else []
        )
        extra_args = [_REAPED_TTL_MS] if guarded else []
        entries = [e.decode().partition("\0") for e in await redis.smembers(owned)]
        left: list[tuple[str, str]] = []
        for start in range(0, len(entries), _BATCH):
            batch = entries[start : start + _BATCH]
            async with redis.pipeline(transaction=False) as pipe:
                for scope, _, sid in batch:
                    await self._remove_script(
                        keys=[*self._keys.scope(scope), owned, *extra_keys],
                        args=[sid, _entry(scope, sid), *extra_args],
                        client=pipe,
                    )
                results = await pipe.execute()
            left += [(s, m.decode()) for (s, _, _), m in zip(batch, results, strict=True) if m]
        if node == self._node_id:
            self._own.clear()
            self._unremoved.clear()
        return left
