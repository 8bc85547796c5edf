"""Site-visit video through the server's aiortc hub, with aiortc clients in this
process: a guide's camera to several viewers (a late joiner gets a picture within a
second), the per-node viewer cap, a file feed passed through, and 50 viewers joining
and leaving without leaving a peer connection, a task or a track behind.

The hub offers 127.0.0.1 as its ICE host address (``media_host_addresses``): aioice
never offers it by itself, and the test run has nothing but ``lo``.
"""

from __future__ import annotations

import asyncio
import gc

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from harness import eventually, running_node
from media_clients import Publisher, Viewer, hub_ok, make_ts_file

from rooms.media.fanout import ViewerTrack
from server.config import ConfigError, load_settings

VISIT = "demo-v3"
REF = {"visit_id": VISIT}
LOOPBACK = {"media_host_addresses": ["127.0.0.1"]}
LOADED = 60.0  # deadline for conditions that are quick alone, slow on a shared 2-core machine


def router(node):
    return node.fair.visits.media


async def joined_viewer(node, name: str = "", decode: bool = True) -> Viewer:
    client = await node.client(name=name)
    await client.ok("visit:join", REF)
    return Viewer(client, VISIT, decode=decode)


async def test_a_guide_goes_live_and_viewers_get_frames_a_late_one_within_a_second():
    async with running_node(**LOOPBACK, visit_viewer_cap=2) as node:
        staff = await node.client("exhibitor", name="Gina Guide")
        await staff.ok("visit:start", REF)
        guide = Publisher(staff, VISIT)
        viewers: list[Viewer] = []
        try:
            await guide.publish()
            first = await joined_viewer(node, "Ana")
            viewers.append(first)
            await first.watch()
            await eventually(lambda: first.frames >= 30, within=15)
            assert first.size == (640, 360)
            await eventually(lambda: first.audio_frames >= 25)  # the guide's voice (Opus)

            late = await joined_viewer(node, "Ben")
            viewers.append(late)
            await late.watch()
            await eventually(lambda: late.frames >= 1, within=5)
            assert late.first_frame is not None and late.first_frame < 1.0, late.first_frame

            # the cap is per node: the third viewer is refused, the others go on
            third = await joined_viewer(node, "Cid")
            viewers.append(third)
            await third.client.refused("visit:watch", await third.offer(), "visit_full")
            seen = first.frames
            await eventually(lambda: first.frames > seen + 10)

            # leaving frees a seat; ending the visit closes every connection
            await late.client.ok("visit:leave", REF)
            await eventually(lambda: router(node).viewers() == 1)
            third_again = Viewer(third.client, VISIT)
            viewers.append(third_again)
            await third_again.watch()
            await eventually(lambda: third_again.frames >= 1, within=5)
            await staff.ok("visit:end", REF)
            assert router(node).hubs == {} and router(node).viewers() == 0
            await eventually(lambda: first.pc.connectionState in ("closed", "failed"), within=40)
        finally:
            for viewer in viewers:
                await viewer.close()
            await guide.close()


async def test_a_file_feed_is_passed_through_to_viewers(tmp_path):
    path = make_ts_file(tmp_path / "plant.ts", seconds=2.0)
    async with running_node(**LOOPBACK, visit_media=[f"plant={path}", "gone=/nowhere.ts"]) as node:
        staff = await node.client("exhibitor")
        await staff.refused(
            "visit:start", {**REF, "source": "media", "media": "x"}, "media_unknown"
        )
        await staff.refused(
            "visit:start", {**REF, "source": "media", "media": "gone"}, "media_failed"
        )
        visit = await staff.ok("visit:start", {**REF, "source": "media", "media": "plant"})
        assert visit["source"] == "media"
        viewer = await joined_viewer(node)
        try:
            await viewer.watch()
            # the 2 s file loops: more frames than it holds, all 640x360
            await eventually(lambda: viewer.frames >= 75, within=15)
            assert viewer.size == (640, 360)
            assert viewer.first_frame is not None and viewer.first_frame < 1.0
            assert viewer.audio_frames == 0  # a feed's sound is not streamed
            await staff.refused(
                "visit:publish", {**REF, "description": {"type": "offer", "sdp": "v=0\r\n"}},
                "visit_live",
            )  # fmt: skip
        finally:
            await viewer.close()
            await staff.ok("visit:end", REF)
        assert router(node).hubs == {}


def peer_connections() -> int:
    gc.collect()
    return sum(isinstance(o, RTCPeerConnection) for o in gc.get_objects())


def viewer_tracks() -> int:
    return sum(isinstance(o, ViewerTrack) for o in gc.get_objects())


# 125 peer connections: 4 s on a quiet 2-core machine, 24-62 s beside four busy
# processes (and other people's test runs); the suite's 120 s per test is too close
@pytest.mark.timeout(300)
async def test_fifty_viewers_joining_and_leaving_leave_nothing_behind():
    async with running_node(**LOOPBACK, visit_viewer_cap=100) as node:
        staff = await node.client("exhibitor")
        await staff.ok("visit:start", REF)
        guide = Publisher(staff, VISIT)
        await guide.publish()
        hub = router(node).hubs[VISIT]
        await eventually(lambda: hub.fanout.units > 10, within=LOADED)
        clients = [await node.client(name=f"Viewer {i}") for i in range(50)]
        for client in clients:
            await client.ok("visit:join", REF)
        await asyncio.sleep(0.5)
        tasks_before = len(asyncio.all_tasks())
        pcs_before = peer_connections()

        for round_ in range(2):
            for batch in range(0, 50, 10):
                group = [Viewer(c, VISIT, decode=False) for c in clients[batch : batch + 10]]
                await asyncio.gather(*(v.watch() for v in group))
                await eventually(
                    lambda group=group: all(v.pc.connectionState == "connected" for v in group),
                    within=LOADED,
                )
                assert router(node).viewers() == 10
                # half leave the visit, half stop watching and then disconnect below
                for i, viewer in enumerate(group):
                    if i % 2:
                        await hub_ok(viewer.client, "visit:leave", REF)
                        await viewer.client.ok("visit:join", REF)
                    else:
                        await hub_ok(viewer.client, "visit:unwatch", REF)
                    await viewer.close()
                assert router(node).viewers() == 0
            assert hub.fanout.tracks == hub.audio_fanout.tracks == set(), round_

        for client in clients[:25]:  # disconnecting cleans up too
            v = Viewer(client, VISIT, decode=False)
            await v.watch()
            await client.close()
            await v.close()
        await eventually(lambda: router(node).viewers() == 0, within=LOADED)
        del group, viewer, v  # the test's own references to closed client connections
        assert hub.fanout.tracks == hub.audio_fanout.tracks == set()

        def settled() -> bool:  # closed connections' last tasks end in their own time
            return (
                peer_connections() <= pcs_before
                and viewer_tracks() == 0
                and len(asyncio.all_tasks()) <= tasks_before + 2
            )

        try:
            await eventually(settled, within=LOADED, step=0.5)
        except AssertionError:
            left = [t.get_coro() for t in asyncio.all_tasks()]
            raise AssertionError(
                f"left behind: {peer_connections()} peer connections (before {pcs_before}), "
                f"{viewer_tracks()} viewer tracks, {len(left)} tasks (before {tasks_before}): "
                f"{left}"
            ) from None
        await guide.close()
        await staff.ok("visit:end", REF)


async def test_viewers_on_another_node_are_routed_to_the_hub_through_redis(redis_url, tmp_path):
    path = make_ts_file(tmp_path / "yard.ts", seconds=2.0)
    common = {**LOOPBACK, "redis": redis_url, "visit_media": [f"yard={path}"]}
    async with (
        running_node(**common, visit_viewer_cap=1) as node_a,
        running_node(**common) as node_b,
    ):
        staff_a = await node_a.client("exhibitor")
        await staff_a.ok("visit:start", {**REF, "source": "media", "media": "yard"})
        assert set(router(node_a).hubs) == {VISIT} and router(node_b).hubs == {}

        viewer = await joined_viewer(node_b, "Remote Rita")
        other = await joined_viewer(node_b, "Remote Rob")
        try:
            await viewer.watch()  # answered by node A's hub, through Redis
            await eventually(lambda: viewer.frames >= 20, within=15)
            assert router(node_a).viewers() == 1 and router(node_b).viewers() == 0
            # node A's cap holds for viewers of every node
            await other.client.refused("visit:watch", await other.offer(), "visit_full")
            # a viewer who disconnects from node B is closed on node A
            await viewer.client.close()
            await eventually(lambda: router(node_a).viewers() == 0)
            assert router(node_b).remote_watchers == {}
            # ending the visit on node B stops the hub on node A
            staff_b = await node_b.client("exhibitor")
            await staff_b.ok("visit:end", REF)
            await eventually(lambda: router(node_a).hubs == {})
        finally:
            await viewer.close()
            await other.close()


def test_media_settings_come_from_the_environment_and_are_checked():
    env = {
        "FAIRHALL_VISIT_MEDIA": "yard=rtsp://cam.local/live,demo=/srv/demo.ts",
        "FAIRHALL_MEDIA_HOST_ADDRESSES": "192.0.2.10,198.51.100.7",
        "FAIRHALL_MEDIA_PORT_MIN": "40000",
        "FAIRHALL_MEDIA_PORT_MAX": "40999",
        "FAIRHALL_VISIT_VIEWER_CAP": "250",
        "FAIRHALL_MEDIA_PUBLIC_ADDRESS": "203.0.113.5",
    }
    settings = load_settings({}, environ=env)
    assert settings.media_feeds() == {"yard": "rtsp://cam.local/live", "demo": "/srv/demo.ts"}
    assert settings.media_host_addresses == ["192.0.2.10", "198.51.100.7"]
    assert (settings.media_port_min, settings.media_port_max) == (40000, 40999)
    assert settings.visit_viewer_cap == 250
    assert settings.media_public_address == "203.0.113.5"
    for bad in (
        {"FAIRHALL_MEDIA_PORT_MIN": "40000"},  # a range needs both ends
        {"FAIRHALL_MEDIA_PORT_MIN": "41000", "FAIRHALL_MEDIA_PORT_MAX": "40000"},
        {"FAIRHALL_VISIT_MEDIA": "no name here"},
        {"FAIRHALL_MEDIA_PUBLIC_ADDRESS": "hub.example.org"},  # candidates carry IPs
    ):
        with pytest.raises(ConfigError):
            load_settings({}, environ=bad)


async def test_the_hub_offers_the_configured_address_and_port_range():
    """Bound on the host address within the range; the public address (1:1 NAT, a
    container's published ports) is offered beside each port as server-reflexive."""
    public = "198.51.100.7"  # TEST-NET-2: unreachable here, media flows over the host one
    settings = {"media_port_min": 41000, "media_port_max": 41099, "media_public_address": public}
    async with running_node(**LOOPBACK, **settings) as node:
        staff = await node.client("exhibitor")
        await staff.ok("visit:start", REF)
        guide = Publisher(staff, VISIT)
        viewer = await joined_viewer(node)
        try:
            await guide.publish()
            reply = await viewer.client.ok("visit:watch", await viewer.offer())
            candidates = [
                line.split() for line in reply["description"]["sdp"].splitlines()
                if line.startswith("a=candidate:")
            ]  # fmt: skip
            # a=candidate:<foundation> <component> udp <priority> <address> <port> typ <type> ...
            host = {(c[4], int(c[5])) for c in candidates if c[7] == "host"}
            srflx = {(c[4], int(c[5]), c[9], int(c[11])) for c in candidates if c[7] == "srflx"}
            assert host and {address for address, _ in host} == {"127.0.0.1"}
            assert all(41000 <= port <= 41099 for _, port in host)
            assert srflx == {(public, port, "127.0.0.1", port) for _, port in host}
            assert {c[7] for c in candidates} == {"host", "srflx"}  # nothing else offered
            await viewer.pc.setRemoteDescription(
                RTCSessionDescription(reply["description"]["sdp"], "answer")
            )
            viewer.answered_at = 0.0
            await eventually(lambda: viewer.frames >= 10, within=15)
        finally:
            await viewer.close()
            await guide.close()
            await staff.ok("visit:end", REF)
