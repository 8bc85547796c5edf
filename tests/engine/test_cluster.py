"""Lifecycle and cluster behaviour of the engines: start/close/ping, node heartbeats
and the reaping of crashed nodes' presence, the Redis connection pool."""

from __future__ import annotations

import asyncio
import socket

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from rooms.engine import Engine
from server.engines.redis import RedisEngine

from .helpers import FAST, MakeRedis, collector, crash


async def test_reap_crashed_node(make_redis: MakeRedis) -> None:
    # Only b may die here: a slow CI machine must not make a or c look dead too.
    a, c = await make_redis(node_timeout=10), await make_redis(node_timeout=10)
    b = await make_redis()
    await a.presence.add("hall", "sa", "dave", b"d")
    await b.presence.add("hall", "sb1", "bob", b"b")
    await b.presence.add("booth", "sb2", "bob", b"b")
    await b.presence.add("hall", "sb3", "carol", b"c")
    await b.presence.add("hall", "sb4", "dave", b"d")  # dave stays: a holds a session
    assert await a.presence.reap_dead_nodes() == []  # b is alive

    await crash(b)
    await asyncio.sleep(0.9)  # > node_timeout since b's last beat
    # Two nodes reaping at once: every departure is reported exactly once.
    from_a, from_c = await asyncio.gather(
        a.presence.reap_dead_nodes(), c.presence.reap_dead_nodes()
    )
    assert sorted(from_a + from_c) == [("booth", "bob"), ("hall", "bob"), ("hall", "carol")]
    assert await a.presence.members("hall") == {"dave": b"d"}
    assert await a.presence.members("booth") == {}
    assert await a.presence.reap_dead_nodes() == []


async def test_reaping_a_crashed_node_frees_its_capped_seats(make_redis: MakeRedis) -> None:
    a, b = await make_redis(node_timeout=10), await make_redis()
    assert await a.presence.add_capped("call", "sa", "sa", b"a", 2) == "joined"
    assert await b.presence.add_capped("call", "sb", "sb", b"b", 2) == "joined"
    assert await a.presence.add_capped("call", "sc", "sc", b"c", 2) == "full"
    await crash(b)
    await asyncio.sleep(0.9)  # > node_timeout since b's last beat
    assert await a.presence.reap_dead_nodes() == [("call", "sb")]
    assert await a.presence.add_capped("call", "sc", "sc", b"c", 2) == "joined"
    assert await a.presence.members("call") == {"sa": b"a", "sc": b"c"}


async def test_node_restores_its_sessions_after_heartbeat_lapse(
    make_redis: MakeRedis,
    redis_url: str,
) -> None:
    a, b = await make_redis(node_timeout=10), await make_redis()
    await b.presence.add("hall", "sb", "bob", b"b")
    await b.presence.add("booth", "sc", "carol", b"c")
    # b looks dead for a moment (e.g. a network split) and gets reaped...
    async with aioredis.Redis.from_url(redis_url) as admin:
        await admin.delete(f"fh:node:{b.node_id}:alive")
    assert sorted(await a.presence.reap_dead_nodes()) == [("booth", "carol"), ("hall", "bob")]
    # ...but its sockets are still connected: its next beat restores its sessions.
    for _ in range(40):  # poll up to 2 s
        if await a.presence.members("booth") == {"carol": b"c"}:
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("b did not restore its sessions")
    assert await a.presence.members("hall") == {"bob": b"b"}
    assert await a.presence.reap_dead_nodes() == []


async def test_close_removes_own_sessions(make_redis: MakeRedis) -> None:
    a, b = await make_redis(), await make_redis()
    await a.presence.add("hall", "sa", "alice", b"a")
    await b.presence.add("hall", "sb", "bob", b"b")
    await b.close()
    await b.close()  # idempotent
    assert await a.presence.members("hall") == {"alice": b"a"}
    assert await a.presence.reap_dead_nodes() == []


async def test_ping_raises_when_unreachable(redis_url: str) -> None:
    alive = RedisEngine(redis_url)
    await alive.ping()
    await alive.close()
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = RedisEngine(f"redis://127.0.0.1:{port}/0")
    with pytest.raises(RedisConnectionError):
        await dead.ping()
    await dead.close()


async def test_a_burst_beyond_the_redis_pool_waits_instead_of_failing(make_redis: MakeRedis):
    """More concurrent commands than pooled connections (a thousand people arriving
    at once) queue for a connection; none fails with "Too many connections"."""
    engine = await make_redis(max_connections=2)
    await asyncio.gather(*(engine.docs.put("burst", f"k{i}", b"v") for i in range(200)))
    assert len(await engine.docs.all("burst")) == 200


async def test_ping_and_close_on_every_engine(engine: Engine) -> None:
    await engine.ping()
    await engine.close()
    await engine.close()  # idempotent (the fixture closes a third time)


async def test_a_live_node_is_never_reaped(make_redis: MakeRedis) -> None:
    a, b = await make_redis(node_timeout=10), await make_redis()
    await b.presence.add("hall", "sb", "bob", b"b")
    # Several of b's node_timeouts: only its heartbeat keeps it alive that long.
    await asyncio.sleep(3 * FAST["node_timeout"])
    assert await a.presence.reap_dead_nodes() == []
    assert await a.presence.members("hall") == {"bob": b"b"}


async def test_a_session_removed_elsewhere_is_not_reported_again_when_reaped(
    make_redis: MakeRedis, redis_url: str
) -> None:
    a, b = await make_redis(node_timeout=10), await make_redis()
    await b.presence.add("call", "sb", "sb", b"")
    await b.presence.add("call", "sc", "sc", b"")
    assert await a.presence.remove("call", "sb") == "sb"  # e.g. the host closed the call
    await crash(b)
    async with aioredis.Redis.from_url(redis_url) as admin:  # dead now, not after timeout
        await admin.delete(f"fh:node:{b.node_id}:alive")
    assert await a.presence.reap_dead_nodes() == [("call", "sc")]


async def test_redis_key_layout_is_unchanged(make_redis: MakeRedis, redis_url: str) -> None:
    """Deployments hold data under these names (connection.py): keep them."""
    node = await make_redis()
    await node.docs.put("booths", "b1", b"doc")
    await node.counters.incr("rl:x", ttl=60)
    entry = await node.history.append("chat:lobby", b"hi", 100)
    await node.presence.add("hall", "s1", "alice", b"card")
    await node.pubsub.subscribe("ev", collector()[1])
    n = node.node_id
    async with aioredis.Redis.from_url(redis_url) as admin:
        assert {k.decode() for k in await admin.keys("*")} == {
            "fh:doc:{booths}",
            "fh:ctr:{rl:x}",
            "fh:hist:{chat:lobby}",
            "fh:pr:{hall}:sids",
            "fh:pr:{hall}:info",
            "fh:pr:{hall}:count",
            "fh:nodes",
            f"fh:node:{n}:alive",
            f"fh:node:{n}:sessions",
        }
        assert await admin.hgetall("fh:doc:{booths}") == {b"b1": b"doc"}
        assert await admin.get("fh:ctr:{rl:x}") == b"1"
        assert await admin.xrange("fh:hist:{chat:lobby}") == [(entry.encode(), {b"p": b"hi"})]
        assert await admin.hgetall("fh:pr:{hall}:sids") == {b"s1": b"alice"}
        assert await admin.hgetall("fh:pr:{hall}:info") == {b"alice": b"card"}
        assert await admin.hgetall("fh:pr:{hall}:count") == {b"alice": b"1"}
        assert await admin.smembers("fh:nodes") == {n.encode()}
        assert await admin.smembers(f"fh:node:{n}:sessions") == {b"hall\0s1"}
        assert b"fh:ps:ev" in await admin.pubsub_channels()
