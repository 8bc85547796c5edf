"""rooms/catalog.py: the event's structure, who may change it, and what is pushed."""

from __future__ import annotations

import pytest
from domain import demo_fair, person

from rooms.errors import DomainError


async def refused(code: str, action) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await action
    assert caught.value.code == code, caught.value
    return caught.value


async def test_directory_filters_and_sorts():
    fair, _, _ = await demo_fair()
    everyone = await fair.catalog.list_booths("demo")
    assert [b.company for b in everyone] == sorted((b.company for b in everyone), key=str.casefold)
    logistics = await fair.catalog.list_booths("demo", sector="logistics")
    assert {b.id for b in logistics} == {"demo-b1", "demo-b2"}
    assert [b.id for b in await fair.catalog.list_booths("demo", country="de", sector="ICT")] == [
        "demo-b6"
    ]
    found = await fair.catalog.list_booths("demo", q="cold  CHAIN")  # every word, any case
    assert [b.id for b in found] == ["demo-b2"]
    assert await fair.catalog.list_booths("demo", hall_id="demo-hall-b", q="port") == []


async def test_organizers_edit_the_structure_and_clients_hear_of_booths():
    fair, outbox, _ = await demo_fair()
    org = await person(fair, "organizer")
    hall = await fair.catalog.create_hall(org, "demo", {"name": "Hall C"})
    booth = await fair.catalog.create_booth(
        org, "demo", {"hall_id": hall.id, "company": "Nordic Wind", "sector": "Energy",
                      "country": "NO"},
    )  # fmt: skip
    assert outbox.sent("booth:updated") == [("event:demo", outbox.sent("booth:updated")[0][1])]
    assert outbox.sent("booth:updated")[0][1]["company"] == "Nordic Wind"
    await refused("hall_not_empty", fair.catalog.delete_hall(org, "demo", hall.id))
    item = await fair.catalog.create_schedule_item(
        org, "demo", {"kind": "site_visit", "title": "Tour", "booth_id": booth.id,
                      "starts_at": "2026-12-01T10:00:00+01:00",
                      "ends_at": "2026-12-01T11:00:00+01:00"},
    )  # fmt: skip
    await refused("booth_in_use", fair.catalog.delete_booth(org, "demo", booth.id))
    await fair.catalog.delete_schedule_item(org, "demo", item.id)
    await fair.catalog.delete_booth(org, "demo", booth.id)
    assert outbox.sent("booth:deleted") == [("event:demo", {"id": booth.id})]
    await fair.catalog.delete_hall(org, "demo", hall.id)
    await refused("not_found", fair.catalog.hall("demo", hall.id))
    event = await fair.catalog.update_event(org, "demo", {"name": "Mission Québec"})
    assert event.name == "Mission Québec" and outbox.sent("event:updated")


async def test_times_and_references_are_checked():
    fair, _, _ = await demo_fair()
    org = await person(fair, "organizer")
    later, earlier = "2026-12-01T11:00:00+01:00", "2026-12-01T10:00:00+01:00"
    item = {"kind": "webinar", "title": "Q&A", "starts_at": later, "ends_at": earlier}
    error = await refused("invalid_payload", fair.catalog.create_schedule_item(org, "demo", item))
    assert "ends_at" in error.message
    item = {**item, "starts_at": earlier, "ends_at": later, "booth_id": "demo-b99"}
    await refused("booth_not_found", fair.catalog.create_schedule_item(org, "demo", item))
    await refused("not_found", fair.catalog.create_booth(
        org, "demo", {"hall_id": "nope", "company": "X", "sector": "S", "country": "FR"}
    ))  # fmt: skip
    await refused("invalid_payload", fair.catalog.update_hall(
        org, "demo", "demo-hall-a", {"event_id": "elsewhere"}
    ))  # fmt: skip


async def test_staff_edit_their_booth_profile_but_not_the_floor_plan():
    fair, _, _ = await demo_fair()
    staff = await person(fair, "exhibitor")  # staff of demo-b3
    booth = await fair.catalog.update_booth(staff, "demo", "demo-b3", {"description": "New"})
    assert booth.description == "New"
    await refused("invalid_payload", fair.catalog.update_booth(
        staff, "demo", "demo-b3", {"hall_id": "demo-hall-b"}
    ))  # fmt: skip
    await refused("forbidden", fair.catalog.update_booth(staff, "demo", "demo-b1", {"description": "x"}))  # fmt: skip
    for role in ("participant", "moderator", "exhibitor"):
        someone = await person(fair, role)
        await refused("forbidden", fair.catalog.create_hall(someone, "demo", {"name": "Mine"}))
    org = await person(fair, "organizer")
    moved = await fair.catalog.update_booth(org, "demo", "demo-b3", {"hall_id": "demo-hall-b"})
    assert moved.hall_id == "demo-hall-b" and moved.description == "New"
