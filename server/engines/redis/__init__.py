"""Cluster engine: state, history, presence and pub/sub shared through Redis.

One module per concern; connection.py holds the pools and the key layout.
"""

from __future__ import annotations

import logging
import uuid

from rooms.engine import Engine, EngineUnavailable
from server.engines.redis.connection import REDIS_UNAVAILABLE, RedisConnection
from server.engines.redis.counters import RedisCounters
from server.engines.redis.documents import RedisDocuments
from server.engines.redis.history import RedisHistory
from server.engines.redis.nodes import NodeHeartbeat
from server.engines.redis.presence import RedisPresence
from server.engines.redis.pubsub import RedisPubSub

__all__ = ["RedisEngine"]

log = logging.getLogger(__name__)


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
        wait_seconds: float = 2.0,
        command_timeout: float = 2.0,
    ) -> None:
        node_id = node_id or uuid.uuid4().hex[:12]
        #: The node's Redis pools (tests exhaust the request pool through it).
        self.connection = conn = RedisConnection(
            url,
            prefix=prefix,
            heartbeat_interval=heartbeat_interval,
            max_connections=max_connections,
            wait_seconds=wait_seconds,
            command_timeout=command_timeout,
        )
        presence = RedisPresence(conn, node_id, node_timeout=node_timeout)
        pubsub = RedisPubSub(
            conn, node_id, heartbeat_interval=heartbeat_interval, node_timeout=node_timeout
        )
        #: This node's liveness in the cluster (tests stop it to fake a crash).
        self.heartbeat = NodeHeartbeat(
            conn,
            node_id,
            interval=heartbeat_interval,
            timeout=node_timeout,
            on_lapse=presence.lapsed,
        )
        super().__init__(
            node_id,
            docs=RedisDocuments(conn),
            counters=RedisCounters(conn),
            history=RedisHistory(conn),
            presence=presence,
            pubsub=pubsub,
            lifecycle=_Lifecycle(node_id, conn, self.heartbeat, presence, pubsub),
        )


class _Lifecycle:
    def __init__(
        self,
        node_id: str,
        conn: RedisConnection,
        heartbeat: NodeHeartbeat,
        presence: RedisPresence,
        pubsub: RedisPubSub,
    ) -> None:
        self._node_id = node_id
        self._conn = conn
        self._heartbeat = heartbeat
        self._presence = presence
        self._pubsub = pubsub
        self._started = False
        self._closed = False

    async def start(self) -> None:
        await self._heartbeat.start()
        self._started = True
        self._pubsub.start()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._heartbeat.stop()
        await self._pubsub.stop()
        if self._started:
            try:
                await self._presence.remove_own()
                await self._heartbeat.unregister()
            except Exception:
                # Redis is gone: our entries are reaped by the others once the heartbeat expires.
                log.warning("node %s: could not remove its presence on close", self._node_id)
        await self._pubsub.close()
        await self._conn.close()

    async def ping(self) -> None:
        try:
            await self._conn.ping()
        except REDIS_UNAVAILABLE as exc:
            raise EngineUnavailable(f"redis: {exc!r}") from exc
