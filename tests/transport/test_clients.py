"""The official clients with their DEFAULT options connect, chat and get pushes: they
start on HTTP long-polling and upgrade to WebSocket, and the upgraded session is a
lane socket read by server/ws_reader.py like a fresh WebSocket. A session that stays
on long-polling works too."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest
import socketio
from harness import eventually

from server.app import SIO
from server.fanout import LaneSocket, TimedSocket
from server.ws_reader import WebSocketIn

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("official_client.js")
NODE_MODULES = ROOT / "static" / "node_modules"


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (required when CI=true)", pytrace=False)
    pytest.skip(what)


def lanes_of(sio) -> dict[str, tuple[type, type | None]]:
    """eio sid -> (socket class, the class reading its connection, if it has a lane)."""
    return {
        sid: (
            type(s),
            type(s.lane.transport.get_protocol()) if isinstance(s, LaneSocket) else None,
        )
        for sid, s in sio.eio.sockets.items()
    }


class NodeClient:
    """official_client.js in a Node process: what it reports, line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.seen: list[dict] = []
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        while line := await self.proc.stdout.readline():
            self.seen.append(json.loads(line))

    def of(self, kind: str, **where) -> list[dict]:
        return [m for m in self.seen if m["kind"] == kind and m.items() >= where.items()]

    def request(self, n: int, event: str, payload: dict) -> None:
        line = json.dumps({"id": n, "event": event, "payload": payload}) + "\n"
        self.proc.stdin.write(line.encode())

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await self.reader


async def test_official_socketio_client_with_default_options(node):
    if shutil.which("node") is None:
        _missing("node is not installed")
    if not (NODE_MODULES / "socket.io-client").is_dir():
        _missing("socket.io-client is not installed: run `npm ci --prefix static`")
    sio = node.app[SIO]
    person = await node.register("participant", name="Node Client")
    python = await node.client(name="Python Side")
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        node.base_url,
        person["token"],
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )
    client = NodeClient(proc)
    try:
        # default options: the session starts on polling and moves to WebSocket
        await eventually(lambda: client.of("connect") and client.of("upgrade"), within=15)
        assert client.of("upgrade") == [{"kind": "upgrade", "transport": "websocket"}]
        assert not client.of("connect_error") and not client.of("disconnect")
        python_eio = sio.manager.eio_sid_from_sid(python.sio.get_sid(), "/")
        (eio_sid,) = set(sio.eio.sockets) - {python_eio}
        # the upgraded session is a lane socket, read by our reader, like a fresh one
        assert lanes_of(sio)[eio_sid] == (LaneSocket, WebSocketIn)
        assert sio.eio.transport(eio_sid) == "websocket"
        # it chats: the ack, its own push and the other person's push
        client.request(1, "chat:send", {"channel": "lobby", "text": "hello from node"})
        await eventually(lambda: client.of("ack", id=1), within=10)
        ack = client.of("ack", id=1)[0]
        assert ack["reply"]["ok"] is True and ack["transport"] == "websocket", ack
        await python.wait_for("chat:message", lambda m: m["text"] == "hello from node")
        await python.ok("chat:send", {"channel": "lobby", "text": "hello from python"})
        pushes = lambda: [  # noqa: E731
            m["data"]["text"] for m in client.of("push", event="chat:message")
        ]
        await eventually(lambda: pushes() == ["hello from node", "hello from python"])
        await eventually(lambda: client.of("push", event="presence:changed"))  # the lobby's
    finally:
        await client.close()
    await python.wait_left(lambda scope, pid: pid == person["person"]["id"])


async def test_python_socketio_client_with_default_options(node):
    sio = node.app[SIO]
    person = await node.register("participant", name="Default Python")
    other = await node.client(name="Other")
    client = socketio.AsyncClient()  # default options: polling, then the upgrade
    got: list[dict] = []
    client.on("chat:message", got.append)
    await client.connect(node.base_url, auth={"token": person["token"]}, wait_timeout=10)
    try:
        await eventually(lambda: client.transport() == "websocket")
        eio_sid = sio.manager.eio_sid_from_sid(client.get_sid(), "/")
        assert lanes_of(sio)[eio_sid] == (LaneSocket, WebSocketIn)
        reply = await client.call("chat:send", {"channel": "lobby", "text": "py hi"}, timeout=5)
        assert reply["ok"] is True
        await other.wait_for("chat:message", lambda m: m["text"] == "py hi")
        await other.ok("chat:send", {"channel": "lobby", "text": "other hi"})
        await eventually(lambda: [m["text"] for m in got] == ["py hi", "other hi"])
    finally:
        await client.disconnect()


async def test_a_session_that_stays_on_long_polling(node):
    """python-socketio's stock per-recipient path serves it: pushes, acks and the
    heartbeat go through engine.io's queue and the long-poll."""
    sio = node.app[SIO]
    person = await node.register("participant", name="Polling Only")
    other = await node.client(name="On WebSocket")
    client = socketio.AsyncClient()
    got: list[dict] = []
    client.on("chat:message", got.append)
    await client.connect(
        node.base_url, auth={"token": person["token"]}, transports=["polling"], wait_timeout=10
    )
    try:
        eio_sid = sio.manager.eio_sid_from_sid(client.get_sid(), "/")
        assert lanes_of(sio)[eio_sid] == (TimedSocket, None)
        assert sio.eio.transport(eio_sid) == "polling"
        for i in range(5):
            reply = await client.call("chat:send", {"channel": "lobby", "text": f"p{i}"}, timeout=5)
            assert reply["ok"] is True
            await other.ok("chat:send", {"channel": "lobby", "text": f"w{i}"})
        expected = [text for i in range(5) for text in (f"p{i}", f"w{i}")]
        await eventually(lambda: [m["text"] for m in got] == expected)
        await other.wait_joined(lambda scope, card: card["name"] == "Polling Only")
    finally:
        await client.disconnect()
    await other.wait_left(lambda scope, pid: pid == person["person"]["id"])


@pytest.mark.parametrize(
    ("transport", "kind"),
    [("websocket", LaneSocket), ("upgrade", LaneSocket), ("polling", TimedSocket)],
)
async def test_the_load_generator_clients_take_the_path_they_claim(
    node, transport, kind, monkeypatch
):
    """loadtests/eio_client.py's three ways in: the benchmark of upgrading clients
    measures lane sockets, the polling one python-socketio's own path."""
    monkeypatch.syspath_prepend(str(ROOT))  # loadtests/ is not an installed package
    from loadtests.eio_client import Stats, connect

    sio = node.app[SIO]
    person = await node.register("participant", name=f"Load {transport}")
    stats = Stats()
    client = await connect(
        int(node.base_url.rsplit(":", 1)[1]),
        stats,
        {"token": person["token"]},
        b'["chat:message"',
        within=10,
        transport=transport,
    )
    try:
        (socket,) = sio.eio.sockets.values()
        await eventually(lambda: type(socket) is kind)  # (an upgrade: once its "5" is read)
        ack = client.emit("chat:send", {"channel": "lobby", "text": "load"}, ack=True)
        assert json.loads(await asyncio.wait_for(ack, 5))[0]["ok"] is True
        await eventually(lambda: stats.received >= 1)  # its own message, pushed back
    finally:
        client.close()
    await eventually(lambda: not sio.eio.sockets)
