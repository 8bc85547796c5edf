"""The Redis connections and the key layout shared by every part of the Redis engine.

Key layout (``fh`` is the default prefix; braces are Redis Cluster hash tags). The
names are what deployments have stored: don't change them.

    fh:doc:{<collection>}          hash   key -> document
    fh:ctr:{<key>}                 string counter (INCRBY, optional PEXPIRE NX)
    fh:hist:{<channel>}            stream entries with field ``p`` = payload
    fh:once:{<channel>}:<key>      string id of the entry append_once made with <key>,
                                   ``+`` appended once settled; expires (PX)
    fh:pr:{<scope>}:sids           hash   sid -> member
    fh:pr:{<scope>}:info           hash   member -> info (latest session's)
    fh:pr:{<scope>}:count          hash   member -> number of sessions (HLEN = members,
                                          which add_capped compares to its cap)
    fh:nodes                       set    ids of registered nodes
    fh:node:<id>:alive             string heartbeat, expires after node_timeout
    fh:node:<id>:sessions          set    "<scope>\\0<sid>" owned by the node
    fh:node:<id>:reaper            string short lock held by the node reaping <id>
    fh:node:<id>:reaped            set    "<scope>\\0<sid>" the reapers removed while <id>
                                          looked dead (what it restores if it was
                                          alive after all; expires after a day)
    fh:ps:<channel>                pub/sub channel

The presence scripts touch one scope's keys and the owner's session set at once, so
under Redis Cluster they would need a common hash tag; we target a single primary.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, TryAgainError
from redis.exceptions import TimeoutError as RedisTimeoutError

from rooms.engine import EngineUnavailable

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

    def once(self, channel: str, key: str) -> str:
        """The key of an append_once, in the slot of the channel's stream."""
        return f"{self.prefix}:once:{{{channel}}}:{key}"

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
    """The pools of one node, each bounded, so no kind of traffic can starve another:

    - ``redis``: commands of requests and sockets. Past ``max_connections`` busy a
      command waits up to ``wait_seconds`` for one, then fails (``EngineUnavailable``).
    - ``heartbeat_redis``: one connection that only beats this node's heartbeat, so a
      flood of requests can never make a healthy node look dead.
    - ``maintenance_redis``: reaping dead nodes, restoring our sessions after a lapse,
      cleaning up after disconnects (retried until done).
    - ``publish_redis``: publishing (every cross-node emit goes this way), so pushes
      do not wait behind requests either.
    - ``pubsub_redis``: the subscription connection.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        heartbeat_interval: float,
        max_connections: int,
        wait_seconds: float,
        command_timeout: float,
    ) -> None:
        self.keys = RedisKeys(prefix)
        # One quick retry rides out a connection reset; an outage or a stuck server
        # surfaces as EngineUnavailable within about 2 * command_timeout.
        retry = Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), 1)
        common = {
            "socket_keepalive": True,
            "socket_timeout": command_timeout,
            "socket_connect_timeout": command_timeout,
        }
        pool = BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=wait_seconds, retry=retry, **common
        )
        self.redis = Redis.from_pool(pool)  # owns the pool: aclose() closes it
        # A beat that does not get through in an interval is simply late: the next
        # one follows, and node_timeout allows for a few missed ones.
        beat = max(heartbeat_interval, 1.0)
        self.heartbeat_redis = Redis.from_pool(
            BlockingConnectionPool.from_url(
                url,
                max_connections=1,
                timeout=beat,
                socket_keepalive=True,
                socket_timeout=beat,
                socket_connect_timeout=beat,
                retry=Retry(NoBackoff(), 0),
            )
        )
        self.maintenance_redis = Redis.from_pool(
            BlockingConnectionPool.from_url(
                url, max_connections=2, timeout=command_timeout, retry=retry, **common
            )
        )
        self.publish_redis = Redis.from_pool(
            BlockingConnectionPool.from_url(
                url, max_connections=4, timeout=wait_seconds, retry=retry, **common
            )
        )
        # Pub/sub gets its own pool: health checks there catch half-open sockets
        # without adding a PING before ordinary commands.
        self.pubsub_redis = Redis.from_url(
            url,
            socket_keepalive=True,
            health_check_interval=heartbeat_interval,
            retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), 3),
        )

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        for client in (
            self.pubsub_redis,
            self.publish_redis,
            self.maintenance_redis,
            self.heartbeat_redis,
        ):
            await client.aclose()
        await self.redis.aclose()


# What "the store cannot serve this now" looks like in redis-py: no connection (refused,
# reset, none free in the pool, still loading its data), no answer in time, or a
# replica that cannot take writes during a failover.
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, TryAgainError)

C = TypeVar("C", bound=type)


def unavailable_as_domain_error(cls: C) -> C:
    """Make every public coroutine method of ``cls`` raise ``EngineUnavailable`` for
    redis-py's errors of an unreachable or overloaded store (the rest stay bugs)."""
    for name, method in list(vars(cls).items()):
        if name.startswith("_") or not inspect.iscoroutinefunction(method):
            continue
        setattr(cls, name, _translated(method))
    return cls


def _translated(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except REDIS_UNAVAILABLE as exc:
            raise EngineUnavailable(f"redis: {exc!r}") from exc

    return call


async def cancel_and_wait(task: asyncio.Task[None]) -> None:
    """Cancel a background task and wait until it has ended."""
    # On Python 3.11 a cancel can be swallowed by asyncio.wait_for, which redis-py
    # uses for every send (CPython gh-86296, fixed in 3.12): cancel until it ends.
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s failed", task.get_name(), exc_info=task.exception())
