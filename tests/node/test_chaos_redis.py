"""Redis killed and restarted in the middle of traffic across two node processes.

Eight people chat on two nodes while Redis (append-only file, fsync always) is killed
with SIGKILL and started again two seconds later. Requests that cannot be served meanwhile
are answered with the retryable ``unavailable`` (never ``internal``), and the senders
retry them, each message with its own ``client_id`` on every try: whether a try that
died took effect is unknown, and the server stores a message once per ``client_id``.
Cross-node pushes lost in the outage are noticed by the nodes, whose clients get
``socket:resync`` and fetch from their cursors. In the end every client holds every
message exactly once, in the order of the stored history. The counts are in the
"measured by the tests" summary.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
from harness import Client, free_port
from node_process import NodeProcess
from redis_fixture import _stop, _wait_ready

SENDERS_PER_NODE, READERS_PER_NODE = 2, 2
SEND_SECONDS, KILL_AT, DOWN_FOR = 6.0, 2.0, 2.0


class RestartableRedis:
    """A redis-server that keeps its data in an append-only file across a SIGKILL."""

    def __init__(self, data_dir: Path) -> None:
        self.dir, self.port = data_dir, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        cmd += ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.dir)]
        log = open(self.dir / "redis.log", "ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        assert _wait_ready(self.proc, self.url, timeout=10), (self.dir / "redis.log").read_text()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()


class Reader:
    """A person whose client keeps what it is pushed and catches up on socket:resync,
    as the browser client does."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.messages: dict[str, str] = {}  # id -> text
        self.resyncs = 0
        client.sio.on("chat:message", self._message)
        client.sio.on("socket:resync", self._resync)

    async def _message(self, message: dict) -> None:
        self.messages[message["id"]] = message["text"]

    async def _resync(self, data: dict) -> None:
        self.resyncs += 1
        await self.catch_up(data["since"])

    async def catch_up(self, since: str) -> None:
        while True:
            page = await retrying(self.client, "chat:history", {"channel": "lobby", "since": since})
            for message in page["messages"]:
                self.messages[message["id"]] = message["text"]
            if not page["has_more"]:
                return
            since = page["messages"][-1]["id"]

    def in_order(self) -> list[str]:
        return [self.messages[i] for i in sorted(self.messages, key=_order)]


def _order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq)


REFUSED: dict[str, int] = {}


async def retrying(client: Client, event: str, payload: dict, within: float = 30.0) -> dict:
    """Send until served: ``unavailable`` is retried with backoff, anything else fails."""
    delay, deadline = 0.05, time.monotonic() + within
    while True:
        reply = await client.sio.call(event, payload, timeout=10)
        if reply["ok"]:
            return reply["data"]
        code = reply["error"]["code"]
        REFUSED[code] = REFUSED.get(code, 0) + 1
        assert code == "unavailable", reply  # never internal, never anything else
        assert time.monotonic() < deadline, f"{event} not served within {within} s"
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


async def whole_history(client: Client) -> list[dict]:
    """Every stored message of the lobby, oldest first (pages of 100)."""
    messages: list[dict] = []
    query: dict = {"channel": "lobby", "limit": 100}
    while True:
        page = await retrying(client, "chat:history", query)
        messages = page["messages"] + messages
        if not page["has_more"]:
            return messages
        query = {**query, "before": page["messages"][0]["id"]}


async def join(session: aiohttp.ClientSession, node: NodeProcess, name: str) -> Client:
    form = {"code": node.invites["participant"], "name": name, "company": "Chaos GmbH"}
    form |= {"country": "DE", "sector": "Logistics"}
    async with session.post(node.base_url + "/api/join", json=form) as resp:
        assert resp.status == 201, await resp.text()
        joined = await resp.json()
    client = Client(node.base_url, joined["token"])
    client.person = joined["person"]
    await client.connect()
    return client


@pytest.fixture
async def chaos(tmp_path):
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    redis = RestartableRedis(tmp_path)
    redis.start()
    env = {
        "FAIRHALL_REDIS": redis.url,
        "FAIRHALL_SECRET": "chaos-secret",
        "FAIRHALL_CHAT_RATE_COUNT": "0",  # the senders send fast on purpose
        "FAIRHALL_EVENTS_PER_SECOND": "1000",
        "FAIRHALL_FANOUT_TICK_INTERVAL": "0.5",
    }
    nodes = [NodeProcess(tmp_path, **env), NodeProcess(tmp_path, **env)]
    try:
        yield redis, [node.wait_ready() for node in nodes]
    finally:
        for node in nodes:
            node.stop()
        if redis.proc is not None and redis.proc.poll() is None:
            _stop(redis.proc)


async def test_redis_killed_mid_traffic_loses_nothing_and_duplicates_nothing(chaos, measured):
    redis, nodes = chaos
    REFUSED.clear()
    async with aiohttp.ClientSession() as session:
        readers = [
            Reader(await join(session, node, f"Reader {i}-{n}"))
            for n, node in enumerate(nodes)
            for i in range(READERS_PER_NODE)
        ]
        senders = [
            await join(session, node, f"Sender {i}-{n}")
            for n, node in enumerate(nodes)
            for i in range(SENDERS_PER_NODE)
        ]
        sent: list[str] = []

        async def send(who: int, client: Client) -> None:
            started, n = time.monotonic(), 0
            while time.monotonic() - started < SEND_SECONDS:
                text = f"s{who}-{n}"
                # one client_id per message, the same on every retry: a try that was
                # stored but whose answer was lost (Redis killed in between) is not
                # stored again by the next
                send = {"channel": "lobby", "text": text, "client_id": uuid.uuid4().hex}
                await retrying(client, "chat:send", send)
                sent.append(text)
                n += 1
                await asyncio.sleep(0.05)

        async def outage() -> float:
            await asyncio.sleep(KILL_AT)
            redis.kill()
            down = time.monotonic()
            await asyncio.sleep(DOWN_FOR)
            redis.start()
            return time.monotonic() - down

        tasks = [send(i, c) for i, c in enumerate(senders)]
        *_, downtime = await asyncio.gather(*tasks, outage())

        stored = [m["text"] for m in await whole_history(senders[0])]
        assert sorted(stored) == sorted(sent) and len(stored) == len(set(stored))

        async def settled() -> bool:
            return all(len(r.messages) >= len(stored) for r in readers)

        # pushes arrive, or a tick reveals the gap and the reader catches up
        await eventually_async(settled, within=20)
        for reader in readers:
            assert reader.in_order() == stored, reader.client.person["name"]
        for client in (*senders, *(r.client for r in readers)):
            assert client.sio.connected
        resyncs = sum(r.resyncs for r in readers)
        measured(
            f"Redis down {downtime:.1f} s: {len(stored)} messages from {len(senders)} "
            f"senders, every one of {len(readers)} readers has all of them once and in "
            f"order; refused meanwhile {REFUSED or '{}'} (retried); {resyncs} resyncs"
        )
        for client in (*senders, *(r.client for r in readers)):
            await client.close()


async def eventually_async(check, within: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "not settled"
        await asyncio.sleep(0.1)
