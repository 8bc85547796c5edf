"""Creating, listing, looking at and closing calls."""

from __future__ import annotations

from rooms import errors, names
from rooms.area import Part
from rooms.calls.records import CallRecords
from rooms.commands import CALL_CREATE, command
from rooms.context import Actor, Services
from rooms.ids import new_id
from rooms.models import Call
from rooms.people import People
from rooms.permissions import Perm, require
from rooms.protocol import CallCreate, CallRef, Empty


class CallRooms(Part):
    def __init__(self, services: Services, records: CallRecords, people: People) -> None:
        super().__init__(services)
        self.records = records
        self.people = people

    @command("call:create", CallCreate, Perm.CALL_CREATE, rate=CALL_CREATE)
    async def create(self, actor: Actor, req: CallCreate) -> Call:
        """A meeting with invited people, or (moderators) a group room open to all."""
        person, limits = actor.person, self.limits
        title = req.title.strip()
        if req.kind == "group":
            require(person, Perm.CALL_CREATE_GROUP)
            if req.invitees:
                raise errors.INVALID_PAYLOAD("group rooms are open to everyone: no invitees")
            if not title:
                raise errors.INVALID_PAYLOAD("a group room needs a title")
            capacity = limits.call_group_capacity if req.capacity is None else req.capacity
            if capacity > limits.call_max_capacity:
                raise errors.INVALID_PAYLOAD(
                    f"a room holds at most {limits.call_max_capacity} people"
                )
            invited: list[str] = []
        else:
            if req.capacity is not None:
                raise errors.INVALID_PAYLOAD(
                    "a meeting holds exactly its invited people: no capacity"
                )
            invitees = list(dict.fromkeys(req.invitees))
            if not invitees or person.id in invitees:
                raise errors.INVALID_PAYLOAD("invite at least one other person")
            if len(invitees) + 1 > limits.call_max_capacity:
                raise errors.INVALID_PAYLOAD(
                    f"a meeting holds at most {limits.call_max_capacity} people"
                )
            for invitee in invitees:
                if (await self.people.get(actor.event_id, invitee)).removed:
                    raise errors.PERSON_NOT_FOUND()
            invited = [person.id, *invitees]
            capacity = len(invited)
        call = Call(
            id=new_id("c-"),
            event_id=actor.event_id,
            kind=req.kind,
            title=title,
            capacity=capacity,
            invited=invited,
            created_by=person.id,
            created_at=self.now(),
        )
        await self.records.records(actor.event_id).put(call.id, call)
        if call.kind == "group":
            await self.outbox.emit(names.event_room(actor.event_id), "call:created", call)
        for invitee in call.invited[1:]:
            await self.outbox.emit(
                names.user_room(invitee), "call:invited", {"call": call, "by": person.card()}
            )
        return call

    @command("call:list", Empty, Perm.CALL_JOIN)
    async def list(self, actor: Actor, _: Empty) -> list[dict]:
        """Group rooms of the event and the meetings you are invited to."""
        calls = [
            call
            for call in await self.records.records(actor.event_id).all()
            if call.kind == "group" or actor.person.id in call.invited
        ]
        calls.sort(key=lambda c: (c.kind, c.title.casefold(), c.created_at))
        return [
            {"call": call, "members": await self.engine.presence.count(names.call_scope(call.id))}
            for call in calls
        ]

    @command("call:get", CallRef, Perm.CALL_JOIN)
    async def get(self, actor: Actor, req: CallRef) -> dict:
        """The call and where you stand; members for those who may join, the knock
        queue and the removed people for hosts."""
        call = await self.records.call(actor.event_id, req.call_id)
        standing = await self.records.standing(actor.person, call)
        if call.kind == "meeting" and standing == "uninvited":
            self.records.refuse(standing)
        scope = names.knock_scope(call.id)
        knocks = await self.engine.presence.members(scope) if call.kind == "booth" else {}
        view: dict = {"call": call, "standing": standing, "knocking": actor.sid in knocks}
        if standing in ("host", "allowed"):
            view["members"] = await self.records.members(call.id)
        if standing == "host":
            if call.kind == "booth":
                view["knocks"] = await self.records.knocks(call.id)
            access = await self.records.access(call.event_id, call.id).all()
            view["removed"] = [a.person for a in access if a.state == "removed"]
        return view

    @command("call:end", CallRef, Perm.CALL_HOST)
    async def end(self, actor: Actor, req: CallRef) -> dict:
        """Close a meeting or group room for everyone."""
        call = await self.records.hosted(actor.person, actor.event_id, req.call_id)
        if call.kind == "booth":
            raise errors.FORBIDDEN("a booth's call cannot be closed")
        await self.records.records(call.event_id).delete(call.id)
        for member in await self.records.members(call.id):
            await self.engine.presence.remove(names.call_scope(call.id), member.sid)
        access = self.records.access(call.event_id, call.id)
        for person_id in await self.engine.docs.all(access.name):
            await access.delete(person_id)
        ended = {"call_id": call.id, "reason": "closed"}
        if call.kind == "group":
            await self.outbox.emit(names.event_room(call.event_id), "call:ended", ended)
        for person_id in call.invited:
            await self.outbox.emit(names.user_room(person_id), "call:ended", ended)
        return ended
