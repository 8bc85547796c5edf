"""Video calls over the protocol: knocks, admission, capacity (also raced across two
nodes on one Redis), signalling only between members, moderation, TURN credentials,
and members of a crashed node being cleaned up."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time

from harness import Client, eventually, running_node

from server.app import FAIR

BOOTH = "booth:demo-b3"  # the demo's exhibitor invite staffs demo-b3
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "abcd",
}


def sid_of(client: Client) -> str:
    return client.sio.get_sid()


async def group(host: Client, capacity: int = 6, title: str = "Round table") -> str:
    call = await host.ok("call:create", {"kind": "group", "title": title, "capacity": capacity})
    return call["id"]


async def test_booth_call_knock_admit_and_decline(any_node):
    staff = await any_node.client("exhibitor", name="Eva Staff")
    visitor = await any_node.client(name="Vera Visitor")
    other = await any_node.client(name="Otto Other")
    await staff.ok("booth:enter", {"booth_id": "demo-b3"})  # staff see the queue while inside

    await visitor.refused("call:join", {"call_id": BOOTH}, "not_admitted")
    assert await visitor.ok("call:knock", {"call_id": BOOTH}) == {
        "call_id": BOOTH, "state": "waiting", "position": 1,
    }  # fmt: skip
    queue = await staff.wait_for("call:knocks", lambda d: len(d["knocks"]) == 1)
    assert queue["call_id"] == BOOTH
    assert queue["knocks"][0]["person"]["name"] == "Vera Visitor"
    assert (await other.ok("call:knock", {"call_id": BOOTH}))["position"] == 2
    await staff.wait_for("call:knocks", lambda d: len(d["knocks"]) == 2)
    view = await staff.ok("call:get", {"call_id": BOOTH})
    assert view["standing"] == "host" and view["call"]["kind"] == "booth"
    assert [k["person"]["name"] for k in view["knocks"]] == ["Vera Visitor", "Otto Other"]
    visitor_view = await visitor.ok("call:get", {"call_id": BOOTH})
    assert visitor_view["standing"] == "knock" and visitor_view["knocking"] is True
    assert "members" not in visitor_view and "knocks" not in visitor_view

    # only the booth's staff decide
    await other.refused(
        "call:admit", {"call_id": BOOTH, "person_id": other.person["id"]}, "forbidden"
    )
    await staff.ok("call:decline", {"call_id": BOOTH, "person_id": other.person["id"]})
    assert await other.wait_for("call:declined") == {"call_id": BOOTH}
    await staff.refused(
        "call:decline", {"call_id": BOOTH, "person_id": other.person["id"]}, "knock_not_found"
    )
    await other.refused("call:join", {"call_id": BOOTH}, "not_admitted")

    joined = await staff.ok("call:join", {"call_id": BOOTH})
    assert joined["members"] == [] and joined["host"] is True
    assert joined["sid"] == sid_of(staff)
    assert joined["ice_servers"] == [] and joined["expires_at"] is None  # offline default
    await staff.ok("call:admit", {"call_id": BOOTH, "person_id": visitor.person["id"]})
    admitted = await visitor.wait_for("call:admitted")
    assert admitted["call_id"] == BOOTH and admitted["by"]["name"] == "Eva Staff"
    await staff.wait_for("call:knocks", lambda d: d["knocks"] == [])

    reply = await visitor.ok("call:join", {"call_id": BOOTH})
    assert [(m["sid"], m["person"]["name"]) for m in reply["members"]] == [
        (sid_of(staff), "Eva Staff")
    ]
    arrived = await staff.wait_for("call:joined")
    assert arrived["member"]["sid"] == sid_of(visitor)
    assert arrived["member"]["person"]["id"] == visitor.person["id"]

    await visitor.ok("call:leave", {"call_id": BOOTH})
    left = await staff.wait_for("call:left")
    assert left == {"call_id": BOOTH, "sid": sid_of(visitor), "reason": "left"}
    await visitor.refused("call:leave", {"call_id": BOOTH}, "not_in_call")
    await visitor.refused("call:join", {"call_id": BOOTH}, "not_admitted")  # knock again

    # knocks are for booths only; a knock disappears with its socket
    room = await group(await any_node.client("moderator"))
    await visitor.refused("call:knock", {"call_id": room}, "not_knockable")
    await visitor.refused("call:knock", {"call_id": "booth:demo-b99"}, "booth_not_found")
    await visitor.refused("call:knock", {"call_id": "c-nothing"}, "call_not_found")
    await visitor.ok("call:knock", {"call_id": BOOTH})
    await staff.wait_for("call:knocks", lambda d: len(d["knocks"]) == 1)
    seen = len(staff.received("call:knocks"))
    await visitor.close()
    await eventually(lambda: staff.received("call:knocks")[seen:])
    assert staff.received("call:knocks")[-1]["knocks"] == []


async def test_signalling_is_relayed_only_between_members(any_node):
    host = await any_node.client("moderator", name="Mia Host")
    guest = await any_node.client(name="Gus Guest")
    outsider = await any_node.client(name="Olga Outsider")
    room = await group(host, capacity=3)
    await host.ok("call:join", {"call_id": room})
    await guest.ok("call:join", {"call_id": room})
    host_sid, guest_sid, outsider_sid = sid_of(host), sid_of(guest), sid_of(outsider)

    assert await guest.ok(
        "call:signal", {"call_id": room, "to": host_sid, "description": OFFER}
    ) is None  # fmt: skip
    got = await host.wait_for("call:signalled")
    assert got == {
        "call_id": room, "from": guest_sid, "person_id": guest.person["id"], "description": OFFER,
    }  # fmt: skip
    answer = {"type": "answer", "sdp": OFFER["sdp"]}
    await host.ok("call:signal", {"call_id": room, "to": guest_sid, "description": answer})
    await guest.ok("call:signal", {"call_id": room, "to": host_sid, "candidates": [CANDIDATE]})
    got = await host.wait_for("call:signalled", lambda d: "candidates" in d)
    assert got["candidates"] == [CANDIDATE]
    assert (await guest.wait_for("call:signalled"))["description"] == answer
    # an ICE restart (after a network change) is just a new offer: relayed the same way
    restart = {"type": "offer", "sdp": OFFER["sdp"] + "a=ice-ufrag:new1\r\n"}
    await guest.ok("call:signal", {"call_id": room, "to": host_sid, "description": restart})
    await host.wait_for("call:signalled", lambda d: d.get("description") == restart)

    # nobody outside the call is reachable, and outsiders cannot signal in
    await guest.refused(
        "call:signal", {"call_id": room, "to": outsider_sid, "description": OFFER}, "not_in_room"
    )
    await outsider.refused(
        "call:signal", {"call_id": room, "to": host_sid, "description": OFFER}, "not_in_call"
    )
    for bad in (
        {"call_id": room, "to": host_sid},  # neither
        {"call_id": room, "to": host_sid, "description": OFFER, "candidates": [CANDIDATE]},
        {"call_id": room, "to": guest_sid, "description": OFFER},  # yourself
        {"call_id": room, "to": host_sid, "description": {"type": "bogus", "sdp": ""}},
        {"call_id": room, "to": host_sid, "description": {"type": "offer", "sdp": "x" * 70_000}},
        {"call_id": room, "to": host_sid, "candidates": []},
        {"call_id": room, "to": host_sid, "candidates": [{**CANDIDATE, "evil": 1}]},
        {"call_id": room, "to": "no spaces allowed", "description": OFFER},
        {"call_id": "booth:../../x", "to": host_sid, "description": OFFER},
    ):
        await guest.refused("call:signal", bad, "invalid_payload")
    assert not outsider.received("call:signalled")

    # leaving or disconnecting tells the others; then nobody can signal to that sid
    await guest.close()
    left = await host.wait_for("call:left")
    assert left == {"call_id": room, "sid": guest_sid, "reason": "disconnected"}
    await host.refused(
        "call:signal", {"call_id": room, "to": guest_sid, "description": OFFER}, "not_in_room"
    )


async def test_capacity_race_across_two_nodes_on_one_redis(redis_url):
    async with running_node(redis=redis_url) as a, running_node(redis=redis_url) as b:
        host = await a.client("moderator")
        for round_ in range(3):
            room = await group(host, capacity=2, title=f"Table {round_}")
            await host.ok("call:join", {"call_id": room})
            left_node, right_node = await a.client(), await b.client()
            replies = await asyncio.gather(
                left_node.call("call:join", {"call_id": room}),
                right_node.call("call:join", {"call_id": room}),
            )
            assert sorted(r["ok"] for r in replies) == [False, True], replies
            loser = next(r for r in replies if not r["ok"])
            assert loser["error"]["code"] == "room_full"
            members = (await host.ok("call:get", {"call_id": room}))["members"]
            assert len(members) == 2
        # a seat that frees up on one node can be taken from the other
        winner, waiting = (left_node, right_node) if replies[0]["ok"] else (right_node, left_node)
        await winner.ok("call:leave", {"call_id": room})
        await waiting.ok("call:join", {"call_id": room})
        # and signalling crosses nodes too
        await waiting.ok("call:signal", {"call_id": room, "to": sid_of(host), "description": OFFER})
        relayed = await host.wait_for("call:signalled")
        assert relayed["from"] == sid_of(waiting)


async def test_mute_remove_and_readmit(any_node):
    host = await any_node.client("moderator", name="Mia Host")
    member = await any_node.client(name="Max Member")
    other_mod = await any_node.client("moderator", name="Mo Other")
    room = await group(host)
    for client in (host, member, other_mod):
        await client.ok("call:join", {"call_id": room})

    await member.refused(
        "call:mute", {"call_id": room, "person_id": host.person["id"]}, "forbidden"
    )
    await host.ok("call:mute", {"call_id": room, "person_id": member.person["id"]})
    asked = await member.wait_for("call:mute_requested")
    assert asked["media"] == "audio" and asked["by"]["name"] == "Mia Host"

    await host.refused(
        "call:remove", {"call_id": room, "person_id": host.person["id"]}, "forbidden_self"
    )
    await host.refused(
        "call:remove", {"call_id": room, "person_id": other_mod.person["id"]}, "forbidden"
    )
    await host.ok(
        "call:remove", {"call_id": room, "person_id": member.person["id"], "reason": "noise"}
    )
    assert await member.wait_for("call:removed") == {"call_id": room, "reason": "noise"}
    left = await host.wait_for("call:left")
    assert left["sid"] == sid_of(member) and left["reason"] == "removed"
    await other_mod.wait_for("call:left")
    await member.refused(
        "call:signal", {"call_id": room, "to": sid_of(host), "description": OFFER}, "not_in_call"
    )
    await member.refused("call:join", {"call_id": room}, "removed_from_call")
    await host.refused(
        "call:mute", {"call_id": room, "person_id": member.person["id"]}, "not_in_room"
    )
    removed = (await host.ok("call:get", {"call_id": room}))["removed"]
    assert [p["id"] for p in removed] == [member.person["id"]]
    # a new tab does not get around it
    tab = Client(any_node.base_url, member.token)
    any_node.clients.append(tab)
    await tab.connect()
    await tab.refused("call:join", {"call_id": room}, "removed_from_call")

    await other_mod.ok("call:admit", {"call_id": room, "person_id": member.person["id"]})
    await member.wait_for("call:admitted")
    assert (await host.ok("call:get", {"call_id": room}))["removed"] == []
    await tab.ok("call:join", {"call_id": room})
    # joining from a second tab replaces the first tab's place (one seat per person)
    await member.ok("call:join", {"call_id": room})
    assert await tab.wait_for("call:ended") == {"call_id": room, "reason": "replaced"}
    replaced = await host.wait_for("call:left", lambda d: d["sid"] == sid_of(tab))
    assert replaced["reason"] == "replaced"

    # at a booth: a removed visitor may not knock, until the staff readmit them
    staff = await any_node.client("exhibitor")
    visitor = await any_node.client()
    await staff.ok("call:admit", {"call_id": BOOTH, "person_id": visitor.person["id"]})
    await visitor.ok("call:join", {"call_id": BOOTH})
    await staff.ok("call:remove", {"call_id": BOOTH, "person_id": visitor.person["id"]})
    await visitor.refused("call:knock", {"call_id": BOOTH}, "removed_from_call")
    await visitor.refused("call:join", {"call_id": BOOTH}, "removed_from_call")
    await staff.ok("call:admit", {"call_id": BOOTH, "person_id": visitor.person["id"]})
    await visitor.ok("call:join", {"call_id": BOOTH})


async def test_meetings_are_for_invited_people_and_groups_for_moderators(node):
    alice = await node.client(name="Alice")
    bob = await node.client(name="Bob")
    carol = await node.client(name="Carol")
    meeting = await alice.ok(
        "call:create", {"kind": "meeting", "title": "Export deal", "invitees": [bob.person["id"]]}
    )
    assert meeting["capacity"] == 2 and meeting["kind"] == "meeting"
    assert meeting["invited"] == [alice.person["id"], bob.person["id"]]
    invited = await bob.wait_for("call:invited")
    assert invited["call"]["id"] == meeting["id"] and invited["by"]["name"] == "Alice"
    ref = {"call_id": meeting["id"]}
    await carol.refused("call:join", ref, "forbidden")
    await carol.refused("call:get", ref, "forbidden")
    await bob.ok("call:join", ref)
    await alice.ok("call:join", ref)
    assert [c["call"]["id"] for c in await bob.ok("call:list")] == [meeting["id"]]
    assert (await bob.ok("call:list"))[0]["members"] == 2
    assert await carol.ok("call:list") == []

    await alice.refused("call:create", {"kind": "group", "title": "Mine"}, "forbidden")
    for bad in (
        {"kind": "meeting", "invitees": []},
        {"kind": "meeting", "invitees": [alice.person["id"]]},
        {"kind": "meeting", "invitees": [bob.person["id"]], "capacity": 5},
        {"kind": "webinar", "invitees": [bob.person["id"]]},
    ):
        await alice.refused("call:create", bad, "invalid_payload")
    await alice.refused(
        "call:create", {"kind": "meeting", "invitees": ["p-nobody"]}, "person_not_found"
    )
    mod = await node.client("moderator")
    await mod.refused("call:create", {"kind": "group", "title": "  "}, "invalid_payload")
    await mod.refused(
        "call:create", {"kind": "group", "title": "Big", "capacity": 9}, "invalid_payload"
    )
    room = await mod.ok("call:create", {"kind": "group", "title": "Space & health"})
    assert room["capacity"] == 6  # the default
    assert (await carol.wait_for("call:created"))["id"] == room["id"]

    await bob.refused("call:end", ref, "forbidden")
    await alice.ok("call:end", ref)
    assert await bob.wait_for("call:ended") == {"call_id": meeting["id"], "reason": "closed"}
    await bob.refused("call:join", ref, "call_not_found")
    await mod.ok("call:end", {"call_id": room["id"]})
    await carol.wait_for("call:ended", lambda d: d["call_id"] == room["id"])
    await mod.refused("call:end", {"call_id": BOOTH}, "forbidden")


async def test_turn_credentials_are_minted_per_person_with_an_expiry():
    secret, ttl = "coturn-static-auth-secret", 600
    settings = {
        "stun_urls": ["stun:stun.fair.example:3478"],
        "turn_urls": ["turn:turn.fair.example:3478?transport=udp", "turns:turn.fair.example:5349"],
        "turn_secret": secret,
        "turn_ttl": ttl,
    }
    async with running_node(**settings) as node:
        mod = await node.client("moderator")
        room = await group(mod)
        before = time.time()
        reply = await mod.ok("call:join", {"call_id": room})
        stun, turn = reply["ice_servers"]
        assert stun == {"urls": ["stun:stun.fair.example:3478"]}
        assert turn["urls"] == settings["turn_urls"]
        expiry, _, person_id = turn["username"].partition(":")
        assert person_id == mod.person["id"]
        assert before + ttl - 1 <= int(expiry) <= time.time() + ttl
        assert reply["expires_at"] == int(expiry)
        digest = hmac.new(secret.encode(), turn["username"].encode(), hashlib.sha1).digest()
        assert turn["credential"] == base64.b64encode(digest).decode()
        assert secret not in str(reply)
        # fresh credentials on demand (before an ICE restart), for whoever asks
        other = await node.client()
        fresh = await other.ok("call:ice")
        assert fresh["ice_servers"][1]["username"].endswith(":" + other.person["id"])


async def test_members_and_knocks_of_a_crashed_node_are_cleaned_up(redis_url):
    fast = {"redis": redis_url, "heartbeat_interval": 0.2, "node_timeout": 0.8}
    async with running_node(**fast) as a, running_node(**fast) as b:
        host = await a.client("moderator")
        staff = await a.client("exhibitor")
        await staff.ok("booth:enter", {"booth_id": "demo-b3"})
        room = await group(host, capacity=2)
        await host.ok("call:join", {"call_id": room})
        doomed = await b.client()
        await doomed.ok("call:join", {"call_id": room})
        knocker = await b.client()
        await knocker.ok("call:knock", {"call_id": BOOTH})
        await staff.wait_for("call:knocks", lambda d: len(d["knocks"]) == 1)
        doomed_sid = sid_of(doomed)

        # node b stops beating (as if it crashed); a reaps its sessions
        await b.app[FAIR].engine.heartbeat.stop()
        left = await host.wait_for("call:left")
        assert left == {"call_id": room, "sid": doomed_sid, "reason": "disconnected"}
        await staff.wait_for("call:knocks", lambda d: d["knocks"] == [])
        late = await a.client()
        await late.ok("call:join", {"call_id": room})  # the seat is free again
