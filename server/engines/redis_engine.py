"""Cluster engine: state, history, presence and pub/sub shared through Redis.

Key layout (``fh`` is the default prefix; braces are Redis Cluster hash tags):

    fh:doc:{<collection>}          hash   key -> document
    fh:ctr:{<key>}                 string counter (INCRBY, optional PEXPIRE NX)
    fh:hist:{<channel>}            stream entries with field ``p`` = payload
    fh:pr:{<scope>}:sids           hash   sid -> member
    fh:pr:{<scope>}:info           hash   member -> info (latest session's)
    fh:pr:{<scope>}:count          hash   member -> number of sessions (HLEN = members,
                                          which presence_add_capped compares to its cap)
    fh:nodes                       set    ids of registered nodes
    fh:node:<id>:alive             string heartbeat, expires after node_timeout
    fh:node:<id>:sessions          set    "<scope>\\0<sid>" owned by the node
    fh:node:<id>:reaper            string short lock held by the node reaping <id>
    fh:ps:<channel>                pub/sub channel

The presence scripts touch one scope's keys and the owner's session set at once, so
under Redis Cluster they would need a common hash tag; we target a single primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import Pipeline, PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from rooms.engine import CappedAdd, Engine, HistoryEntry, MessageHandler, parse_history_id

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

_SUBSCRIBE_TIMEOUT = 10.0
_BATCH = 200  # presence removals per pipeline round trip


class RedisEngine(Engine):
    def __init__(
        self,
        url: str,
        *,
        node_id: str | None = None,
        heartbeat_interval: float = 5.0,
        node_timeout: float = 15.0,
        prefix: str = "fh",
        max_connections: int = 64,
        wait_seconds: float = 10.0,
    ) -> None:
        self.node_id = node_id or uuid.uuid4().hex[:12]
        self._prefix = prefix
        self._interval = heartbeat_interval
        self._timeout = node_timeout
        self._ttl_ms = max(1, int(node_timeout * 1000))
        # A few quick retries ride out a blip; a real outage surfaces within ~1 s.
        retry = Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), 3)
        # A blocking pool: when every connection is busy (a thousand people arriving
        # at once), a command waits for one instead of failing with "Too many
        # connections" (redis-py's default pool raises past 100).
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=wait_seconds,
            socket_keepalive=True,
            retry=retry,
        )
        self._redis = Redis.from_pool(pool)  # owns the pool: aclose() closes it
        # Pub/sub gets its own pool: health checks there catch half-open sockets
        # without adding a PING before ordinary commands.
        self._ps_redis = Redis.from_url(
            url, socket_keepalive=True, health_check_interval=heartbeat_interval, retry=retry
        )
        self._add_script = self._redis.register_script(_ADD_LUA)
        self._add_capped_script = self._redis.register_script(_ADD_CAPPED_LUA)
        self._remove_script = self._redis.register_script(_REMOVE_LUA)
        self._unregister_script = self._redis.register_script(_UNREGISTER_LUA)
        # Our sessions, so we can restore them if our heartbeat lapsed and we were reaped.
        self._own: dict[tuple[str, str], tuple[str, bytes]] = {}
        self._handlers: dict[bytes, list[MessageHandler]] = {}
        self._confirmed: dict[bytes, asyncio.Future[None]] = {}
        self._pubsub: PubSub | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._started = False
        self._closed = False

    # -- keys ----------------------------------------------------------------
    def _doc_key(self, collection: str) -> str:
        return f"{self._prefix}:doc:{{{collection}}}"

    def _hist_key(self, channel: str) -> str:
        return f"{self._prefix}:hist:{{{channel}}}"

    def _scope_keys(self, scope: str) -> list[str]:
        base = f"{self._prefix}:pr:{{{scope}}}"
        return [f"{base}:sids", f"{base}:info", f"{base}:count"]

    def _node_key(self, node: str, what: str) -> str:
        return f"{self._prefix}:node:{node}:{what}"

    @property
    def _nodes_key(self) -> str:
        return f"{self._prefix}:nodes"

    def _ps_channel(self, channel: str) -> bytes:
        return f"{self._prefix}:ps:{channel}".encode()

    # -- lifecycle -----------------------------------------------------------
    async def start(self) -> None:
        # Alive key first: a reaper must never see us registered but not alive.
        await self._redis.set(self._node_key(self.node_id, "alive"), b"1", px=self._ttl_ms)
        await self._redis.sadd(self._nodes_key, self.node_id)
        self._started = True
        self._heartbeat_task = asyncio.create_task(
            self._heartbeat(), name=f"fh-heartbeat-{self.node_id}"
        )
        self._reader_task = asyncio.create_task(self._reader(), name=f"fh-pubsub-{self.node_id}")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in (self._heartbeat_task, self._reader_task):
            if task is not None:
                await _cancel_and_wait(task)
        for fut in self._confirmed.values():
            fut.cancel()
        if self._started:
            try:
                await self._remove_sessions(self.node_id, guarded=False)
                await self._redis.delete(self._node_key(self.node_id, "alive"))
                await self._redis.srem(self._nodes_key, self.node_id)
            except Exception:
                # Redis is gone: our entries are reaped by the others once the heartbeat expires.
                log.warning("node %s: could not remove its presence on close", self.node_id)
        await self._drop_pubsub()
        await self._ps_redis.aclose()
        await self._redis.aclose()

    async def ping(self) -> None:
        await self._redis.ping()

    async def _heartbeat(self) -> None:
        alive = self._node_key(self.node_id, "alive")
        lapsed = False
        while True:
            await asyncio.sleep(self._interval)
            try:
                # GET tells us whether the key expired since the last beat.
                lapsed |= await self._redis.set(alive, b"1", px=self._ttl_ms, get=True) is None
                if lapsed:
                    await self._rejoin()
                    lapsed = False  # only once every session is back
            except Exception as exc:
                log.warning("node %s: heartbeat failed: %r", self.node_id, exc)

    async def _rejoin(self) -> None:
        # Our key expired (Redis outage, long pause): others may have reaped us while
        # our sockets stayed connected, so register again and restore our sessions.
        log.warning(
            "node %s: heartbeat lapsed, restoring %d sessions", self.node_id, len(self._own)
        )
        await self._redis.sadd(self._nodes_key, self.node_id)
        own = list(self._own.items())
        for start in range(0, len(own), _BATCH):
            async with self._redis.pipeline(transaction=False) as pipe:
                for (scope, sid), (member, info) in own[start : start + _BATCH]:
                    await self._add(scope, sid, member, info, client=pipe)
                await pipe.execute()

    # -- documents -----------------------------------------------------------
    async def doc_get(self, collection: str, key: str) -> bytes | None:
        return await self._redis.hget(self._doc_key(collection), key)

    async def doc_put(self, collection: str, key: str, value: bytes) -> None:
        await self._redis.hset(self._doc_key(collection), key, value)

    async def doc_put_new(self, collection: str, key: str, value: bytes) -> bool:
        return bool(await self._redis.hsetnx(self._doc_key(collection), key, value))

    async def doc_delete(self, collection: str, key: str) -> bool:
        return bool(await self._redis.hdel(self._doc_key(collection), key))

    async def doc_all(self, collection: str) -> dict[str, bytes]:
        raw = await self._redis.hgetall(self._doc_key(collection))
        return {k.decode(): v for k, v in raw.items()}

    # -- counters ------------------------------------------------------------
    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        name = f"{self._prefix}:ctr:{{{key}}}"
        if ttl is None:
            return await self._redis.incrby(name, amount)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incrby(name, amount)
            # NX: only a fresh counter gets a TTL, so the window starts at the first hit.
            pipe.pexpire(name, max(1, int(ttl * 1000)), nx=True)
            value, _ = await pipe.execute()
        return value

    # -- history -------------------------------------------------------------
    async def history_append(self, channel: str, payload: bytes, max_len: int) -> str:
        # "~" lets Redis trim whole stream nodes only: cheap, keeps >= max_len entries.
        entry_id = await self._redis.xadd(
            self._hist_key(channel), {"p": payload}, maxlen=max_len, approximate=True
        )
        return entry_id.decode()

    async def history_before(
        self, channel: str, before: str | None, limit: int
    ) -> list[HistoryEntry]:
        # Nothing is below 0-0, and Redis rejects the interval "(0-0" outright.
        if limit <= 0 or (before is not None and parse_history_id(before) == (0, 0)):
            return []
        upper = "+" if before is None else f"({before}"
        rows = await self._redis.xrevrange(self._hist_key(channel), upper, "-", count=limit)
        return _entries(reversed(rows))

    async def history_after(self, channel: str, after: str, limit: int) -> list[HistoryEntry]:
        parse_history_id(after)
        if limit <= 0:
            return []
        rows = await self._redis.xrange(self._hist_key(channel), f"({after}", "+", count=limit)
        return _entries(rows)

    async def history_get(self, channel: str, entry_id: str) -> bytes | None:
        parse_history_id(entry_id)
        rows = await self._redis.xrange(self._hist_key(channel), entry_id, entry_id)
        return rows[0][1].get(b"p") if rows else None

    async def history_delete(self, channel: str, entry_id: str) -> bool:
        parse_history_id(entry_id)
        return bool(await self._redis.xdel(self._hist_key(channel), entry_id))

    # -- presence ------------------------------------------------------------
    async def presence_add(self, scope: str, sid: str, member: str, info: bytes) -> bool:
        count = await self._add(scope, sid, member, info)
        if count >= 0:
            self._own[(scope, sid)] = (member, bytes(info))
        return count == 1

    async def _add(
        self, scope: str, sid: str, member: str, info: bytes, client: Pipeline | None = None
    ) -> int:
        keys = [*self._scope_keys(scope), self._node_key(self.node_id, "sessions")]
        args = [sid, member, info, f"{scope}\0{sid}"]
        return await self._add_script(keys=keys, args=args, client=client)

    async def presence_add_capped(
        self, scope: str, sid: str, member: str, info: bytes, cap: int
    ) -> CappedAdd:
        keys = [*self._scope_keys(scope), self._node_key(self.node_id, "sessions")]
        args = [sid, member, info, f"{scope}\0{sid}", cap]
        count = await self._add_capped_script(keys=keys, args=args)
        if count == -2:
            return "full"
        if count >= 0:
            self._own[(scope, sid)] = (member, bytes(info))
        return "joined" if count == 1 else "present"

    async def presence_remove(self, scope: str, sid: str) -> str | None:
        self._own.pop((scope, sid), None)
        keys = [*self._scope_keys(scope), self._node_key(self.node_id, "sessions")]
        member = await self._remove_script(keys=keys, args=[sid, f"{scope}\0{sid}"])
        return member.decode() if member is not None else None

    async def presence_members(self, scope: str) -> dict[str, bytes]:
        raw = await self._redis.hgetall(self._scope_keys(scope)[1])
        return {k.decode(): v for k, v in raw.items()}

    async def presence_count(self, scope: str) -> int:
        return await self._redis.hlen(self._scope_keys(scope)[1])

    async def reap_dead_nodes(self) -> list[tuple[str, str]]:
        nodes = [n.decode() for n in await self._redis.smembers(self._nodes_key)]
        others = [n for n in nodes if n != self.node_id]
        if not others:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for node in others:
                pipe.exists(self._node_key(node, "alive"))
            alive = await pipe.execute()
        left: list[tuple[str, str]] = []
        for node, is_alive in zip(others, alive, strict=True):
            if not is_alive:
                left += await self._reap(node)
        return left

    async def _reap(self, node: str) -> list[tuple[str, str]]:
        # The lock only saves duplicate work: the remove script is atomic per
        # session, so even two reapers never report the same member leaving twice.
        lock = self._node_key(node, "reaper")
        if not await self._redis.set(lock, self.node_id, nx=True, px=max(self._ttl_ms, 10_000)):
            return []
        try:
            left = await self._remove_sessions(node, guarded=True)
            keys = [
                self._nodes_key,
                self._node_key(node, "alive"),
                self._node_key(node, "sessions"),
            ]
            await self._unregister_script(keys=keys, args=[node])
        finally:
            await self._redis.delete(lock)
        if left:
            log.info("node %s reaped dead node %s: %d members left", self.node_id, node, len(left))
        return left

    async def _remove_sessions(self, node: str, *, guarded: bool) -> list[tuple[str, str]]:
        """Remove every session ``node`` owns; ``guarded`` stops if it comes back alive."""
        owned = self._node_key(node, "sessions")
        guard = [self._node_key(node, "alive")] if guarded else []
        entries = [e.decode().partition("\0") for e in await self._redis.smembers(owned)]
        left: list[tuple[str, str]] = []
        for start in range(0, len(entries), _BATCH):
            batch = entries[start : start + _BATCH]
            async with self._redis.pipeline(transaction=False) as pipe:
                for scope, _, sid in batch:
                    keys = [*self._scope_keys(scope), owned, *guard]
                    await self._remove_script(keys=keys, args=[sid, f"{scope}\0{sid}"], client=pipe)
                results = await pipe.execute()
            left += [(s, m.decode()) for (s, _, _), m in zip(batch, results, strict=True) if m]
        if node == self.node_id:
            self._own.clear()
        return left

    # -- pub/sub -------------------------------------------------------------
    async def publish(self, channel: str, payload: bytes) -> None:
        await self._redis.publish(self._ps_channel(channel), payload)

    async def subscribe(self, channel: str, handler: MessageHandler) -> None:
        name = self._ps_channel(channel)
        self._handlers.setdefault(name, []).append(handler)
        confirmed = self._confirmed.get(name)
        if confirmed is None:
            confirmed = self._confirmed[name] = asyncio.get_running_loop().create_future()
            if self._pubsub is not None:
                # Without a live connection the reader subscribes it when it reconnects.
                with contextlib.suppress(Exception):
                    await self._pubsub.subscribe(name)
        try:
            # Return only once Redis confirmed, so a publish right after is received.
            async with asyncio.timeout(_SUBSCRIBE_TIMEOUT):
                await asyncio.shield(confirmed)
        except TimeoutError:
            self._handlers[name].remove(handler)
            raise

    async def _reader(self) -> None:
        delay = 0.1
        while True:
            try:
                pubsub = await self._connect_pubsub()
                delay = 0.1
                await self._pump(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("pub/sub connection lost (%r), reconnecting in %.1f s", exc, delay)
                await self._drop_pubsub()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _connect_pubsub(self) -> PubSub:
        pubsub = self._ps_redis.pubsub()
        try:
            # Always hold one subscription (our own control channel): redis-py only
            # skips its read-a-PONG health check on sends once subscribed, and that
            # read would race with the reader.
            await pubsub.subscribe(self._ps_channel(f"_node:{self.node_id}"), *self._handlers)
            # Channels added during that await were in neither snapshot: add them now.
            # From here on subscribe() sends its own SUBSCRIBE.
            self._pubsub = pubsub
            late = [name for name in self._handlers if name not in pubsub.channels]
            if late:
                await pubsub.subscribe(*late)
        except BaseException:
            self._pubsub = None
            await pubsub.aclose()
            raise
        return pubsub

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _pump(self, pubsub: PubSub) -> None:
        # App-level heartbeat on top of health checks and keepalive: a half-open
        # connection can block forever (redis-py #1137, #2417), so if nothing (not
        # even our PING's PONG) arrives within node_timeout, reconnect.
        loop = asyncio.get_running_loop()
        last_seen = last_ping = loop.time()
        while True:
            if loop.time() - last_ping >= self._interval:
                await pubsub.ping(b"fh-ps-ping")
                last_ping = loop.time()
            message = await pubsub.get_message(timeout=min(1.0, self._interval))
            if message is None:
                if loop.time() - last_seen > self._timeout:
                    raise RedisConnectionError("pub/sub connection silent")
                continue
            kind, name = message["type"], message["channel"]
            if kind == "message":
                await self._dispatch(name, message["data"])
            elif kind == "subscribe":
                confirmed = self._confirmed.get(name)
                if confirmed is not None and not confirmed.done():
                    confirmed.set_result(None)
            last_seen = loop.time()

    async def _dispatch(self, name: bytes, payload: bytes) -> None:
        # Handlers run in order on the reader task; one failing must not stop it.
        for handler in list(self._handlers.get(name, ())):
            try:
                await handler(payload)
            except Exception:
                log.exception("pub/sub handler failed on %s", name.decode(errors="replace"))


async def _cancel_and_wait(task: asyncio.Task[None]) -> None:
    # On Python 3.11 a cancel can be swallowed by asyncio.wait_for, which redis-py
    # uses for every send (CPython gh-86296, fixed in 3.12): cancel until it ends.
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s failed", task.get_name(), exc_info=task.exception())


def _entries(rows: Iterable[tuple[bytes, dict[bytes, bytes]]]) -> list[HistoryEntry]:
    return [(entry_id.decode(), fields[b"p"]) for entry_id, fields in rows]
