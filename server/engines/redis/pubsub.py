"""Pub/sub through Redis channels, read by one task per node that reconnects and
resubscribes on its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio.client import PubSub as RedisPubSubConnection
from redis.exceptions import ConnectionError as RedisConnectionError

from rooms.engine.pubsub import MessageHandler
from server.engines.redis.connection import (
    RedisConnection,
    cancel_and_wait,
    unavailable_as_domain_error,
)

log = logging.getLogger(__name__)

_SUBSCRIBE_TIMEOUT = 10.0


@unavailable_as_domain_error
class RedisPubSub:
    def __init__(
        self, conn: RedisConnection, node_id: str, *, heartbeat_interval: float, node_timeout: float
    ) -> None:
        self._publish_redis = conn.publish_redis
        self._ps_redis = conn.pubsub_redis
        self._keys = conn.keys
        self._node_id = node_id
        self._interval = heartbeat_interval
        self._timeout = node_timeout
        self._handlers: dict[bytes, list[MessageHandler]] = {}
        self._confirmed: dict[bytes, asyncio.Future[None]] = {}
        self._pubsub: RedisPubSubConnection | None = None
        self._reader_task: asyncio.Task[None] | None = None

    async def publish(self, channel: str, payload: bytes) -> None:
        await self._publish_redis.publish(self._keys.channel(channel), payload)

    async def subscribe(self, channel: str, handler: MessageHandler) -> None:
        name = self._keys.channel(channel)
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

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        self._reader_task = asyncio.create_task(self._reader(), name=f"fh-pubsub-{self._node_id}")

    async def stop(self) -> None:
        """Stop reading; subscribe() calls still waiting for a confirmation are cancelled."""
        if self._reader_task is not None:
            await cancel_and_wait(self._reader_task)
        for fut in self._confirmed.values():
            fut.cancel()

    async def close(self) -> None:
        """Close the subscription connection (after stop())."""
        await self._drop_pubsub()

    # -- the reader ----------------------------------------------------------
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

    async def _connect_pubsub(self) -> RedisPubSubConnection:
        pubsub = self._ps_redis.pubsub()
        try:
            # Always hold one subscription (our own control channel): redis-py only
            # skips its read-a-PONG health check on sends once subscribed, and that
            # read would race with the reader.
            await pubsub.subscribe(self._keys.channel(f"_node:{self._node_id}"), *self._handlers)
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

    async def _pump(self, pubsub: RedisPubSubConnection) -> None:
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
