"""Cross-node pushes are numbered: a node that misses one tells its clients to resync,
and a client that resyncs from its cursor ends with every message exactly once."""

from __future__ import annotations

import pytest
from browser_pages import join, unique
from harness import eventually, running_node

from server.app import FAIR

try:
    from playwright.async_api import expect
except ImportError:  # the browser fixtures skip (or fail on CI) before expect is needed
    expect = None


def id_order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq)


@pytest.fixture
async def two_nodes(redis_url):
    fast = {"redis": redis_url, "fanout_tick_interval": 0.2}
    async with running_node(**fast) as a, running_node(**fast) as b:
        yield a, b


async def test_a_lost_publish_makes_the_other_nodes_clients_resync(two_nodes):
    a, b = two_nodes
    alice = await a.client(name="Alice")
    bob = await b.client(name="Bob")
    first = await alice.ok("chat:send", {"channel": "lobby", "text": "one"})
    assert (await bob.wait_for("chat:message"))["id"] == first["id"]
    assert not bob.received("socket:resync")

    # node A's next publish to the others is lost (as in a Redis blip)
    pubsub = a.app[FAIR].engine.pubsub
    original = pubsub.publish

    async def fails_once(channel, payload):
        pubsub.publish = original
        raise ConnectionError("Redis went away")

    pubsub.publish = fails_once
    lost = await alice.ok("chat:send", {"channel": "lobby", "text": "two"})
    # a message from Bob's own node arrives before the miss is noticed: the hole now
    # lies before Bob's newest message, so "since my newest" would not fill it
    carol = await b.client(name="Carol")
    local = await carol.ok("chat:send", {"channel": "lobby", "text": "three"})
    await bob.wait_for("chat:message", lambda m: m["id"] == local["id"])
    resync = await bob.wait_for("socket:resync")  # within a tick, without new traffic
    assert resync["reason"] == "missed_pushes"
    assert not bob.received("chat:message", lambda m: m["id"] == lost["id"])
    # the catch-up from the resync's cursor, merged by id, has everything once, in order
    have = {m["id"]: m["text"] for m in bob.received("chat:message")}
    caught = await bob.ok("chat:history", {"channel": "lobby", "since": resync["since"]})
    have |= {m["id"]: m["text"] for m in caught["messages"]}
    assert [have[i] for i in sorted(have, key=id_order)] == ["one", "two", "three"]
    assert not alice.received("socket:resync")  # nothing was missed on node A
    _, metrics = await b.request("GET", "/metrics")
    assert "fairhall_fanout_gaps_total 1.0" in metrics.decode()


async def test_no_resync_while_nothing_is_missed(two_nodes):
    a, b = two_nodes
    alice = await a.client(name="Alice")
    bob = await b.client(name="Bob")
    for n in range(50):
        await alice.ok("chat:send", {"channel": "lobby", "text": f"m{n}"})
    await eventually(lambda: len(bob.received("chat:message")) == 50)
    texts = [m["text"] for m in bob.received("chat:message")]
    assert texts == [f"m{n}" for n in range(50)]  # in order, once each
    ticks = b.app[FAIR].outbox.sio.manager.seen  # the tick from A has come and gone
    await eventually(lambda: ticks, within=2)
    assert not bob.received("socket:resync")


async def test_a_browser_catches_up_on_what_its_node_missed(two_nodes, new_page):
    """The browser client on socket:resync: the lobby chat shows the missed message
    (once), without a reload and without losing its connection."""
    a, b = two_nodes
    alice = await a.client(name="Alice")
    page = await new_page()
    await join(
        page, f"{b.base_url}/join/{b.invites['participant']}", unique("Bea"),
        company="Bea GmbH", country="DE", sector="Logistics",
    )  # fmt: skip
    log = page.get_by_test_id("view-lobby").get_by_test_id("chat-messages")
    await alice.ok("chat:send", {"channel": "lobby", "text": "before the blip"})
    await expect(log.get_by_text("before the blip", exact=True)).to_have_count(1)
    pubsub = a.app[FAIR].engine.pubsub
    original = pubsub.publish

    async def fails_once(channel, payload):
        pubsub.publish = original
        raise ConnectionError("Redis went away")

    pubsub.publish = fails_once
    await alice.ok("chat:send", {"channel": "lobby", "text": "during the blip"})
    carol = await b.client(name="Carol")  # on the browser's node: it arrives at once
    await carol.ok("chat:send", {"channel": "lobby", "text": "after the blip"})
    await expect(log.get_by_text("during the blip", exact=True)).to_have_count(1)
    await expect(log.get_by_text("after the blip", exact=True)).to_have_count(1)
    texts = await log.get_by_test_id("chat-message").all_inner_texts()
    order = [t for t in ("before", "during", "after") for x in texts if f"{t} the blip" in x]
    assert order == ["before", "during", "after"]  # once each, the missed one in its place
