"""Wires the lanes and the Pinger into one python-socketio server."""

from __future__ import annotations

from collections.abc import Callable

import socketio

from server.fanout.corker import Corker
from server.fanout.driver import LaneWebSocket
from server.fanout.pinger import Pinger
from server.fanout.sockets import adopt


def install_lanes(
    sio: socketio.AsyncServer, max_buffer: int, on_overflow: Callable[[], None]
) -> Pinger:
    """Make the engine.io server hand every WebSocket a Lane and every socket's
    heartbeat to one Pinger; start the returned Pinger once the event loop runs."""
    eio = sio.eio
    driver = type(
        "ConfiguredLaneWebSocket",
        (LaneWebSocket,),
        {"max_buffer": max_buffer, "on_overflow": staticmethod(on_overflow), "corker": Corker()},
    )
    # a copy: engine.io's driver table is module-level and shared by all servers
    eio._async = {**eio._async, "websocket": driver}
    eio.pinger = pinger = Pinger(eio)
    # engine.io's service task re-checks every socket's ping timeout, one wait_for per
    # socket; the Pinger enforces it, so the task would only cost
    eio.start_service_task = False
    app_connect = eio.handlers["connect"]

    async def connect(eio_sid: str, environ: dict):
        # engine.io has made the socket and queued its OPEN packet; the application's
        # handler runs next, then engine.io starts the socket's heartbeat
        adopt(eio.sockets[eio_sid])
        return await app_connect(eio_sid, environ)

    eio.on("connect", connect)
    return pinger
