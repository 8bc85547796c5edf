"""The Socket.IO client manager of a node: memory or Redis, both on the fast fan-out."""

from __future__ import annotations

import socketio

from server import wire_json
from server.fanout.manager import FanoutManager, RedisFanoutManager
from server.metrics import Metrics


def make_manager(redis_url: str | None, metrics: Metrics) -> socketio.AsyncManager:
    if redis_url:
        # never decode_responses=True: the manager would drop every message (PITFALLS)
        manager: FanoutManager = RedisFanoutManager(
            redis_url, channel="fairhall:socketio", json=wire_json
        )
    else:
        manager = FanoutManager()
    manager.count_deliveries = metrics.fanout.inc
    return manager
