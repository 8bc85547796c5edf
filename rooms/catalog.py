"""The event's structure: event, halls, booths, schedule (organizers edit it)."""

from __future__ import annotations

from typing import Any

import msgspec

from rooms.context import Outbox
from rooms.engine import Engine
from rooms.errors import DomainError, InvalidInput, NotFound
from rooms.ids import new_id
from rooms.models import Booth, Event, Hall, Person, ScheduleItem
from rooms.patching import build, patch
from rooms.permissions import require_booth_editor, require_organizer
from rooms.store import Collection

EVENT_FIELDS = {"name", "description", "starts_at", "ends_at", "languages", "sectors"}
HALL_FIELDS = {"name", "description", "position"}
BOOTH_FIELDS = {"hall_id", "company", "sector", "country", "description", "links"}
BOOTH_PROFILE_FIELDS = BOOTH_FIELDS - {"hall_id"}  # staff edit the profile, not the floor plan
SCHEDULE_FIELDS = {
    "kind", "title", "starts_at", "ends_at", "language", "description", "booth_id", "hall_id",
}  # fmt: skip


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
    def __init__(self, engine: Engine, outbox: Outbox) -> None:
        self.engine = engine
        self.outbox = outbox
        self.events = Collection(engine, "events", Event)

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
            raise NotFound("event")
        return event

    async def hall(self, event_id: str, hall_id: str) -> Hall:
        hall = await self.halls(event_id).get(hall_id)
        if hall is None:
            raise NotFound("hall")
        return hall

    async def booth(self, event_id: str, booth_id: str) -> Booth:
        booth = await self.booths(event_id).get(booth_id)
        if booth is None:
            raise NotFound("booth", code="booth_not_found")
        return booth

    async def schedule_item(self, event_id: str, item_id: str) -> ScheduleItem:
        item = await self.schedule(event_id).get(item_id)
        if item is None:
            raise NotFound("session", code="session_not_found")
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
        require_organizer(actor)
        event = patch(await self.event(event_id), data, EVENT_FIELDS)
        self._check_times(event.starts_at, event.ends_at)
        await self.events.put(event.id, event)
        await self.outbox.emit(f"event:{event_id}", "event:updated", event)
        return event

    async def create_hall(self, actor: Person, event_id: str, data: Any) -> Hall:
        require_organizer(actor)
        hall = build(Hall, data, HALL_FIELDS, id=new_id("hall-"), event_id=event_id)
        await self.halls(event_id).put(hall.id, hall)
        return hall

    async def update_hall(self, actor: Person, event_id: str, hall_id: str, data: Any) -> Hall:
        require_organizer(actor)
        hall = patch(await self.hall(event_id, hall_id), data, HALL_FIELDS)
        await self.halls(event_id).put(hall.id, hall)
        return hall

    async def delete_hall(self, actor: Person, event_id: str, hall_id: str) -> None:
        require_organizer(actor)
        await self.hall(event_id, hall_id)
        if await self.list_booths(event_id, hall_id=hall_id):
            raise DomainError("hall_not_empty", "move or delete the hall's booths first", 409)
        await self.halls(event_id).delete(hall_id)

    async def create_booth(self, actor: Person, event_id: str, data: Any) -> Booth:
        require_organizer(actor)
        booth = build(Booth, data, BOOTH_FIELDS, id=new_id("booth-"), event_id=event_id)
        await self.hall(event_id, booth.hall_id)
        await self.booths(event_id).put(booth.id, booth)
        await self.outbox.emit(f"event:{event_id}", "booth:updated", booth)
        return booth

    async def update_booth(self, actor: Person, event_id: str, booth_id: str, data: Any) -> Booth:
        require_booth_editor(actor, booth_id)
        fields = BOOTH_FIELDS if actor.role == "organizer" else BOOTH_PROFILE_FIELDS
        booth = patch(await self.booth(event_id, booth_id), data, fields)
        await self.hall(event_id, booth.hall_id)
        await self.booths(event_id).put(booth.id, booth)
        await self.outbox.emit(f"event:{event_id}", "booth:updated", booth)
        return booth

    async def delete_booth(self, actor: Person, event_id: str, booth_id: str) -> None:
        require_organizer(actor)
        await self.booth(event_id, booth_id)
        if any(item.booth_id == booth_id for item in await self.schedule(event_id).all()):
            raise DomainError("booth_in_use", "the schedule still refers to this booth", 409)
        await self.booths(event_id).delete(booth_id)
        await self.outbox.emit(f"event:{event_id}", "booth:deleted", {"id": booth_id})

    async def create_schedule_item(self, actor: Person, event_id: str, data: Any) -> ScheduleItem:
        require_organizer(actor)
        item = build(ScheduleItem, data, SCHEDULE_FIELDS, id=new_id("s-"), event_id=event_id)
        await self._check_item(item)
        await self.schedule(event_id).put(item.id, item)
        return item

    async def update_schedule_item(
        self, actor: Person, event_id: str, item_id: str, data: Any
    ) -> ScheduleItem:
        require_organizer(actor)
        item = patch(await self.schedule_item(event_id, item_id), data, SCHEDULE_FIELDS)
        await self._check_item(item)
        await self.schedule(event_id).put(item.id, item)
        return item

    async def delete_schedule_item(self, actor: Person, event_id: str, item_id: str) -> None:
        require_organizer(actor)
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
            raise InvalidInput("ends_at must be after starts_at")


def to_wire(value: Any) -> Any:
    """Plain JSON-able builtins for records and lists of records."""
    return msgspec.to_builtins(value)
