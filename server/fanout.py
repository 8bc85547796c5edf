"""Fan-out at the transport: encode a broadcast once, write the same frame to everyone.

Server-to-client WebSocket frames are not masked, so one broadcast's frame bytes are
identical for every recipient. python-socketio's stock path spends a task and a queue
hop per recipient (and engine.io re-encodes per socket); here every Socket.IO packet
for a WebSocket client — broadcasts, acks, pings, connect/disconnect — goes through
that client's ``Lane``, without a task or an await. One path for all packets is what
keeps per-socket order: an ack and a broadcast reach the socket in the order they
were sent. Lanes written during one event-loop iteration are flushed together at its
end (the ``Corker``), one write per socket, however many frames it got.

A reader that stops reading makes its transport buffer grow; past ``max_buffer``
bytes the lane aborts that one connection (the client reconnects and resumes from
its history cursor) instead of holding up the broadcast for everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Callable

import socketio
from aiohttp import WSMsgType
from aiohttp.web import WebSocketResponse
from engineio import exceptions as engineio_exceptions
from engineio import packet as eio_packet
from engineio.async_drivers.aiohttp import WebSocket as EngineIOWebSocket
from engineio.async_socket import AsyncSocket
from socketio import packet as sio_packet

from server.ws_reader import take_over

log = logging.getLogger(__name__)

_TEXT, _BINARY = 0x81, 0x82  # FIN + opcode


def ws_frame(payload: bytes, first_byte: int = _TEXT) -> bytes:
    """An unmasked (server-to-client) WebSocket frame around ``payload``."""
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", first_byte, n) + payload
    if n < 65536:
        return struct.pack("!BBH", first_byte, 126, n) + payload
    return struct.pack("!BBQ", first_byte, 127, n) + payload


def eio_frame(pkt: eio_packet.Packet) -> bytes:
    """The WebSocket frame of one Engine.IO packet."""
    encoded = pkt.encode()
    if isinstance(encoded, bytes):
        return ws_frame(encoded, _BINARY)
    return ws_frame(encoded.encode())


class Corker:
    """Flushes every lane written to during one event-loop iteration, once.

    A syscall per frame was most of the cost of a broadcast (measured: 78 % of server
    time in transport.write). Frames a socket gets within one loop iteration — several
    broadcasts under load, a broadcast and an ack — leave in one write instead.
    """

    def __init__(self) -> None:
        self.dirty: list[Lane] = []

    def mark(self, lane: Lane) -> None:
        if not self.dirty:
            asyncio.get_running_loop().call_soon(self.flush)
        self.dirty.append(lane)

    def flush(self) -> None:
        dirty, self.dirty = self.dirty, []
        for lane in dirty:
            lane.flush()


class Lane:
    """Ordered writes to one client's transport, with a bound on its backlog."""

    __slots__ = (
        "_on_overflow",
        "alive",
        "corker",
        "last_seen",
        "max_buffer",
        "next_ping",
        "pending",
        "transport",
    )

    def __init__(
        self, transport, max_buffer: int, on_overflow: Callable[[], None], corker: Corker
    ) -> None:
        self.transport = transport
        self.max_buffer = max_buffer
        self.alive = True
        self.pending: list[bytes] = []
        self.next_ping = 0.0
        self.last_seen: float | None = None  # set once ws_reader reads the socket
        self.corker = corker
        self._on_overflow = on_overflow

    def write(self, frame: bytes) -> bool:
        if not self.alive:
            return False
        if not self.pending:
            self.corker.mark(self)
        self.pending.append(frame)
        return True

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        if not pending or not self.alive:
            return
        transport = self.transport
        if transport.is_closing():
            self.alive = False
            return
        transport.write(pending[0] if len(pending) == 1 else b"".join(pending))
        if transport.get_write_buffer_size() > self.max_buffer:
            self.alive = False
            self._on_overflow()
            transport.abort()  # connection_lost runs later, from the loop


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
PING_FRAME = ws_frame(b"2")


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
            try:
                await socket.receive(eio_packet.Packet(encoded_packet=msg.data))
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


class Pinger:
    """Engine.IO pings for every lane of one server, from one task.

    The same 3-byte frame for everyone; each socket is pinged ``ping_interval`` after
    its previous ping, checked once a second.
    """

    def __init__(self, eio) -> None:
        self.eio = eio
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        interval = self.eio.ping_interval
        idle_limit = interval + self.eio.ping_timeout
        while True:
            await asyncio.sleep(1.0)
            now, wall = time.monotonic(), time.time()
            for socket in list(self.eio.sockets.values()):
                lane = getattr(socket, "lane", None)
                if lane is None:
                    continue
                if lane.last_seen is not None and now - lane.last_seen > idle_limit:
                    lane.transport.abort()  # no pong, no message: the client is gone
                    continue
                if lane.next_ping > now or socket.closing or socket.closed:
                    continue
                lane.next_ping = now + interval
                socket.last_ping = wall
                lane.write(PING_FRAME)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


class FanoutManager(socketio.AsyncManager):
    """Local delivery of emits: one encode, one frame, one write per recipient."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.count_deliveries: Callable[[int], None] = lambda n: None

    async def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):  # fmt: skip
        room = to or room
        members = self._members(namespace, room)
        if members is None or callback is not None:
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)  # fmt: skip
        if isinstance(data, tuple):
            args = [event, *data]
        else:
            args = [event] if data is None else [event, data]
        pkt = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=args)
        encoded = pkt.encode()
        if not isinstance(encoded, str):  # binary attachments: the stock path handles them
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, **kwargs)  # fmt: skip
        frame = ws_frame(b"4" + encoded.encode())
        skip = skip_sid if isinstance(skip_sid, list) else (skip_sid,)
        sockets = self.server.eio.sockets
        delivered = 0
        slow_path = []
        # No await inside this loop, so membership cannot change under it.
        for sid, eio_sid in members.items():
            if sid in skip:
                continue
            lane = getattr(sockets.get(eio_sid), "lane", None)
            if lane is not None:
                delivered += lane.write(frame)
            else:
                slow_path.append(eio_sid)
        self.count_deliveries(delivered)
        if slow_path:  # sockets without a lane (never on a WebSocket-only server)
            eio_pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
            for eio_sid in slow_path:
                await self.server._send_eio_packet(eio_sid, eio_pkt)

    def _members(self, namespace, room):
        """The room's sid -> eio_sid map, or None when the stock path must decide."""
        if room is not None and not isinstance(room, str):
            return None  # a list of rooms: let the stock path merge them
        rooms = self.rooms.get(namespace)
        if rooms is None:
            return {}
        members = rooms.get(room)
        return {} if members is None else members._fwdm


class RedisFanoutManager(socketio.AsyncRedisManager, FanoutManager):
    """Cross-node emits over Redis pub/sub; each node delivers locally as above.

    MRO: AsyncPubSubManager publishes and then calls its super().emit, which is
    FanoutManager.emit, before the stock AsyncManager.emit.
    """


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
