"""Stored records of an event. Encoded with msgpack by rooms.store."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

Role = Literal["participant", "exhibitor", "moderator", "organizer"]
ROLES: tuple[Role, ...] = ("participant", "exhibitor", "moderator", "organizer")
Language = Literal["fr", "de", "en"]
ScheduleKind = Literal["webinar", "site_visit", "round_table", "b2b", "networking", "keynote"]

Id = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Name = Annotated[str, Meta(min_length=1, max_length=80)]
ShortText = Annotated[str, Meta(max_length=120)]
LongText = Annotated[str, Meta(max_length=4000)]
Country = Annotated[str, Meta(pattern=r"^[A-Z]{2}$")]
Sector = Annotated[str, Meta(min_length=1, max_length=60)]
Url = Annotated[str, Meta(pattern=r"^https?://[^\s]{1,500}$")]
AwareDatetime = Annotated[datetime, Meta(tz=True)]


class Link(Struct, forbid_unknown_fields=True):
    label: Name
    url: Url


class Event(Struct, kw_only=True):
    id: Id
    name: Name
    description: LongText = ""
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    languages: list[Language] = msgspec.field(default_factory=lambda: ["en", "fr", "de"])
    sectors: list[Sector] = msgspec.field(default_factory=list)


class Hall(Struct, kw_only=True):
    id: Id
    event_id: Id
    name: Name
    description: LongText = ""
    position: int = 0


class Booth(Struct, kw_only=True):
    id: Id
    event_id: Id
    hall_id: Id
    company: Name
    sector: Sector
    country: Country
    description: LongText = ""
    links: list[Link] = msgspec.field(default_factory=list)


class ScheduleItem(Struct, kw_only=True):
    id: Id
    event_id: Id
    kind: ScheduleKind
    title: Name
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    language: Language = "en"
    description: LongText = ""
    booth_id: Id | None = None
    hall_id: Id | None = None


class Invite(Struct, kw_only=True):
    code: str
    event_id: Id
    role: Role
    booth_ids: list[Id] = msgspec.field(default_factory=list)
    max_uses: int | None = None
    expires_at: float | None = None
    label: ShortText = ""
    created_by: str = ""
    revoked: bool = False


class Person(Struct, kw_only=True):
    id: str
    event_id: Id
    role: Role
    name: Name
    company: Name
    country: Country
    sector: Sector
    language: Language
    booth_ids: list[Id] = msgspec.field(default_factory=list)
    removed: bool = False
    created_at: float = 0.0

    def card(self) -> PersonCard:
        return PersonCard(
            id=self.id,
            name=self.name,
            company=self.company,
            country=self.country,
            sector=self.sector,
            role=self.role,
        )


class PersonCard(Struct, kw_only=True):
    """What others may see of a person (presence lists, message authors)."""

    id: str
    name: str
    company: str
    country: str
    sector: str
    role: Role


class ChatMessage(Struct, kw_only=True):
    id: str = ""
    channel: str
    author: PersonCard
    text: str
    ts: float
    kind: Literal["text", "announcement"] = "text"


class Mute(Struct, kw_only=True):
    person_id: str
    until: float
    by: str


CallKind = Literal["booth", "meeting", "group"]


class Call(Struct, kw_only=True):
    """A small video room (browsers connect peer to peer; the server signals).

    Booth calls are not stored: every booth has one, with id ``booth:<booth id>``.
    """

    id: str
    event_id: Id
    kind: CallKind
    title: str = ""
    capacity: int
    booth_id: Id | None = None
    invited: list[str] = msgspec.field(default_factory=list)  # meeting: who may join
    created_by: str = ""
    created_at: float = 0.0


# interrupted: its hub's node stopped or died; a host may start it again (or end it)
VisitState = Literal["scheduled", "live", "interrupted", "ended"]
VisitSource = Literal["browser", "media"]
VisitEndReason = Literal["host", "guide_lost"]  # guide_lost: not back within the grace


class Visit(Struct, kw_only=True):
    """A virtual site visit: one source (a guide's camera or a server-side feed)
    streamed through the node's media hub to many viewers."""

    id: str
    event_id: Id
    booth_id: Id
    title: str
    starts_at: AwareDatetime
    languages: list[Language] = msgspec.field(default_factory=lambda: ["en"])
    session_id: Id | None = None  # the schedule item it belongs to, if any
    state: VisitState = "scheduled"
    chapter: str = ""  # what the guide shows now, e.g. "assembly line"
    source: VisitSource | None = None  # set when it goes live
    guide: PersonCard | None = None  # who took it live
    created_by: str = ""
    created_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    # live, but the guide's connection dropped: the visit ends at this time unless the
    # guide publishes again (setting visit_guide_grace)
    reconnecting_until: float | None = None
    end_reason: VisitEndReason | None = None


class Question(Struct, kw_only=True):
    """A viewer's question in a visit's Q&A; the guide marks it answered."""

    id: str
    visit_id: str
    author: PersonCard
    text: str
    ts: float
    answered: bool = False
    answered_by: str | None = None
