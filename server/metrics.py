"""Prometheus metrics of one node (its own registry, so apps don't collide in tests)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge("fairhall_connections", "Open Socket.IO connections", registry=r)
        self.connects = Counter(
            "fairhall_connects", "Connection attempts by result", ["result"], registry=r
        )
        self.events = Counter(
            "fairhall_events", "Client events handled, by event name", ["event"], registry=r
        )
        self.errors = Counter(
            "fairhall_errors", "Refused requests by error code", ["code"], registry=r
        )
        self.bad_packets = Counter(
            "fairhall_bad_packets",
            "Client packets refused before any command ran (unreadable, binary, wrong "
            "namespace, a second connect), by error code",
            ["code"],
            registry=r,
        )
        self.event_seconds = Histogram(
            "fairhall_event_seconds",
            "Time to handle a client event",
            ["event"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=r,
        )
        self.fanout = Counter(
            "fairhall_fanout_deliveries", "Packets delivered to local sockets by emits", registry=r
        )
        self.fanout_gaps = Counter(
            "fairhall_fanout_gaps",
            "Times this node found it had missed other nodes' emits (its clients resync)",
            registry=r,
        )
        self.fanout_lost_publishes = Counter(
            "fairhall_fanout_lost_publishes",
            "Emits this node could not publish to the other nodes (they resync)",
            registry=r,
        )
        self.http = Counter(
            "fairhall_http_requests", "HTTP requests by status", ["status"], registry=r
        )
        self.slow_consumers = Counter(
            "fairhall_slow_consumers",
            "Connections closed because they did not read what was sent",
            registry=r,
        )
        self.visit_viewers = Gauge(
            "fairhall_visit_viewers", "Video viewers of this node's site-visit hubs", registry=r
        )
        self.visit_hubs = Gauge("fairhall_visit_hubs", "Live site visits hosted here", registry=r)
        self.reaped = Counter(
            "fairhall_presence_reaped", "Presence entries removed from dead nodes", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


METRICS = web.AppKey("metrics", Metrics)
