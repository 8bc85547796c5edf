"""Q&A across two node processes on one Redis: concurrent toggles of the same people on
both nodes end in the exact count; an anonymous author never reaches the audience."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from harness import Client, eventually
from node_process import NodeProcess

WEBINAR = "demo-s1"
PEOPLE = 30


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


async def register(http: aiohttp.ClientSession, node: NodeProcess, name: str, role="participant"):
    form = {"code": node.invites[role], "name": name, "company": "Cluster SA"}
    form |= {"country": "FR", "sector": "ICT", "language": "fr"}
    async with http.post(node.base_url + "/api/join", json=form) as resp:
        assert resp.status == 201, await resp.text()
        return await resp.json()


async def connect(node: NodeProcess, joined: dict) -> Client:
    client = Client(node.base_url, joined["token"])
    client.person = joined["person"]
    await client.connect()
    await client.ok("webinar:join", {"session_id": WEBINAR})
    return client


async def test_double_toggles_from_two_nodes_end_in_the_exact_count(cluster):
    node_a, node_b = cluster
    clients: list[Client] = []
    async with aiohttp.ClientSession() as http:
        try:
            asker = await connect(node_a, await register(http, node_a, "Asker"))
            audience = await connect(node_b, await register(http, node_b, "Audience"))
            mod = await connect(node_b, await register(http, node_b, "Mod", "organizer"))
            clients += [asker, audience, mod]
            pairs = []
            for i in range(PEOPLE):  # each person with one socket on each node
                joined = await register(http, node_a, f"Voter {i}")
                pairs.append((await connect(node_a, joined), await connect(node_b, joined)))
                clients += pairs[-1]
            q = await asker.ok(
                "qa:ask", {"session_id": WEBINAR, "text": "Secret?", "anonymous": True}
            )
            ref = {"session_id": WEBINAR, "question_id": q["id"]}

            async def both(payload: dict) -> list[dict]:
                calls = [s.ok("qa:upvote", payload) for pair in pairs for s in pair]
                return await asyncio.gather(*calls)

            await both({**ref, "up": True})  # twice each, once per node: one vote each
            assert await votes(audience, q["id"]) == PEOPLE
            await both(ref)  # two concurrent toggles each: off then on
            assert await votes(audience, q["id"]) == PEOPLE
            await both({**ref, "up": False})
            assert await votes(audience, q["id"]) == 0
            await asyncio.gather(*(a.ok("qa:upvote", ref) for a, _ in pairs))  # one toggle each
            assert await votes(audience, q["id"]) == PEOPLE
            await eventually(
                lambda: audience.received("qa:votes", lambda d: d["votes"] == {q["id"]: PEOPLE}),
                within=5,
            )
            # the anonymous author: in the moderators' view only
            full = await mod.wait_for("qa:question", lambda d: d["view"] == "moderators")
            assert full["author"]["id"] == asker.person["id"]
            await audience.wait_for("qa:question", lambda d: d["id"] == q["id"])
            await audience.ok("qa:list", {"session_id": WEBINAR})
            for client in (audience, *(s for pair in pairs for s in pair)):
                assert asker.person["id"] not in json.dumps(client.pushes)
        finally:
            for c in clients:
                await c.close()


async def votes(client: Client, question_id: str) -> int:
    page = await client.ok("qa:list", {"session_id": WEBINAR})
    return next(q["votes"] for q in page["questions"] if q["id"] == question_id)
