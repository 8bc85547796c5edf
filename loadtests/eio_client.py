"""A minimal Engine.IO v4 / Socket.IO v5 client over a raw WebSocket, or over HTTP
long-polling.

Built to cost as little CPU per received packet as possible, so thousands of them in
one process measure the server rather than themselves: an asyncio Protocol, frames
parsed by hand, JSON decoded only for acks a scenario waits on. Latency comes from
a send timestamp the senders put into the message text (``T<ns>E``).

Three ways to connect (``TRANSPORTS``): ``websocket`` (a WebSocket from the start),
``upgrade`` (what socket.io-client does by default: Engine.IO OPEN and Socket.IO
CONNECT over long-polling, then the WebSocket upgrade: 2probe, 3probe, 5) and
``polling`` (long-polling only: one keep-alive connection for the long-polls, one for
the POSTs, as a browser would).
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
TRANSPORTS = ("websocket", "upgrade", "polling")


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

    def __init__(
        self, stats: Stats, path: str, auth: dict | None, marker: bytes, upgrade: bool = False
    ) -> None:
        self.stats = stats
        self.path = path
        self.auth = auth
        self.marker = marker  # event-name prefix of frames whose latency we measure
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False  # (the HTTP handshake is done)
        self.probing = upgrade  # a polling session's upgrade: connected after its "5"
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
            if self.probing:
                self.transport.write(mask_frame(b"2probe"))
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
        elif p == b"3probe":
            self.transport.write(mask_frame(b"5"))
            self.probing = False
            if not self.connected.done():
                self.connected.set_result(None)
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
    port: int,
    stats: Stats,
    auth: dict | None = None,
    marker: bytes = b'["',
    within: float = 30.0,
    transport: str = "websocket",
) -> EioClient | PollingClient:
    """A signed-in client over ``transport`` (one of ``TRANSPORTS``)."""
    loop = asyncio.get_running_loop()
    if transport == "websocket":
        path = "/socket.io/?EIO=4&transport=websocket"
        _, client = await loop.create_connection(
            lambda: EioClient(stats, path, auth, marker), HOST, port
        )
        await asyncio.wait_for(client.connected, within)
        return client
    return await asyncio.wait_for(_via_polling(port, stats, auth, marker, transport), within)


async def _via_polling(
    port: int, stats: Stats, auth: dict | None, marker: bytes, transport: str
) -> EioClient | PollingClient:
    """Engine.IO OPEN and Socket.IO CONNECT over long-polling, then (``upgrade``) the
    move to a WebSocket, or (``polling``) a client that stays."""
    loop = asyncio.get_running_loop()
    _, http = await loop.create_connection(HttpConnection, HOST, port)
    status, body = await http.request(b"GET", _POLL + b"&t=o")
    if status != 200 or not body.startswith(b"0"):
        raise ConnectionError(f"no OPEN packet: {status} {body[:200]!r}")
    sid = json.loads(body[1:])["sid"]
    path = _POLL + b"&sid=" + sid.encode()
    connect = b"40" + (json.dumps(auth).encode() if auth is not None else b"")
    if (await http.request(b"POST", path, connect))[0] != 200:
        raise ConnectionError("CONNECT refused")
    if transport == "polling":
        _, posts = await loop.create_connection(HttpConnection, HOST, port)
        client = PollingClient(stats, marker, http, posts, path)
        client.start()
        await client.connected
        return client
    early: list[bytes] = []  # what the long-polls brought before the upgrade
    while not any(p.startswith(b"40") or p.startswith(b"44") for p in early):
        status, body = await http.request(b"GET", path)
        if status != 200:
            raise ConnectionError(f"long-poll failed: {status}")
        early += body.split(b"\x1e")
    http.close()
    ws_path = f"/socket.io/?EIO=4&transport=websocket&sid={sid}"
    _, client = await loop.create_connection(
        lambda: EioClient(stats, ws_path, auth, marker, upgrade=True), HOST, port
    )
    for packet in early:
        client.packet(packet)
    await client.connected
    return client


_POLL = b"/socket.io/?EIO=4&transport=polling"


class HttpConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time, bodies with a
    Content-Length (what engine.io's long-polling answers)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(buf[:end]).lower()
        length, i = 0, head.find(b"content-length:")
        if i >= 0:
            j = head.find(b"\r\n", i)
            length = int(head[i + 15 : j if j > 0 else len(head)])
        if len(buf) < end + 4 + length:
            return
        body = bytes(buf[end + 4 : end + 4 + length])
        del buf[: end + 4 + length]
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((int(head[9:12]), body))

    async def request(self, method: bytes, path: bytes, body: bytes = b"") -> tuple[int, bytes]:
        self.waiter = asyncio.get_running_loop().create_future()
        self.send(method, path, body)
        return await self.waiter

    def send(self, method: bytes, path: bytes, body: bytes = b"") -> None:
        """A request whose answer nobody waits for."""
        self.transport.write(
            method + b" " + path + b" HTTP/1.1\r\nHost: " + HOST.encode()
            + b"\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body
        )  # fmt: skip

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class PollingClient:
    """A session that stays on long-polling: one long-poll out at all times; what it
    sends goes in POSTs, one at a time, packets queued meanwhile joined into the next."""

    def __init__(
        self,
        stats: Stats,
        marker: bytes,
        polls: HttpConnection,
        posts: HttpConnection,
        path: bytes,
    ) -> None:
        self.stats = stats
        self.marker = marker
        self.polls, self.posts, self.path = polls, posts, path
        loop = asyncio.get_running_loop()
        self.connected = loop.create_future()
        self.closed = loop.create_future()
        self.acks: dict[int, asyncio.Future] = {}
        self.next_ack = 0
        self.connect_error: bytes | None = None
        self.on_push: Callable[[bytes], None] | None = None
        self.outbox: list[bytes] = []
        self.posting = False
        self.tasks: set[asyncio.Task] = set()

    def start(self) -> None:
        self._task(self._poll())

    def _task(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _poll(self) -> None:
        try:
            while not self.closed.done():
                status, body = await self.polls.request(b"GET", self.path)
                if status != 200:
                    break
                for packet in body.split(b"\x1e"):
                    self.packet(packet)
        except ConnectionError:
            pass
        self._lost()

    def _lost(self) -> None:
        if not self.closed.done():
            self.stats.disconnects += 1
            self.closed.set_result(None)
        if not self.connected.done():
            self.connected.set_exception(ConnectionError("closed before connect"))
        for fut in self.acks.values():
            if not fut.done():
                fut.set_exception(ConnectionError("closed"))

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
            self._send(b"3")
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
        elif p[:1] == b"1":
            self.close()

    def _send(self, packet: bytes) -> None:
        self.outbox.append(packet)
        if not self.posting:
            self.posting = True
            self._task(self._post())

    async def _post(self) -> None:
        try:
            while self.outbox and not self.closed.done():
                body, self.outbox = b"\x1e".join(self.outbox), []
                await self.posts.request(b"POST", self.path, body)
        except ConnectionError:
            self._lost()
        finally:
            self.posting = False

    def emit(self, event: str, data, ack: bool = False) -> asyncio.Future | None:
        body = json.dumps([event, data], separators=(",", ":")).encode()
        if not ack:
            self._send(b"42" + body)
            return None
        ack_id = self.next_ack
        self.next_ack += 1
        fut = asyncio.get_running_loop().create_future()
        self.acks[ack_id] = fut
        self._send(b"42" + str(ack_id).encode() + body)
        return fut

    def close(self) -> None:
        if not self.closed.done():
            # the end of the session, as a client says it: a long-polling server would
            # otherwise keep the session until its ping timeout
            self.posts.send(b"POST", self.path, b"1")
        self.polls.close()
        self.posts.close()  # (what was written still goes out)
        self._lost()


def stamp() -> str:
    """Text that carries its send time for the receivers' latency."""
    return f"T{time.time_ns()}E"
