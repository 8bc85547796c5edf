"""engine.io's WebSocket driver, rebuilt around a Lane and our own reader.

engine.io runs two tasks per WebSocket (a reader that makes a new task for every
message, and a writer draining a queue) plus a ping task, and keeps aiohttp's request
machinery alive for as long as the connection. Here the driver answers the handshake
itself, gives the connection a Lane for writing and hands reading to
server/ws_reader.py at once, with whatever bytes the client already sent behind its
request. Both ways a session reaches a WebSocket end the same: a fresh WebSocket
becomes a LaneSocket right away, a long-polling session once its upgrade completes
(``Upgrade``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
from collections.abc import Callable

from aiohttp import web

from server.fanout.corker import Corker
from server.fanout.frames import ws_frame
from server.fanout.lane import Lane
from server.fanout.sockets import NOOP_PACKET, TimedSocket, give_lane
from server.ws_reader import FrameError, WebSocketIn, take_over

log = logging.getLogger(__name__)

_ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
UPGRADE_TIMEOUT = 10.0  # seconds from the upgrade request to its "5" (engine.io's default)


def accept_key(request: web.BaseRequest) -> str | None:
    """Sec-WebSocket-Accept for a valid RFC 6455 opening handshake, else None. No
    subprotocol and no extension is accepted: a shared frame must not depend on
    per-socket state (permessage-deflate), and compressing small chat packets per
    recipient costs more CPU than it saves."""
    headers = request.headers
    connection = {token.strip().lower() for token in headers.get("Connection", "").split(",")}
    if (
        request.method != "GET"
        or headers.get("Upgrade", "").strip().lower() != "websocket"
        or "upgrade" not in connection
        or headers.get("Sec-WebSocket-Version", "").strip() != "13"
    ):
        return None
    key = headers.get("Sec-WebSocket-Key", "").strip()
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            return None
    except (binascii.Error, ValueError):
        return None
    return base64.b64encode(hashlib.sha1(key.encode() + _ACCEPT_GUID).digest()).decode()


class LaneWebSocket:
    """engine.io's WebSocket driver for aiohttp, replaced: engine.io builds it as
    ``driver(handler, server)`` for a fresh WebSocket and for an upgrade alike, and
    returns what ``await driver(environ)`` returns as the HTTP response."""

    max_buffer = 4 * 1024 * 1024
    on_overflow: Callable[[], None] = staticmethod(lambda: None)
    corker: Corker

    def __init__(self, handler, server) -> None:
        self.handler = handler  # engine.io's socket's _websocket_handler (not called)
        self.server = server

    async def __call__(self, environ) -> web.StreamResponse:
        request = environ["aiohttp.request"]
        socket = getattr(self.handler, "__self__", None)
        accept = accept_key(request)
        if (
            accept is None
            or not isinstance(socket, TimedSocket)
            or socket.closed
            or socket.upgraded
            or not getattr(request.protocol, "_upgraded", False)
        ):
            return await self._refuse(socket, "not a valid WebSocket handshake")
        response = web.StreamResponse(
            status=101,
            headers={
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Accept": accept,
            },
        )
        response.force_close()
        await response.prepare(request)
        await response.write_eof()  # a 101 has no body: the request is done for aiohttp
        transport = request.transport
        if transport is None or transport.is_closing() or socket.closed:
            return await self._refuse(socket, "the connection ended during the handshake")
        lane = Lane(transport, self.max_buffer, self.on_overflow, self.corker)
        max_message = self.server.max_http_buffer_size
        if socket.connected:  # a long-polling session asking to move here
            reader = WebSocketIn(socket, lane, max_message, Upgrade(socket, lane))
        else:
            give_lane(socket, lane)  # the OPEN packet engine.io queued goes first
            reader = WebSocketIn(socket, lane, max_message)
        take_over(request, reader)
        return response

    async def _refuse(self, socket, why: str) -> web.Response:
        if isinstance(socket, TimedSocket) and not socket.connected:
            # a fresh session that never got its WebSocket: engine.io forgets it
            await socket.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_ERROR)
        return web.Response(status=400, text=why)


class Upgrade:
    """A long-polling session moving to this WebSocket (Engine.IO's upgrade).

    The client sends "2probe", gets "3probe"; the long-poll it has waiting is ended
    with a NOOP and later polls get NOOPs, while what the server sends waits in
    engine.io's queue; the client's "5" makes the socket a LaneSocket here, the queue
    going out first. Anything else, or no "5" within ``UPGRADE_TIMEOUT``, closes this
    connection and leaves the session on long-polling. Steps run in the reader's
    ``data_received``, in the order the frames came, so bytes right behind the "5"
    already take the upgraded path.
    """

    __slots__ = ("lane", "probed", "socket", "timer")

    def __init__(self, socket: TimedSocket, lane: Lane) -> None:
        self.socket, self.lane = socket, lane
        self.probed = False
        self.timer = asyncio.get_running_loop().call_later(UPGRADE_TIMEOUT, self._expire)

    def step(self, message: bytes) -> bool:
        """Take one text message of the upgrade; True once the socket is upgraded."""
        socket = self.socket
        if socket.closing or socket.closed or socket.upgraded:
            raise FrameError(1002, "the session has ended or moved")
        if not self.probed and message == b"2probe":
            self.probed = True
            self.lane.write(ws_frame(b"3probe"))
            self.lane.flush()
            socket.upgrading = True  # engine.io answers later polls with a NOOP
            socket.queue.put_nowait(NOOP_PACKET)  # the waiting poll returns now
            return False
        if self.probed and message == b"5":
            self.timer.cancel()
            give_lane(socket, self.lane)
            return True
        raise FrameError(1002, "expected the Engine.IO upgrade (2probe, then 5)")

    def abandon(self) -> None:
        """The connection ended before the upgrade: the session stays on polling."""
        self.timer.cancel()
        if not self.socket.upgraded:
            self.socket.upgrading = False

    def _expire(self) -> None:
        log.info("upgrade of %s timed out", self.socket.sid)
        self.lane.transport.close()
