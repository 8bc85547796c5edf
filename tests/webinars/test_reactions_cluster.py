"""Reactions across two node processes on one Redis: a burst of 1,000 reactions in about
a second reaches each client as one or two aggregated pushes, with exact totals."""

from __future__ import annotations

import asyncio
import math
import time

import aiohttp
import pytest
from harness import Client, eventually
from node_process import NodeProcess

WEBINAR = "demo-s1"
SENDERS, EACH = 20, 50  # 1,000 reactions


@pytest.fixture
async def cluster(redis_url, tmp_path):
    env = {
        "FAIRHALL_REDIS": redis_url,
        "FAIRHALL_SECRET": "cluster-secret",
        "FAIRHALL_JOIN_ADDRESS_RATE_COUNT": "0",
        "FAIRHALL_EVENTS_PER_SECOND": "1000",
        "FAIRHALL_REACTION_RATE_COUNT": "1000",
    }
    nodes = [NodeProcess(tmp_path, **env), NodeProcess(tmp_path, **env)]
    try:
        yield [node.wait_ready() for node in nodes]
    finally:
        for node in nodes:
            node.stop()


async def join(http: aiohttp.ClientSession, node: NodeProcess, name: str) -> Client:
    form = {"code": node.invites["participant"], "name": name, "company": "Cluster SA"}
    form |= {"country": "FR", "sector": "ICT", "language": "fr"}
    async with http.post(node.base_url + "/api/join", json=form) as resp:
        assert resp.status == 201, await resp.text()
        joined = await resp.json()
    client = Client(node.base_url, joined["token"])
    client.person = joined["person"]
    await client.connect()
    await client.ok("webinar:join", {"session_id": WEBINAR})
    return client


async def test_a_thousand_reactions_reach_each_client_as_one_or_two_pushes(cluster, measured):
    async with aiohttp.ClientSession() as http:
        watchers = [await join(http, node, f"Watcher {i}") for i, node in enumerate(cluster)]
        senders = await asyncio.gather(
            *(join(http, cluster[i % 2], f"Sender {i}") for i in range(SENDERS))
        )
        try:
            kinds = ["applause", "heart"]
            # start just after a window's edge, so a quick burst fits in one window
            await asyncio.sleep(1.02 - time.time() % 1.0)
            started = time.monotonic()

            async def burst(s: Client, i: int) -> None:
                payload = {"session_id": WEBINAR, "kind": kinds[i % 2]}
                for _ in range(EACH):  # no wait for each ack: as fast as a browser sends
                    await s.sio.emit("reaction:send", payload)

            await asyncio.gather(*(burst(s, i) for i, s in enumerate(senders)))
            sent = time.monotonic() - started  # the clients wrote every reaction
            want = {"applause": SENDERS // 2 * EACH, "heart": SENDERS // 2 * EACH}
            for w in watchers:
                await eventually(
                    lambda w=w: w.received(
                        "reaction:counts",
                        lambda d: all(d["totals"][k] == n for k, n in want.items()),
                    ),
                    within=10,
                )
            took = time.monotonic() - started
            await asyncio.sleep(1.5)  # and nothing more comes
            # windows the burst touched: two when it was sent within one second
            windows = 2 if sent <= 1.0 else math.ceil(sent) + 1
            for w in watchers:
                pushes = w.received("reaction:counts")
                for kind, n in want.items():
                    with_kind = [p for p in pushes if p["counts"][kind]]
                    assert 1 <= len(with_kind) <= windows, (kind, len(with_kind), sent)
                    assert sum(p["counts"][kind] for p in pushes) == n
            measured(
                f"1000 reactions sent in {sent:.2f} s (all counted after {took:.2f} s) from {SENDERS} sockets on 2 nodes; "
                f"pushes per client: {[len(w.received('reaction:counts')) for w in watchers]}"
            )
        finally:
            for c in (*watchers, *senders):
                await c.close()
