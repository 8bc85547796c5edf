"""HTTP long-polling and its upgrade to WebSocket, packet by packet (a hand-written
client on each side, tests/raw_polling.py and tests/raw_websocket.py): the upgrade
reads bytes sent right behind each of its steps, hands over what was queued in order,
and a failed upgrade leaves the session on polling; an undecodable payload closes the
session."""

from __future__ import annotations

import asyncio
import json

from harness import eventually
from raw_polling import RawPolling
from raw_websocket import RawWebSocket, text_frame

from server.app import SIO
from server.fanout import LaneSocket, TimedSocket
from server.ws_reader import WebSocketIn


async def signed_in_polling(node, name: str) -> tuple[RawPolling, dict]:
    person = await node.register("participant", name=name)
    polling = await RawPolling.open(node)
    assert await polling.post("40" + json.dumps({"token": person["token"]})) == 200
    assert (await polling.until("40")).startswith('40{"sid":')
    return polling, person


async def upgrade_request(node, polling: RawPolling, behind: bytes = b"") -> RawWebSocket:
    return await RawWebSocket.open(
        node,
        query=f"EIO=4&transport=websocket&sid={polling.sid}",
        behind=behind,
        engineio_open=False,
    )


async def test_an_upgrade_reads_what_comes_right_behind_each_step(node):
    sio = node.app[SIO]
    other = await node.client(name="Other")
    polling, person = await signed_in_polling(node, "Upgrading")
    assert polling.open_packet["upgrades"] == ["websocket"]
    socket = sio.eio.sockets[polling.sid]
    assert type(socket) is TimedSocket
    # the probe in the same write as the upgrade request
    ws = await upgrade_request(node, polling, behind=text_frame("2probe"))
    try:
        assert await ws.text_starting("3") == "3probe"
        # while the upgrade is under way, polls get NOOPs and pushes wait in the queue
        assert await polling.get() == (200, ["6"])
        await other.ok("chat:send", {"channel": "lobby", "text": "during the upgrade"})
        assert await polling.get() == (200, ["6"])
        # the "5" and a request right behind it, in one write
        ws.writer.write(
            text_frame("5")
            + text_frame('421["chat:send",{"channel":"lobby","text":"right behind"}]')
        )
        # what was queued comes first, then the request's own push and its ack
        texts = []
        while not texts or texts[-1] != "ack":
            data = await ws.text_starting("4")
            if data.startswith('42["chat:message"'):
                texts.append(json.loads(data[2:])[1]["text"])
            elif data.startswith("431"):
                texts.append("ack")
        assert texts == ["during the upgrade", "right behind", "ack"]
        # now a lane socket, read by our reader, like a fresh WebSocket
        assert type(socket) is LaneSocket and sio.eio.sockets[polling.sid] is socket
        assert isinstance(socket.lane.transport.get_protocol(), WebSocketIn)
        assert sio.eio.transport(polling.sid) == "websocket"
        status, _ = await polling.get()
        assert status == 400  # engine.io refuses polling once upgraded
        # the heartbeat and the broadcasts take the lane
        await other.ok("chat:send", {"channel": "lobby", "text": "after"})
        assert json.loads((await ws.text_starting('42["chat:message"'))[2:])[1]["text"] == "after"
    finally:
        ws.writer.close()
    await other.wait_left(lambda scope, pid: pid == person["person"]["id"])
    await eventually(lambda: polling.sid not in sio.eio.sockets)


async def test_a_failed_upgrade_leaves_the_session_on_polling(node):
    sio = node.app[SIO]
    polling, _ = await signed_in_polling(node, "Stays")
    # the connection ends after the probe: the session carries on polling
    ws = await upgrade_request(node, polling, behind=text_frame("2probe"))
    assert await ws.text_starting("3") == "3probe"
    ws.writer.close()
    await eventually(lambda: not sio.eio.sockets[polling.sid].upgrading)
    # something else than the probe and the "5": that connection closes with 1002
    ws = await upgrade_request(node, polling, behind=text_frame('42["chat:send",{}]'))
    await ws.closed_with(1002)
    ws.writer.close()
    assert await polling.post('421["chat:send",{"channel":"lobby","text":"still polling"}]') == 200
    ack = json.loads((await polling.until("431"))[3:])
    assert ack[0]["ok"] is True
    assert type(sio.eio.sockets[polling.sid]) is TimedSocket
    assert sio.eio.transport(polling.sid) == "polling"


async def test_invalid_long_polling_payloads_close_the_session(node):
    sio = node.app[SIO]
    bystander = await node.client(name="Bystander")
    for payload in (b"\xff\xfe", b"x", b"2", b"0", b"3\x1e9"):
        polling, person = await signed_in_polling(node, f"Posts {payload!r}")
        waiting = asyncio.ensure_future(polling.get())  # a client always has a poll out
        await asyncio.sleep(0.05)  # (so that the poll is out first)
        assert await polling.post(payload) == 400
        # the waiting poll gets the end of the session, later requests a 400
        assert await waiting == (200, ["1"])
        assert polling.sid not in sio.eio.sockets
        status, _ = await polling.get()
        assert status == 400
        await bystander.wait_left(lambda scope, pid, p=person: pid == p["person"]["id"])
    assert len(sio.eio.sockets) == 1
