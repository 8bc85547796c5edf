"""Polls across two node processes on one Redis: concurrent votes with changes end in
exact totals, and an anonymous poll stores nothing that links a person to a choice."""

from __future__ import annotations

import asyncio
import random
import time

import aiohttp
import pytest
import redis.asyncio as aioredis
from harness import Client, eventually
from node_process import NodeProcess

WEBINAR = "demo-s1"
VOTERS, CHANGES = 50, 3  # each votes once and changes 3 times: 200 votes


@pytest.fixture
async def cluster(redis_url, tmp_path):
    env = {
        "FAIRHALL_REDIS": redis_url,
        "FAIRHALL_SECRET": "cluster-secret",
        "FAIRHALL_JOIN_ADDRESS_RATE_COUNT": "0",
        "FAIRHALL_EVENTS_PER_SECOND": "1000",
    }
    nodes = [NodeProcess(tmp_path, **env), NodeProcess(tmp_path, **env)]
    try:
        yield [node.wait_ready() for node in nodes]
    finally:
        for node in nodes:
            node.stop()


async def join(http: aiohttp.ClientSession, node: NodeProcess, name: str, role="participant"):
    form = {"code": node.invites[role], "name": name, "company": "Cluster SA"}
    form |= {"country": "FR", "sector": "ICT", "language": "fr"}
    async with http.post(node.base_url + "/api/join", json=form) as resp:
        assert resp.status == 201, await resp.text()
        joined = await resp.json()
    client = Client(node.base_url, joined["token"])
    client.person = joined["person"]
    await client.connect()
    await client.ok("webinar:join", {"session_id": WEBINAR})
    return client


async def test_concurrent_votes_with_changes_give_exact_totals_on_both_nodes(cluster, redis_url):
    node_a, node_b = cluster
    async with aiohttp.ClientSession() as http:
        mod_a = await join(http, node_a, "Mod A", "organizer")
        mod_b = await join(http, node_b, "Mod B", "organizer")
        voters = await asyncio.gather(
            *(join(http, cluster[i % 2], f"Voter {i}") for i in range(VOTERS))
        )
        try:
            named = await mod_a.ok(
                "poll:create",
                {"session_id": WEBINAR, "question": "Q", "options": ["A", "B", "C", "D"],
                 "multiple": True},
            )  # fmt: skip
            anon = await mod_b.ok(
                "poll:create",
                {"session_id": WEBINAR, "question": "S", "options": ["A", "B", "C"],
                 "anonymous": True},
            )  # fmt: skip
            for poll in (named, anon):
                await mod_a.ok("poll:open", {"session_id": WEBINAR, "poll_id": poll["id"]})
            rng = random.Random(7)
            final_named: dict[str, list[int]] = {}
            final_anon: dict[str, int] = {}

            async def voter_run(v: Client) -> None:
                ballot = None
                for step in range(1 + CHANGES):
                    choice = sorted(rng.sample(range(4), rng.randint(1, 3)))
                    ref = {"session_id": WEBINAR, "poll_id": named["id"], "options": choice}
                    final_named[v.person["id"]] = (await v.ok("poll:vote", ref))["options"]
                    pick = rng.randrange(3)
                    ref = {"session_id": WEBINAR, "poll_id": anon["id"], "options": [pick]}
                    if step:
                        ref["ballot"] = ballot
                    ballot = (await v.ok("poll:vote", ref))["ballot"]
                    final_anon[v.person["id"]] = pick

            started = time.monotonic()
            await asyncio.gather(*(voter_run(v) for v in voters))
            want_named = [sum(i in c for c in final_named.values()) for i in range(4)]
            want_anon = [sum(p == i for p in final_anon.values()) for i in range(3)]

            for mod in (mod_a, mod_b):  # the moderators of both nodes see the exact totals
                for poll, want in ((named, want_named), (anon, want_anon)):
                    await eventually(
                        lambda m=mod, p=poll, w=want: m.received(
                            "poll:results",
                            lambda r, p=p, w=w: (
                                r["poll_id"] == p["id"]
                                and r["counts"] == w
                                and r["voters"] == VOTERS
                            ),
                        ),
                        within=10,
                    )
            # at most one push per second and poll, cluster-wide (one window may straddle)
            seconds = time.monotonic() - started
            for mod in (mod_a, mod_b):
                pushes = mod.received("poll:results", lambda r: r["poll_id"] == named["id"])
                assert 1 <= len(pushes) <= seconds + 2, (len(pushes), seconds)
            listed = {
                p["poll"]["id"]: p for p in await mod_b.ok("poll:list", {"session_id": WEBINAR})
            }
            assert listed[named["id"]]["results"]["counts"] == want_named
            assert listed[anon["id"]]["results"]["counts"] == want_anon
            mine = await voters[0].ok("poll:list", {"session_id": WEBINAR})
            by_id = {p["poll"]["id"]: p for p in mine}
            assert by_id[named["id"]]["my_vote"] == final_named[voters[0].person["id"]]
            assert by_id[named["id"]]["results"] is None  # not shown to the audience yet

            # what Redis holds for the anonymous poll: no person next to a choice
            store = aioredis.from_url(redis_url)
            try:
                person_ids = {v.person["id"] for v in voters}
                keys = [k.decode() for k in await store.keys(f"*{anon['id']}*")]
                assert keys, "the scan works"
                for key in keys:
                    kind = (await store.type(key)).decode()
                    if kind != "hash":
                        continue
                    fields = await store.hgetall(key)
                    has_people = {f.decode() for f in fields} & person_ids
                    if has_people:  # the voters' record: who voted, nothing else
                        assert set(fields.values()) == {b""}, key
                        assert {f.decode() for f in fields} == person_ids
                    else:
                        for field, value in fields.items():
                            assert not any(
                                pid.encode() in value or pid.encode() in field for pid in person_ids
                            ), key
            finally:
                await store.aclose()
        finally:
            for c in (mod_a, mod_b, *voters):
                await c.close()
