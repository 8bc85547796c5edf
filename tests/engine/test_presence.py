"""Contract of PresenceStore (rooms/engine/presence.py), on every engine.

Reaping the sessions of a crashed node, and restoring a node's own after its
heartbeat lapsed, are in test_cluster.py.
"""

from __future__ import annotations

import asyncio

from rooms.engine import Engine, PresenceStore


async def test_presence_sessions(presence: PresenceStore) -> None:
    assert await presence.add("hall", "s1", "alice", b"a1") is True
    assert await presence.add("hall", "s2", "alice", b"a2") is False  # second tab
    assert await presence.add("hall", "s1", "alice", b"dup") is False  # same sid
    assert await presence.add("hall", "s3", "bob", b"b") is True
    assert await presence.add("booth", "s1", "alice", b"x") is True  # other scope
    # The latest session's info wins.
    assert await presence.members("hall") == {"alice": b"a2", "bob": b"b"}

    assert await presence.remove("hall", "s1") is None  # alice still has s2
    assert await presence.remove("hall", "s2") == "alice"
    assert await presence.remove("hall", "s2") is None
    assert await presence.remove("hall", "unknown") is None
    assert await presence.remove("nowhere", "s1") is None
    assert await presence.members("hall") == {"bob": b"b"}
    assert await presence.members("booth") == {"alice": b"x"}
    assert await presence.members("nowhere") == {}
    assert await presence.count("hall") == 1 and await presence.count("nowhere") == 0
    assert await presence.add("hall", "s4", "alice", b"back") is True


async def test_presence_add_capped(presence: PresenceStore) -> None:
    assert await presence.add_capped("room", "s1", "alice", b"a", 2) == "joined"
    assert await presence.add_capped("room", "s1", "alice", b"dup", 2) == "present"
    assert await presence.add_capped("room", "s2", "bob", b"b", 2) == "joined"
    assert await presence.add_capped("room", "s3", "carol", b"c", 2) == "full"
    # a member's second session needs no seat, even when the room is full
    assert await presence.add_capped("room", "s4", "alice", b"a2", 2) == "present"
    assert await presence.members("room") == {"alice": b"a2", "bob": b"b"}
    assert await presence.remove("room", "s3") is None  # carol never got in
    assert await presence.remove("room", "s2") == "bob"  # a seat frees up
    assert await presence.add_capped("room", "s3", "carol", b"c", 2) == "joined"
    # the cap counts every member of the scope, however they were added
    assert await presence.add("room", "s5", "dave", b"d") is True
    assert await presence.add_capped("room", "s6", "erin", b"e", 3) == "full"
    assert await presence.add_capped("other", "s6", "erin", b"e", 1) == "joined"
    assert await presence.add_capped("closed", "s7", "frank", b"f", 0) == "full"
    assert await presence.members("closed") == {}


async def test_presence_add_capped_race_for_the_last_seats(engine: Engine, peer: Engine) -> None:
    nodes = [engine.presence, peer.presence]  # on Redis two nodes race each other
    await engine.presence.add_capped("room", "s-host", "host", b"", 3)
    results = await asyncio.gather(
        *(nodes[i % 2].add_capped("room", f"s{i}", f"m{i}", b"", 3) for i in range(20))
    )
    assert results.count("joined") == 2 and results.count("full") == 18
    assert len(await engine.presence.members("room")) == 3


async def test_reap_without_dead_nodes(presence: PresenceStore) -> None:
    await presence.add("hall", "s1", "alice", b"")
    assert await presence.reap_dead_nodes() == []
    assert await presence.members("hall") == {"alice": b""}


async def test_count_is_distinct_members_not_sessions(presence: PresenceStore) -> None:
    async def check(scope: str, expected: int) -> None:
        assert await presence.count(scope) == expected
        assert len(await presence.members(scope)) == expected

    await check("hall", 0)
    for sid, member in [("s1", "alice"), ("s2", "alice"), ("s3", "alice"), ("s4", "bob")]:
        await presence.add("hall", sid, member, b"\x00\xff")
    await presence.add("booth", "s5", "carol", b"")
    await check("hall", 2)
    await check("booth", 1)
    await presence.remove("hall", "s1")
    await presence.remove("hall", "s2")
    await check("hall", 2)  # alice still has s3
    await presence.remove("hall", "s3")
    await check("hall", 1)
    assert await presence.members("hall") == {"bob": b"\x00\xff"}


async def test_joined_and_left_are_cluster_wide(engine: Engine, peer: Engine) -> None:
    # One person with a tab on each node: joined once, left once.
    assert await engine.presence.add("hall", "s1", "alice", b"a") is True
    assert await peer.presence.add("hall", "s2", "alice", b"a") is False
    assert await engine.presence.remove("hall", "s1") is None
    assert await peer.presence.members("hall") == {"alice": b"a"}
    assert await peer.presence.remove("hall", "s2") == "alice"
    assert await engine.presence.count("hall") == 0


async def test_any_node_can_remove_a_session(engine: Engine, peer: Engine) -> None:
    # e.g. a host closing a call removes members connected to other nodes
    await peer.presence.add("call", "s1", "s1", b"")
    assert await engine.presence.remove("call", "s1") == "s1"
    assert await peer.presence.remove("call", "s1") is None
    assert await peer.presence.members("call") == {}


async def test_concurrent_sessions_of_one_member_join_and_leave_once(
    engine: Engine, peer: Engine
) -> None:
    nodes = [engine.presence, peer.presence]
    joined = await asyncio.gather(
        *(nodes[i % 2].add("hall", f"s{i}", "alice", b"") for i in range(20))
    )
    assert joined.count(True) == 1
    left = await asyncio.gather(*(nodes[i % 2].remove("hall", f"s{i}") for i in range(20)))
    assert left.count("alice") == 1 and left.count(None) == 19
    assert await engine.presence.count("hall") == 0


async def test_concurrent_sessions_of_one_member_take_one_seat(
    engine: Engine, peer: Engine
) -> None:
    nodes = [engine.presence, peer.presence]
    results = await asyncio.gather(
        *(nodes[i % 2].add_capped("call", f"s{i}", "alice", b"", 1) for i in range(20))
    )
    assert results.count("joined") == 1 and results.count("present") == 19
    assert await engine.presence.add_capped("call", "s-bob", "bob", b"", 1) == "full"


async def test_remove_sessions_forgets_a_socket_everywhere(presence: PresenceStore) -> None:
    # what an area did not remove on disconnect, the last sweep does
    await presence.add("hall", "s1", "alice", b"a")
    await presence.add("hall", "s2", "alice", b"a")  # alice's other tab stays
    await presence.add("booth", "s1", "alice", b"a")
    await presence.add("call", "s1", "s1", b"")
    await presence.add("hall", "s3", "bob", b"b")
    assert await presence.remove("booth", "s1") == "alice"  # the area's own removal
    assert sorted(await presence.remove_sessions("s1")) == [("call", "s1")]
    assert await presence.members("hall") == {"alice": b"a", "bob": b"b"}
    assert await presence.members("call") == {}
    assert await presence.remove_sessions("s1") == []
    assert await presence.remove_sessions("never-seen") == []
    assert sorted(await presence.remove_sessions("s2")) == [("hall", "alice")]


async def test_nothing_to_restore_without_a_lapse(presence: PresenceStore) -> None:
    await presence.add("hall", "s1", "alice", b"a")
    assert await presence.restore_lapsed() == []
    assert await presence.members("hall") == {"alice": b"a"}
