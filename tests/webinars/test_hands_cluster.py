"""Two node processes on one Redis: hands raised at once keep one order, registrations
never over-book, the reminder goes out once, a role change moves sockets on the other
node."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from core_support import WEBINAR
from harness import Client, eventually
from node_process import NodeProcess


@pytest.fixture
async def cluster(redis_url, tmp_path):
    env = {
        "FAIRHALL_REDIS": redis_url,
        "FAIRHALL_SECRET": "cluster-secret",
        "FAIRHALL_HEARTBEAT_INTERVAL": "0.5",
        "FAIRHALL_NODE_TIMEOUT": "2",
        "FAIRHALL_EVENTS_PER_SECOND": "1000",
        "FAIRHALL_JOIN_ADDRESS_RATE_COUNT": "0",
        "FAIRHALL_WEBINAR_REMINDER_LEAD": "3",
        "FAIRHALL_WEBINAR_REMINDER_INTERVAL": "0.1",
    }
    nodes = [NodeProcess(tmp_path, **env), NodeProcess(tmp_path, **env)]
    try:
        yield [node.wait_ready() for node in nodes]
    finally:
        for node in nodes:
            node.stop()


async def join(http: aiohttp.ClientSession, node: NodeProcess, name: str, role="participant"):
    form = {"code": node.invites[role], "name": name, "company": f"{name} GmbH"}
    form |= {"country": "DE", "sector": "Logistics", "language": "de"}
    async with http.post(node.base_url + "/api/join", json=form) as resp:
        assert resp.status == 201
        joined = await resp.json()
    client = Client(node.base_url, joined["token"])
    client.person = joined["person"]
    await client.connect()
    return client


async def test_fifty_hands_at_once_on_two_nodes_keep_one_order(cluster):
    async with aiohttp.ClientSession() as http:
        mods = [await join(http, node, "Org", "organizer") for node in cluster]
        for mod in mods:
            await mod.ok("webinar:join", {"session_id": WEBINAR})
        await mods[0].ok("webinar:set_state", {"session_id": WEBINAR, "state": "backstage"})
        await mods[0].ok("webinar:set_state", {"session_id": WEBINAR, "state": "live"})
        people = await asyncio.gather(
            *(join(http, cluster[i % 2], f"Hand {i:02}") for i in range(50))
        )
        try:
            await asyncio.gather(*(p.ok("webinar:join", {"session_id": WEBINAR}) for p in people))
            # all at once, each raising twice (two tabs' worth): one hand per person
            replies = await asyncio.gather(
                *(p.ok("webinar:raise_hand", {"session_id": WEBINAR}) for p in people * 2)
            )
            seq_of = {}
            for person, reply in zip(people * 2, replies, strict=True):
                seq_of.setdefault(person.person["id"], set()).add(reply["seq"])
            assert all(len(seqs) == 1 for seqs in seq_of.values())  # a double raise is one
            queues = [await mod.ok("webinar:hands", {"session_id": WEBINAR}) for mod in mods]
            order = [h["person"]["id"] for h in queues[0]["hands"]]
            assert queues[0]["count"] == 50
            assert len(set(order)) == 50 and set(order) == set(seq_of)  # no loss, no twice
            assert [h["person"]["id"] for h in queues[1]["hands"]] == order  # both nodes
            seqs = [h["seq"] for h in queues[0]["hands"]]
            assert seqs == sorted(seqs) and [next(iter(seq_of[p])) for p in order] == seqs
            raised = [h["raised_at"] for h in queues[0]["hands"]]
            assert raised == sorted(raised) or max(raised) - min(raised) < 5  # one clock each
            # the moderators on both nodes got the whole queue pushed, coalesced
            for mod in mods:
                await mod.wait_for("webinar:hand_queue", lambda q: q["count"] == 50)
                assert len(mod.received("webinar:hand_queue")) < 20
        finally:
            for client in [*people, *mods]:
                await client.close()


async def test_registrations_at_capacity_never_over_book(cluster):
    async with aiohttp.ClientSession() as http:
        organizer = await join(http, cluster[0], "Org", "organizer")
        await organizer.ok("webinar:configure", {"session_id": WEBINAR, "capacity": 5})
        people = await asyncio.gather(
            *(join(http, cluster[i % 2], f"Reg {i:02}") for i in range(30))
        )
        try:
            replies = await asyncio.gather(
                *(p.ok("webinar:register", {"session_id": WEBINAR}) for p in people)
            )
            statuses = [r["status"] for r in replies]
            assert statuses.count("registered") == 5
            assert statuses.count("waitlisted") == 25
            listed = await organizer.ok("webinar:registrations", {"session_id": WEBINAR})
            assert len(listed["registered"]) == 5 and len(listed["waitlisted"]) == 25
            assert [w["position"] for w in listed["waitlisted"]] == list(range(1, 26))
            # the registered leave at once on both nodes: exactly the next five move up
            leaving = [
                p for p, r in zip(people, replies, strict=True) if r["status"] == "registered"
            ]
            await asyncio.gather(
                *(p.ok("webinar:unregister", {"session_id": WEBINAR}) for p in leaving)
            )
            listed = await organizer.ok("webinar:registrations", {"session_id": WEBINAR})
            assert len(listed["registered"]) == 5 and len(listed["waitlisted"]) == 20
            moved = {r["person"]["id"] for r in listed["registered"]}
            promoted = [p for p in people if p.person["id"] in moved]
            for person in promoted:
                await person.wait_for("webinar:registration")
                assert len(person.received("webinar:registration")) == 1
        finally:
            for client in [*people, organizer]:
                await client.close()


async def test_one_reminder_for_the_cluster_and_roles_move_sockets_on_the_other_node(cluster):
    node_a, node_b = cluster
    async with aiohttp.ClientSession() as http:
        organizer = await join(http, node_a, "Org", "organizer")
        starts = datetime.now(UTC) + timedelta(minutes=10)  # not due: nobody reminded yet
        item = {
            "kind": "webinar",
            "title": "Bald geht es los",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(minutes=30)).isoformat(),
        }
        headers = {"Authorization": f"Bearer {organizer.token}"}
        url = node_a.base_url + "/api/events/demo/schedule"
        tabs = []
        async with http.post(url, json=item, headers=headers) as resp:
            assert resp.status == 201
            session_id = (await resp.json())["id"]
        person = await join(http, node_b, "Registered")
        # a second tab of the same person, on the other node
        tab = Client(node_a.base_url, person.token)
        await tab.connect()
        tabs = [person, tab]
        try:
            await person.ok("webinar:register", {"session_id": session_id})
            # moved to start in 2 s: due now (the lead is 3 s)
            soon = {"starts_at": (datetime.now(UTC) + timedelta(seconds=2)).isoformat()}
            async with http.patch(f"{url}/{session_id}", json=soon, headers=headers) as resp:
                assert resp.status == 200, await resp.text()
            for t in tabs:
                await t.wait_for("webinar:reminder")
            deadline = time.monotonic() + 1.0  # ten more scans on each node
            while time.monotonic() < deadline:
                await person.ok("webinar:agenda")
            assert [len(t.received("webinar:reminder")) for t in tabs] == [1, 1]

            # made a moderator on node A while in the webinar on node B: the queue
            # pushes reach them there
            await person.ok("webinar:join", {"session_id": WEBINAR})
            await organizer.ok("webinar:join", {"session_id": WEBINAR})
            await organizer.ok(
                "webinar:assign",
                {"session_id": WEBINAR, "person_id": person.person["id"], "role": "moderator"},
            )
            await organizer.ok("webinar:set_state", {"session_id": WEBINAR, "state": "backstage"})
            await organizer.ok("webinar:set_state", {"session_id": WEBINAR, "state": "live"})

            async def raise_until_seen() -> None:
                raiser = await join(http, node_a, "Raiser")
                tabs.append(raiser)
                await raiser.ok("webinar:join", {"session_id": WEBINAR})
                await raiser.ok("webinar:raise_hand", {"session_id": WEBINAR})

            await eventually(lambda: person.received("webinar:updated"))
            await raise_until_seen()
            await person.wait_for("webinar:hand_queue", lambda q: q["count"] == 1)
        finally:
            for client in [*tabs, organizer]:
                await client.close()
