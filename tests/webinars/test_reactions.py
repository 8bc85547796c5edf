"""Reactions of a webinar on a live in-process node: aggregated pushes, rate, bad input."""

from __future__ import annotations

import asyncio

import pytest
from harness import eventually, running_node

WEBINAR = "demo-s1"


@pytest.fixture
async def node():
    async with running_node(reaction_rate_count=50, events_per_second=1000) as node:
        yield node


async def joined(node, role="participant"):
    client = await node.client(role)
    await client.ok("webinar:join", {"session_id": WEBINAR})
    return client


async def test_a_burst_reaches_each_client_as_one_or_two_pushes(node):
    senders = [await joined(node) for _ in range(4)]
    watcher = await joined(node, "organizer")
    burst = [
        s.ok("reaction:send", {"session_id": WEBINAR, "kind": kind})
        for s in senders
        for kind in ["applause"] * 30 + ["heart"] * 10
    ]
    await asyncio.gather(*burst)
    totals = await eventually(
        lambda: watcher.received(
            "reaction:counts",
            lambda d: d["totals"]["applause"] == 120 and d["totals"]["heart"] == 40,
        ),
        within=5,
    )
    pushes = watcher.received("reaction:counts")
    assert 1 <= len(pushes) <= 2, pushes
    assert sum(p["counts"]["applause"] for p in pushes) == 120
    assert totals[0]["session_id"] == WEBINAR and totals[0]["totals"]["laugh"] == 0
    # quiet afterwards: no push without reactions
    await asyncio.sleep(1.5)
    assert len(watcher.received("reaction:counts")) == len(pushes)


async def test_rate_limit_bad_kinds_and_outsiders(node):
    sender = await joined(node)
    outsider = await node.client()
    ref = {"session_id": WEBINAR, "kind": "heart"}
    await outsider.refused("reaction:send", ref, "not_in_webinar")
    await sender.refused("reaction:send", {**ref, "kind": "boo"}, "invalid_payload")
    await sender.refused("reaction:send", {**ref, "kind": None}, "invalid_payload")
    await sender.refused("reaction:send", {**ref, "count": 1000}, "invalid_payload")
    replies = await asyncio.gather(*(sender.call("reaction:send", ref) for _ in range(60)))
    refused = [r for r in replies if not r["ok"]]
    assert len(refused) == 10 and {r["error"]["code"] for r in refused} == {"rate_limited"}
    assert sender.sio.connected
