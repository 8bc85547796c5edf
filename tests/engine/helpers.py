"""Shared by the engine contract suites."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from rooms.engine import Back, MessageHandler
from server.engines.redis import RedisEngine

# Small timings keep the crash tests fast: a node counts as dead 0.6 s after its last beat.
FAST = {"heartbeat_interval": 0.2, "node_timeout": 0.6}

MakeRedis = Callable[..., Awaitable[RedisEngine]]


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


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll ``check`` until it returns True; TimeoutError after 3 s."""
    async with asyncio.timeout(3):
        while True:
            if await check():
                return
            await asyncio.sleep(0.02)


async def lapse(redis_url: str, node: RedisEngine) -> None:
    """The node looks dead for a moment (a network split, a long pause): its
    heartbeat key is gone until its next beat, which notices."""
    async with aioredis.Redis.from_url(redis_url) as admin:
        await admin.delete(f"fh:node:{node.node_id}:alive")


async def restored(node: RedisEngine) -> list[Back]:
    """What the node adds back once its heartbeat noticed the lapse (polls up to 3 s;
    use where something is to come back)."""
    async with asyncio.timeout(3):
        while True:
            back = await node.presence.restore_lapsed()
            if back:
                return back
            await asyncio.sleep(0.02)
