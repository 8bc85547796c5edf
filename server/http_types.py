"""Typed replies of the HTTP API (encoded by msgspec as they are)."""

from __future__ import annotations

from msgspec import Struct

from rooms.models import Booth, Event, Invite, Language, Person, Role


class ErrorBody(Struct):
    code: str
    message: str


class ErrorReply(Struct):
    error: ErrorBody
    ok: bool = False


class Health(Struct):
    ok: bool


class Ready(Struct):
    ok: bool
    node: str


class Done(Struct):
    ok: bool


class EventSummary(Struct):
    id: str
    name: str
    languages: list[Language]


class BoothSummary(Struct):
    id: str
    company: str


class InviteInfo(Struct):
    """What the join page shows before someone registers."""

    event: EventSummary
    role: Role
    booths: list[BoothSummary]
    sectors: list[str]

    @classmethod
    def of(cls, event: Event, invite: Invite, booths: list[Booth]) -> InviteInfo:
        return cls(
            event=EventSummary(id=event.id, name=event.name, languages=event.languages),
            role=invite.role,
            booths=[BoothSummary(id=b.id, company=b.company) for b in booths],
            sectors=event.sectors,
        )


class Joined(Struct):
    token: str
    person: Person


class EventCreated(Struct):
    event: Event
    organizer_invite: str
    code: str


class InviteView(Invite, kw_only=True):
    """An invite as organizers see it, with its link."""

    url: str


def invite_view(invite: Invite, url: str) -> InviteView:
    fields = {name: getattr(invite, name) for name in invite.__struct_fields__}
    return InviteView(**fields, url=url)
