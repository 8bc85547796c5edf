"""After the handshake a WebSocket leaves aiohttp for server/ws_reader.py: its frames
(masked, fragmented, control) are read by our own protocol, and every way a
connection can end still ends it — for that one connection only."""

import asyncio
import base64
import gc
import json
import os
import struct
import weakref

from harness import eventually, running_node

from server.app import SIO
from server.ws_reader import WebSocketIn, unmask

TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


class RawWebSocket:
    """A WebSocket client written out by hand, so tests can send any frame at all."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, node) -> "RawWebSocket":
        port = int(node.base_url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
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


async def test_connections_are_read_by_our_protocol_after_the_handshake(node):
    sio = node.app[SIO]
    await node.client(name="A")
    await node.client(name="B")
    protocols = [s.lane.transport.get_protocol() for s in sio.eio.sockets.values()]
    assert len(protocols) == 2 and all(isinstance(p, WebSocketIn) for p in protocols)
    # python-socketio's environ keeps nothing of the HTTP request once signed in
    assert all("aiohttp.request" not in e for e in sio.environ.values())


async def test_fragments_pings_long_frames_and_a_clean_close(node):
    person = await node.register("participant", name="Frag")
    ws = await RawWebSocket.open(node)
    try:
        # the sign-in, split over three frames
        connect = ("40" + json.dumps({"token": person["token"]})).encode()
        ws.send(TEXT, connect[:5], fin=False)
        ws.send(CONTINUATION, connect[5:20], fin=False)
        ws.send(PING, b"between fragments")  # control frames may come in between
        ws.send(CONTINUATION, connect[20:])
        assert await ws.frame() == (PONG, b"between fragments")
        await ws.text_starting("40")
        # a message over 125 bytes takes the 16-bit length
        text = "x" * 300
        ws.send_text(f'421["chat:send",{{"channel":"lobby","text":"{text}"}}]')
        ack = json.loads((await ws.text_starting("431"))[3:])
        assert ack[0]["ok"] is True and ack[0]["data"]["text"] == text
        ws.send(CLOSE, struct.pack("!H", 1000))
        await ws.closed_with(1000)
    finally:
        ws.writer.close()


async def test_protocol_violations_close_that_connection_only(node):
    bystander = await node.client(name="Bystander")
    people = [await node.register("participant", name=f"Bad {i}") for i in range(4)]
    cases = [
        (lambda ws: ws.send_text("2probe", masked=False), 1002),  # clients must mask
        (lambda ws: ws.send(0x3, b"?"), 1002),  # no such opcode
        (lambda ws: ws.send(TEXT, b"\xff\xfe"), 1007),  # not UTF-8
        (lambda ws: ws.send(CONTINUATION, b"orphan"), 1002),  # nothing to continue
    ]
    for person, (misbehave, code) in zip(people, cases, strict=True):
        ws = await RawWebSocket.open(node)
        await ws.signed_in(person["token"])
        misbehave(ws)
        await ws.closed_with(code)
        ws.writer.close()
    # the node and everybody else carry on
    assert (await bystander.ok("chat:send", {"channel": "lobby", "text": "still here"}))["id"]


async def test_a_message_over_the_size_limit_is_refused_with_1009():
    async with running_node(max_message_bytes=4096) as node:
        person = await node.register("participant", name="Big")
        ws = await RawWebSocket.open(node)
        try:
            await ws.signed_in(person["token"])
            ws.send_text("4" + "x" * 5000)
            await ws.closed_with(1009)
            # split into fragments it is the same message, and the same answer
            ws = await RawWebSocket.open(node)
            await ws.signed_in(person["token"])
            ws.send_text("4" + "x" * 2000, fin=False)
            for _ in range(2):
                ws.send(CONTINUATION, b"x" * 2000, fin=False)
            await ws.closed_with(1009)
        finally:
            ws.writer.close()


async def test_the_server_hanging_up_ends_the_connection(node):
    sio = node.app[SIO]
    person = await node.register("participant", name="Leaving")
    ws = await RawWebSocket.open(node)
    try:
        await ws.signed_in(person["token"])
        sid = next(iter(sio.eio.sockets))
        await sio.eio.disconnect(sid)
        await ws.text_starting("1")  # engine.io CLOSE, then the end of the stream
        assert await asyncio.wait_for(ws.reader.read(), 5) == b""
        assert sid not in sio.eio.sockets
    finally:
        ws.writer.close()


async def test_a_client_that_stops_answering_pings_is_cut_off_and_leaves():
    async with running_node(ping_interval=1, ping_timeout=1) as node:
        sio = node.app[SIO]
        watcher = await node.client(name="Watcher")
        person = await node.register("participant", name="Silent")
        ws = await RawWebSocket.open(node)
        try:
            await ws.signed_in(person["token"])
            await eventually(lambda: watcher.joined(lambda s, c: c["name"] == "Silent"))
            # from here on it never answers a ping nor sends anything: after
            # ping_interval + ping_timeout the server ends the stream (read() returns
            # at its end, after the pings it sent) and the person leaves
            await asyncio.wait_for(ws.reader.read(), 10)
            await eventually(lambda: watcher.left(lambda s, pid: pid == person["person"]["id"]))
            assert len(sio.eio.sockets) == 1
        finally:
            ws.writer.close()


async def test_a_closed_connection_is_freed_without_the_garbage_collector():
    """Nothing of a connection refers back to it in a cycle, so it is freed when it
    closes, not at the next (rare, with fairhall's GC tuning) full collection.
    engine.io's own tasks hold a socket for up to a ping interval (hence a short one),
    and its service task the last socket it looked at (hence someone who stays)."""
    async with running_node(ping_interval=1, ping_timeout=2) as node:
        sio = node.app[SIO]
        person = await node.register("participant", name="Brief")
        ws = await RawWebSocket.open(node)
        await ws.signed_in(person["token"])
        freed = weakref.ref(next(iter(sio.eio.sockets.values())))
        await node.client(name="Stays")
        gc.disable()
        try:
            ws.writer.close()
            await eventually(lambda: len(sio.eio.sockets) == 1)
            await eventually(lambda: freed() is None, within=8)
        finally:
            gc.enable()
