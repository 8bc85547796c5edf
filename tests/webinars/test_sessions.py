"""The webinar's session core on a live node: parts (moderators, interpreters), states,
configuration, the timer and the people in it."""

from __future__ import annotations

import time

import pytest
from core_support import OTHER_WEBINAR, WEBINAR, go_live, joined, moderator_of
from harness import eventually

from rooms import names
from server.app import SIO


def in_room(node, client, room: str) -> bool:
    """Whether the client's socket is in a Socket.IO room of the node."""
    members = node.app[SIO].manager.get_participants("/", room)
    return client.sio.get_sid() in {sid for sid, _ in members}


async def test_the_events_moderators_moderate_every_webinar_a_listed_person_only_theirs(node):
    organizer = await node.client("organizer")
    event_moderator = await node.client("moderator")
    listed = await moderator_of(node, organizer)  # a participant listed for demo-s1 only
    for session_id in (WEBINAR, OTHER_WEBINAR):
        view = await event_moderator.ok("webinar:get", {"session_id": session_id})
        assert view["role"] == "moderator"
        assert view["server_now"] == pytest.approx(time.time(), abs=5)
        await event_moderator.ok("webinar:set_timer", {"session_id": session_id, "minutes": 5})
    assert (await listed.ok("webinar:get", {"session_id": WEBINAR}))["role"] == "moderator"
    assert (await listed.ok("webinar:get", {"session_id": OTHER_WEBINAR}))["role"] == "audience"
    await listed.refused(
        "webinar:set_timer", {"session_id": OTHER_WEBINAR, "minutes": 5}, "forbidden"
    )


async def test_only_organizers_list_moderators_and_moderators_list_interpreters(node):
    organizer = await node.client("organizer")
    mod = await moderator_of(node, organizer)
    other = await node.client(name="Future Moderator")
    person = other.person["id"]
    # a session moderator may not make more moderators
    error = await mod.refused(
        "webinar:assign",
        {"session_id": WEBINAR, "person_id": person, "role": "moderator"},
        "forbidden",
    )
    assert "organizers" in error["message"]
    # but lists interpreters of their webinar, one language at a time
    data = await mod.ok(
        "webinar:assign",
        {"session_id": WEBINAR, "person_id": person, "role": "interpreter", "language": "de"},
    )
    assert data["interpreters"] == {"de": [person]}
    assert data["server_now"] == pytest.approx(time.time(), abs=5)
    # twice is once
    await mod.ok(
        "webinar:assign",
        {"session_id": WEBINAR, "person_id": person, "role": "interpreter", "language": "de"},
    )
    view = await other.ok("webinar:get", {"session_id": WEBINAR})
    assert view["role"] == "interpreter"
    assert view["webinar"]["interpreters"] == {"de": [person]}
    # not in a webinar they do not moderate
    await mod.refused(
        "webinar:assign",
        {"session_id": OTHER_WEBINAR, "person_id": person, "role": "interpreter", "language": "fr"},
        "forbidden",
    )
    # an interpreter needs a language, a moderator has none
    await mod.refused(
        "webinar:assign",
        {"session_id": WEBINAR, "person_id": person, "role": "interpreter"},
        "invalid_payload",
    )
    await organizer.refused(
        "webinar:assign",
        {"session_id": WEBINAR, "person_id": person, "role": "moderator", "language": "fr"},
        "invalid_payload",
    )
    await mod.refused(
        "webinar:assign",
        {"session_id": WEBINAR, "person_id": person, "role": "interpreter", "language": "it"},
        "invalid_payload",
    )
    await mod.ok(
        "webinar:unassign", {"session_id": WEBINAR, "person_id": person, "role": "interpreter"}
    )
    assert (await other.ok("webinar:get", {"session_id": WEBINAR}))["role"] == "audience"


async def test_assign_needs_a_person_of_the_event_who_was_not_removed(node):
    organizer = await node.client("organizer")
    for person_id in ("p-nobody", "bad id!"):
        reply = await organizer.call(
            "webinar:assign", {"session_id": WEBINAR, "person_id": person_id, "role": "moderator"}
        )
        assert reply["error"]["code"] in ("person_not_found", "invalid_payload")
    gone = await node.client(name="Removed Person")
    await organizer.ok("mod:remove", {"person_id": gone.person["id"]})
    await organizer.refused(
        "webinar:assign",
        {"session_id": WEBINAR, "person_id": gone.person["id"], "role": "moderator"},
        "person_not_found",
    )
    await organizer.refused(
        "webinar:assign",
        {"session_id": "demo-s3", "person_id": organizer.person["id"], "role": "moderator"},
        "not_a_webinar",
    )
    await organizer.refused(
        "webinar:assign",
        {"session_id": "s-none", "person_id": organizer.person["id"], "role": "moderator"},
        "session_not_found",
    )


async def test_a_person_assigned_while_in_the_webinar_moves_into_its_rooms_on_every_tab(node):
    organizer = await node.client("organizer")
    person = await node.client(name="Two Tabs")
    second = await node.client(connect=False)
    second.token, second.person = person.token, person.person
    await second.connect()
    for tab in (person, second):
        await joined(tab)
    await organizer.ok(
        "webinar:assign",
        {"session_id": WEBINAR, "person_id": person.person["id"], "role": "moderator"},
    )
    # the moderators' room: the hand queue reaches both tabs
    await joined(organizer)
    await go_live(organizer)
    raiser = await node.client(name="Raiser")
    await joined(raiser)
    await raiser.ok("webinar:raise_hand", {"session_id": WEBINAR})
    for tab in (person, second):
        await tab.wait_for("webinar:hand_queue", lambda q: q["count"] == 1)
        assert in_room(node, tab, names.session_backstage_room(WEBINAR))
    # unassigned: out of the room again
    await organizer.ok(
        "webinar:unassign",
        {"session_id": WEBINAR, "person_id": person.person["id"], "role": "moderator"},
    )
    mods_room = names.session_moderators_room(WEBINAR)
    await eventually(lambda: not in_room(node, person, mods_room))
    await eventually(lambda: not in_room(node, second, mods_room))
    person.pushes.clear()
    second.pushes.clear()
    other = await node.client(name="Second Raiser")
    await joined(other)
    await other.ok("webinar:raise_hand", {"session_id": WEBINAR})
    await organizer.wait_for("webinar:hand_queue", lambda q: q["count"] == 2)
    assert not person.received("webinar:hand_queue")
    assert not second.received("webinar:hand_queue")


async def test_states_move_one_way_and_record_their_times(node):
    organizer = await node.client("organizer")
    mod = await moderator_of(node, organizer)
    audience = await node.client(name="Audience")
    await joined(audience)
    await mod.refused(
        "webinar:set_state", {"session_id": WEBINAR, "state": "live"}, "webinar_state"
    )
    await mod.refused(
        "webinar:set_state", {"session_id": WEBINAR, "state": "scheduled"}, "webinar_state"
    )
    await mod.refused(
        "webinar:set_state", {"session_id": WEBINAR, "state": "paused"}, "invalid_payload"
    )
    backstage = await mod.ok("webinar:set_state", {"session_id": WEBINAR, "state": "backstage"})
    assert backstage["state"] == "backstage" and backstage["backstage_at"] is not None
    pushed = await audience.wait_for("webinar:updated", lambda w: w["state"] == "backstage")
    assert pushed["server_now"] >= pushed["backstage_at"]
    live = await mod.ok("webinar:set_state", {"session_id": WEBINAR, "state": "live"})
    assert live["live_at"] >= live["backstage_at"]
    await mod.refused(
        "webinar:set_state", {"session_id": WEBINAR, "state": "backstage"}, "webinar_state"
    )
    ended = await mod.ok("webinar:set_state", {"session_id": WEBINAR, "state": "ended"})
    assert ended["ended_at"] >= ended["live_at"]
    await mod.refused(
        "webinar:set_state", {"session_id": WEBINAR, "state": "ended"}, "webinar_state"
    )
    # nobody joins an ended webinar; others may not move someone else's webinar
    late = await node.client(name="Late")
    await late.refused("webinar:join", {"session_id": WEBINAR}, "webinar_ended")
    await mod.refused(
        "webinar:set_state", {"session_id": OTHER_WEBINAR, "state": "backstage"}, "forbidden"
    )
    await audience.refused(
        "webinar:set_state", {"session_id": OTHER_WEBINAR, "state": "backstage"}, "forbidden"
    )


async def test_a_scheduled_webinar_can_be_cancelled(node):
    organizer = await node.client("organizer")
    ended = await organizer.ok("webinar:set_state", {"session_id": WEBINAR, "state": "ended"})
    assert ended["state"] == "ended" and ended["live_at"] is None


async def test_ending_takes_speakers_off_stage_and_lowers_every_hand(node):
    organizer = await node.client("organizer")
    await joined(organizer)
    await go_live(organizer)
    speaker = await node.client(name="Speaker")
    await joined(speaker)
    await organizer.ok(
        "webinar:invite_speaker", {"session_id": WEBINAR, "person_id": speaker.person["id"]}
    )
    await speaker.ok("webinar:answer", {"session_id": WEBINAR, "accept": True})
    await organizer.ok(
        "webinar:stage",
        {"session_id": WEBINAR, "person_id": speaker.person["id"], "on_stage": True},
    )
    hands = [await node.client(name=f"Hand {i}") for i in range(3)]
    for hand in hands:
        await joined(hand)
        await hand.ok("webinar:raise_hand", {"session_id": WEBINAR})
    assert (await organizer.ok("webinar:hands", {"session_id": WEBINAR}))["count"] == 3
    ended = await organizer.ok("webinar:set_state", {"session_id": WEBINAR, "state": "ended"})
    assert not ended["speakers"][speaker.person["id"]]["on_stage"]
    assert (await organizer.ok("webinar:hands", {"session_id": WEBINAR}))["count"] == 0
    await organizer.wait_for("webinar:hand_queue", lambda q: q["count"] == 0)


async def test_configure_sets_capacity_and_premoderation_and_leaves_the_rest(node):
    organizer = await node.client("organizer")
    mod = await moderator_of(node, organizer)
    data = await mod.ok("webinar:configure", {"session_id": WEBINAR, "capacity": 30})
    assert data["capacity"] == 30 and data["qa_premoderated"] is False
    data = await mod.ok("webinar:configure", {"session_id": WEBINAR, "qa_premoderated": True})
    assert data["capacity"] == 30 and data["qa_premoderated"] is True
    data = await mod.ok("webinar:configure", {"session_id": WEBINAR, "capacity": None})
    assert data["capacity"] is None and data["qa_premoderated"] is True
    for bad in ({"capacity": -1}, {"capacity": "10"}, {"qa_premoderated": "yes"}, {"x": 1}):
        await mod.refused("webinar:configure", {"session_id": WEBINAR, **bad}, "invalid_payload")
    await mod.refused(
        "webinar:configure", {"session_id": OTHER_WEBINAR, "capacity": 3}, "forbidden"
    )


async def test_the_timer_everyone_sees_with_the_servers_clock(node):
    organizer = await node.client("organizer")
    mod = await moderator_of(node, organizer)
    audience = await node.client(name="Audience")
    await joined(audience)
    data = await mod.ok("webinar:set_timer", {"session_id": WEBINAR, "minutes": 10})
    assert data["timer_ends_at"] == pytest.approx(data["server_now"] + 600, abs=1)
    pushed = await audience.wait_for("webinar:updated", lambda w: w["timer_ends_at"])
    assert pushed["timer_ends_at"] - pushed["server_now"] == pytest.approx(600, abs=1)
    ends = time.time() + 90
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ends))
    data = await mod.ok("webinar:set_timer", {"session_id": WEBINAR, "ends_at": iso})
    assert data["timer_ends_at"] == pytest.approx(ends, abs=1)
    data = await mod.ok("webinar:set_timer", {"session_id": WEBINAR, "clear": True})
    assert data["timer_ends_at"] is None
    for bad in (
        {},
        {"minutes": 5, "clear": True},
        {"minutes": 601},
        {"minutes": -1},
        {"ends_at": "2020-01-01T00:00:00Z"},  # past
        {"ends_at": "2026-01-01T00:00:00"},  # no time zone
        {"ends_at": "tomorrow"},
    ):
        await mod.refused("webinar:set_timer", {"session_id": WEBINAR, **bad}, "invalid_payload")
    await audience.refused("webinar:set_timer", {"session_id": WEBINAR, "minutes": 5}, "forbidden")


async def test_people_in_the_webinar_for_moderators(node):
    organizer = await node.client("organizer")
    mod = await moderator_of(node, organizer)
    for name in ("Anna Berg", "Bruno Costa", "Carla Dias"):
        await joined(await node.client(name=name))
    await joined(mod)
    data = await mod.ok("webinar:people", {"session_id": WEBINAR, "limit": 2})
    assert data["count"] == 4
    assert [p["name"] for p in data["people"]] == ["Anna Berg", "Bruno Costa"]
    data = await mod.ok("webinar:people", {"session_id": WEBINAR, "q": "carla"})
    assert [p["name"] for p in data["people"]] == ["Carla Dias"]
    await mod.refused("webinar:people", {"session_id": WEBINAR, "limit": 0}, "invalid_payload")
    await mod.refused("webinar:people", {"session_id": OTHER_WEBINAR}, "forbidden")
