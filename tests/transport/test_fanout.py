"""The transport-level fan-out keeps every Socket.IO semantic the product relies on."""

import asyncio
import json
import socket

import aiohttp
from harness import eventually, running_node
from raw_websocket import RawWebSocket

from server.app import SIO


async def raw_socket(node, token: str):
    """A raw Engine.IO v4 / Socket.IO v5 WebSocket, to see frames in wire order."""
    http = aiohttp.ClientSession()
    ws = await http.ws_connect(
        node.base_url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    )
    assert (await ws.receive_str()).startswith("0")
    await ws.send_str("40" + json.dumps({"token": token}))
    while not (await ws.receive_str()).startswith("40"):
        pass
    return http, ws


async def test_acks_and_broadcasts_reach_a_socket_in_the_order_they_were_sent(node):
    alice = await node.register("participant", name="Alice")
    bob = await node.client(name="Bob")
    http, ws = await raw_socket(node, alice["token"])
    try:
        n = 40
        for i in range(n):  # pipelined: no waiting for acks
            await ws.send_str(f'42{i}["chat:send",{{"channel":"lobby","text":"m{i}"}}]')
            if i % 4 == 0:  # someone else's broadcasts interleave
                await bob.ok("chat:send", {"channel": "lobby", "text": f"bob{i}"})
        seen = []  # ("push", text) and ("ack", i) in arrival order
        while len([s for s in seen if s[0] == "ack"]) < n:
            frame = await asyncio.wait_for(ws.receive_str(), 5)
            if frame.startswith("42"):
                event, data = json.loads(frame[2:])
                if event == "chat:message" and data["author"]["name"] == "Alice":
                    seen.append(("push", data["text"]))
            elif frame.startswith("43"):
                ack_id = int(frame[2 : frame.index("[")])
                seen.append(("ack", ack_id))
        # each send: its own broadcast first (emitted while handling), then its ack
        expected = [step for i in range(n) for step in (("push", f"m{i}"), ("ack", i))]
        assert seen == expected
    finally:
        await ws.close()
        await http.close()


async def test_rooms_skip_sid_and_namespaces(node):
    sio = node.app[SIO]
    a = await node.client(name="A")
    b = await node.client(name="B")
    c = await node.client(name="C")
    await a.ok("booth:enter", {"booth_id": "demo-b1"})
    await b.ok("booth:enter", {"booth_id": "demo-b1"})
    await sio.emit("probe", {"n": 1}, room="booth:demo-b1", skip_sid=a.sio.get_sid())
    await sio.emit("probe", {"n": 2}, room="booth:demo-b1")
    await sio.emit(
        "probe", {"n": 3}, room="booth:demo-b1", skip_sid=[a.sio.get_sid(), b.sio.get_sid()]
    )
    await sio.emit("probe", {"n": 4}, room="booth:nobody-here")
    await sio.emit("probe", {"n": 5}, room="booth:demo-b1", namespace="/elsewhere")
    await sio.emit("probe", {"n": 6}, to=c.sio.get_sid())
    await sio.emit("probe", ("two", "args"), room="booth:demo-b1")  # a tuple is several arguments
    await eventually(lambda: len(b.received("probe")) == 3)
    await eventually(lambda: len(c.received("probe")) == 1)
    await asyncio.sleep(0.1)
    assert [d["n"] for d in a.received("probe") if isinstance(d, dict)] == [2]
    assert [d["n"] for d in b.received("probe") if isinstance(d, dict)] == [1, 2]
    assert [d["n"] for d in c.received("probe")] == [6]
    # every connected socket got a lane: nothing took the slow path
    lanes = [getattr(s, "lane", None) for s in sio.eio.sockets.values()]
    assert lanes and all(lane is not None for lane in lanes)


async def test_binary_payloads_still_arrive(node):
    sio = node.app[SIO]
    a = await node.client()
    await sio.emit("blob", {"bytes": b"\x00\x01\xff"}, to=a.sio.get_sid())
    got = await a.wait_for("blob")
    assert got == {"bytes": b"\x00\x01\xff"}


async def test_a_reader_that_stops_reading_is_dropped_and_does_not_stall_the_others():
    async with running_node(max_send_buffer=64 * 1024) as node:
        sio = node.app[SIO]
        fast = await node.client(name="Fast")
        stuck = await node.register("participant", name="Stuck")
        sock = socket.socket()
        sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_RCVBUF, 4096
        )  # a tiny window: the server's buffer must grow
        sock.connect(("127.0.0.1", int(node.base_url.rsplit(":", 1)[1])))
        sock.setblocking(False)
        ws = await RawWebSocket.open(node, sock)
        ws.send_text("40" + json.dumps({"token": stuck["token"]}))
        await ws.writer.drain()
        await eventually(lambda: fast.joined(lambda s, c: c["name"] == "Stuck"))
        # from here on the stuck client never reads again
        big = "x" * 16_000
        for i in range(300):  # ~4.8 MB to each lobby member
            await sio.emit("bulk", {"i": i, "pad": big}, room="event:demo")
            await asyncio.sleep(0.002)  # the fast client reads in this same event loop
        await eventually(lambda: len(fast.received("bulk")) == 300, within=15)
        assert [d["i"] for d in fast.received("bulk")] == list(range(300))
        await fast.wait_left(lambda s, pid: pid == stuck["person"]["id"])
        _, metrics = await node.request("GET", "/metrics")
        assert b"fairhall_slow_consumers_total 1.0" in metrics
        ws.writer.close()


async def test_emitting_to_a_room_with_a_dead_socket_is_harmless(node):
    sio = node.app[SIO]
    a = await node.client(name="A")
    b = await node.client(name="B")
    eio_sid = next(iter(sio.eio.sockets))
    sio.eio.sockets[eio_sid].lane.transport.abort()  # one member vanishes without a goodbye
    await sio.emit("probe", {"n": 1}, room="event:demo")
    survivors = [
        c
        for c in (a, b)
        if c.sio.get_sid() and sio.manager.eio_sid_from_sid(c.sio.get_sid(), "/") != eio_sid
    ]
    for client in survivors:
        await client.wait_for("probe")
