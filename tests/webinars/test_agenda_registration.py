"""Registration with a capacity and a waiting list, the agenda, and the reminder."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from core_support import OTHER_WEBINAR, WEBINAR, moderator_of
from harness import running_node


async def test_capacity_waiting_list_and_promotion(node):
    organizer = await node.client("organizer")
    mod = await moderator_of(node, organizer)
    await mod.ok("webinar:configure", {"session_id": WEBINAR, "capacity": 2})
    people = [await node.client(name=f"Reg {i}") for i in range(4)]
    mine = [await p.ok("webinar:register", {"session_id": WEBINAR}) for p in people]
    assert [(m["status"], m["position"]) for m in mine] == [
        ("registered", None), ("registered", None), ("waitlisted", 1), ("waitlisted", 2),
    ]  # fmt: skip
    # twice is once
    assert (await people[3].ok("webinar:register", {"session_id": WEBINAR}))["position"] == 2
    listed = await mod.ok("webinar:registrations", {"session_id": WEBINAR})
    assert listed["capacity"] == 2
    assert [r["person"]["name"] for r in listed["registered"]] == ["Reg 0", "Reg 1"]
    assert [(r["person"]["name"], r["position"]) for r in listed["waitlisted"]] == [
        ("Reg 2", 1), ("Reg 3", 2),
    ]  # fmt: skip
    # a seat comes free: the first waiting moves up and is told
    assert (await people[0].ok("webinar:unregister", {"session_id": WEBINAR}))["status"] == "none"
    promoted = await people[2].wait_for("webinar:registration")
    assert promoted == {"session_id": WEBINAR, "status": "registered", "position": None}
    assert not people[3].received("webinar:registration")
    agenda = await people[3].ok("webinar:agenda")
    assert [(a["session"]["id"], a["status"], a["position"]) for a in agenda] == [
        (WEBINAR, "waitlisted", 1)
    ]
    # more seats: the waiting list moves up
    await mod.ok("webinar:configure", {"session_id": WEBINAR, "capacity": 10})
    await people[3].wait_for("webinar:registration")
    listed = await mod.ok("webinar:registrations", {"session_id": WEBINAR})
    assert len(listed["registered"]) == 3 and listed["waitlisted"] == []
    # unregistering twice is fine; the audience may not read the list
    await people[0].ok("webinar:unregister", {"session_id": WEBINAR})
    await people[0].refused("webinar:registrations", {"session_id": WEBINAR}, "forbidden")
    await mod.refused("webinar:registrations", {"session_id": OTHER_WEBINAR}, "forbidden")
    await people[0].refused("webinar:register", {"session_id": "demo-s3"}, "not_a_webinar")
    await people[0].refused("webinar:register", {"session_id": ""}, "invalid_payload")
    await people[0].refused("webinar:agenda", {"x": 1}, "invalid_payload")


async def test_the_agenda_lists_every_webinar_by_start(node):
    person = await node.client(name="Agenda")
    for session_id in (OTHER_WEBINAR, WEBINAR):
        await person.ok("webinar:register", {"session_id": session_id})
    agenda = await person.ok("webinar:agenda")
    assert [a["session"]["id"] for a in agenda] == [WEBINAR, OTHER_WEBINAR]  # 9:00, 11:00
    assert {a["state"] for a in agenda} == {"scheduled"}
    assert {a["status"] for a in agenda} == {"registered"}
    await person.ok("webinar:unregister", {"session_id": WEBINAR})
    assert [a["session"]["id"] for a in await person.ok("webinar:agenda")] == [OTHER_WEBINAR]


async def soon_webinar(node, organizer, in_seconds: float) -> str:
    starts = datetime.now(UTC) + timedelta(seconds=in_seconds)
    item = {
        "kind": "webinar",
        "title": "Rappel : démarrage imminent",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(minutes=30)).isoformat(),
    }
    status, made = await node.request(
        "POST", "/api/events/demo/schedule", organizer.token, json=item
    )
    assert status == 201, made
    return made["id"]


async def test_registered_people_are_reminded_once_before_the_start():
    async with running_node(webinar_reminder_lead=3, webinar_reminder_interval=0.1) as node:
        organizer = await node.client("organizer")
        session_id = await soon_webinar(node, organizer, 60)  # not due yet
        registered = await node.client(name="Registered")
        await registered.ok("webinar:register", {"session_id": session_id})
        bystander = await node.client(name="Bystander")
        later = await soon_webinar(node, organizer, 600)
        await registered.ok("webinar:register", {"session_id": later})
        soon = {"starts_at": (datetime.now(UTC) + timedelta(seconds=2)).isoformat()}
        status, _ = await node.request(
            "PATCH", f"/api/events/demo/schedule/{later}", organizer.token, json=soon
        )
        assert status == 200  # moved: due now (the lead is 3 s)
        reminder = await registered.wait_for("webinar:reminder")
        assert reminder["session_id"] == later and reminder["event_id"] == "demo"
        assert reminder["title"] == "Rappel : démarrage imminent"
        starts = datetime.fromisoformat(reminder["starts_at"]).timestamp()
        assert 0 < starts - reminder["server_now"] <= 3
        # a few more scans: still one, and none for the webinar that is not due
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            await registered.ok("webinar:agenda")
        assert len(registered.received("webinar:reminder")) == 1
        assert not bystander.received("webinar:reminder")
