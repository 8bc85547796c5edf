"""Wires the lanes into one python-socketio server: its engine.io gets our driver."""

from __future__ import annotations

from collections.abc import Callable

import socketio

from server.fanout.corker import Corker
from server.fanout.driver import LaneWebSocket
from server.fanout.pinger import Pinger


def install_lanes(
    sio: socketio.AsyncServer, max_buffer: int, on_overflow: Callable[[], None]
) -> Pinger:
    """Make the engine.io server hand every WebSocket a Lane; start the returned
    Pinger once the event loop runs."""
    driver = type(
        "ConfiguredLaneWebSocket",
        (LaneWebSocket,),
        {"max_buffer": max_buffer, "on_overflow": staticmethod(on_overflow), "corker": Corker()},
    )
    # a copy: engine.io's driver table is module-level and shared by all servers
    sio.eio._async = {**sio.eio._async, "websocket": driver}
    return Pinger(sio.eio)
