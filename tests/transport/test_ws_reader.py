"""After the handshake a WebSocket leaves aiohttp for server/ws_reader.py: its frames
(masked, fragmented, control), and bytes sent right behind the handshake, are read by
our own protocol; RFC 6455 and Engine.IO violations close that connection with 1002;
every way a connection can end still ends it — for that one connection only."""

import asyncio
import gc
import json
import struct
import weakref

from harness import eventually, running_node
from raw_websocket import CLOSE, CONTINUATION, PING, PONG, TEXT, RawWebSocket, frame, text_frame

from server.app import SIO
from server.ws_reader import WebSocketIn


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


async def test_invalid_close_frames_are_answered_with_1002_valid_ones_echoed(node):
    """RFC 6455 §5.5.1 and §7.4: a close body is empty, or a 2-byte code a peer may
    send followed by UTF-8; anything else is a protocol error, not a close to echo."""
    person = await node.register("participant", name="Closer")
    invalid = [b"\x03", *(struct.pack("!H", c) for c in (0, 999, 1004, 1005, 1006, 1015))]
    invalid += [struct.pack("!H", c) for c in (2999, 5000, 65535)]
    invalid += [struct.pack("!H", 1000) + b"bye \xff\xfe"]  # the reason is not UTF-8
    for body in invalid:
        ws = await RawWebSocket.open(node)
        await ws.signed_in(person["token"])
        ws.send(CLOSE, body)
        await ws.closed_with(1002)
        ws.writer.close()
    valid = [
        (b"", b""),
        (struct.pack("!H", 1001) + "au revoir é".encode(), struct.pack("!H", 1001)),
    ]
    valid += [(struct.pack("!H", c), struct.pack("!H", c)) for c in (1000, 1011, 3000, 4999)]
    for body, echoed in valid:
        ws = await RawWebSocket.open(node)
        await ws.signed_in(person["token"])
        ws.send(CLOSE, body)
        while (frame := await ws.frame())[0] != CLOSE:
            pass
        assert frame == (CLOSE, echoed)
        assert await asyncio.wait_for(ws.reader.read(), 5) == b""
        ws.writer.close()


async def test_invalid_engineio_packets_close_the_session(node):
    """A packet engine.io cannot take from a client (OPEN, PING, NOOP, a type that does
    not exist) closes that session with 1002, as the Engine.IO protocol says."""
    sio = node.app[SIO]
    bystander = await node.client(name="Bystander")
    for packet in ("0", "2", "2probe", "6", "8", ""):
        person = await node.register("participant", name=f"Sends {packet!r}")
        ws = await RawWebSocket.open(node)
        await ws.signed_in(person["token"])
        ws.send_text(packet)
        await ws.closed_with(1002)
        ws.writer.close()
        await bystander.wait_left(lambda scope, pid, p=person: pid == p["person"]["id"])
    await eventually(lambda: len(sio.eio.sockets) == 1)
    # an UPGRADE on a WebSocket session is harmless: engine.io answers it with a NOOP
    ws = await RawWebSocket.open(node)
    ws.send_text("5")
    assert await ws.text_starting("6") == "6"
    ws.writer.close()
    assert (await bystander.ok("chat:send", {"channel": "lobby", "text": "still here"}))["id"]


async def test_bytes_sent_right_behind_the_handshake_are_read(node):
    """A client may send its frames before it has the 101 and the OPEN packet: they
    arrive with the request, and the one reading path reads them, in order."""
    sio = node.app[SIO]
    person = await node.register("participant", name="Eager")
    behind = text_frame("40" + json.dumps({"token": person["token"]}))
    behind += frame(PING, b"are you there")
    behind += text_frame('421["chat:send",{"channel":"lobby","text":"first words"}]')
    ws = await RawWebSocket.open(node, behind=behind)  # the OPEN packet comes first
    try:
        assert await ws.frame() == (PONG, b"are you there")
        assert (await ws.text_starting("40")).startswith('40{"sid":')
        ack = json.loads((await ws.text_starting("431"))[3:])
        assert ack[0]["ok"] is True and ack[0]["data"]["text"] == "first words"
        (socket,) = sio.eio.sockets.values()
        assert isinstance(socket.lane.transport.get_protocol(), WebSocketIn)
    finally:
        ws.writer.close()
