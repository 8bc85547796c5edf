"""Contract of PubSub (rooms/engine/pubsub.py), on every engine."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from rooms.engine import Engine, PubSub

from .helpers import MakeRedis, collector, received


async def test_pubsub_delivers(pubsub: PubSub) -> None:
    async def failing(payload: bytes) -> None:
        raise RuntimeError("handler bug")  # must not stop delivery

    got, collect = collector()
    also, collect_also = collector()
    await pubsub.subscribe("ev", failing)
    await pubsub.subscribe("ev", collect)
    await pubsub.subscribe("ev", collect_also)
    await pubsub.publish("ev", b"\xff first")  # right after subscribe: must arrive
    await pubsub.publish("elsewhere", b"not for us")
    await pubsub.publish("ev", b"second")
    assert await received(got, 2) == [b"\xff first", b"second"]
    assert await received(also, 2) == [b"\xff first", b"second"]
    assert got.empty()  # "elsewhere" would have come before "second"


async def test_pubsub_reaches_every_node(engine: Engine, peer: Engine) -> None:
    got_here, on_here = collector()
    got_there, on_there = collector()
    await engine.pubsub.subscribe("ev", on_here)
    await peer.pubsub.subscribe("ev", on_there)
    await engine.pubsub.publish("ev", b"hello")
    assert await received(got_here, 1) == await received(got_there, 1) == [b"hello"]


# -- redis only: the reader's liveness -----------------------------------------------


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


async def test_pubsub_keeps_each_publishers_order(engine: Engine, peer: Engine) -> None:
    here, on_here = collector()
    there, on_there = collector()
    await engine.pubsub.subscribe("ev", on_here)
    await peer.pubsub.subscribe("ev", on_there)
    sent = [f"m{i}".encode() for i in range(100)]
    for payload in sent:
        await engine.pubsub.publish("ev", payload)
    assert await received(here, 100) == sent
    assert await received(there, 100) == sent


async def test_pubsub_does_not_replay_earlier_messages(pubsub: PubSub) -> None:
    await pubsub.publish("ev", b"before anyone listened")
    got, collect = collector()
    await pubsub.subscribe("ev", collect)
    await pubsub.publish("ev", b"after")
    assert await received(got, 1) == [b"after"]
