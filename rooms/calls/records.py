"""What a call is and where a person stands in it.

Meetings and group rooms are stored records; every booth has a call of its own, id
``booth:<booth id>``, made up on the fly. Members and knocks are presence sessions
keyed by sid (scopes ``call:<id>`` and ``knock:<id>``, member = sid), so a
disconnect removes exactly that socket and a crashed node's sockets are reaped with
its other sessions. A host's decision about one person (admitted at a booth, removed
from a call) is an ``Access`` record.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import Struct

from rooms import errors, names
from rooms.catalog import Catalog
from rooms.context import Limits
from rooms.engine import Engine
from rooms.models import Call, Person, PersonCard
from rooms.permissions import CALL_HOST, Perm, hosts_call, require
from rooms.store import Collection

Standing = Literal["host", "allowed", "knock", "removed", "uninvited"]


class CallMember(Struct, kw_only=True):
    """One socket in a call (stored as its presence info, sent to the others)."""

    sid: str
    person: PersonCard
    joined_at: float


class Knock(Struct, kw_only=True):
    person: PersonCard
    since: float


class Access(Struct, kw_only=True):
    """A host's decision about one person in one call."""

    person: PersonCard
    state: Literal["admitted", "removed"]
    by: str
    at: float


encode = msgspec.msgpack.Encoder().encode
decode_member = msgspec.msgpack.Decoder(CallMember).decode
decode_knock = msgspec.msgpack.Decoder(Knock).decode


class CallRecords:
    def __init__(self, engine: Engine, catalog: Catalog, limits: Limits) -> None:
        self.engine = engine
        self.catalog = catalog
        self.limits = limits

    def records(self, event_id: str) -> Collection[Call]:
        return Collection(self.engine, f"ev:{event_id}:calls", Call)

    def access(self, event_id: str, call_id: str) -> Collection[Access]:
        return Collection(self.engine, f"ev:{event_id}:call-access:{call_id}", Access)

    async def call(self, event_id: str, call_id: str) -> Call:
        booth_id = names.booth_of_call(call_id)
        if booth_id is not None:
            booth = await self.catalog.booth(event_id, booth_id)
            return Call(
                id=call_id,
                event_id=event_id,
                kind="booth",
                title=booth.company,
                capacity=self.limits.call_booth_capacity,
                booth_id=booth.id,
            )
        call = await self.records(event_id).get(call_id)
        if call is None:
            raise errors.CALL_NOT_FOUND()
        return call

    async def members(self, call_id: str) -> list[CallMember]:
        raw = await self.engine.presence.members(names.call_scope(call_id))
        return sorted((decode_member(v) for v in raw.values()), key=lambda m: m.joined_at)

    async def member_sids(self, call_id: str, person_id: str) -> list[str]:
        return [m.sid for m in await self.members(call_id) if m.person.id == person_id]

    async def knocks(self, call_id: str) -> list[Knock]:
        """The queue, one entry per person (their earliest knock), oldest first."""
        raw = await self.engine.presence.members(names.knock_scope(call_id))
        first: dict[str, Knock] = {}
        for knock in map(decode_knock, raw.values()):
            if knock.person.id not in first or knock.since < first[knock.person.id].since:
                first[knock.person.id] = knock
        return sorted(first.values(), key=lambda k: k.since)

    async def standing(self, person: Person, call: Call) -> Standing:
        """host | allowed | knock (must knock first) | removed | uninvited."""
        if hosts_call(person, call):
            return "host"
        access = await self.access(call.event_id, call.id).get(person.id)
        if access is not None and access.state == "removed":
            return "removed"
        if call.kind == "booth":
            return "allowed" if access is not None else "knock"
        if call.kind == "meeting" and person.id not in call.invited:
            return "uninvited"
        return "allowed"

    @staticmethod
    def refuse(standing: Standing) -> None:
        """Raise unless ``standing`` lets the person in."""
        if standing == "removed":
            raise errors.REMOVED_FROM_CALL()
        if standing == "knock":
            raise errors.NOT_ADMITTED()
        if standing == "uninvited":
            raise errors.FORBIDDEN("this meeting is for the people invited to it")

    async def hosted(self, person: Person, event_id: str, call_id: str) -> Call:
        """The call, if ``person`` hosts it."""
        call = await self.call(event_id, call_id)
        require(
            person,
            Perm.CALL_HOST,
            (CALL_HOST, call),
            message="only the hosts of this call may do this",
        )
        return call
