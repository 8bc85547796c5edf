"""Drive a real fairhall node: in-process server on a free port, HTTP and Socket.IO
clients that record what they receive."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from aiohttp import web

from server.app import ADMIN_KEY, DEMO_INVITES, FAIR, build_app
from server.config import load_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def eventually(check: Callable[[], Any], within: float = 5.0, step: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(step)


class Client:
    """A python-socketio client that keeps every push it receives."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url
        self.token = token
        self.sio = socketio.AsyncClient(reconnection=False)
        self.pushes: list[tuple[str, Any]] = []
        self.connect_error: Any = None
        self.sio.on("*", self._record)
        self.sio.on("connect_error", self._refused)

    async def _record(self, event: str, *args: Any) -> None:
        self.pushes.append((event, args[0] if args else None))

    async def _refused(self, data: Any = None) -> None:
        self.connect_error = data

    async def connect(self, auth: Any = ...) -> None:
        auth = {"token": self.token} if auth is ... else auth
        await self.sio.connect(self.base_url, auth=auth, transports=["websocket"], wait_timeout=5)

    async def call(self, event: str, *payload: Any) -> dict:
        return (
            await self.sio.call(event, *payload, timeout=5)
            if payload
            else await self.sio.call(event, {}, timeout=5)
        )

    async def ok(self, event: str, payload: Any = None) -> Any:
        reply = await self.call(event, {} if payload is None else payload)
        assert reply["ok"], f"{event} refused: {reply}"
        return reply["data"]

    async def refused(self, event: str, payload: Any, code: str) -> dict:
        reply = await self.call(event, payload)
        assert reply == {
            "ok": False,
            "error": {"code": code, "message": reply["error"]["message"]},
        }, reply
        return reply["error"]

    def received(self, event: str, where: Callable[[Any], bool] = lambda d: True) -> list:
        return [data for name, data in self.pushes if name == event and where(data)]

    def joined(
        self, where: Callable[[str, dict], bool] = lambda scope, card: True
    ) -> list[tuple[str, dict]]:
        """(scope, person card) of every join this client was told about."""
        return [
            (d["scope"], card)
            for d in self.received("presence:changed")
            for card in d["joined"]
            if where(d["scope"], card)
        ]

    def left(
        self, where: Callable[[str, str], bool] = lambda scope, pid: True
    ) -> list[tuple[str, str]]:
        """(scope, person id) of every departure this client was told about."""
        return [
            (d["scope"], pid)
            for d in self.received("presence:changed")
            for pid in d["left"]
            if where(d["scope"], pid)
        ]

    async def wait_joined(self, where: Callable[[str, dict], bool]) -> tuple[str, dict]:
        return (await eventually(lambda: self.joined(where)))[0]

    async def wait_left(self, where: Callable[[str, str], bool]) -> tuple[str, str]:
        return (await eventually(lambda: self.left(where)))[0]

    async def wait_for(self, event: str, where: Callable[[Any], bool] = lambda d: True) -> Any:
        found = await eventually(lambda: self.received(event, where))
        return found[0]

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


@dataclass
class Node:
    base_url: str
    app: web.Application
    invites: dict[str, str]
    http: aiohttp.ClientSession
    clients: list[Client] = field(default_factory=list)

    @property
    def fair(self):
        return self.app[FAIR]

    @property
    def admin_key(self) -> str:
        return self.app[ADMIN_KEY]

    async def register(self, role: str, name: str = "", **fields: Any) -> dict:
        """Join by the demo invite of ``role``; returns {token, person}."""
        body = {
            "code": self.invites[role],
            "name": name or f"{role.title()} {len(self.clients) + 1}",
            "company": fields.pop("company", "ACME SA"),
            "country": fields.pop("country", "FR"),
            "sector": fields.pop("sector", "ICT"),
            "language": fields.pop("language", "en"),
            **fields,
        }
        async with self.http.post(self.base_url + "/api/join", json=body) as resp:
            data = await resp.json()
            assert resp.status == 201, data
            return data

    async def client(
        self, role: str = "participant", name: str = "", connect: bool = True
    ) -> Client:
        joined = await self.register(role, name)
        client = Client(self.base_url, joined["token"])
        client.person = joined["person"]
        self.clients.append(client)
        if connect:
            await client.connect()
        return client

    async def anonymous(self) -> Client:
        client = Client(self.base_url, None)
        self.clients.append(client)
        return client

    async def request(self, method: str, path: str, token: str | None = None, **kw: Any):
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(method, self.base_url + path, headers=headers, **kw) as resp:
            body = await resp.read()
            try:
                data = await resp.json(content_type=None)
            except ValueError:
                data = body
            return resp.status, data


@contextlib.asynccontextmanager
async def running_node(**overrides: Any) -> AsyncIterator[Node]:
    port = free_port()
    # roomy rate limits so busy tests do not trip them; test_validation tightens them
    base = {
        "port": port,
        "secret": "test-secret",
        "chat_rate_count": 1000,
        "events_per_second": 1000,
        "join_address_rate_count": 0,  # every test person registers from 127.0.0.1
    }
    settings = load_settings({**base, **overrides}, environ={})
    app = await build_app(settings)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    http = aiohttp.ClientSession()
    node = Node(f"http://127.0.0.1:{port}", app, app[DEMO_INVITES], http)
    try:
        yield node
    finally:
        for client in node.clients:
            with contextlib.suppress(Exception):
                await client.close()
        await http.close()
        await runner.cleanup()
