"""A webinar's stage through the aiortc hub, with aiortc clients in this process: a
moderator and an accepted speaker publish, audience viewers decode both cameras and
hear the mix; a muted speaker drops out of the mix, a speaker taken off stage leaves
the audience's program but not the backstage one; each stream is encoded at most
once (video never: passed through; sound once per program); across two nodes the
viewer of node B is served by node A's hub, and a change made on node B reaches it.

The webinar record is changed through ``Webinars.save`` (the one way it changes);
the commands that call it (going live, muting, ...) belong to the webinar core.
"""

from __future__ import annotations

import pytest
from harness import eventually, running_node
from stage_clients import StagePublisher, StageViewer

from rooms.models import PersonCard
from rooms.webinars.records import Speaker

SESSION = "demo-s1"
REF = {"session_id": SESSION}
LOOPBACK = {"media_host_addresses": ["127.0.0.1"]}
LOADED = 60.0  # quick alone, slow on a shared 2-core machine
LOUD, QUIET = 1000, 100  # RMS of what a viewer hears: the tone vs. (near) silence


def stages(node):
    return node.fair.stage.media


async def change(node, client, **fields) -> None:
    """Change the webinar record as the core's commands do (Webinars.save)."""
    webinars = node.fair.webinars
    webinar = await webinars.webinar(client.person["event_id"], SESSION)
    for name, value in fields.items():
        if name == "speaker":
            card = PersonCard(**{k: client.person[k] for k in PersonCard.__struct_fields__})
            webinar.speakers[card.id] = Speaker(person=card, state="accepted", on_stage=True)
        elif name in ("muted", "on_stage"):
            webinar.speakers[client.person["id"]].__setattr__(name, value)
        elif name == "moderator":
            webinar.moderators.append(client.person["id"])
        else:
            setattr(webinar, name, value)
    await webinars.save(webinar)


async def cast(node):
    """A moderator (silent), a speaker (a tone), both in the webinar."""
    moderator = await node.client(name="Mona Moderator")
    speaker = await node.client(name="Sam Speaker")
    await change(node, moderator, moderator=True)
    await change(node, speaker, speaker=True)
    for client in (moderator, speaker):
        await client.ok("webinar:join", REF)
    return moderator, speaker


async def audience(node, name: str):
    client = await node.client(name=name)
    await client.ok("webinar:join", REF)
    return client


@pytest.mark.timeout(300)
async def test_publishers_viewers_mute_and_off_stage():
    async with running_node(**LOOPBACK) as node:
        moderator, speaker = await cast(node)
        await change(node, moderator, state="backstage")
        pubs = [StagePublisher(moderator, SESSION, tone=0), StagePublisher(speaker, SESSION)]
        viewers: list[StageViewer] = []
        try:
            for pub in pubs:
                reply = await pub.publish()
                assert reply["slots"] == 4
            ana, ben = await audience(node, "Ana"), await audience(node, "Ben")
            # the audience: no backstage, and no stage before it is live
            early = StageViewer(ana, SESSION)
            viewers.append(early)
            await ana.refused("webinar:watch", await early.offer(), "webinar_state")
            back = StageViewer(ana, SESSION, program="backstage")
            viewers.append(back)
            await ana.refused("webinar:watch", await back.offer(), "forbidden")
            # the speaker checks the backstage before going live
            backstage = StageViewer(speaker, SESSION)
            viewers.append(backstage)
            assert (await backstage.watch())["program"] == "backstage"

            await change(node, moderator, state="live")
            first, second = StageViewer(ana, SESSION), StageViewer(ben, SESSION)
            viewers += [first, second]
            for viewer in (first, second):
                reply = await viewer.watch()
                assert reply["program"] == "stage"
                mod, spk = moderator.person["id"], speaker.person["id"]
                assert reply["layout"]["slots"][:2] == [mod, spk]
            for viewer in (first, second):  # both speakers' cameras decoded, the mix heard
                await eventually(lambda v=viewer: min(v.frames[:2]) >= 20, within=LOADED)
                await eventually(lambda v=viewer: v.level() > LOUD, within=LOADED)
            assert first.frames[2:] == [0, 0, 0]  # empty slots, no screen
            await eventually(lambda: backstage.frames[1] >= 10, within=LOADED)

            hub = stages(node).hubs[SESSION]
            # each microphone decoded once, one Opus encoder per program, no video encoder
            assert set(hub.mixer.microphones) == {mod, spk}
            assert hub.encoders() == {"audio": 2, "video": 0}

            # a muted speaker drops out of every mix (the moderator is silent)
            await change(node, speaker, muted=True)
            await eventually(
                lambda: first.level() < QUIET and second.level() < QUIET, within=LOADED
            )
            await eventually(lambda: backstage.level() < QUIET, within=LOADED)
            await change(node, speaker, muted=False)
            await eventually(lambda: first.level() > LOUD, within=LOADED)

            # off stage: gone from the audience's program, still backstage
            ana.pushes = []
            await change(node, speaker, on_stage=False)
            layout = await ana.wait_for(
                "webinar:stage_layout", lambda d: d["program"] == "stage" and spk not in d["slots"]
            )
            assert layout["slots"] == [mod, None, None, None]
            assert hub.layout("backstage").slots[:2] == [mod, spk]
            await eventually(lambda: first.level() < QUIET, within=LOADED)
            seen = first.frames[1]
            seen_back = backstage.frames[1]
            await eventually(lambda: backstage.frames[1] > seen_back + 20, within=LOADED)
            assert first.frames[1] <= seen + 2  # (what was on the way)
            assert backstage.level() > LOUD
            assert hub.encoders() == {"audio": 2, "video": 0}

            # the end of the webinar closes the hub and every connection
            await change(node, moderator, state="ended")
            await eventually(lambda: stages(node).hubs == {})
            await eventually(lambda: first.pc.connectionState in ("closed", "failed"), within=40)
        finally:
            for viewer in viewers:
                await viewer.close()
            for pub in pubs:
                await pub.close()


async def test_a_screen_share_takes_the_screen_slot_and_a_disconnect_drops_the_publisher():
    async with running_node(**LOOPBACK) as node:
        moderator, speaker = await cast(node)
        await change(node, moderator, state="live")
        pub = StagePublisher(speaker, SESSION, screen=True)
        viewer = StageViewer(await audience(node, "Cleo"), SESSION)
        try:
            await pub.publish()
            reply = await viewer.watch()
            assert reply["layout"]["screen"] == speaker.person["id"]
            await eventually(
                lambda: viewer.frames[4] >= 10 and viewer.frames[0] >= 10, within=LOADED
            )
            hub = stages(node).hubs[SESSION]
            await speaker.close()  # its socket goes: its publisher connection with it
            await eventually(lambda: hub.publishers == {}, within=LOADED)
            assert hub.layout("stage").screen is None and hub.mixer.microphones == {}
        finally:
            await viewer.close()
            await pub.close()


async def test_who_may_publish_and_watch(node):
    """Without a part in the webinar one cannot publish; bad offers are refused."""
    participant = await node.client(name="Pat")
    await participant.ok("webinar:join", REF)
    offer = {"type": "offer", "sdp": "v=0\r\n"}
    await participant.refused("webinar:publish", {**REF, "description": offer}, "forbidden")
    organizer = await node.client("organizer")
    await organizer.refused("webinar:publish", {**REF, "description": offer}, "not_in_webinar")
    await organizer.ok("webinar:join", REF)
    await organizer.refused(
        "webinar:publish", {**REF, "description": {"type": "answer", "sdp": ""}}, "invalid_payload"
    )
    await organizer.refused("webinar:publish", {**REF, "description": offer}, "media_failed")
    await organizer.refused(
        "webinar:watch", {**REF, "description": offer, "program": "backstage"}, "media_failed"
    )
    await participant.refused("webinar:watch", {**REF, "description": offer}, "webinar_state")


async def test_a_viewer_on_node_b_is_served_by_the_hub_of_node_a(redis_url):
    common = {**LOOPBACK, "redis": redis_url}
    async with running_node(**common) as node_a, running_node(**common) as node_b:
        moderator, speaker = await cast(node_a)
        await change(node_a, moderator, state="live")
        pub = StagePublisher(speaker, SESSION)
        viewer = StageViewer(await audience(node_b, "Remote Rita"), SESSION)
        try:
            await pub.publish()
            assert set(stages(node_a).hubs) == {SESSION} and stages(node_b).hubs == {}
            await viewer.watch()  # answered by node A's hub, through Redis
            await eventually(lambda: viewer.frames[0] >= 20, within=LOADED)  # the one publisher
            await eventually(lambda: viewer.level() > LOUD, within=LOADED)
            assert stages(node_a).viewers() == 1 and stages(node_b).viewers() == 0
            # a mute made on node B reaches the hub on node A
            await change(node_b, speaker, muted=True)
            await eventually(lambda: viewer.level() < QUIET, within=LOADED)
            # a viewer who disconnects from node B is closed on node A
            await viewer.client.close()
            await eventually(lambda: stages(node_a).viewers() == 0)
            assert stages(node_b).remote == {}
            # the end, on node B, closes node A's hub
            await change(node_b, moderator, state="ended")
            await eventually(lambda: stages(node_a).hubs == {})
        finally:
            await viewer.close()
            await pub.close()


async def test_leaving_the_webinar_closes_the_sockets_stage_connections():
    async with running_node(**LOOPBACK) as node:
        moderator, speaker = await cast(node)
        await change(node, moderator, state="live")
        pub = StagePublisher(speaker, SESSION)
        cleo = await audience(node, "Cleo")
        viewer = StageViewer(cleo, SESSION)
        try:
            await pub.publish()
            await viewer.watch()
            hub = stages(node).hubs[SESSION]
            await eventually(lambda: len(hub.viewers) == 1, within=LOADED)
            await cleo.ok("webinar:leave", {})  # the socket stays connected
            await eventually(lambda: hub.viewers == {}, within=LOADED)
            await speaker.ok("webinar:leave", {})
            await eventually(lambda: hub.publishers == {}, within=LOADED)
        finally:
            await viewer.close()
            await pub.close()
