"""The event's structure: event, halls, booths, schedule (organizers edit it)."""

from __future__ import annotations

from typing import Any

import msgspec

from rooms import errors, names
from rooms.context import Services
from rooms.edits import BoothChange, EventChange, HallChange, ScheduleItemChange
from rooms.ids import new_id
from rooms.models import Booth, Event, Hall, Person, ScheduleItem
from rooms.patching import build, patch
from rooms.permissions import BOOTH_STAFF, Perm, allows, require
from rooms.store import Collection

EVENT_FIELDS = set(EventChange.__struct_fields__)
HALL_FIELDS = set(HallChange.__struct_fields__)
BOOTH_FIELDS = set(BoothChange.__struct_fields__)
BOOTH_PROFILE_FIELDS = BOOTH_FIELDS - {"hall_id"}  # staff edit the profile, not the floor plan
SCHEDULE_FIELDS = set(ScheduleItemChange.__struct_fields__)


def _matches(booth: Booth, q: str, sector: str, country: str, hall_id: str) -> bool:
    if sector and booth.sector.casefold() != sector.casefold():
        return False
    if country and booth.country != country.upper():
        return False
    if hall_id and booth.hall_id != hall_id:
        return False
    if q:
        needle = q.casefold()
        haystack = f"{booth.company} {booth.sector} {booth.description}".casefold()
        return all(word in haystack for word in needle.split())
    return True


class Catalog:
    def __init__(self, services: Services) -> None:
        self.engine = services.engine
        self.outbox = services.outbox
        self.events = Collection(self.engine, "events", Event)

    def halls(self, event_id: str) -> Collection[Hall]:
        return Collection(self.engine, f"ev:{event_id}:halls", Hall)

    def booths(self, event_id: str) -> Collection[Booth]:
        return Collection(self.engine, f"ev:{event_id}:booths", Booth)

    def schedule(self, event_id: str) -> Collection[ScheduleItem]:
        return Collection(self.engine, f"ev:{event_id}:schedule", ScheduleItem)

    # reads -------------------------------------------------------------
    async def event(self, event_id: str) -> Event:
        event = await self.events.get(event_id)
        if event is None:
            raise errors.NOT_FOUND("event not found")
        return event

    async def hall(self, event_id: str, hall_id: str) -> Hall:
        hall = await self.halls(event_id).get(hall_id)
        if hall is None:
            raise errors.NOT_FOUND("hall not found")
        return hall

    async def booth(self, event_id: str, booth_id: str) -> Booth:
        booth = await self.booths(event_id).get(booth_id)
        if booth is None:
            raise errors.BOOTH_NOT_FOUND()
        return booth

    async def schedule_item(self, event_id: str, item_id: str) -> ScheduleItem:
        item = await self.schedule(event_id).get(item_id)
        if item is None:
            raise errors.SESSION_NOT_FOUND()
        return item

    async def list_halls(self, event_id: str) -> list[Hall]:
        return sorted(await self.halls(event_id).all(), key=lambda h: (h.position, h.name))

    async def list_booths(
        self, event_id: str, q: str = "", sector: str = "", country: str = "", hall_id: str = ""
    ) -> list[Booth]:
        booths = await self.booths(event_id).all()
        found = [b for b in booths if _matches(b, q.strip(), sector, country, hall_id)]
        return sorted(found, key=lambda b: b.company.casefold())

    async def list_schedule(self, event_id: str) -> list[ScheduleItem]:
        return sorted(await self.schedule(event_id).all(), key=lambda s: (s.starts_at, s.title))

    # writes (organizers; booth staff for their booth's profile) ----------
    async def create_event(self, data: Any) -> Event:
        event = build(Event, data, EVENT_FIELDS, id=new_id("ev-"))
        self._check_times(event.starts_at, event.ends_at)
        await self.events.put(event.id, event)
        return event

    async def update_event(self, actor: Person, event_id: str, data: Any) -> Event:
        require(actor, Perm.EVENT_EDIT)
        event = patch(await self.event(event_id), data, EVENT_FIELDS)
        self._check_times(event.starts_at, event.ends_at)
        await self.events.put(event.id, event)
        await self.outbox.emit(names.event_room(event_id), "event:updated", event)
        return event

    async def create_hall(self, actor: Person, event_id: str, data: Any) -> Hall:
        require(actor, Perm.EVENT_EDIT)
        hall = build(Hall, data, HALL_FIELDS, id=new_id("hall-"), event_id=event_id)
        await self.halls(event_id).put(hall.id, hall)
        return hall

    async def update_hall(self, actor: Person, event_id: str, hall_id: str, data: Any) -> Hall:
        require(actor, Perm.EVENT_EDIT)
        hall = patch(await self.hall(event_id, hall_id), data, HALL_FIELDS)
        await self.halls(event_id).put(hall.id, hall)
        return hall

    async def delete_hall(self, actor: Person, event_id: str, hall_id: str) -> None:
        require(actor, Perm.EVENT_EDIT)
        await self.hall(event_id, hall_id)
        if await self.list_booths(event_id, hall_id=hall_id):
            raise errors.HALL_NOT_EMPTY()
        await self.halls(event_id).delete(hall_id)

    async def create_booth(self, actor: Person, event_id: str, data: Any) -> Booth:
        require(actor, Perm.EVENT_EDIT)
        booth = build(Booth, data, BOOTH_FIELDS, id=new_id("booth-"), event_id=event_id)
        await self.hall(event_id, booth.hall_id)
        await self.booths(event_id).put(booth.id, booth)
        await self.outbox.emit(names.event_room(event_id), "booth:updated", booth)
        return booth

    async def update_booth(self, actor: Person, event_id: str, booth_id: str, data: Any) -> Booth:
        require(
            actor,
            Perm.BOOTH_EDIT,
            (BOOTH_STAFF, booth_id),
            message="only this booth's staff or an organizer may edit it",
        )
        # staff edit the profile; the floor plan (its hall) needs event.edit
        fields = BOOTH_FIELDS if allows(actor, Perm.EVENT_EDIT) else BOOTH_PROFILE_FIELDS
        booth = patch(await self.booth(event_id, booth_id), data, fields)
        await self.hall(event_id, booth.hall_id)
        await self.booths(event_id).put(booth.id, booth)
        await self.outbox.emit(names.event_room(event_id), "booth:updated", booth)
        return booth

    async def delete_booth(self, actor: Person, event_id: str, booth_id: str) -> None:
        require(actor, Perm.EVENT_EDIT)
        await self.booth(event_id, booth_id)
        if any(item.booth_id == booth_id for item in await self.schedule(event_id).all()):
            raise errors.BOOTH_IN_USE()
        await self.booths(event_id).delete(booth_id)
        await self.outbox.emit(names.event_room(event_id), "booth:deleted", {"id": booth_id})

    async def create_schedule_item(self, actor: Person, event_id: str, data: Any) -> ScheduleItem:
        require(actor, Perm.EVENT_EDIT)
        item = build(ScheduleItem, data, SCHEDULE_FIELDS, id=new_id("s-"), event_id=event_id)
        await self._check_item(item)
        await self.schedule(event_id).put(item.id, item)
        return item

    async def update_schedule_item(
        self, actor: Person, event_id: str, item_id: str, data: Any
    ) -> ScheduleItem:
        require(actor, Perm.EVENT_EDIT)
        item = patch(await self.schedule_item(event_id, item_id), data, SCHEDULE_FIELDS)
        await self._check_item(item)
        await self.schedule(event_id).put(item.id, item)
        return item

    async def delete_schedule_item(self, actor: Person, event_id: str, item_id: str) -> None:
        require(actor, Perm.EVENT_EDIT)
        await self.schedule_item(event_id, item_id)
        await self.schedule(event_id).delete(item_id)

    async def _check_item(self, item: ScheduleItem) -> None:
        self._check_times(item.starts_at, item.ends_at)
        if item.booth_id is not None:
            await self.booth(item.event_id, item.booth_id)
        if item.hall_id is not None:
            await self.hall(item.event_id, item.hall_id)

    @staticmethod
    def _check_times(starts_at, ends_at) -> None:
        if starts_at is not None and ends_at is not None and ends_at <= starts_at:
            raise errors.INVALID_PAYLOAD("ends_at must be after starts_at")


def to_wire(value: Any) -> Any:
    """Plain JSON-able builtins for records and lists of records."""
    return msgspec.to_builtins(value)
