"""What organizers (and booth staff) send to create and change the event's structure.

Typed bodies of the HTTP API: a create takes every required field, a change only the
fields it sets (``UNSET`` means "leave as is", ``null`` clears an optional field).
Unknown fields are refused. The catalog then checks which fields the sender's role
may set and re-validates the whole record.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from rooms.models import (
    AwareDatetime,
    Country,
    Id,
    Language,
    Link,
    LongText,
    Name,
    ScheduleKind,
    Sector,
)  # fmt: skip

Languages = Annotated[list[Language], Meta(min_length=1, max_length=3)]
Sectors = Annotated[list[Sector], Meta(max_length=100)]
Links = Annotated[list[Link], Meta(max_length=10)]
Position = Annotated[int, Meta(ge=0, le=10_000)]


class Body(Struct, forbid_unknown_fields=True, kw_only=True):
    pass


def given(body: Body) -> dict[str, Any]:
    """The fields a body sets, as plain JSON-able values."""
    return {
        name: msgspec.to_builtins(value)
        for name in body.__struct_fields__
        if (value := getattr(body, name)) is not UNSET
    }


class EventNew(Body):
    name: Name
    description: LongText = ""
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    languages: Languages | UnsetType = UNSET
    sectors: Sectors | UnsetType = UNSET


class EventChange(Body):
    name: Name | UnsetType = UNSET
    description: LongText | UnsetType = UNSET
    starts_at: AwareDatetime | UnsetType | None = UNSET
    ends_at: AwareDatetime | UnsetType | None = UNSET
    languages: Languages | UnsetType = UNSET
    sectors: Sectors | UnsetType = UNSET


class HallNew(Body):
    name: Name
    description: LongText = ""
    position: Position = 0


class HallChange(Body):
    name: Name | UnsetType = UNSET
    description: LongText | UnsetType = UNSET
    position: Position | UnsetType = UNSET


class BoothNew(Body):
    hall_id: Id
    company: Name
    sector: Sector
    country: Country
    description: LongText = ""
    links: Links | UnsetType = UNSET


class BoothChange(Body):
    hall_id: Id | UnsetType = UNSET  # the floor plan: organizers only
    company: Name | UnsetType = UNSET
    sector: Sector | UnsetType = UNSET
    country: Country | UnsetType = UNSET
    description: LongText | UnsetType = UNSET
    links: Links | UnsetType = UNSET


class ScheduleItemNew(Body):
    kind: ScheduleKind
    title: Name
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    language: Language = "en"
    description: LongText = ""
    booth_id: Id | None = None
    hall_id: Id | None = None


class ScheduleItemChange(Body):
    kind: ScheduleKind | UnsetType = UNSET
    title: Name | UnsetType = UNSET
    starts_at: AwareDatetime | UnsetType = UNSET
    ends_at: AwareDatetime | UnsetType = UNSET
    language: Language | UnsetType = UNSET
    description: LongText | UnsetType = UNSET
    booth_id: Id | UnsetType | None = UNSET
    hall_id: Id | UnsetType | None = UNSET
