"""Site visits over the protocol: scheduling and permissions, the lifecycle, viewers,
the visit's chat and Q&A, the pinned chapter (no media here: tests/visits/test_visit_media.py
streams video through the hub)."""

from __future__ import annotations

import asyncio
import time

from harness import eventually, running_node

from rooms import names
from server.engines.redis import RedisEngine

DEMO_VISIT = "demo-v3"  # seeded for booth demo-b3, staffed by the demo exhibitor invite
STARTS = "2026-11-23T14:00:00+00:00"


async def test_only_staff_and_organizers_schedule_start_and_end(any_node):
    staff = await any_node.client("exhibitor", name="Eva Staff")
    organizer = await any_node.client("organizer", name="Olga Org")
    moderator = await any_node.client("moderator", name="Mo Mod")
    viewer = await any_node.client(name="Vic Viewer")
    create = {"booth_id": "demo-b3", "title": "Paint shop", "starts_at": STARTS}

    for outsider in (viewer, moderator):
        await outsider.refused("visit:create", create, "forbidden")
    await staff.refused("visit:create", {**create, "booth_id": "demo-b1"}, "forbidden")
    await staff.refused("visit:create", {**create, "booth_id": "demo-b99"}, "booth_not_found")
    await staff.refused(
        "visit:create", {**create, "session_id": "demo-s1"}, "invalid_payload"
    )  # a webinar is not a site visit
    await staff.refused(
        "visit:create", {**create, "starts_at": "2026-11-23T14:00"}, "invalid_payload"
    )

    visit = await staff.ok(
        "visit:create", {**create, "languages": ["fr", "en"], "session_id": "demo-s3"}
    )
    assert visit["state"] == "scheduled" and visit["languages"] == ["fr", "en"]
    assert visit["booth_id"] == "demo-b3" and visit["created_by"] == staff.person["id"]
    created = await viewer.wait_for("visit:created")
    assert created["id"] == visit["id"]
    by_org = await organizer.ok("visit:create", {**create, "booth_id": "demo-b1"})
    listed = [v["visit"]["id"] for v in await viewer.ok("visit:list")]
    assert {visit["id"], by_org["id"], DEMO_VISIT} <= set(listed)

    ref = {"visit_id": visit["id"]}
    for outsider in (viewer, moderator):
        await outsider.refused("visit:start", ref, "forbidden")
        await outsider.refused("visit:end", ref, "forbidden")
        await outsider.refused("visit:update", {**ref, "chapter": "x"}, "forbidden")
    await staff.refused("visit:start", {**ref, "source": "media"}, "invalid_payload")
    live = await staff.ok("visit:start", ref)
    assert live["state"] == "live" and live["source"] == "browser"
    assert live["guide"]["id"] == staff.person["id"] and live["started_at"] > 0
    update = await viewer.wait_for("visit:updated", lambda d: d["state"] == "live")
    assert update["id"] == visit["id"]
    assert (await staff.ok("visit:start", ref))["state"] == "live"  # a guide back after a reload
    await staff.refused("visit:start", {**ref, "source": "media", "media": "cam"}, "visit_live")

    ended = await organizer.ok("visit:end", ref)
    assert ended["state"] == "ended" and ended["ended_at"] >= live["started_at"]
    await viewer.wait_for("visit:updated", lambda d: d["state"] == "ended")
    await staff.refused("visit:start", ref, "visit_ended")
    await staff.refused("visit:end", ref, "visit_ended")
    await viewer.refused("visit:join", ref, "visit_ended")
    await viewer.refused("visit:get", {"visit_id": "v-nothing"}, "visit_not_found")

    # a scheduled visit can be cancelled without going live
    assert (await organizer.ok("visit:end", {"visit_id": by_org["id"]}))["state"] == "ended"
    order = [v["visit"]["state"] for v in await viewer.ok("visit:list")]
    assert order == sorted(order, key=["live", "scheduled", "ended"].index)


async def test_viewers_join_chat_ask_and_the_guide_answers_and_pins_chapters(any_node):
    staff = await any_node.client("exhibitor", name="Gina Guide")
    ana = await any_node.client(name="Ana Viewer")
    ben = await any_node.client(name="Ben Viewer")
    outsider = await any_node.client(name="Oscar Outside")
    ref = {"visit_id": DEMO_VISIT}
    channel = f"visit:{DEMO_VISIT}"

    view = await ana.ok("visit:join", ref)  # a scheduled visit has a waiting room
    assert view["visit"]["state"] == "scheduled" and view["joined"] is True
    assert view["chat_channel"] == channel and view["host"] is False and view["viewers"] == 1
    await ben.ok("visit:join", ref)
    await ana.wait_for("presence:changed", lambda d: d["scope"] == channel and d["count"] == 2)
    assert (await staff.ok("visit:join", ref))["host"] is True
    assert (await outsider.ok("visit:get", ref))["viewers"] == 3

    # the visit's chat is for those who joined; staff and moderators may read it
    await outsider.refused("chat:send", {"channel": channel, "text": "hi"}, "not_in_visit")
    await outsider.refused("chat:history", {"channel": channel}, "not_in_visit")
    await ana.ok("chat:send", {"channel": channel, "text": "Hello from Lyon"})
    message = await ben.wait_for("chat:message", lambda d: d["channel"] == channel)
    assert message["text"] == "Hello from Lyon"
    await ana.refused("chat:send", {"channel": "visit:v-nothing", "text": "x"}, "visit_not_found")

    # questions: viewers ask, the hosts mark them answered, everyone sees both
    await outsider.refused("visit:ask", {**ref, "text": "Hi?"}, "not_in_visit")
    await ana.refused("visit:ask", {**ref, "text": "   "}, "message_empty")
    question = await ana.ok("visit:ask", {**ref, "text": "What is the cycle time?"})
    assert question["answered"] is False and question["author"]["name"] == "Ana Viewer"
    pushed = await staff.wait_for("visit:question")
    assert pushed["id"] == question["id"]
    qref = {**ref, "question_id": question["id"]}
    await ben.refused("visit:answered", qref, "forbidden")
    await staff.refused("visit:answered", {**ref, "question_id": "q-nothing"}, "question_not_found")
    answered = await staff.ok("visit:answered", qref)
    assert answered["answered"] is True and answered["answered_by"] == staff.person["id"]
    await ben.wait_for("visit:question", lambda d: d["answered"])
    assert [q["answered"] for q in (await ben.ok("visit:get", ref))["questions"]] == [True]

    # the chapter goes to the visit's room only; schedule changes to the whole event
    await ben.refused("visit:update", {**ref, "chapter": "x"}, "forbidden")
    await staff.ok("visit:update", {**ref, "chapter": "Assembly line"})
    chapter = await ana.wait_for("visit:updated", lambda d: d["chapter"] == "Assembly line")
    assert chapter["id"] == DEMO_VISIT
    await staff.ok("visit:update", {**ref, "title": "EcoTherm: the whole plant"})
    await outsider.wait_for("visit:updated", lambda d: d["title"] == "EcoTherm: the whole plant")
    assert len(outsider.received("visit:updated")) == 1  # not the chapter before it

    # leaving and disconnecting take people off the list
    await ben.ok("visit:leave", ref)
    await ben.refused("visit:leave", ref, "not_in_visit")
    await ben.refused("chat:send", {"channel": channel, "text": "still here?"}, "not_in_visit")
    await ana.close()
    await eventually(
        lambda: staff.received(
            "presence:changed", lambda d: d["scope"] == channel and d["count"] == 1
        )
    )


async def test_media_needs_a_live_visit_and_a_joined_viewer(any_node):
    staff = await any_node.client("exhibitor")
    viewer = await any_node.client()
    ref = {"visit_id": DEMO_VISIT}
    offer = {**ref, "description": {"type": "offer", "sdp": "v=0\r\n"}}
    await viewer.refused("visit:watch", offer, "not_in_visit")
    await viewer.ok("visit:join", ref)
    await viewer.refused("visit:watch", offer, "visit_not_live")
    await staff.refused("visit:publish", offer, "visit_not_live")
    await staff.ok("visit:start", ref)
    await viewer.refused("visit:publish", offer, "forbidden")
    await viewer.refused(
        "visit:watch",
        {**ref, "description": {"type": "answer", "sdp": "v=0\r\n"}},
        "invalid_payload",
    )


async def test_a_visit_whose_hub_node_stops_is_interrupted_until_a_host_restarts_it(redis_url):
    """The hub's node stops cleanly: the visit is interrupted (never left live), told
    to everyone on the other node; only hosts may start it again, there."""
    cluster = {"redis": redis_url, "heartbeat_interval": 0.5, "node_timeout": 2.0}
    hub_node = running_node(**cluster)
    node_a = await hub_node.__aenter__()
    stopped = False
    try:
        async with running_node(**cluster) as node_b:
            staff_a = await node_a.client("exhibitor", name="Gina Guide")
            started = await staff_a.ok("visit:start", {"visit_id": DEMO_VISIT})
            ref = {"visit_id": DEMO_VISIT}
            viewer = await node_b.client(name="Vic Viewer")
            await viewer.ok("visit:join", ref)
            staff_b = await node_b.client("exhibitor", name="Hanna Host")
            moderator = await node_b.client("moderator", name="Mo Mod")

            await hub_node.__aexit__(None, None, None)
            stopped = True
            told = await viewer.wait_for("visit:updated", lambda d: d["id"] == DEMO_VISIT)
            assert told["state"] == "interrupted" and told["reconnecting_until"] is None
            assert node_b.fair.visits.media.hubs == {}

            # viewers stay (chat, questions); nobody watches or publishes; hosts decide
            offer = {**ref, "description": {"type": "offer", "sdp": "v=0\r\n"}}
            await viewer.refused("visit:watch", offer, "visit_not_live")
            await staff_b.refused("visit:publish", offer, "visit_not_live")
            for outsider in (viewer, moderator):
                await outsider.refused("visit:start", ref, "forbidden")
                await outsider.refused("visit:end", ref, "forbidden")
            newcomer = await node_b.client(name="Nora Newcomer")
            assert (await newcomer.ok("visit:join", ref))["visit"]["state"] == "interrupted"
            await newcomer.ok("visit:ask", {**ref, "text": "Is it coming back?"})
            await staff_b.ok("visit:update", {**ref, "chapter": "Back in a minute"})
            states = [v["visit"]["state"] for v in await viewer.ok("visit:list")]
            assert "interrupted" in states
            assert states == sorted(states, key=["live", "interrupted", "scheduled", "ended"].index)

            # a host on node B restarts it: the new hub runs there
            restarted = await staff_b.ok("visit:start", ref)
            assert restarted["state"] == "live" and restarted["guide"]["id"] == staff_b.person["id"]
            assert restarted["started_at"] == started["started_at"]  # the same visit goes on
            assert set(node_b.fair.visits.media.hubs) == {DEMO_VISIT}
            await viewer.wait_for("visit:updated", lambda d: d["state"] == "live")

            # a node that only looked dead (a stalled heartbeat) and still held a session
            # for this hub is reaped: the visit, now elsewhere, stays live
            scope = names.visit_hub_scope("ghost", DEMO_VISIT)
            ghost = RedisEngine(
                redis_url, heartbeat_interval=0.2, node_timeout=0.6, node_id="ghost"
            )
            await ghost.start()
            try:
                await ghost.presence.add(scope, "hub", "demo", b"")
                await ghost.heartbeat.stop()
                engine = node_b.fair.engine
                await until(lambda: engine.presence.count(scope), equals=0)
            finally:
                await ghost.close()
            assert (await viewer.ok("visit:get", ref))["visit"]["state"] == "live"
            assert set(node_b.fair.visits.media.hubs) == {DEMO_VISIT}

            ended = await staff_b.ok("visit:end", ref)
            assert ended["state"] == "ended" and ended["end_reason"] == "host"
            assert node_b.fair.visits.media.hubs == {}
    finally:
        if not stopped:
            await hub_node.__aexit__(None, None, None)


async def test_an_interrupted_visit_can_be_ended(node):
    staff = await node.client("exhibitor")
    viewer = await node.client()
    ref = {"visit_id": DEMO_VISIT}
    await viewer.ok("visit:join", ref)
    await staff.ok("visit:start", ref)
    await node.fair.visits.media.shutdown()  # what the node does when it stops
    told = await viewer.wait_for("visit:updated", lambda d: d["state"] == "interrupted")
    assert told["id"] == DEMO_VISIT
    ended = await staff.ok("visit:end", ref)
    assert ended["state"] == "ended" and ended["end_reason"] == "host"
    await staff.refused("visit:start", ref, "visit_ended")


def test_hub_scopes_are_built_and_parsed_in_names():
    scope = names.visit_hub_scope("a1b2c3", "demo-v3")
    assert names.split(scope)[0] == names.VISIT_HUB
    assert names.visit_hub_of(scope) == ("a1b2c3", "demo-v3")


async def until(read, equals, within: float = 30.0) -> None:
    """Poll the coroutine function ``read`` until it returns ``equals``."""
    deadline = time.monotonic() + within
    while (value := await read()) != equals:
        assert time.monotonic() < deadline, f"still {value!r}, not {equals!r}, after {within}s"
        await asyncio.sleep(0.05)
