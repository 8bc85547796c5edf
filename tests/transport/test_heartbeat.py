"""Engine.IO heartbeats at any interval (server/fanout/pinger.py): PINGs on time, a
client that answers is never dropped, one that stops answering is closed within
ping_timeout whatever else it sends. The figures go to the "measured by the tests"
summary."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import statistics
import time

import pytest
import socketio
from harness import eventually, running_node
from raw_websocket import CLOSE, TEXT, RawWebSocket

from server.app import SIO

INTERVAL, TIMEOUT = 0.3, 0.2
# How late the close may come after ping_timeout: the Pinger acts at most
# min(50 ms, timeout / 10) late, plus the event loop's own delays on a loaded 2-core
# machine shared by several test suites (observed up to about 0.1 s).
MARGIN = 0.25


def stall_in_io_callback(answer, seconds: float) -> None:
    """Block the event loop for ``seconds`` from a socket-reading callback, sending the
    PONG (``answer``) as it starts: the PONG reaches the server in time, but the loop
    reads it only after the stall, and uvloop runs the Pinger's timer first."""
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()

    def stall() -> None:
        loop.remove_reader(ours.fileno())
        answer()
        time.sleep(seconds)  # blocking on purpose
        ours.close()
        theirs.close()

    loop.add_reader(ours.fileno(), stall)
    theirs.send(b"!")


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
async def test_a_client_that_answers_stays_and_pings_come_on_time(loop, measured):
    """On asyncio's loop (the tests') and on uvloop (what `fairhall serve` runs), which
    runs due timers before it reads sockets: after a stall the Pinger may run before
    a PONG that came in time is read, and must not drop the client for it."""
    if loop == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        await asyncio.to_thread(uvloop.run, _answering_client(measured))
    else:
        await _answering_client(measured)


async def _answering_client(measured) -> None:
    async with running_node(ping_interval=INTERVAL, ping_timeout=TIMEOUT) as node:
        sio = node.app[SIO]
        # (no python-socketio client beside it here: the stall below would make that
        # client give up on the server by its own timer, as the protocol says)
        person = await node.register("participant", name="Prompt")
        ws = await RawWebSocket.open(node)
        # fractions of a second, stated exactly (engine.io alone would say 0 ms)
        assert ws.open_packet["pingInterval"] == 300 and ws.open_packet["pingTimeout"] == 200
        await ws.signed_in(person["token"])
        try:
            pings: list[float] = []
            start = time.monotonic()
            stalled = False
            while time.monotonic() - start < 5.0:
                opcode, data = await ws.frame(within=2)
                assert opcode != CLOSE, f"closed: {data!r}"
                if (opcode, data) == (TEXT, b"2"):
                    pings.append(time.monotonic())
                    if len(pings) == 5 and not stalled:
                        stalled = True
                        stall_in_io_callback(lambda: ws.send_text("3"), TIMEOUT * 2)
                    else:
                        ws.send_text("3")
            gaps = [b - a for a, b in itertools.pairwise(pings)]
            measured(
                f"PINGs at interval {INTERVAL} s over 5 s: {len(pings)}, gaps min "
                f"{min(gaps):.3f} / median {statistics.median(gaps):.3f} / max "
                f"{max(gaps):.3f} s (one loop stall of {TIMEOUT * 2} s among them)"
            )
            # one PING per interval, after each PONG
            assert len(pings) >= 12
            assert INTERVAL - 0.05 <= statistics.median(gaps) <= INTERVAL + 0.1
            assert [s.closed for s in sio.eio.sockets.values()] == [False]
        finally:
            ws.writer.close()


async def test_python_socketio_keeps_up_with_a_fractional_heartbeat():
    """python-socketio with default options (long-polling, then the upgrade) reads the
    heartbeat from the OPEN packet: with engine.io's whole seconds it would give up."""
    async with running_node(ping_interval=INTERVAL, ping_timeout=TIMEOUT) as node:
        sio = node.app[SIO]
        person = await node.register("participant", name="Default Client")
        client = socketio.AsyncClient()
        disconnects: list[str] = []
        client.on("disconnect", lambda *reason: disconnects.append(str(reason)))
        await client.connect(node.base_url, auth={"token": person["token"]}, wait_timeout=10)
        try:
            await asyncio.sleep(5)  # the behaviour under test is 5 s of heartbeats
            assert client.connected and not disconnects
            assert client.transport() == "websocket" and len(sio.eio.sockets) == 1
        finally:
            await client.disconnect()


async def test_a_client_that_stops_answering_is_closed_within_the_timeout(measured):
    """It keeps sending data all along: only a PONG counts."""
    async with running_node(ping_interval=INTERVAL, ping_timeout=TIMEOUT) as node:
        sio = node.app[SIO]
        watcher = await node.client(name="Watcher")
        person = await node.register("participant", name="Deaf")
        ws = await RawWebSocket.open(node)
        answering = True
        unanswered: list[float] = []

        async def read() -> bytes:
            while True:  # answer PINGs while told to; note the first one left unanswered
                opcode, data = await ws.frame(within=5)
                if (opcode, data) == (TEXT, b"2"):
                    if answering:
                        ws.send_text("3")
                    else:
                        unanswered.append(time.monotonic())
                elif opcode == TEXT and data == b"1":  # Engine.IO CLOSE: the end follows
                    return await ws.reader.read()

        async def chatter() -> None:
            while True:  # an event the server reads and refuses, every 20 ms
                ws.send_text('42["no:such",{}]')
                await asyncio.sleep(0.02)

        reading = asyncio.ensure_future(read())
        chatting = asyncio.ensure_future(chatter())
        try:
            ws.send_text("40" + json.dumps({"token": person["token"]}))
            await eventually(lambda: watcher.joined(lambda scope, card: card["name"] == "Deaf"))
            answering = False
            assert await asyncio.wait_for(reading, 5) == b""  # CLOSE, then the end of stream
            closed = time.monotonic() - unanswered[0]
            measured(f"closed {closed:.3f} s after the unanswered PING (timeout {TIMEOUT} s)")
            assert len(unanswered) == 1
            assert TIMEOUT / 2 < closed <= TIMEOUT + MARGIN
        finally:
            chatting.cancel()
            reading.cancel()
            ws.writer.close()
        await watcher.wait_left(lambda scope, pid: pid == person["person"]["id"])
        await eventually(lambda: len(sio.eio.sockets) == 1)
