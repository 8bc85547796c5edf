"""A WebSocket client written out by hand (Engine.IO v4 / Socket.IO v5 on top), so
tests can send any frame at all and read the server's frames in wire order."""

import asyncio
import base64
import json
import os
import socket
import struct

from server.ws_reader import unmask

TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


class RawWebSocket:
    """A WebSocket client written out by hand, so tests can send any frame at all."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, node, sock: socket.socket | None = None) -> "RawWebSocket":
        """Connect to ``node`` (over ``sock`` when given, e.g. one with a tiny window)."""
        if sock is None:
            port = int(node.base_url.rsplit(":", 1)[1])
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        else:
            reader, writer = await asyncio.open_connection(sock=sock)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
                f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
        ws = cls(reader, writer)
        opcode, data = await ws.frame()
        assert opcode == TEXT and data.startswith(b"0")  # engine.io OPEN
        return ws

    def send(self, opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True):
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
        self.writer.write(head + payload)

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
                assert struct.unpack("!H", data[:2])[0] == code
                break
        assert await asyncio.wait_for(self.reader.read(), 5) == b""

    async def signed_in(self, token: str) -> None:
        self.send_text("40" + json.dumps({"token": token}))
        await self.text_starting("40")
