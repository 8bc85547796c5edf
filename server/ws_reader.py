"""Reading a WebSocket after the handshake without aiohttp's request machinery.

aiohttp keeps a WebSocket inside the HTTP request that upgraded it: the request
handler task, the parsed request and its headers, the middleware chain, the response
and its reader objects stay alive as long as the connection (measured: about 11 KB of
a 24.5 KB idle connection). Once the 101 response is out (server/fanout/driver.py
answers the handshake; aiohttp never parses a frame), ``take_over`` moves the
transport to a ``WebSocketIn`` protocol of ours — a frame parser, a small inbox and no
task while idle — feeds it the bytes the client sent right behind its request, and
lets aiohttp finish the request and forget the connection. This is the only reading
path: every WebSocket, fresh or upgraded from long-polling, is read here.

Client frames are masked (RFC 6455 §5.3); text and binary messages, fragmentation,
ping, pong and close are handled here, and a frame that breaks the RFC closes the
connection with its status code. Messages go to engine.io one after the other, in the
order received (one drain task while there is work, none when idle); an Engine.IO
PONG is taken at once, so a busy inbox never delays the heartbeat. A packet engine.io
cannot take closes the session, as the Engine.IO protocol says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections import deque
from typing import TYPE_CHECKING

from engineio import exceptions as engineio_exceptions
from engineio import packet as eio_packet

if TYPE_CHECKING:
    from server.fanout.driver import Upgrade

log = logging.getLogger(__name__)

_CONTINUATION, _TEXT, _BINARY, _CLOSE, _PING, _PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_INBOX_PAUSE, _INBOX_RESUME = 64, 16  # messages waiting before reading pauses / resumes
_PONG_PACKET = b"3"  # Engine.IO v4 PONG, as a text message
# close codes a peer may send (RFC 6455 §7.4.1, 7.4.2; 1012-1014 registered by IANA since)
_VALID_CLOSE_CODES = frozenset(range(1000, 1004)) | frozenset(range(1007, 1015))


class FrameError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def unmask(key: bytes, data: bytes) -> bytes:
    """XOR ``data`` with the repeated 4-byte ``key``, as one big-integer operation."""
    n = len(data)
    if not n:
        return b""
    pad = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(pad, "little")).to_bytes(n, "little")


def control_frame(opcode: int, payload: bytes = b"") -> bytes:
    """An unmasked (server-to-client) control frame; payloads are at most 125 bytes."""
    return struct.pack("!BB", 0x80 | opcode, len(payload)) + payload[:125]


class WebSocketIn(asyncio.Protocol):
    """The taken-over transport's protocol: client frames in, engine.io packets out."""

    __slots__ = (
        "_buffer",
        "_drainer",
        "_inbox",
        "_lost",
        "_parts",
        "_parts_opcode",
        "_parts_size",
        "_paused",
        "lane",
        "max_message",
        "socket",
        "upgrade",
    )

    def __init__(self, socket, lane, max_message: int, upgrade: Upgrade | None = None) -> None:
        self.socket = socket  # engine.io's socket (server/fanout/sockets.py)
        self.lane = lane
        self.max_message = max_message
        self.upgrade = upgrade  # a long-polling session's upgrade, until it completes
        self._buffer = bytearray()
        self._parts: list[bytes] | None = None  # fragments of the message being read
        self._parts_opcode = _TEXT
        self._parts_size = 0
        self._inbox: deque[str | bytes] = deque()
        self._drainer: asyncio.Task | None = None
        self._paused = False
        self._lost = False

    # asyncio.Protocol ----------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            while not self._lost and (frame := self._next_frame()) is not None:
                self._on_frame(*frame)
        except FrameError as exc:
            self._fail(exc.code, str(exc))
            return
        if not self._buffer:  # a bytearray keeps its largest size: start small again
            self._buffer = bytearray()
        if len(self._inbox) >= _INBOX_PAUSE and not self._paused:
            self._paused = True
            self.lane.transport.pause_reading()
        if self._inbox and self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain())

    def eof_received(self) -> bool:
        return False  # the transport closes itself; connection_lost follows

    def connection_lost(self, exc: BaseException | None) -> None:
        self._lost = True
        self.lane.alive = False
        self._buffer.clear()
        if self.upgrade is not None:  # the session was never here: it stays on polling
            self.upgrade.abandon()
            return
        if self._drainer is None:  # else the drainer closes the socket when done
            self._drainer = asyncio.get_running_loop().create_task(self._close_socket())

    # frames --------------------------------------------------------------------------
    def _next_frame(self) -> tuple[bool, int, bytes] | None:
        buf = self._buffer
        if len(buf) < 2:
            return None
        first, second = buf[0], buf[1]
        if first & 0x70:
            raise FrameError(1002, "reserved bits set (no extension was negotiated)")
        if not second & 0x80:
            raise FrameError(1002, "client frames must be masked")
        size, start = second & 0x7F, 2
        if size == 126:
            if len(buf) < 4:
                return None
            size, start = int.from_bytes(buf[2:4], "big"), 4
        elif size == 127:
            if len(buf) < 10:
                return None
            size, start = int.from_bytes(buf[2:10], "big"), 10
        if size > self.max_message:
            raise FrameError(1009, "message too big")
        end = start + 4 + size
        if len(buf) < end:
            return None
        payload = unmask(bytes(buf[start : start + 4]), bytes(buf[start + 4 : end]))
        del buf[:end]
        return bool(first & 0x80), first & 0x0F, payload

    def _on_frame(self, fin: bool, opcode: int, payload: bytes) -> None:
        if opcode >= _CLOSE:
            if not fin or len(payload) > 125:
                raise FrameError(1002, "fragmented or oversized control frame")
            if opcode == _PING:
                self._write(control_frame(_PONG, payload))
            elif opcode == _CLOSE:
                self._close_frame(payload)
            elif opcode != _PONG:
                raise FrameError(1002, f"unknown opcode {opcode}")
            return
        if opcode == _CONTINUATION:
            if self._parts is None:
                raise FrameError(1002, "continuation without a message")
            self._parts_size += len(payload)
            if self._parts_size > self.max_message:
                raise FrameError(1009, "message too big")
            self._parts.append(payload)
            if fin:
                message, opcode = b"".join(self._parts), self._parts_opcode
                self._parts = None
                self._deliver(opcode, message)
            return
        if opcode not in (_TEXT, _BINARY):
            raise FrameError(1002, f"unknown opcode {opcode}")
        if self._parts is not None:
            raise FrameError(1002, "a new message inside a fragmented one")
        if fin:
            self._deliver(opcode, payload)
        else:
            self._parts, self._parts_opcode, self._parts_size = [payload], opcode, len(payload)

    def _close_frame(self, payload: bytes) -> None:
        """The peer's close: answered with its code, unless the frame itself is
        invalid (RFC 6455 §5.5.1: empty, or a 2-byte code and a UTF-8 reason)."""
        if payload:
            if len(payload) == 1:
                raise FrameError(1002, "a close frame's body is a 2-byte code and a reason")
            code = struct.unpack("!H", payload[:2])[0]
            if code not in _VALID_CLOSE_CODES and not 3000 <= code <= 4999:
                raise FrameError(1002, f"invalid close code {code}")
            try:
                payload[2:].decode()
            except UnicodeDecodeError:
                raise FrameError(1002, "the close reason is not UTF-8") from None
        self._write(control_frame(_CLOSE, payload[:2]))
        self._buffer.clear()  # nothing after a close frame is read
        self.lane.transport.close()

    def _deliver(self, opcode: int, message: bytes) -> None:
        if self.upgrade is not None:
            if opcode != _TEXT:
                raise FrameError(1002, "expected the Engine.IO upgrade (2probe, then 5)")
            if self.upgrade.step(message):
                self.upgrade = None  # later messages belong to the upgraded session
            return
        if opcode == _TEXT:
            if message == _PONG_PACKET:
                # the heartbeat does not wait behind the inbox (server/fanout/pinger.py)
                self.socket.schedule_ping()
                return
            try:
                self._inbox.append(message.decode())
            except UnicodeDecodeError:
                raise FrameError(1007, "text message is not UTF-8") from None
        else:
            self._inbox.append(message)

    def _write(self, frame: bytes) -> None:
        self.lane.write(frame)
        self.lane.flush()  # control replies go out now, in order after what was queued

    def _fail(self, code: int, reason: str) -> None:
        log.info("closing WebSocket of %s: %s", self.socket.sid, reason)
        self._write(control_frame(_CLOSE, struct.pack("!H", code) + reason.encode()[:123]))
        self.lane.transport.close()

    # messages ------------------------------------------------------------------------
    async def _drain(self) -> None:
        """Hand queued messages to engine.io one by one; exits when the inbox is empty."""
        socket = self.socket
        try:
            while self._inbox:
                data = self._inbox.popleft()
                if self._paused and len(self._inbox) <= _INBOX_RESUME and not self._lost:
                    self._paused = False
                    self.lane.transport.resume_reading()
                if socket.closing or socket.closed:  # the session is ending: nothing to serve
                    self._inbox.clear()
                    break
                packet = engineio_packet(data)
                if packet is None:  # not Engine.IO at all: nothing above can answer it
                    self._inbox.clear()
                    self._fail(1002, "not an Engine.IO packet")
                    break
                try:
                    await socket.receive(packet)
                except engineio_exceptions.SocketIsClosedError:
                    self._inbox.clear()
                    self.lane.transport.close()
                except Exception as exc:
                    # engine.io handles the application's errors itself: what comes out
                    # of receive is a packet a client may not send (OPEN, PING, NOOP, a
                    # type it does not know), and the protocol closes the session
                    self._inbox.clear()
                    self._fail(1002, f"invalid Engine.IO packet ({type(exc).__name__})")
                    break
        finally:
            self._drainer = None
        if self._lost:
            await self._close_socket()

    async def _close_socket(self) -> None:
        socket = self.socket
        with contextlib.suppress(Exception):
            await socket.close(wait=False, abort=True, reason=socket.server.reason.TRANSPORT_CLOSE)
        # engine.io forgets a WebSocket's socket when its handler returns; that
        # handler returned at the take-over, so it is done here
        sockets = socket.server.sockets
        if sockets.get(socket.sid) is socket:
            del sockets[socket.sid]


def engineio_packet(data: str | bytes) -> eio_packet.Packet | None:
    try:
        packet = eio_packet.Packet(encoded_packet=data)
    except Exception:
        return None
    return packet if 0 <= packet.packet_type < len(eio_packet.packet_names) else None


def take_over(request, reader: WebSocketIn) -> None:
    """Move an upgraded connection from aiohttp to ``reader``, with the bytes the
    client sent behind its request (aiohttp keeps them unparsed while no WebSocket
    parser of its own is installed), then let aiohttp finish the request (its 101
    response is written) and forget the connection."""
    protocol = request.protocol
    transport = reader.lane.transport
    tail, protocol._message_tail = protocol._message_tail, b""
    transport.set_protocol(reader)
    # aiohttp ends this request's loop without closing the transport
    protocol._force_close = True
    asyncio.get_running_loop().call_soon(_release, protocol)
    # aiohttp pauses reading when a tail outgrows its buffer; ours reads on
    transport.resume_reading()
    if tail:
        reader.data_received(tail)


def _release(protocol) -> None:
    """aiohttp's connection_lost without the closing: it removes the connection from
    the server's registry and drops its parser, timers and request."""
    protocol.transport = None  # so its force_close() does not close our transport
    protocol.connection_lost(None)
