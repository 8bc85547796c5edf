"""Presence stays true across a cluster's troubles, two nodes in-process on one Redis:
a node whose heartbeat lapsed comes back and announces its people (never a session
removed meanwhile), a cleanup that failed is retried until done, and a store that
cannot answer in time is `unavailable`, never `internal`.

The same with real processes (SIGSTOP, kill -9, a flood): test_chaos.py.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from harness import Client, eventually, running_node

# a node counts as dead 0.8 s after its last beat; the reapers look every 0.2 s
FAST = {"heartbeat_interval": 0.2, "node_timeout": 0.8}


def sid_of(client: Client) -> str:
    return client.sio.get_sid()


async def test_a_node_back_from_a_lapse_announces_its_people_and_not_a_removed_session(
    redis_url,
):
    async with (
        running_node(redis=redis_url, **FAST) as a,
        running_node(redis=redis_url, **FAST) as b,
    ):
        host = await a.client("moderator", name="Hanna Host")
        bob = await b.client(name="Bob")
        carol = await b.client(name="Carol")
        call = await host.ok("call:create", {"kind": "group", "title": "Round", "capacity": 4})
        for member in (host, bob, carol):
            await member.ok("call:join", {"call_id": call["id"]})
        await host.ok("call:remove", {"call_id": call["id"], "person_id": bob.person["id"]})
        await host.wait_for("call:left", lambda d: d["sid"] == sid_of(bob))

        # b stops beating (a long pause, Redis out of its reach) while its sockets stay
        # connected; a reaps its people...
        b_engine = b.fair.engine
        await b_engine.heartbeat.stop()
        for person in (bob, carol):
            await host.wait_left(
                lambda s, pid, p=person: s == "event:demo" and pid == p.person["id"]
            )
        await host.wait_for("call:left", lambda d: d["sid"] == sid_of(carol))
        host.pushes.clear()
        # ...and b comes back: everyone is told who is back, in the lobby and the call
        b_engine.heartbeat.resume()
        for person in (bob, carol):
            await host.wait_joined(
                lambda s, c, p=person: s == "event:demo" and c["id"] == p.person["id"]
            )
        back = await host.wait_for("call:joined")
        assert back["member"]["sid"] == sid_of(carol)
        online = {p["name"] for p in await host.ok("lobby:online")}
        assert online == {"Hanna Host", "Bob", "Carol"}
        # the host had put Bob out of the call before the lapse: he stays out
        view = await host.ok("call:get", {"call_id": call["id"]})
        assert {m["sid"] for m in view["members"]} == {sid_of(host), sid_of(carol)}
        assert not host.received("call:joined", lambda d: d["member"]["sid"] == sid_of(bob))


async def test_a_cleanup_that_failed_is_retried_until_the_person_is_gone(redis_url):
    async with running_node(redis=redis_url, redis_command_timeout=0.2) as node:
        watcher = await node.client(name="Watcher")
        leaving = await node.client(name="Leaving")
        await leaving.ok("booth:enter", {"booth_id": "demo-b1"})
        await watcher.wait_joined(lambda s, c: c["name"] == "Leaving")
        async with aioredis.Redis.from_url(redis_url) as admin:
            # Redis stops answering for longer than the disconnect's cleanups and the
            # first try to finish them take: each fails, and the retries must do it
            await admin.execute_command("CLIENT", "PAUSE", 4000, "ALL")
            await leaving.close()
            await admin.ping()  # answered when the pause is over
        gone = leaving.person["id"]
        await eventually(lambda: watcher.left(lambda s, pid: pid == gone), within=15)
        assert {s for s, pid in watcher.left() if pid == gone} == {"event:demo"}
        assert [p["name"] for p in await watcher.ok("lobby:online")] == ["Watcher"]
        assert (await watcher.ok("booth:get", {"booth_id": "demo-b1"}))["present"] == []


async def test_a_store_out_of_reach_is_unavailable_never_internal(redis_url):
    settings = {"redis": redis_url, "redis_max_connections": 2, "redis_wait_seconds": 0.2}
    async with running_node(**settings) as node:
        client = await node.client(name="Patient")
        token = client.token
        pool = node.fair.engine.connection.redis.connection_pool
        held = [await pool.get_connection() for _ in range(2)]  # every request connection busy
        try:
            error = await client.refused("lobby:online", {}, "unavailable")
            assert "retry" in error["message"]
            status, body = await node.request("GET", "/api/events/demo", token)
            assert status == 503 and body["error"]["code"] == "unavailable"
            form = {"code": node.invites["participant"], "name": "Late", "company": "X"}
            form |= {"country": "FR", "sector": "ICT"}
            status, body = await node.request("POST", "/api/join", json=form)
            assert status == 503 and body["error"]["code"] == "unavailable"
            refused = Client(node.base_url, token)
            node.clients.append(refused)
            try:
                await refused.connect()
            except Exception:
                pass
            assert refused.connect_error["data"]["code"] == "unavailable"
        finally:
            for conn in held:
                await pool.release(conn)
        assert [p["name"] for p in await client.ok("lobby:online")] == ["Patient"]
        status, metrics = await node.request("GET", "/metrics")
        assert b'fairhall_errors_total{code="unavailable"}' in metrics
        assert b'code="internal"' not in metrics
        await asyncio.sleep(0)
