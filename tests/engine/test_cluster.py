"""Lifecycle and cluster behaviour of the engines: start/close/ping, node heartbeats,
the reaping of crashed nodes' presence and the restoring of a node's own after its
heartbeat lapsed, cleanups that failed, the Redis connection pools."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
import redis.asyncio as aioredis

from rooms.engine import Engine, EngineUnavailable
from server.engines.redis import RedisEngine

from .helpers import FAST, MakeRedis, collector, crash, lapse, received, restored


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
    make_redis: MakeRedis, redis_url: str
) -> None:
    a, b = await make_redis(node_timeout=10), await make_redis()
    await b.presence.add("hall", "sb", "bob", b"b")
    await b.presence.add("booth", "sc", "carol", b"c")
    await b.presence.add("hall", "sd", "dave", b"d")
    await a.presence.add("hall", "sa", "dave", b"d")  # dave has a tab on a too
    # b looks dead for a moment (e.g. a network split) and gets reaped...
    await lapse(redis_url, b)
    assert sorted(await a.presence.reap_dead_nodes()) == [("booth", "carol"), ("hall", "bob")]
    # ...but its sockets are still connected: once its heartbeat noticed, it adds
    # them back and says who is back (dave never left: a held a session of his)
    assert sorted(await restored(b)) == [("booth", "carol", b"c"), ("hall", "bob", b"b")]
    assert await a.presence.members("booth") == {"carol": b"c"}
    assert await a.presence.members("hall") == {"bob": b"b", "dave": b"d"}
    assert await b.presence.restore_lapsed() == []  # done
    assert await a.presence.reap_dead_nodes() == []
    await b.presence.remove("hall", "sd")
    assert await a.presence.remove("hall", "sa") == "dave"  # counts stayed right


async def test_a_session_removed_before_the_lapse_stays_removed(
    make_redis: MakeRedis, redis_url: str
) -> None:
    """The known bug: a host on another node ended someone's call; later the owner's
    heartbeat lapsed and its restore brought that call session back."""
    a, b = await make_redis(node_timeout=10), await make_redis()
    await b.presence.add("call", "sb", "sb", b"")
    await b.presence.add("call", "sc", "sc", b"")
    await b.presence.add("hall", "sc", "carol", b"c")
    assert await a.presence.remove("call", "sb") == "sb"  # the host put bob out
    await lapse(redis_url, b)
    assert sorted(await a.presence.reap_dead_nodes()) == [("call", "sc"), ("hall", "carol")]
    assert sorted(await restored(b)) == [("call", "sc", b""), ("hall", "carol", b"c")]
    assert await a.presence.members("call") == {"sc": b""}


async def test_a_socket_that_left_during_the_lapse_is_not_restored(
    make_redis: MakeRedis, redis_url: str
) -> None:
    a, b = await make_redis(node_timeout=10), await make_redis()
    await b.presence.add("hall", "sb", "bob", b"b")
    await b.presence.add("hall", "sc", "carol", b"c")
    await lapse(redis_url, b)
    assert len(await a.presence.reap_dead_nodes()) == 2
    assert await b.presence.remove("hall", "sb") is None  # bob closed his tab; reaped already
    assert await restored(b) == [("hall", "carol", b"c")]
    assert await a.presence.members("hall") == {"carol": b"c"}


async def test_a_removal_that_failed_is_finished_and_reported(
    make_redis: MakeRedis, redis_url: str
) -> None:
    a = await make_redis(node_timeout=10)
    b = await make_redis(node_timeout=10, command_timeout=0.3)
    await b.presence.add("hall", "sb", "bob", b"b")
    await b.presence.add("booth", "sb", "bob", b"b")
    async with aioredis.Redis.from_url(redis_url) as admin:
        await admin.execute_command("CLIENT", "PAUSE", 1500, "ALL")  # Redis stops answering
        with pytest.raises(EngineUnavailable):
            await b.presence.remove("hall", "sb")  # the socket left; the area's removal fails
        await admin.ping()  # answered once the pause is over
    # the last sweep after the disconnect finishes it (whether or not the failed try
    # ran in the end) and reports who left, here and in the scope nobody removed
    assert sorted(await b.presence.remove_sessions("sb")) == [("booth", "bob"), ("hall", "bob")]
    assert await a.presence.members("hall") == {}
    assert await a.presence.members("booth") == {}
    assert await b.presence.remove_sessions("sb") == []


async def test_the_heartbeat_and_the_reaper_do_not_wait_for_the_request_pool(
    make_redis: MakeRedis,
) -> None:
    """Every request connection of b is busy (500 sockets of one person once did
    this): requests get EngineUnavailable within redis_wait_seconds, b keeps beating
    (a never reaps it), still publishes and still reaps a node that really crashed."""
    a = await make_redis(node_timeout=10)
    b = await make_redis(max_connections=2, wait_seconds=0.2)
    c = await make_redis()
    await b.presence.add("hall", "sb", "bob", b"b")
    await c.presence.add("hall", "sc", "carol", b"c")
    pool = b.connection.redis.connection_pool
    held = [await pool.get_connection() for _ in range(2)]
    try:
        started = time.monotonic()
        with pytest.raises(EngineUnavailable):
            await b.docs.get("booths", "b1")
        assert time.monotonic() - started < 2  # the wait, not a hang
        queue, handler = collector()
        await a.pubsub.subscribe("ev", handler)
        await b.pubsub.publish("ev", b"pushes get through")  # publishing has its own pool
        assert await received(queue, 1) == [b"pushes get through"]
        await crash(c)
        # Several of b's node_timeouts: only b's own heartbeat connection keeps it alive.
        await asyncio.sleep(3 * FAST["node_timeout"])
        assert await b.presence.reap_dead_nodes() == [("hall", "carol")]
        assert await a.presence.reap_dead_nodes() == []  # b is alive
    finally:
        for conn in held:
            await pool.release(conn)
    assert await a.presence.members("hall") == {"bob": b"b"}
    assert await b.docs.get("booths", "b1") is None  # requests are served again


async def test_close_removes_own_sessions(make_redis: MakeRedis) -> None:
    a, b = await make_redis(), await make_redis()
    await a.presence.add("hall", "sa", "alice", b"a")
    await b.presence.add("hall", "sb", "bob", b"b")
    await b.close()
    await b.close()  # idempotent
    assert await a.presence.members("hall") == {"alice": b"a"}
    assert await a.presence.reap_dead_nodes() == []


async def test_an_unreachable_store_raises_engine_unavailable(redis_url: str) -> None:
    alive = RedisEngine(redis_url)
    await alive.ping()
    await alive.close()
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = RedisEngine(f"redis://127.0.0.1:{port}/0")
    with pytest.raises(EngineUnavailable):
        await dead.ping()
    for call in (
        dead.docs.get("booths", "b1"),
        dead.counters.incr("rl:x", ttl=1),
        dead.history.after("chat:lobby", "0-0", 10),
        dead.presence.add("hall", "s1", "alice", b""),
        dead.pubsub.publish("control", b""),
    ):
        with pytest.raises(EngineUnavailable):
            await call
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
