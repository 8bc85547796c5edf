"""engine.io's WebSocket driver and socket, rebuilt around a Lane.

engine.io runs a queue and a writer task per socket and re-encodes every packet for
each one. Once the handshake is done the driver here gives the socket a Lane, drops
its queue, and makes every later packet — broadcasts, acks, pings, connect and
disconnect — take that lane; server/ws_reader.py then takes the connection's reading
over from aiohttp.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiohttp import WSMsgType
from aiohttp.web import WebSocketResponse
from engineio import exceptions as engineio_exceptions
from engineio import packet as eio_packet
from engineio.async_drivers.aiohttp import WebSocket as EngineIOWebSocket
from engineio.async_socket import AsyncSocket

from server.fanout.corker import Corker
from server.fanout.frames import eio_frame
from server.fanout.lane import Lane
from server.ws_reader import engineio_packet, take_over

log = logging.getLogger(__name__)


class _NoQueue:
    """Stands in for engine.io's per-socket queue once the lane owns writing: the
    queue, its writer task and their memory are not needed."""

    def empty(self) -> bool:
        return True

    async def join(self) -> None:
        return None

    async def put(self, item) -> None:
        return None

    def put_nowait(self, item) -> None:
        return None


NO_QUEUE = _NoQueue()


class LaneWebSocket(EngineIOWebSocket):
    """engine.io's aiohttp WebSocket driver, rebuilt around a Lane.

    engine.io runs two tasks per WebSocket (a reader that makes a new task for every
    message, and a writer draining a queue) plus a ping task. Here the request's own
    task reads; the Lane writes; one Pinger pings every socket of the server.
    """

    max_buffer = 4 * 1024 * 1024
    on_overflow: Callable[[], None] = staticmethod(lambda: None)
    corker: Corker

    async def __call__(self, environ):
        request = environ["aiohttp.request"]
        # no permessage-deflate: a shared frame must not depend on per-socket state,
        # and compressing small chat packets per recipient costs more CPU than it saves
        self._sock = WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=False
        )
        await self._sock.prepare(request)
        self.environ = environ
        socket = getattr(self.handler, "__self__", None)
        if socket is None or request.transport is None or socket.connected:
            await self.handler(self)  # not a fresh WebSocket connection: engine.io's own way
            return self._sock
        lane = self.lane = Lane(request.transport, self.max_buffer, self.on_overflow, self.corker)
        # what engine.io queued before the lane existed (the OPEN packet) goes first
        while not socket.queue.empty():
            queued = socket.queue.get_nowait()
            if queued is not None:
                lane.write(eio_frame(queued))
        socket.queue = NO_QUEUE
        socket.lane = lane
        socket.__class__ = LaneSocket  # every later packet takes the lane, in order
        # engine.io's own first ping is already scheduled; the Pinger does the rest
        lane.next_ping = time.monotonic() + 2 * self.server.ping_interval
        socket.connected = socket.upgraded = True
        if take_over(self._sock, request, socket, lane):
            lane.last_seen = time.monotonic()
            return self._sock  # aiohttp finishes the request; the connection stays
        try:
            await self._read(socket)
        finally:
            lane.flush()
            await self._sock.close()
            await socket.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)
        return self._sock

    async def _read(self, socket) -> None:
        server = self.server
        idle_limit = server.ping_interval + server.ping_timeout
        while True:
            try:
                msg = await self._sock.receive(timeout=idle_limit)
            except TimeoutError:
                return  # no pong, no message: the client is gone
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                return
            packet = engineio_packet(msg.data)
            if packet is None:  # not Engine.IO at all: nothing above can answer it
                await self._sock.close(code=1002, message=b"not an Engine.IO packet")
                return
            try:
                await socket.receive(packet)
            except engineio_exceptions.SocketIsClosedError:
                return
            except Exception:  # a client's garbage must not end the connection
                log.warning("bad packet from %s", socket.sid, exc_info=True)

    async def close(self):
        lane = getattr(self, "lane", None)
        if lane is not None:
            lane.flush()  # what was sent before the close frame goes before it
        await super().close()


class LaneSocket(AsyncSocket):
    """engine.io's socket once its lane writes for it (set as its class, so no
    per-socket closure refers back to the socket: a closed connection is freed by
    reference counting, not left for a rare full garbage collection).

    ``send`` takes the lane instead of engine.io's queue and writer task; the ping
    cycle belongs to the Pinger; ``close`` also ends the stream, since after the
    hand-over (server/ws_reader.py) no handler of aiohttp's would.
    """

    lane: Lane

    async def send(self, pkt: eio_packet.Packet) -> None:
        self.lane.write(eio_frame(pkt))

    def schedule_ping(self) -> None:
        self.last_ping = None  # the ping cycle completed (engine.io's timeout check reads it)

    async def close(self, wait=True, abort=False, reason=None):
        await super().close(wait=wait, abort=abort, reason=reason)
        self.lane.flush()  # the CLOSE packet goes before the end of the stream
        self.lane.transport.close()
