"""Chaos with real processes: two fairhall nodes (tests/node_process.py) on one Redis.

- One person floods a node with 500 sockets: nobody else is slowed down or told
  anyone left, the healthy node is never declared dead, the flood stays within
  max_sockets_per_person.
- A node is killed with kill -9: its clients resume on the other node from their chat
  cursor with no message lost, and its people are cleaned from presence within 30 s.
- A node is paused (SIGSTOP) past node_timeout, then resumed (SIGCONT): it announces
  its people again and a session a host removed meanwhile stays removed.

The figures are printed in the "measured by the tests" section at the end of the run
(tests/conftest.py; no -s needed) and kept as junit properties.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
from harness import Client, eventually
from node_process import NodeProcess

FLOOD = Path(__file__).with_name("flood.py")


@pytest.fixture
def numbers(measured, record_property):
    """``numbers(name, text)``: one figure of this test, in the run's summary."""

    def note(name: str, text: str) -> None:
        record_property(name, text)
        measured(f"{name}: {text}")

    return note


async def start_nodes(tmp_path: Path, redis_url: str, count: int, **env: str) -> list[NodeProcess]:
    env = {
        "FAIRHALL_REDIS": redis_url,
        "FAIRHALL_SECRET": "chaos-secret",
        "FAIRHALL_JOIN_ADDRESS_RATE_COUNT": "0",  # everyone registers from 127.0.0.1
        **env,
    }
    nodes = [NodeProcess(tmp_path, **env) for _ in range(count)]
    for node in nodes:
        await asyncio.to_thread(node.wait_ready)
    return nodes


async def register(
    http: aiohttp.ClientSession, node: NodeProcess, name: str, role: str = "participant"
) -> dict:
    form = {"code": node.invites[role], "name": name, "company": f"{name} AG"}
    form |= {"country": "DE", "sector": "Logistics"}
    async with http.post(node.base_url + "/api/join", json=form) as resp:
        assert resp.status == 201, await resp.text()
        return await resp.json()


async def connect(node: NodeProcess, joined: dict) -> Client:
    client = Client(node.base_url, joined["token"])
    client.person = joined["person"]
    await client.connect()
    return client


async def metric(http: aiohttp.ClientSession, node: NodeProcess, name: str) -> float:
    async with http.get(node.base_url + "/metrics") as resp:
        text = await resp.text()
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(found[1]) if found else 0.0


async def sample(
    http: aiohttp.ClientSession, node: NodeProcess, name: str, seconds: float
) -> list[float]:
    """A metric of a node, read every 50 ms for a while."""
    values: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        values.append(await metric(http, node, name))
        await asyncio.sleep(0.05)
    return values


def ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.0f} ms"


# -- one person's flood ------------------------------------------------------------------------
async def lobby_latencies(clients: list[Client], seconds: float) -> list[tuple[float, dict]]:
    """Each client asks lobby:online again and again; (seconds taken, reply) of each."""
    samples: list[tuple[float, dict]] = []
    deadline = time.monotonic() + seconds

    async def ask(client: Client) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            reply = await client.sio.call("lobby:online", {}, timeout=30)
            samples.append((time.perf_counter() - started, reply))
            await asyncio.sleep(0.05)

    await asyncio.gather(*(ask(c) for c in clients))
    return samples


async def test_one_persons_flood_of_500_sockets_slows_nobody_else(redis_url, tmp_path, numbers):
    # a node counts as dead 3 s after its last beat: a starved heartbeat would show
    a, b = await start_nodes(
        tmp_path, redis_url, 2, FAIRHALL_HEARTBEAT_INTERVAL="0.5", FAIRHALL_NODE_TIMEOUT="3"
    )
    try:
        async with aiohttp.ClientSession() as http:
            people = [(a, f"Anna {i}") for i in range(3)] + [(b, f"Bernd {i}") for i in range(3)]
            others = [await connect(n, await register(http, n, name)) for n, name in people]
            assert len(await others[0].ok("lobby:online")) == 6
            flooder = await register(http, a, "Flooder")

            before = await lobby_latencies(others, 8)
            command = [sys.executable, str(FLOOD), "--port", str(a.port)]
            command += ["--token", flooder["token"], "--sockets", "500", "--seconds", "10"]
            flood = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
            try:
                # the flood's first connects reach node a within a moment
                async with asyncio.timeout(10):
                    while await metric(http, a, "fairhall_connections") <= 3:  # noqa: ASYNC110
                        await asyncio.sleep(0.05)
                counting = asyncio.create_task(sample(http, a, "fairhall_connections", 8))
                during = await lobby_latencies(others, 8)
                on_a = await counting  # the 3 others and the flood's
                out, _ = await asyncio.to_thread(flood.communicate, timeout=60)
            finally:
                if flood.poll() is None:
                    flood.kill()
            result = json.loads(out.strip().splitlines()[-1])
            reaped = [await metric(http, n, "fairhall_presence_reaped_total") for n in (a, b)]
            ids = {c.person["id"] for c in others}
            left = [pid for c in others for _, pid in c.left() if pid in ids]
    finally:
        for node in (a, b):
            node.stop()

    for phase, samples in (("without the flood", before), ("with the flood", during)):
        latencies = [t for t, _ in samples]
        numbers(
            f"lobby:online of 6 other people {phase}",
            f"{len(samples)} requests, p50 {ms(latencies, 0.5)}, p99 {ms(latencies, 0.99)}, "
            f"max {max(latencies) * 1000:.0f} ms, mean {statistics.mean(latencies) * 1000:.0f} ms",
        )
    numbers("the flood (500 sockets, one token, reopened 1 s after closing)", json.dumps(result))
    flood_on_a = max(on_a) - 3
    numbers("the flood's sockets on node a at most (its /metrics, every 50 ms)", str(flood_on_a))
    numbers("people reaped by a node (healthy nodes: 0)", str(reaped))

    refusals = [reply for _, reply in before + during if not reply["ok"]]
    assert refusals == []  # no internal, no unavailable, nothing
    assert left == []  # nobody was shown as gone
    assert reaped == [0.0, 0.0]  # node a was never declared dead
    outcomes = result["outcomes"]
    assert outcomes["connected"] >= 10
    assert set(outcomes) <= {
        "connected", "requests", "closed:too_many_sockets", "refused:too_many_sockets",
    }, outcomes  # fmt: skip
    # never more than the cap: the node closes the oldest before it admits the next
    assert 1 <= flood_on_a <= 10 and result["connected_at_end"] <= 10


# -- a node killed with kill -9 ----------------------------------------------------------------
class Reader:
    """A person reading the lobby chat who keeps a cursor, as the browser does."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.ids: list[str] = []

    def has(self, message_id: str) -> bool:
        self.pushed()
        return message_id in self.ids

    def pushed(self) -> None:
        for message in self.client.received("chat:message"):
            if message["id"] not in self.ids:
                self.ids.append(message["id"])
        self.client.pushes.clear()

    async def resume_on(self, node: NodeProcess) -> None:
        """Reconnect to another node, then fetch what was said since the cursor."""
        self.pushed()
        cursor = self.ids[-1] if self.ids else "0-0"
        self.client = Client(node.base_url, self.client.token)
        await self.client.connect()
        while True:
            page = await self.client.ok("chat:history", {"channel": "lobby", "since": cursor})
            for message in page["messages"]:
                if message["id"] not in self.ids:
                    self.ids.append(message["id"])
            if not page["messages"]:
                break
            cursor = page["messages"][-1]["id"]


async def test_a_node_killed_with_kill_9(redis_url, tmp_path, numbers):
    a, b = await start_nodes(
        tmp_path,
        redis_url,
        2,
        FAIRHALL_HEARTBEAT_INTERVAL="0.5",
        FAIRHALL_NODE_TIMEOUT="2",
        FAIRHALL_CHAT_RATE_COUNT="0",
    )
    b_id = json.loads(await asyncio.to_thread(_get, b.base_url + "/readyz"))["node"]
    sent: list[str] = []
    try:
        async with aiohttp.ClientSession() as http:
            watcher = await connect(a, await register(http, a, "Watcher"))
            sender = await connect(a, await register(http, a, "Sender"))
            readers = [
                Reader(await connect(b, await register(http, b, f"Reader {i}"))) for i in range(4)
            ]
            gone = await connect(b, await register(http, b, "Gone"))  # never comes back
            await eventually(lambda: len(watcher.joined()) >= 6)

            stop = asyncio.Event()

            async def send() -> None:
                n = 0
                while not stop.is_set():
                    n += 1
                    reply = await sender.call("chat:send", {"channel": "lobby", "text": f"m{n}"})
                    assert reply["ok"], reply
                    sent.append(reply["data"]["id"])
                    await asyncio.sleep(0.05)

            sending = asyncio.create_task(send())
            await eventually(lambda: len(sent) >= 20)
            for reader in readers:
                reader.pushed()
            b.kill()  # no goodbye to anyone
            killed = time.monotonic()
            await eventually(lambda: not any(r.client.sio.connected for r in readers), within=30)
            for reader in readers:  # a load balancer sends them to the surviving node
                await reader.resume_on(a)
            resumed = time.monotonic() - killed
            await eventually(lambda: len(sent) >= 80, within=30)
            stop.set()
            await sending
            for reader in readers:
                await eventually(lambda r=reader: r.has(sent[-1]), within=10)

            await eventually(
                lambda: watcher.left(lambda s, pid: pid == gone.person["id"]), within=30
            )
            cleaned = time.monotonic() - killed
            online = {p["name"] for p in await watcher.ok("lobby:online")}
            async with aioredis.Redis.from_url(redis_url) as admin:
                b_registered = await admin.sismember("fh:nodes", b_id)
                b_sessions = await admin.exists(f"fh:node:{b_id}:sessions")
            for reader in readers:
                await reader.client.close()
    finally:
        a.stop()

    lost = [len(set(sent) - set(r.ids)) for r in readers]
    numbers("messages sent and acknowledged", str(len(sent)))
    numbers("messages lost per reader (resumed from the cursor)", str(lost))
    numbers("kill -9 to every reader resumed on the other node", f"{resumed * 1000:.0f} ms")
    numbers("kill -9 to its people cleaned from presence", f"{cleaned:.1f} s")
    assert lost == [0, 0, 0, 0]
    for reader in readers:
        assert reader.ids == sorted(reader.ids, key=_stream_id)  # in order, each once
    assert cleaned < 30
    assert online == {"Watcher", "Sender", "Reader 0", "Reader 1", "Reader 2", "Reader 3"}
    assert not b_registered and not b_sessions


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.read().decode()


def _stream_id(entry_id: str) -> tuple[int, int]:
    ms_part, _, seq = entry_id.partition("-")
    return int(ms_part), int(seq)


# -- a node paused past node_timeout -----------------------------------------------------------
async def test_a_paused_node_announces_its_people_again_and_a_removed_session_stays_removed(
    redis_url, tmp_path, numbers
):
    a, b = await start_nodes(
        tmp_path, redis_url, 2, FAIRHALL_HEARTBEAT_INTERVAL="0.5", FAIRHALL_NODE_TIMEOUT="2"
    )
    paused = False
    try:
        async with aiohttp.ClientSession() as http:
            host = await connect(a, await register(http, a, "Hanna Host", "moderator"))
            bob = await connect(b, await register(http, b, "Bob"))
            carol = await connect(b, await register(http, b, "Carol"))
            call = await host.ok("call:create", {"kind": "group", "title": "Round", "capacity": 4})
            sids = {}
            for member in (host, bob, carol):
                await member.ok("call:join", {"call_id": call["id"]})
                sids[member.person["name"]] = member.sio.get_sid()
            # a host puts Bob out of the call (node a removes a session node b owns)
            await host.ok("call:remove", {"call_id": call["id"], "person_id": bob.person["id"]})
            await host.wait_for("call:left", lambda d: d["sid"] == sids["Bob"])

            b.proc.send_signal(signal.SIGSTOP)  # b stops beating; its sockets stay open
            paused, stopped = True, time.monotonic()
            for p in (bob, carol):
                await eventually(
                    lambda p=p: host.left(
                        lambda s, pid: s == "event:demo" and pid == p.person["id"]
                    ),
                    within=20,
                )
            reaped = time.monotonic() - stopped
            host.pushes.clear()
            b.proc.send_signal(signal.SIGCONT)
            paused, resumed = False, time.monotonic()
            for p in (bob, carol):
                await eventually(
                    lambda p=p: host.joined(
                        lambda s, c: s == "event:demo" and c["id"] == p.person["id"]
                    ),
                    within=20,
                )
            announced = time.monotonic() - resumed
            back = await host.wait_for("call:joined")
            view = await host.ok("call:get", {"call_id": call["id"]})
            online = {p["name"] for p in await host.ok("lobby:online")}
            assert await bob.ok("lobby:online")  # b serves its people again
    finally:
        if paused:
            b.proc.send_signal(signal.SIGCONT)
        for node in (a, b):
            node.stop()

    numbers("SIGSTOP to its people shown as gone", f"{reaped:.1f} s")
    numbers("SIGCONT to its people announced again", f"{announced:.1f} s")
    assert back["member"]["sid"] == sids["Carol"]
    assert {m["sid"] for m in view["members"]} == {sids["Hanna Host"], sids["Carol"]}
    assert online == {"Hanna Host", "Bob", "Carol"}
