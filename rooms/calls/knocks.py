"""Knocking at a booth's call: the queue its staff see, admitting and declining."""

from __future__ import annotations

from rooms import errors, names
from rooms.area import Part
from rooms.calls.records import Access, CallRecords, Knock, decode_knock, encode
from rooms.calls.sockets import CallSockets
from rooms.commands import command
from rooms.context import Actor, Services
from rooms.people import People
from rooms.permissions import Perm, hosts_call
from rooms.protocol import CallPerson, CallRef


class Knocking(Part):
    def __init__(
        self, services: Services, records: CallRecords, sockets: CallSockets, people: People
    ) -> None:
        super().__init__(services)
        self.records = records
        self.sockets = sockets
        self.people = people

    @command("call:knock", CallRef, Perm.CALL_JOIN)
    async def knock(self, actor: Actor, req: CallRef) -> dict:
        """Ask a booth's staff to let you into its call; you get your place in line."""
        call = await self.records.call(actor.event_id, req.call_id)
        if call.kind != "booth":
            raise errors.NOT_KNOCKABLE()
        standing = await self.records.standing(actor.person, call)
        if standing == "removed":
            self.records.refuse(standing)
        if standing in ("host", "allowed"):
            return {"call_id": call.id, "state": "admitted"}
        state = self.sockets.of(actor.sid)
        if state.knock_id is not None and state.knock_id != call.id:
            await self.withdraw_socket(actor)
        knock = Knock(person=actor.person.card(), since=self.now())
        scope = names.knock_scope(call.id)
        await self.engine.presence.add(scope, actor.sid, actor.sid, encode(knock))
        state.knock_id = call.id
        queue = await self.push_queue(call.id)
        position = next(i for i, k in enumerate(queue, 1) if k.person.id == actor.person.id)
        return {"call_id": call.id, "state": "waiting", "position": position}

    @command("call:withdraw", CallRef, Perm.CALL_JOIN)
    async def withdraw(self, actor: Actor, req: CallRef) -> dict:
        """Stop knocking."""
        knocking = self.sockets.of(actor.sid).knock_id == req.call_id
        withdrawn = knocking and await self.withdraw_socket(actor)
        return {"call_id": req.call_id, "withdrawn": withdrawn}

    async def withdraw_socket(self, actor: Actor) -> bool:
        """Take this socket's knock (if any) off its queue; True if there was one."""
        state = self.sockets.of(actor.sid)
        call_id, state.knock_id = state.knock_id, None
        return call_id is not None and await self.remove_knock(call_id, actor.sid)

    async def remove_knock(self, call_id: str, sid: str) -> bool:
        """Take one socket's knock off a queue and tell the staff; True if it was there."""
        gone = await self.engine.presence.remove(names.knock_scope(call_id), sid) is not None
        if gone:
            await self.push_queue(call_id)
        return gone

    async def drop_person(self, call_id: str, person_id: str) -> bool:
        """Take every knock of one person off the queue; True if there was one."""
        scope = names.knock_scope(call_id)
        raw = await self.engine.presence.members(scope)
        sids = [sid for sid, info in raw.items() if decode_knock(info).person.id == person_id]
        for sid in sids:
            await self.engine.presence.remove(scope, sid)
        return bool(sids)

    async def push_queue(self, call_id: str) -> list[Knock]:
        """Send the booth's staff the whole queue (it is short); return it."""
        queue = await self.records.knocks(call_id)
        booth_id = names.booth_of_call(call_id)
        if booth_id is not None:
            await self.outbox.emit(
                names.staff_room(booth_id), "call:knocks", {"call_id": call_id, "knocks": queue}
            )
        return queue

    @command("call:admit", CallPerson, Perm.CALL_HOST)
    async def admit(self, actor: Actor, req: CallPerson) -> dict:
        """Let someone in: a visitor who knocked at the booth, or a removed member."""
        call = await self.records.hosted(actor.person, actor.event_id, req.call_id)
        target = await self.people.get(actor.event_id, req.person_id)
        if target.removed:
            raise errors.PERSON_NOT_FOUND()
        if call.kind == "meeting" and target.id not in call.invited:
            raise errors.FORBIDDEN("this meeting is for the people invited to it")
        access = self.records.access(call.event_id, call.id)
        if call.kind == "booth" and not hosts_call(target, call):
            decision = Access(
                person=target.card(), state="admitted", by=actor.person.id, at=self.now()
            )
            await access.put(target.id, decision)
        else:
            await access.delete(target.id)  # nothing to grant: only a removal to lift
        knocked = await self.drop_person(call.id, target.id)
        await self.outbox.emit(
            names.user_room(target.id),
            "call:admitted",
            {"call_id": call.id, "by": actor.person.card()},
        )
        if knocked:
            await self.push_queue(call.id)
        return {"call_id": call.id, "person_id": target.id, "state": "admitted"}

    @command("call:decline", CallPerson, Perm.CALL_HOST)
    async def decline(self, actor: Actor, req: CallPerson) -> dict:
        """Turn a knocking visitor away."""
        call = await self.records.hosted(actor.person, actor.event_id, req.call_id)
        if not await self.drop_person(call.id, req.person_id):
            raise errors.KNOCK_NOT_FOUND()
        await self.outbox.emit(
            names.user_room(req.person_id), "call:declined", {"call_id": call.id}
        )
        await self.push_queue(call.id)
        return {"call_id": call.id, "person_id": req.person_id, "state": "declined"}
