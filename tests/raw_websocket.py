"""A WebSocket client written out by hand (Engine.IO v4 / Socket.IO v5 on top), so
tests can send any frame at all and read the server's frames in wire order."""

import asyncio
import base64
import hashlib
import json
import os
import socket
import struct

from server.ws_reader import unmask

TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3


def frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True) -> bytes:
    """One client frame as bytes (masked, as a client must, unless told otherwise)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if masked else 0
    n = len(payload)
    if n < 126:
        head += bytes([mask_bit | n])
    elif n < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if masked:
        key = os.urandom(4)
        head += key
        payload = unmask(key, payload)  # XOR both ways
    return head + payload


def text_frame(text: str) -> bytes:
    return frame(TEXT, text.encode())


class RawWebSocket:
    """A WebSocket client written out by hand, so tests can send any frame at all."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.open_packet: dict | None = None  # the Engine.IO OPEN packet's data

    @classmethod
    async def open(
        cls,
        node,
        sock: socket.socket | None = None,
        *,
        query: str = "EIO=4&transport=websocket",
        behind: bytes = b"",
        engineio_open: bool = True,
    ) -> "RawWebSocket":
        """Connect to ``node`` (over ``sock`` when given, e.g. one with a tiny window).

        ``behind``: bytes sent in the same write as the handshake request, before any
        answer. ``engineio_open``: read the Engine.IO OPEN packet (the first frame of a
        fresh session; a long-polling session's upgrade gets none)."""
        if sock is None:
            port = int(node.base_url.rsplit(":", 1)[1])
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        else:
            reader, writer = await asyncio.open_connection(sock=sock)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /socket.io/?{query} HTTP/1.1\r\nHost: x\r\n"
                f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
            + behind
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101 "), head
        accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
        assert f"sec-websocket-accept: {accept.lower()}" in head.decode().lower(), head
        ws = cls(reader, writer)
        if engineio_open:
            opcode, data = await ws.frame()
            assert opcode == TEXT and data.startswith(b"0")  # engine.io OPEN
            ws.open_packet = json.loads(data[1:])
        return ws

    def send(self, opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True):
        self.writer.write(frame(opcode, payload, fin=fin, masked=masked))

    def send_text(self, text: str, **options) -> None:
        self.send(TEXT, text.encode(), **options)

    async def frame(self, within: float = 5) -> tuple[int, bytes]:
        first, second = await asyncio.wait_for(self.reader.readexactly(2), within)
        n = second & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return first & 0x0F, await self.reader.readexactly(n)

    async def text_starting(self, prefix: str, within: float = 5) -> str:
        """The next text frame that starts with ``prefix`` (skipping pushes and pings)."""
        while True:
            opcode, data = await self.frame(within)
            if opcode == TEXT and data.decode().startswith(prefix):
                return data.decode()

    async def closed_with(self, code: int) -> None:
        """Frames until a close frame with ``code``, then the end of the stream."""
        while True:
            opcode, data = await self.frame()
            if opcode == CLOSE:
                assert struct.unpack("!H", data[:2])[0] == code, data
                break
        assert await asyncio.wait_for(self.reader.read(), 5) == b""

    async def signed_in(self, token: str) -> None:
        self.send_text("40" + json.dumps({"token": token}))
        await self.text_starting("40")
