"""What a call's hosts do to its members: ask them to mute, put them out."""

from __future__ import annotations

from rooms import errors, names
from rooms.area import Part
from rooms.calls.knocks import Knocking
from rooms.calls.membership import Membership
from rooms.calls.records import Access, CallRecords
from rooms.commands import command
from rooms.context import Actor, Services
from rooms.people import People
from rooms.permissions import Perm, hosts_call
from rooms.protocol import CallMute, CallRemove


class Hosting(Part):
    def __init__(
        self,
        services: Services,
        records: CallRecords,
        people: People,
        membership: Membership,
        knocking: Knocking,
    ) -> None:
        super().__init__(services)
        self.records = records
        self.people = people
        self.membership = membership
        self.knocking = knocking

    @command("call:mute", CallMute, Perm.CALL_HOST)
    async def mute(self, actor: Actor, req: CallMute) -> dict:
        """Ask a member to turn off their microphone (or camera); their client does it."""
        call = await self.records.hosted(actor.person, actor.event_id, req.call_id)
        sids = await self.records.member_sids(call.id, req.person_id)
        if not sids:
            raise errors.NOT_IN_ROOM("that person is not in this call")
        asked = {"call_id": call.id, "media": req.media, "by": actor.person.card()}
        for sid in sids:
            await self.outbox.emit(sid, "call:mute_requested", asked)
        return {"call_id": call.id, "person_id": req.person_id, "media": req.media}

    @command("call:remove", CallRemove, Perm.CALL_HOST)
    async def remove(self, actor: Actor, req: CallRemove) -> dict:
        """Put a member (or someone knocking) out; they stay out until readmitted."""
        call = await self.records.hosted(actor.person, actor.event_id, req.call_id)
        if req.person_id == actor.person.id:
            raise errors.FORBIDDEN_SELF()
        target = await self.people.get(actor.event_id, req.person_id)
        if hosts_call(target, call):
            raise errors.FORBIDDEN("hosts cannot remove each other")
        decision = Access(person=target.card(), state="removed", by=actor.person.id, at=self.now())
        await self.records.access(call.event_id, call.id).put(target.id, decision)
        await self.outbox.emit(
            names.user_room(target.id), "call:removed", {"call_id": call.id, "reason": req.reason}
        )
        for sid in await self.records.member_sids(call.id, target.id):
            await self.membership.drop(call.id, sid, "removed")
        if await self.knocking.drop_person(call.id, target.id):
            await self.knocking.push_queue(call.id)
        return {"call_id": call.id, "person_id": target.id, "removed": True}
