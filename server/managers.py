"""The Socket.IO client manager of a node: local only (memory engine) or across the
cluster over the engine's pub/sub (Redis), both on the fast fan-out."""

from __future__ import annotations

import socketio

from rooms.engine import Engine
from server import wire_json
from server.fanout.cluster import ClusterFanoutManager
from server.fanout.manager import FanoutManager
from server.metrics import Metrics


def make_manager(
    engine: Engine, clustered: bool, metrics: Metrics, tick_interval: float
) -> socketio.AsyncManager:
    if clustered:
        manager: FanoutManager = ClusterFanoutManager(engine.pubsub, wire_json, tick_interval)
        manager.on_gap = metrics.fanout_gaps.inc
        manager.on_lost_publish = metrics.fanout_lost_publishes.inc
    else:
        manager = FanoutManager()
    manager.count_deliveries = metrics.fanout.inc
    return manager
