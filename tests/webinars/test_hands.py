"""The hand queue on one node: raising, lowering, the moderators' queue, promotion to
the stage; and the coalesced queue pushes."""

from __future__ import annotations

import asyncio

from core_support import OTHER_WEBINAR, WEBINAR, go_live, joined, moderator_of


async def test_raise_lower_and_the_queue_in_order(node):
    organizer = await node.client("organizer")
    mod = await moderator_of(node, organizer)
    await joined(mod)
    people = [await node.client(name=f"Hand {i}") for i in range(3)]
    for person in people:
        await joined(person)
    # only while live
    await people[0].refused("webinar:raise_hand", {"session_id": WEBINAR}, "webinar_state")
    await go_live(mod)
    outsider = await node.client(name="Not joined")
    await outsider.refused("webinar:raise_hand", {"session_id": WEBINAR}, "not_in_webinar")
    mine = [await p.ok("webinar:raise_hand", {"session_id": WEBINAR}) for p in people]
    assert [m["position"] for m in mine] == [1, 2, 3]
    assert mine[0]["raised"] and mine[0]["seq"] < mine[1]["seq"] < mine[2]["seq"]
    assert (await people[0].wait_for("webinar:hand"))["raised"] is True
    # twice is once, in its first place
    again = await people[0].ok("webinar:raise_hand", {"session_id": WEBINAR})
    assert again["seq"] == mine[0]["seq"]
    queue = await mod.ok("webinar:hands", {"session_id": WEBINAR})
    assert queue["count"] == 3
    assert [h["person"]["id"] for h in queue["hands"]] == [p.person["id"] for p in people]
    assert all(h["waiting"] >= 0 for h in queue["hands"])
    assert queue["server_now"] >= queue["hands"][-1]["raised_at"]
    # your own hand; a moderator's for anyone; the audience not someone else's
    await people[1].ok("webinar:lower_hand", {"session_id": WEBINAR})
    await people[1].ok("webinar:lower_hand", {"session_id": WEBINAR})  # no error when down
    await people[0].refused(
        "webinar:lower_hand",
        {"session_id": WEBINAR, "person_id": people[2].person["id"]},
        "forbidden",
    )
    await mod.ok("webinar:lower_hand", {"session_id": WEBINAR, "person_id": people[2].person["id"]})
    assert (await people[2].wait_for("webinar:hand", lambda h: not h["raised"]))["raised"] is False
    queue = await mod.ok("webinar:hands", {"session_id": WEBINAR})
    assert [h["person"]["id"] for h in queue["hands"]] == [people[0].person["id"]]
    await mod.wait_for("webinar:hand_queue", lambda q: q["count"] == 1)
    # the audience does not see the queue
    await people[0].refused("webinar:hands", {"session_id": WEBINAR}, "forbidden")
    await mod.refused("webinar:hands", {"session_id": OTHER_WEBINAR}, "forbidden")
    await people[0].refused("webinar:raise_hand", {"session_id": "x y"}, "invalid_payload")
    await people[0].refused(
        "webinar:lower_hand", {"session_id": WEBINAR, "person_id": 3}, "invalid_payload"
    )


async def test_a_raised_hand_invited_goes_on_stage_as_it_accepts(node):
    organizer = await node.client("organizer")
    mod = await moderator_of(node, organizer)
    await joined(mod)
    await go_live(mod)
    hand = await node.client(name="Hannah Hand")
    hid = hand.person["id"]
    await joined(hand)
    await mod.refused(
        "webinar:invite_hand", {"session_id": WEBINAR, "person_id": hid}, "hand_not_raised"
    )
    await hand.ok("webinar:raise_hand", {"session_id": WEBINAR})
    data = await mod.ok("webinar:invite_hand", {"session_id": WEBINAR, "person_id": hid})
    assert data["speakers"][hid]["from_hand"] is True
    assert (await hand.wait_for("webinar:invited"))["from_hand"] is True
    data = await hand.ok("webinar:answer", {"session_id": WEBINAR, "accept": True})
    assert data["speakers"][hid]["state"] == "accepted"
    assert data["speakers"][hid]["on_stage"] is True
    assert (await mod.ok("webinar:hands", {"session_id": WEBINAR}))["count"] == 0
    await hand.wait_for("webinar:hand", lambda h: not h["raised"])
    # sent back to the audience
    await mod.ok("webinar:remove_speaker", {"session_id": WEBINAR, "person_id": hid})
    assert (await hand.ok("webinar:get", {"session_id": WEBINAR}))["role"] == "audience"
    await mod.refused(
        "webinar:invite_hand", {"session_id": OTHER_WEBINAR, "person_id": hid}, "forbidden"
    )


async def test_a_burst_of_hands_reaches_moderators_as_few_pushes(node):
    organizer = await node.client("organizer")
    await joined(organizer)
    await go_live(organizer)
    people = [await node.client(name=f"Burst {i}") for i in range(30)]
    for person in people:
        await joined(person)
    organizer.pushes.clear()
    await asyncio.gather(*(p.ok("webinar:raise_hand", {"session_id": WEBINAR}) for p in people))
    last = await organizer.wait_for("webinar:hand_queue", lambda q: q["count"] == 30)
    assert len({h["person"]["id"] for h in last["hands"]}) == 30
    pushes = organizer.received("webinar:hand_queue")
    # one at once, then at most one per interval (0.5 s): far fewer than 30
    assert len(pushes) <= 5, [q["count"] for q in pushes]
    # the audience never gets the queue
    assert not any(p.received("webinar:hand_queue") for p in people)
