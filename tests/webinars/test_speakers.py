"""Speakers: invited, accepting, on and off the stage, muted, removed."""

from __future__ import annotations

from core_support import OTHER_WEBINAR, WEBINAR, go_live, joined, moderator_of
from harness import eventually

from rooms import names
from server.app import SIO


def in_room(node, client, room: str) -> bool:
    members = node.app[SIO].manager.get_participants("/", room)
    return client.sio.get_sid() in {sid for sid, _ in members}


async def test_invite_accept_stage_mute_and_remove(node):
    organizer = await node.client("organizer")
    mod = await moderator_of(node, organizer)
    await joined(mod)
    speaker = await node.client(name="Sofia Speaker")
    sid = speaker.person["id"]
    await joined(speaker)
    audience = await node.client(name="Audience")
    await joined(audience)

    data = await mod.ok("webinar:invite_speaker", {"session_id": WEBINAR, "person_id": sid})
    assert data["speakers"][sid]["state"] == "invited"
    invited = await speaker.wait_for("webinar:invited")
    assert invited["session_id"] == WEBINAR and invited["from_hand"] is False
    assert invited["title"] and invited["server_now"] > 0
    assert not audience.received("webinar:invited")
    # only the invitee answers, and only an open invitation
    await audience.refused(
        "webinar:answer", {"session_id": WEBINAR, "accept": True}, "no_invitation"
    )
    # not on stage before accepting
    await mod.refused(
        "webinar:stage",
        {"session_id": WEBINAR, "person_id": sid, "on_stage": True},
        "speaker_not_found",
    )
    data = await speaker.ok("webinar:answer", {"session_id": WEBINAR, "accept": True})
    assert data["speakers"][sid]["state"] == "accepted"
    assert data["speakers"][sid]["on_stage"] is False
    await speaker.refused(
        "webinar:answer", {"session_id": WEBINAR, "accept": True}, "no_invitation"
    )
    backstage = names.session_backstage_room(WEBINAR)
    await eventually(lambda: in_room(node, speaker, backstage))
    assert not in_room(node, audience, backstage)
    assert (await speaker.ok("webinar:get", {"session_id": WEBINAR}))["role"] == "speaker"

    # the stage opens with the backstage
    await mod.refused(
        "webinar:stage",
        {"session_id": WEBINAR, "person_id": sid, "on_stage": True},
        "webinar_state",
    )
    await go_live(mod)
    data = await mod.ok(
        "webinar:stage", {"session_id": WEBINAR, "person_id": sid, "on_stage": True}
    )
    assert data["speakers"][sid]["on_stage"] is True
    await audience.wait_for("webinar:updated", lambda w: w["speakers"][sid]["on_stage"])
    data = await mod.ok("webinar:mute", {"session_id": WEBINAR, "person_id": sid, "muted": True})
    assert data["speakers"][sid]["muted"] is True
    # the audience may neither mute nor stage anybody
    await audience.refused(
        "webinar:mute", {"session_id": WEBINAR, "person_id": sid, "muted": False}, "forbidden"
    )
    await audience.refused(
        "webinar:stage",
        {"session_id": WEBINAR, "person_id": sid, "on_stage": False},
        "forbidden",
    )
    # a speaker steps off the stage themselves, but cannot step on
    data = await speaker.ok(
        "webinar:stage", {"session_id": WEBINAR, "person_id": sid, "on_stage": False}
    )
    assert data["speakers"][sid]["on_stage"] is False
    await speaker.refused(
        "webinar:stage",
        {"session_id": WEBINAR, "person_id": sid, "on_stage": True},
        "forbidden",
    )
    # removed: audience again, out of the backstage
    data = await mod.ok("webinar:remove_speaker", {"session_id": WEBINAR, "person_id": sid})
    assert sid not in data["speakers"]
    await eventually(lambda: not in_room(node, speaker, backstage))
    assert (await speaker.ok("webinar:get", {"session_id": WEBINAR}))["role"] == "audience"
    await mod.refused(
        "webinar:remove_speaker", {"session_id": WEBINAR, "person_id": sid}, "speaker_not_found"
    )
    await mod.refused(
        "webinar:mute",
        {"session_id": WEBINAR, "person_id": sid, "muted": True},
        "speaker_not_found",
    )


async def test_a_declined_invitation_and_a_new_one(node):
    organizer = await node.client("organizer")
    guest = await node.client(name="Guest")
    gid = guest.person["id"]
    await organizer.ok("webinar:invite_speaker", {"session_id": WEBINAR, "person_id": gid})
    data = await guest.ok("webinar:answer", {"session_id": WEBINAR, "accept": False})
    assert data["speakers"][gid]["state"] == "declined"
    await organizer.ok("webinar:invite_speaker", {"session_id": WEBINAR, "person_id": gid})
    data = await guest.ok("webinar:answer", {"session_id": WEBINAR, "accept": True})
    assert data["speakers"][gid]["state"] == "accepted"
    await organizer.refused(
        "webinar:invite_speaker", {"session_id": WEBINAR, "person_id": gid}, "webinar_state"
    )


async def test_speaker_commands_refuse_bad_input_and_other_peoples_webinars(node):
    organizer = await node.client("organizer")
    mod = await moderator_of(node, organizer)
    pid = mod.person["id"]
    for name, payload in [
        ("webinar:invite_speaker", {"session_id": OTHER_WEBINAR, "person_id": pid}),
        ("webinar:mute", {"session_id": OTHER_WEBINAR, "person_id": pid, "muted": True}),
        ("webinar:remove_speaker", {"session_id": OTHER_WEBINAR, "person_id": pid}),
    ]:
        await mod.refused(name, payload, "forbidden")
    for name, payload in [
        ("webinar:invite_speaker", {"session_id": WEBINAR}),
        ("webinar:invite_speaker", {"session_id": WEBINAR, "person_id": "../x"}),
        ("webinar:answer", {"session_id": WEBINAR, "accept": "yes"}),
        ("webinar:stage", {"session_id": WEBINAR, "person_id": pid}),
        ("webinar:mute", {"session_id": WEBINAR, "person_id": pid, "muted": 1}),
        ("webinar:remove_speaker", {"session_id": WEBINAR, "person_id": pid, "why": "x"}),
    ]:
        await mod.refused(name, payload, "invalid_payload")
    await mod.refused(
        "webinar:invite_speaker", {"session_id": WEBINAR, "person_id": "p-nobody"},
        "person_not_found",
    )  # fmt: skip
    await organizer.ok("webinar:set_state", {"session_id": WEBINAR, "state": "ended"})
    await mod.refused(
        "webinar:invite_speaker", {"session_id": WEBINAR, "person_id": pid}, "webinar_ended"
    )
