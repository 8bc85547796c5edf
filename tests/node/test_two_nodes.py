"""Two server processes on one Redis serve one event together."""

import time

import aiohttp
import pytest
from harness import Client, eventually
from node_process import NodeProcess

HEARTBEAT, NODE_TIMEOUT = 0.5, 2.0


@pytest.fixture
async def cluster(redis_url, tmp_path):
    env = {
        "FAIRHALL_REDIS": redis_url,
        "FAIRHALL_SECRET": "cluster-secret",
        "FAIRHALL_HEARTBEAT_INTERVAL": str(HEARTBEAT),
        "FAIRHALL_NODE_TIMEOUT": str(NODE_TIMEOUT),
        "FAIRHALL_CHAT_RATE_COUNT": "100",
    }
    nodes = [NodeProcess(tmp_path, **env), NodeProcess(tmp_path, **env)]
    try:
        yield [node.wait_ready() for node in nodes]
    finally:
        for node in nodes:
            node.stop()


async def join(session: aiohttp.ClientSession, node: NodeProcess, name: str) -> Client:
    form = {"code": node.invites["participant"], "name": name, "company": f"{name} GmbH"}
    form |= {"country": "DE", "sector": "Logistics", "language": "de"}
    async with session.post(node.base_url + "/api/join", json=form) as resp:
        assert resp.status == 201
        joined = await resp.json()
    client = Client(node.base_url, joined["token"])
    client.person = joined["person"]
    await client.connect()
    return client


async def test_presence_and_chat_across_nodes_and_a_crashed_node_is_reaped(cluster):
    node_a, node_b = cluster
    assert node_a.invites == node_b.invites  # same secret, same demo links on every node
    async with aiohttp.ClientSession() as session:
        alice = await join(session, node_a, "Alice")
        bob = await join(session, node_b, "Bob")
        try:
            await alice.wait_joined(lambda s, c: c["name"] == "Bob")
            names = {p["name"] for p in await alice.ok("lobby:online")}
            assert names == {"Alice", "Bob"}
            assert {p["name"] for p in await bob.ok("lobby:online")} == names

            hello = await alice.ok("chat:send", {"channel": "lobby", "text": "Hallo von A"})
            assert (await bob.wait_for("chat:message"))["id"] == hello["id"]
            reply = await bob.ok(
                "chat:send", {"channel": f"dm:{alice.person['id']}", "text": "Hallo von B"}
            )
            assert (await alice.wait_for("chat:message", lambda m: m["channel"].startswith("dm:")))[
                "id"
            ] == reply["id"]
            # history is shared: B reads what was said on A
            history = await bob.ok("chat:history", {"channel": "lobby"})
            assert [m["id"] for m in history["messages"]] == [hello["id"]]
            await bob.ok("booth:enter", {"booth_id": "demo-b2"})

            node_b.kill()
            killed_at = time.monotonic()
            left = await eventually(
                lambda: alice.left(lambda s, pid: pid == bob.person["id"]),
                within=NODE_TIMEOUT + 4 * HEARTBEAT + 3,
            )
            elapsed = time.monotonic() - killed_at
            assert left[0][0] == "event:demo"
            assert elapsed < NODE_TIMEOUT + 4 * HEARTBEAT + 3
            assert [p["name"] for p in await alice.ok("lobby:online")] == ["Alice"]
            view = await alice.ok("booth:get", {"booth_id": "demo-b2"})
            assert view["present"] == []  # his booth presence went too
        finally:
            await alice.close()


async def test_removal_on_one_node_disconnects_the_person_on_the_other(cluster):
    node_a, node_b = cluster
    async with aiohttp.ClientSession() as session:
        form = {"code": node_a.invites["moderator"], "name": "Mona", "company": "CCI"}
        form |= {"country": "FR", "sector": "Public"}
        async with session.post(node_a.base_url + "/api/join", json=form) as resp:
            mod_token = (await resp.json())["token"]
        mod = Client(node_a.base_url, mod_token)
        await mod.connect()
        troll = await join(session, node_b, "Troll")
        try:
            await mod.ok("mod:remove", {"person_id": troll.person["id"], "reason": "spam"})
            assert (await troll.wait_for("mod:removed"))["reason"] == "spam"
            await eventually(lambda: not troll.sio.connected)
            await mod.wait_left(lambda s, pid: pid == troll.person["id"])
        finally:
            await mod.close()
            await troll.close()
