"""This node's membership in the cluster: registered in ``fh:nodes`` and alive while
it keeps beating its ``fh:node:<id>:alive`` key. Others reap a node whose key expired
(see presence.py).

The heartbeat has a connection of its own (connection.py): however busy the request
pool is, a healthy node keeps beating.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from server.engines.redis.connection import RedisConnection, cancel_and_wait

log = logging.getLogger(__name__)


class NodeHeartbeat:
    def __init__(
        self,
        conn: RedisConnection,
        node_id: str,
        *,
        interval: float,
        timeout: float,
        on_lapse: Callable[[], None],
    ) -> None:
        self._redis = conn.heartbeat_redis
        self._keys = conn.keys
        self._node_id = node_id
        self._interval = interval
        self._ttl_ms = max(1, int(timeout * 1000))
        self._on_lapse = on_lapse
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Alive key first: a reaper must never see us registered but not alive.
        await self._redis.set(self._keys.node(self._node_id, "alive"), b"1", px=self._ttl_ms)
        await self._redis.sadd(self._keys.nodes, self._node_id)
        self._task = asyncio.create_task(self._beat(), name=f"fh-heartbeat-{self._node_id}")

    async def stop(self) -> None:
        """Stop beating, leaving the keys as they are: to others, after node_timeout,
        this node looks crashed (close() unregisters first; tests use it alone)."""
        if self._task is not None:
            await cancel_and_wait(self._task)

    def resume(self) -> None:
        """Beat again after stop(): a node that looked dead comes back (tests)."""
        self._task = asyncio.create_task(self._beat(), name=f"fh-heartbeat-{self._node_id}")

    async def unregister(self) -> None:
        await self._redis.delete(self._keys.node(self._node_id, "alive"))
        await self._redis.srem(self._keys.nodes, self._node_id)

    async def _beat(self) -> None:
        alive = self._keys.node(self._node_id, "alive")
        lapsed = False
        while True:
            await asyncio.sleep(self._interval)
            try:
                # GET tells us whether the key expired since the last beat.
                lapsed |= await self._redis.set(alive, b"1", px=self._ttl_ms, get=True) is None
                if lapsed:
                    # Our key expired (Redis outage, a paused process): others may have
                    # reaped us while our sockets stayed connected. Register again; the
                    # sessions come back with the next presence maintenance.
                    await self._redis.sadd(self._keys.nodes, self._node_id)
                    log.warning("node %s: heartbeat lapsed, registered again", self._node_id)
                    self._on_lapse()
                    lapsed = False
            except Exception as exc:
                log.warning("node %s: heartbeat failed: %r", self._node_id, exc)
