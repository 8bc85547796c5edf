"""A minimal Engine.IO v4 / Socket.IO v5 client over a raw WebSocket.

Built to cost as little CPU per received packet as possible, so thousands of them in
one process measure the server rather than themselves: an asyncio Protocol, frames
parsed by hand, JSON decoded only for acks a scenario waits on. Latency comes from
a send timestamp the senders put into the message text (``T<ns>E``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from collections.abc import Callable

HOST = "127.0.0.1"  # load never leaves this machine


def mask_frame(payload: bytes) -> bytes:
    """A client-to-server text frame. Clients must mask; an all-zero mask is a valid
    mask and leaves the payload as it is, which spares the generator the XOR."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    return header + b"\x00\x00\x00\x00" + payload


PONG = mask_frame(b"3")


class Stats:
    """Counters shared by every client of one run."""

    def __init__(self) -> None:
        self.received = 0
        self.latencies_ns: list[int] = []
        self.sample_every = 1
        self._tick = 0
        self.pings = 0
        self.disconnects = 0

    def reset(self) -> None:
        self.received = 0
        self.latencies_ns = []
        self._tick = 0


class EioClient(asyncio.Protocol):
    """One connection. ``on_ack(id, raw_json)`` gets ack frames."""

    def __init__(self, stats: Stats, path: str, auth: dict | None, marker: bytes) -> None:
        self.stats = stats
        self.path = path
        self.auth = auth
        self.marker = marker  # event-name prefix of frames whose latency we measure
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False
        self.connected = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.acks: dict[int, asyncio.Future] = {}
        self.next_ack = 0
        self.connect_error: bytes | None = None
        self.on_push: Callable[[bytes], None] | None = None

    # -- asyncio.Protocol --------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def connection_lost(self, exc) -> None:
        self.stats.disconnects += 1
        if not self.connected.done():
            self.connected.set_exception(ConnectionError("closed before connect"))
        if not self.closed.done():
            self.closed.set_result(None)
        for fut in self.acks.values():
            if not fut.done():
                fut.set_exception(ConnectionError("closed"))

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.transport.close()
                return
            del buf[: end + 4]
            self.upgraded = True
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b1 = buf[pos + 1] & 0x7F
            if b1 < 126:
                start, length = pos + 2, b1
            elif b1 == 126:
                if size - pos < 4:
                    break
                start, length = pos + 4, int.from_bytes(buf[pos + 2 : pos + 4], "big")
            else:
                if size - pos < 10:
                    break
                start, length = pos + 10, int.from_bytes(buf[pos + 2 : pos + 10], "big")
            end = start + length
            if end > size:
                break
            opcode = buf[pos] & 0x0F
            if opcode == 1:
                self.packet(bytes(buf[start:end]))
            elif opcode == 8:
                self.transport.close()
            pos = end
        del buf[:pos]

    # -- Engine.IO / Socket.IO packets ------------------------------------------
    def packet(self, p: bytes) -> None:
        kind = p[:2]
        if kind == b"42":
            stats = self.stats
            stats.received += 1
            if self.on_push is not None:
                self.on_push(p)
            if p.startswith(self.marker, 2):
                stats._tick += 1
                if stats._tick >= stats.sample_every:
                    stats._tick = 0
                    i = p.find(b'"T')
                    if i >= 0:
                        j = p.find(b"E", i)
                        stats.latencies_ns.append(time.time_ns() - int(p[i + 2 : j]))
        elif p == b"2":
            self.stats.pings += 1
            self.transport.write(PONG)
        elif kind == b"43":
            bracket = p.find(b"[")
            fut = self.acks.pop(int(p[2:bracket]), None)
            if fut is not None and not fut.done():
                fut.set_result(p[bracket:])
        elif kind == b"40":
            if not self.connected.done():
                self.connected.set_result(None)
        elif kind == b"44":
            self.connect_error = p
            if not self.connected.done():
                self.connected.set_exception(ConnectionError(p[2:].decode(errors="replace")))
        elif p[:1] == b"0":
            auth = json.dumps(self.auth) if self.auth is not None else ""
            self.transport.write(mask_frame(b"40" + auth.encode()))

    # -- sending -----------------------------------------------------------------
    def emit(self, event: str, data, ack: bool = False) -> asyncio.Future | None:
        body = json.dumps([event, data], separators=(",", ":")).encode()
        if not ack:
            self.transport.write(mask_frame(b"42" + body))
            return None
        ack_id = self.next_ack
        self.next_ack += 1
        fut = asyncio.get_running_loop().create_future()
        self.acks[ack_id] = fut
        self.transport.write(mask_frame(b"42" + str(ack_id).encode() + body))
        return fut

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(
    port: int, stats: Stats, auth: dict | None = None, marker: bytes = b'["', within: float = 30.0
) -> EioClient:
    loop = asyncio.get_running_loop()
    path = "/socket.io/?EIO=4&transport=websocket"
    _, client = await loop.create_connection(
        lambda: EioClient(stats, path, auth, marker), HOST, port
    )
    await asyncio.wait_for(client.connected, within)
    return client


def stamp() -> str:
    """Text that carries its send time for the receivers' latency."""
    return f"T{time.time_ns()}E"
