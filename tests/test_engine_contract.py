"""One behaviour contract, run against every Engine implementation."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from rooms.engine import Engine, MessageHandler, parse_history_id
from server.engines.memory import MemoryEngine
from server.engines.redis import RedisEngine

# Small timings keep the crash tests fast: a node counts as dead 0.6 s after its last beat.
FAST = {"heartbeat_interval": 0.2, "node_timeout": 0.6}

MakeRedis = Callable[..., Awaitable[RedisEngine]]


@pytest.fixture
async def make_redis(redis_url: str) -> AsyncIterator[MakeRedis]:
    """Start any number of RedisEngines (nodes) on one Redis; closes them at the end."""
    engines: list[RedisEngine] = []

    async def make(**options: float) -> RedisEngine:
        engine = RedisEngine(redis_url, **{**FAST, **options})
        await engine.start()
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        await engine.close()


@pytest.fixture(params=["memory", "redis"])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[Engine]:
    if request.param == "memory":
        engine: Engine = MemoryEngine()
    else:
        # Looked up lazily so the memory run needs no redis-server.
        engine = RedisEngine(request.getfixturevalue("redis_url"), **FAST)
    await engine.start()
    yield engine
    await engine.close()


async def received(queue: asyncio.Queue[bytes], count: int) -> list[bytes]:
    """The next ``count`` payloads a handler put in ``queue``; TimeoutError after 3 s."""
    async with asyncio.timeout(3):
        return [await queue.get() for _ in range(count)]


def collector() -> tuple[asyncio.Queue[bytes], MessageHandler]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()

    async def handler(payload: bytes) -> None:
        queue.put_nowait(payload)

    return queue, handler


async def crash(node: RedisEngine) -> None:
    """Stop the node's heartbeat without any cleanup, as if its process died."""
    await node.heartbeat.stop()


# -- documents ------------------------------------------------------------------


async def test_documents_roundtrip(engine: Engine) -> None:
    binary = b"\xff\x00\xfe\x80 not utf-8"
    assert await engine.docs.get("booths", "b1") is None
    await engine.docs.put("booths", "b1", b"one")
    await engine.docs.put("booths", "b2", binary)
    await engine.docs.put("halls", "b1", b"other collection")
    await engine.docs.put("booths", "b1", b"one v2")
    assert await engine.docs.get("booths", "b1") == b"one v2"
    assert await engine.docs.get("booths", "b2") == binary
    assert await engine.docs.all("booths") == {"b1": b"one v2", "b2": binary}
    assert await engine.docs.all("nothing") == {}


async def test_doc_put_new_and_delete(engine: Engine) -> None:
    assert await engine.docs.put_new("users", "u1", b"first") is True
    assert await engine.docs.put_new("users", "u1", b"second") is False
    assert await engine.docs.get("users", "u1") == b"first"
    assert await engine.docs.delete("users", "u1") is True
    assert await engine.docs.delete("users", "u1") is False
    assert await engine.docs.get("users", "u1") is None
    assert await engine.docs.put_new("users", "u1", b"again") is True


# -- counters -----------------------------------------------------------------------


async def test_incr(engine: Engine) -> None:
    assert await engine.counters.incr("hits") == 1
    assert await engine.counters.incr("hits", 5) == 6
    assert await engine.counters.incr("hits", -2) == 4
    assert await engine.counters.incr("other") == 1


async def test_incr_ttl_window_starts_at_first_hit(engine: Engine) -> None:
    start = time.monotonic()
    assert await engine.counters.incr("rl", ttl=0.3) == 1
    await asyncio.sleep(0.1)
    assert await engine.counters.incr("rl", ttl=0.3) == 2
    # Past the first hit's window (0.3 s) but inside a window restarted by the
    # second hit (~0.4 s): a fresh count shows the TTL was not extended.
    await asyncio.sleep(max(0.0, start + 0.35 - time.monotonic()))
    assert await engine.counters.incr("rl", 3, ttl=0.3) == 3


# -- history --------------------------------------------------------------------------


async def _fill(engine: Engine, channel: str, n: int, max_len: int = 1000) -> list[str]:
    return [await engine.history.append(channel, f"m{i}".encode(), max_len) for i in range(n)]


async def test_history_ids_grow_strictly(engine: Engine) -> None:
    ids = await _fill(engine, "chat", 30)
    parsed = [parse_history_id(i) for i in ids]
    assert parsed == sorted(parsed) and len(set(parsed)) == len(parsed)


async def test_history_paging(engine: Engine) -> None:
    ids = await _fill(engine, "chat", 25)
    everything = [(i, f"m{n}".encode()) for n, i in enumerate(ids)]

    # Backwards from the newest: each page is oldest first, cursors are exclusive.
    pages, before = [], None
    while page := await engine.history.before("chat", before, 10):
        pages.append(page)
        before = page[0][0]
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [e for p in reversed(pages) for e in p] == everything

    # Forwards from the start.
    collected, after = [], "0-0"
    while page := await engine.history.after("chat", after, 10):
        collected += page
        after = page[-1][0]
    assert collected == everything

    assert await engine.history.before("chat", ids[10], 1) == [everything[9]]
    assert await engine.history.after("chat", ids[10], 1) == [everything[11]]
    assert await engine.history.before("chat", ids[0], 10) == []
    assert await engine.history.after("chat", ids[-1], 10) == []
    assert await engine.history.before("chat", None, 0) == []


async def test_history_get_and_delete(engine: Engine) -> None:
    binary = b"\x00\xff\xc3"
    first = await engine.history.append("chat", b"a", 100)
    middle = await engine.history.append("chat", binary, 100)
    last = await engine.history.append("chat", b"c", 100)
    assert await engine.history.get("chat", middle) == binary
    assert await engine.history.delete("chat", middle) is True
    assert await engine.history.delete("chat", middle) is False
    assert await engine.history.get("chat", middle) is None
    assert await engine.history.before("chat", None, 10) == [(first, b"a"), (last, b"c")]
    assert await engine.history.get("chat", "1-0") is None


async def test_history_trims_to_about_max_len(engine: Engine) -> None:
    ids = await _fill(engine, "chat", 300, max_len=50)
    kept = await engine.history.before("chat", None, 1000)
    # Redis trims whole stream nodes ("MAXLEN ~"): at least max_len stay, at most
    # one node (stream-node-max-entries, 100 by default) more.
    assert 50 <= len(kept) <= 150
    assert kept[-50:] == [(i, f"m{n}".encode()) for n, i in enumerate(ids)][-50:]


async def test_history_unknown_channel(engine: Engine) -> None:
    assert await engine.history.before("void", None, 10) == []
    assert await engine.history.after("void", "0-0", 10) == []
    assert await engine.history.get("void", "1-0") is None
    assert await engine.history.delete("void", "1-0") is False


# -- presence -----------------------------------------------------------------------------


async def test_presence_sessions(engine: Engine) -> None:
    assert await engine.presence.add("hall", "s1", "alice", b"a1") is True
    assert await engine.presence.add("hall", "s2", "alice", b"a2") is False  # second tab
    assert await engine.presence.add("hall", "s1", "alice", b"dup") is False  # same sid
    assert await engine.presence.add("hall", "s3", "bob", b"b") is True
    assert await engine.presence.add("booth", "s1", "alice", b"x") is True  # other scope
    # The latest session's info wins.
    assert await engine.presence.members("hall") == {"alice": b"a2", "bob": b"b"}

    assert await engine.presence.remove("hall", "s1") is None  # alice still has s2
    assert await engine.presence.remove("hall", "s2") == "alice"
    assert await engine.presence.remove("hall", "s2") is None
    assert await engine.presence.remove("hall", "unknown") is None
    assert await engine.presence.remove("nowhere", "s1") is None
    assert await engine.presence.members("hall") == {"bob": b"b"}
    assert await engine.presence.members("booth") == {"alice": b"x"}
    assert await engine.presence.members("nowhere") == {}
    assert await engine.presence.count("hall") == 1 and await engine.presence.count("nowhere") == 0
    assert await engine.presence.add("hall", "s4", "alice", b"back") is True


async def test_presence_add_capped(engine: Engine) -> None:
    assert await engine.presence.add_capped("room", "s1", "alice", b"a", 2) == "joined"
    assert await engine.presence.add_capped("room", "s1", "alice", b"dup", 2) == "present"
    assert await engine.presence.add_capped("room", "s2", "bob", b"b", 2) == "joined"
    assert await engine.presence.add_capped("room", "s3", "carol", b"c", 2) == "full"
    # a member's second session needs no seat, even when the room is full
    assert await engine.presence.add_capped("room", "s4", "alice", b"a2", 2) == "present"
    assert await engine.presence.members("room") == {"alice": b"a2", "bob": b"b"}
    assert await engine.presence.remove("room", "s3") is None  # carol never got in
    assert await engine.presence.remove("room", "s2") == "bob"  # a seat frees up
    assert await engine.presence.add_capped("room", "s3", "carol", b"c", 2) == "joined"
    # the cap counts every member of the scope, however they were added
    assert await engine.presence.add("room", "s5", "dave", b"d") is True
    assert await engine.presence.add_capped("room", "s6", "erin", b"e", 3) == "full"
    assert await engine.presence.add_capped("other", "s6", "erin", b"e", 1) == "joined"
    assert await engine.presence.add_capped("closed", "s7", "frank", b"f", 0) == "full"
    assert await engine.presence.members("closed") == {}


async def test_presence_add_capped_race_for_the_last_seats(
    engine: Engine, request: pytest.FixtureRequest
) -> None:
    nodes = [engine]
    if isinstance(engine, RedisEngine):  # two nodes on one Redis race each other
        other = RedisEngine(request.getfixturevalue("redis_url"), **FAST)
        await other.start()
        nodes.append(other)
    try:
        await engine.presence.add_capped("room", "s-host", "host", b"", 3)
        results = await asyncio.gather(
            *(
                nodes[i % len(nodes)].presence.add_capped("room", f"s{i}", f"m{i}", b"", 3)
                for i in range(20)
            )
        )
        assert results.count("joined") == 2 and results.count("full") == 18
        assert len(await engine.presence.members("room")) == 3
    finally:
        for node in nodes[1:]:
            await node.close()


async def test_reap_without_dead_nodes(engine: Engine) -> None:
    await engine.presence.add("hall", "s1", "alice", b"")
    assert await engine.presence.reap_dead_nodes() == []
    assert await engine.presence.members("hall") == {"alice": b""}


# -- pub/sub ----------------------------------------------------------------------------------


async def test_pubsub_delivers(engine: Engine) -> None:
    async def failing(payload: bytes) -> None:
        raise RuntimeError("handler bug")  # must not stop delivery

    got, collect = collector()
    also, collect_also = collector()
    await engine.pubsub.subscribe("ev", failing)
    await engine.pubsub.subscribe("ev", collect)
    await engine.pubsub.subscribe("ev", collect_also)
    await engine.pubsub.publish("ev", b"\xff first")  # right after subscribe: must arrive
    await engine.pubsub.publish("elsewhere", b"not for us")
    await engine.pubsub.publish("ev", b"second")
    assert await received(got, 2) == [b"\xff first", b"second"]
    assert await received(also, 2) == [b"\xff first", b"second"]
    assert got.empty()  # "elsewhere" would have come before "second"


async def test_pubsub_reaches_every_node(engine: Engine, request: pytest.FixtureRequest) -> None:
    if isinstance(engine, MemoryEngine):
        return  # one process: there are no other nodes
    other = RedisEngine(request.getfixturevalue("redis_url"), **FAST)
    await other.start()
    try:
        got_here, on_here = collector()
        got_there, on_there = collector()
        await engine.pubsub.subscribe("ev", on_here)
        await other.pubsub.subscribe("ev", on_there)
        await engine.pubsub.publish("ev", b"hello")
        assert await received(got_here, 1) == await received(got_there, 1) == [b"hello"]
    finally:
        await other.close()


# -- redis only: liveness ----------------------------------------------------------------------


async def test_pubsub_resubscribes_after_connection_loss(
    make_redis: MakeRedis,
    redis_url: str,
) -> None:
    node = await make_redis()
    got, collect = collector()
    await node.pubsub.subscribe("ev", collect)
    async with aioredis.Redis.from_url(redis_url) as admin:
        assert await admin.client_kill_filter(_type="pubsub") >= 1
    # Keep publishing until the reader is back; anything sent meanwhile is lost.
    async with asyncio.timeout(5):
        while got.empty():
            await node.pubsub.publish("ev", b"ping")
            await asyncio.sleep(0.05)


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
