"""Site visits that lose their guide or their hub, with real media (aiortc clients in
this process, as in test_visit_media.py):

- the guide's socket drops, then its peer connection alone fails; each time viewers are
  told the guide is reconnecting, and when the guide publishes again their pictures
  resume on the connections they already have;
- the guide does not come back within the grace period: the visit ends cleanly;
- the process running the hub is killed: the other node marks the visit interrupted, a
  host restarts it there and a viewer watches it.

The measured times go to the run's "measured by the tests" summary; the deadlines
only catch a hang.
"""

from __future__ import annotations

import time

import aiohttp
from harness import Client, eventually, running_node
from media_clients import Publisher, Viewer
from node_process import NodeProcess

VISIT = "demo-v3"
REF = {"visit_id": VISIT}
LOOPBACK = {"media_host_addresses": ["127.0.0.1"]}
LOADED = 60.0  # deadline for conditions that are quick alone, slow on a shared 2-core machine


def router(node):
    return node.fair.visits.media


def reconnecting(visit: dict) -> bool:
    return visit["state"] == "live" and visit["reconnecting_until"] is not None


def resumed(visit: dict) -> bool:
    return visit["state"] == "live" and visit["reconnecting_until"] is None


async def pushed(client: Client, event: str, where) -> dict:
    """The first ``event`` push that ``client`` got matching ``where`` (waits for it)."""
    return (await eventually(lambda: client.received(event, where), within=LOADED))[0]


async def joined_viewer(node, name: str) -> Viewer:
    client = await node.client(name=name)
    await client.ok("visit:join", REF)
    return Viewer(client, VISIT)


async def resume_pictures(viewers: list[Viewer], publish) -> float:
    """Run ``publish`` (the guide's new offer); return the seconds from its answer to
    the first new picture decoded by every viewer, once 30 more have come."""
    frozen = [v.frames for v in viewers]
    await publish()
    answered = time.monotonic()
    await eventually(
        lambda: all(v.frames > f for v, f in zip(viewers, frozen, strict=True)), within=LOADED
    )
    took = time.monotonic() - answered
    await eventually(
        lambda: all(v.frames > f + 30 for v, f in zip(viewers, frozen, strict=True)), within=LOADED
    )
    return took


async def test_a_guide_who_drops_and_comes_back_in_time_resumes_every_picture(measured):
    async with running_node(**LOOPBACK) as node:
        staff = await node.client("exhibitor", name="Gina Guide")
        await staff.ok("visit:start", REF)
        guide = Publisher(staff, VISIT)
        viewers = [await joined_viewer(node, name) for name in ("Ana", "Ben")]
        publishers = [guide]
        try:
            await guide.publish()
            for viewer in viewers:
                await viewer.watch()
            await eventually(lambda: all(v.frames >= 30 for v in viewers), within=LOADED)
            connections = [v.pc for v in viewers]
            hub = router(node).hubs[VISIT]

            # 1. the guide's socket drops (its media still flows): the hub closes that
            # connection, since it cannot be renegotiated without a socket
            for viewer in viewers:
                viewer.client.pushes.clear()
            dropped = time.monotonic()
            await staff.close()
            told = await pushed(viewers[0].client, "visit:updated", reconnecting)
            told_after = time.monotonic() - dropped
            assert told["reconnecting_until"] > time.time() + 30, told  # 60 s by default
            await eventually(lambda: guide.pc.connectionState == "closed", within=LOADED)
            assert hub.publisher is None and router(node).viewers() == 2

            # the guide's page comes back on a new socket and publishes again
            back = Client(node.base_url, staff.token)
            node.clients.append(back)
            await back.connect()
            visit = await back.ok("visit:start", REF)  # live: a guide back after a reload
            assert reconnecting(visit)
            guide = Publisher(back, VISIT)
            publishers.append(guide)
            took = await resume_pictures(viewers, guide.publish)
            resumed_after = took
            for viewer in viewers:
                await pushed(viewer.client, "visit:updated", resumed)
            assert [v.pc for v in viewers] == connections  # no new offer from any viewer
            assert all(v.pc.connectionState == "connected" for v in viewers)
            assert resumed((await back.ok("visit:get", REF))["visit"])

            # 2. its peer connection alone fails (the socket stays): the same again
            for viewer in viewers:
                viewer.client.pushes.clear()
            await guide.close()
            await pushed(viewers[1].client, "visit:updated", reconnecting)
            guide = Publisher(back, VISIT)
            publishers.append(guide)
            took = await resume_pictures(viewers, guide.publish)
            measured(
                f"viewers told the guide is reconnecting {told_after:.2f} s after its socket "
                f"dropped; first new picture at every viewer {resumed_after:.2f} s after the "
                f"new offer was answered ({took:.2f} s after a failed peer connection)"
            )
            await pushed(viewers[1].client, "visit:updated", resumed)
            assert [v.pc for v in viewers] == connections
            await back.ok("visit:end", REF)
            ended = await pushed(
                viewers[0].client, "visit:updated", lambda d: d["state"] == "ended"
            )
            assert ended["end_reason"] == "host" and ended["reconnecting_until"] is None
        finally:
            for viewer in viewers:
                await viewer.close()
            for publisher in publishers:
                await publisher.close()


async def test_a_guide_who_does_not_come_back_within_the_grace_period_ends_the_visit(measured):
    grace = 2.0
    async with running_node(**LOOPBACK, visit_guide_grace=grace) as node:
        staff = await node.client("exhibitor", name="Gina Guide")
        await staff.ok("visit:start", REF)
        guide = Publisher(staff, VISIT)
        viewer = await joined_viewer(node, "Ana")
        watcher = await node.client(name="Lobby Lou")  # in the event, not in the visit
        try:
            await guide.publish()
            await viewer.watch()
            await eventually(lambda: viewer.frames >= 30, within=LOADED)

            dropped = time.monotonic()
            await staff.close()
            await guide.close()
            await pushed(viewer.client, "visit:updated", reconnecting)
            # lists in the lobby show it too
            await pushed(watcher, "visit:updated", reconnecting)
            ended = await pushed(viewer.client, "visit:updated", lambda d: d["state"] == "ended")
            took = time.monotonic() - dropped
            measured(f"ended {took:.2f} s after the guide dropped (grace {grace} s)")
            assert took >= grace
            assert ended["end_reason"] == "guide_lost" and ended["reconnecting_until"] is None
            await pushed(watcher, "visit:updated", lambda d: d["state"] == "ended")
            assert router(node).hubs == {}  # the hub and every connection of it closed
            await eventually(lambda: viewer.pc.connectionState == "closed", within=LOADED)

            back = Client(node.base_url, staff.token)
            node.clients.append(back)
            await back.connect()
            await back.refused("visit:start", REF, "visit_ended")  # too late
            listed = {i["visit"]["id"]: i["visit"] for i in await back.ok("visit:list")}
            assert listed[VISIT]["state"] == "ended"
        finally:
            await viewer.close()
            await guide.close()


HEARTBEAT, NODE_TIMEOUT = 0.5, 2.0


async def register(http: aiohttp.ClientSession, base_url: str, invite: str, name: str) -> Client:
    body = {"code": invite, "name": name, "company": "ACME SA", "country": "FR", "sector": "ICT"}
    async with http.post(base_url + "/api/join", json=body) as resp:
        assert resp.status == 201, await resp.text()
        joined = await resp.json()
    client = Client(base_url, joined["token"])
    client.person = joined["person"]
    await client.connect()
    return client


async def test_a_killed_hub_node_interrupts_the_visit_and_a_host_restarts_it_elsewhere(
    redis_url, tmp_path, measured
):
    cluster = {"heartbeat_interval": HEARTBEAT, "node_timeout": NODE_TIMEOUT}
    env = {f"FAIRHALL_{k.upper()}": str(v) for k, v in cluster.items()}
    node_a = NodeProcess(
        tmp_path,
        FAIRHALL_REDIS=redis_url,
        FAIRHALL_SECRET="test-secret",  # running_node's: the same demo invites
        FAIRHALL_MEDIA_HOST_ADDRESSES="127.0.0.1",
        **env,
    )
    publishers: list[Publisher] = []
    viewers: list[Viewer] = []
    clients: list[Client] = []
    try:
        node_a.wait_ready()
        async with (
            running_node(**LOOPBACK, **cluster, redis=redis_url) as node_b,
            aiohttp.ClientSession() as http,
        ):
            guide_a = await register(http, node_a.base_url, node_a.invites["exhibitor"], "Gus")
            clients.append(guide_a)
            await guide_a.ok("visit:start", REF)  # the hub runs on node A
            publishers.append(Publisher(guide_a, VISIT))
            await publishers[-1].publish()
            viewer = await joined_viewer(node_b, "Nina Node")
            viewers.append(viewer)
            await viewer.watch()  # through Redis to node A's hub
            await eventually(lambda: viewer.frames >= 20, within=LOADED)
            assert router(node_b).hubs == {}

            node_a.kill()
            killed = time.monotonic()
            await eventually(
                lambda: viewer.client.received("visit:updated", lambda d: d["id"] == VISIT),
                within=LOADED,
            )
            took = time.monotonic() - killed
            measured(
                f"interrupted {took:.2f} s after the hub's node was killed "
                f"(node_timeout {NODE_TIMEOUT} s, heartbeat {HEARTBEAT} s)"
            )
            told = viewer.client.received("visit:updated")
            assert [d["state"] for d in told] == ["interrupted"], told  # never live in between
            assert (await viewer.client.ok("visit:get", REF))["visit"]["state"] == "interrupted"
            probe = Viewer(viewer.client, VISIT)
            viewers.append(probe)
            await viewer.client.refused("visit:watch", await probe.offer(), "visit_not_live")
            await viewer.client.refused("visit:start", REF, "forbidden")  # hosts restart it

            # a host connected to node B restarts it: the new hub runs on node B
            host = await node_b.client("exhibitor", name="Hanna Host")
            visit = await host.ok("visit:start", REF)
            assert visit["state"] == "live" and visit["guide"]["id"] == host.person["id"]
            assert set(router(node_b).hubs) == {VISIT}
            await pushed(viewer.client, "visit:updated", lambda d: d["state"] == "live")
            publishers.append(Publisher(host, VISIT))
            await publishers[-1].publish()
            await viewer.close()
            again = Viewer(viewer.client, VISIT)
            viewers.append(again)
            await again.watch()
            await eventually(lambda: again.frames >= 20, within=LOADED)
            assert router(node_b).viewers() == 1
            await host.ok("visit:end", REF)
    finally:
        for item in (*viewers, *publishers, *clients):
            await item.close()
        node_a.stop()
