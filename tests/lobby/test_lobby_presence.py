"""Who is online in the lobby and who is in a booth, updated live."""

import asyncio

from harness import Client, eventually


async def test_lobby_presence_is_live_and_counts_people_not_tabs(any_node):
    alice = await any_node.client(name="Alice")
    bob = await any_node.client(name="Bob")
    scope, card = await alice.wait_joined(lambda s, c: c["name"] == "Bob")
    assert scope == "event:demo"
    assert card == {
        "id": bob.person["id"], "name": "Bob", "company": "ACME SA", "country": "FR",
        "sector": "ICT", "role": "participant",
    }  # fmt: skip
    online = await alice.ok("lobby:online")
    assert {p["name"] for p in online} == {"Alice", "Bob"}

    bob_tab2 = Client(any_node.base_url, bob.token)
    any_node.clients.append(bob_tab2)
    await bob_tab2.connect()
    await bob.close()  # one tab closed, the other still open: Bob stays online
    await connections(any_node, 2)  # the node has handled the close
    # a barrier instead of a sleep: notices of one scope go out in order (coalesced per
    # interval), so once Alice hears of Carol, a wrong "Bob left" would have come too
    await any_node.client(name="Carol")
    await alice.wait_joined(lambda s, c: c["name"] == "Carol")
    assert not alice.left()
    assert len(alice.joined(lambda s, c: c["name"] == "Bob")) == 1
    await bob_tab2.close()
    assert await alice.wait_left(lambda s, pid: True) == ("event:demo", bob.person["id"])
    assert [p["name"] for p in await alice.ok("lobby:online")] == ["Alice", "Carol"]


async def connections(node, count: int, within: float = 5.0) -> None:
    """Wait until the node counts ``count`` open connections (its /metrics)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        _, text = await node.request("GET", "/metrics")
        if f"fairhall_connections {count}.0" in text.decode():
            return
        assert asyncio.get_running_loop().time() < deadline, f"not {count} connections"
        await asyncio.sleep(0.02)


async def test_booth_presence_follows_enter_leave_move_and_disconnect(any_node):
    staff = await any_node.client("exhibitor", name="Staff")
    visitor = await any_node.client(name="Visitor")
    await staff.ok("booth:enter", {"booth_id": "demo-b3"})
    view = await visitor.ok("booth:enter", {"booth_id": "demo-b3"})
    assert {p["name"] for p in view["present"]} == {"Staff", "Visitor"}
    assert view["booth"]["company"] == "EcoTherm Solutions"
    await staff.wait_joined(lambda s, c: s == "booth:demo-b3" and c["name"] == "Visitor")
    # moving to another booth leaves the first
    await visitor.ok("booth:enter", {"booth_id": "demo-b1"})
    await staff.wait_left(lambda s, pid: s == "booth:demo-b3")
    assert [
        p["name"] for p in (await staff.ok("booth:get", {"booth_id": "demo-b3"}))["present"]
    ] == ["Staff"]
    # leaving the booth (not the event)
    await staff.ok("booth:leave")
    assert (await visitor.ok("booth:get", {"booth_id": "demo-b3"}))["present"] == []
    assert {p["name"] for p in await visitor.ok("lobby:online")} == {"Staff", "Visitor"}
    # a disconnect clears the booth too
    await visitor.close()
    await staff.wait_left(lambda s, pid: s == "event:demo")
    assert (await staff.ok("booth:get", {"booth_id": "demo-b1"}))["present"] == []


async def test_directory_search_and_filters(node):
    p = await node.client()
    everything = await p.ok("lobby:directory")
    assert len(everything) == 8
    assert {b["company"] for b in await p.ok("lobby:directory", {"sector": "logistics"})} == {
        "Rhône Freight Logistics", "Hafenlogistik Bremen",
    }  # fmt: skip
    assert [
        b["country"] for b in await p.ok("lobby:directory", {"sector": "ICT", "country": "DE"})
    ] == ["DE"]
    assert [b["company"] for b in await p.ok("lobby:directory", {"q": "heat recovery"})] == [
        "EcoTherm Solutions"
    ]
    assert await p.ok("lobby:directory", {"q": "nothing like this"}) == []
    hall_b = await p.ok("lobby:directory", {"hall_id": "demo-hall-b"})
    assert len(hall_b) == 4


async def test_a_crowd_arriving_at_once_is_announced_in_few_coalesced_notices():
    from harness import running_node

    async with running_node(presence_interval=0.5) as node:
        watcher = await node.client(name="Watcher")
        crowd = [await node.client(name=f"Guest {i}") for i in range(12)]
        await eventually(
            lambda: len(watcher.joined(lambda s, c: c["name"].startswith("Guest"))) == 12
        )
        notices = watcher.received("presence:changed")
        assert len(notices) < 12  # coalesced, not one broadcast per arrival
        for guest in crowd[:5]:
            await guest.close()
        await eventually(lambda: len(watcher.left()) == 5)
        assert {pid for _, pid in watcher.left()} == {g.person["id"] for g in crowd[:5]}


async def test_a_lobby_beyond_the_detail_limit_gets_counts_and_a_searchable_list():
    from harness import running_node

    async with running_node(presence_detail_limit=3, presence_interval=0.2) as node:
        watcher = await node.client(name="Watcher")
        await node.client(name="Ana Lopez")
        await watcher.wait_joined(lambda s, c: c["name"] == "Ana Lopez")
        small = watcher.received("presence:changed")[-1]
        assert small["partial"] is False and small["count"] == 2
        for name in ("Bernd Ott", "Chloe Roy", "Dario Fo"):
            await node.client(name=name)
        crowd = await watcher.wait_for("presence:changed", lambda d: d["count"] == 5)
        assert crowd["partial"] is True and crowd["joined"] == [] and crowd["left"] == []
        state = await watcher.ok("lobby:state")
        assert state["online_count"] == 5 and len(state["online"]) == 3
        assert [p["name"] for p in await watcher.ok("lobby:online", {"q": "chloe"})] == [
            "Chloe Roy"
        ]
        assert len(await watcher.ok("lobby:online", {"limit": 2})) == 2
