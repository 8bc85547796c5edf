"""The Redis connections and the key layout shared by every part of the Redis engine.

Key layout (``fh`` is the default prefix; braces are Redis Cluster hash tags). The
names are what deployments have stored: don't change them.

    fh:doc:{<collection>}          hash   key -> document
    fh:ctr:{<key>}                 string counter (INCRBY, optional PEXPIRE NX)
    fh:hist:{<channel>}            stream entries with field ``p`` = payload
    fh:pr:{<scope>}:sids           hash   sid -> member
    fh:pr:{<scope>}:info           hash   member -> info (latest session's)
    fh:pr:{<scope>}:count          hash   member -> number of sessions (HLEN = members,
                                          which add_capped compares to its cap)
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
import logging

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

log = logging.getLogger(__name__)


class RedisKeys:
    """Names of every key and channel, under one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def doc(self, collection: str) -> str:
        return f"{self.prefix}:doc:{{{collection}}}"

    def counter(self, key: str) -> str:
        return f"{self.prefix}:ctr:{{{key}}}"

    def history(self, channel: str) -> str:
        return f"{self.prefix}:hist:{{{channel}}}"

    def scope(self, scope: str) -> list[str]:
        """The scope's sids, info and count hashes, in the order the scripts take them."""
        base = f"{self.prefix}:pr:{{{scope}}}"
        return [f"{base}:sids", f"{base}:info", f"{base}:count"]

    def node(self, node: str, what: str) -> str:
        return f"{self.prefix}:node:{node}:{what}"

    @property
    def nodes(self) -> str:
        return f"{self.prefix}:nodes"

    def channel(self, channel: str) -> bytes:
        return f"{self.prefix}:ps:{channel}".encode()


class RedisConnection:
    """The command pool every part shares, and pub/sub's own pool."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        health_check_interval: float,
        max_connections: int,
        wait_seconds: float,
    ) -> None:
        self.keys = RedisKeys(prefix)
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
        self.redis = Redis.from_pool(pool)  # owns the pool: aclose() closes it
        # Pub/sub gets its own pool: health checks there catch half-open sockets
        # without adding a PING before ordinary commands.
        self.pubsub_redis = Redis.from_url(
            url, socket_keepalive=True, health_check_interval=health_check_interval, retry=retry
        )

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.pubsub_redis.aclose()
        await self.redis.aclose()


async def cancel_and_wait(task: asyncio.Task[None]) -> None:
    """Cancel a background task and wait until it has ended."""
    # On Python 3.11 a cancel can be swallowed by asyncio.wait_for, which redis-py
    # uses for every send (CPython gh-86296, fixed in 3.12): cancel until it ends.
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s failed", task.get_name(), exc_info=task.exception())
