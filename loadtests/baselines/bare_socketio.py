"""Baseline: a bare python-socketio server (stock fan-out), same wire as the scenario.

Clients join room "all" on connect; ``send`` broadcasts ``msg`` to the room and acks.
"""

import asyncio
import sys

import socketio
from aiohttp import web


def main(port: int) -> None:
    sio = socketio.AsyncServer(async_mode="aiohttp", transports=["websocket"])
    app = web.Application()
    sio.attach(app)

    @sio.event
    async def connect(sid, environ, auth=None):
        await sio.enter_room(sid, "all")

    @sio.on("send")
    async def send(sid, data):
        await sio.emit("msg", data, room="all")
        return 1

    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
