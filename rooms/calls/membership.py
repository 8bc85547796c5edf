"""Being in a call: joining within its capacity (atomically across nodes), leaving,
and telling the other members."""

from __future__ import annotations

from rooms import errors, names
from rooms.area import Part
from rooms.calls.knocks import Knocking
from rooms.calls.records import CallMember, CallRecords, encode
from rooms.calls.sockets import CallSockets
from rooms.commands import command
from rooms.context import Actor, Services
from rooms.ice import IceConfig
from rooms.permissions import Perm
from rooms.protocol import CallRef


class Membership(Part):
    def __init__(
        self,
        services: Services,
        records: CallRecords,
        sockets: CallSockets,
        knocking: Knocking,
        ice: IceConfig,
    ) -> None:
        super().__init__(services)
        self.records = records
        self.sockets = sockets
        self.knocking = knocking
        self.ice = ice

    @command("call:join", CallRef, Perm.CALL_JOIN)
    async def join(self, actor: Actor, req: CallRef) -> dict:
        """Take a seat in a call; you get its members to connect to and ICE servers."""
        call = await self.records.call(actor.event_id, req.call_id)
        standing = await self.records.standing(actor.person, call)
        self.records.refuse(standing)
        state = self.sockets.of(actor.sid)
        if state.call_id is not None and state.call_id != call.id:
            await self.drop(state.call_id, actor.sid, "left")
        scope, me = names.call_scope(call.id), actor.person.card()
        # One socket per person: an older one (another tab, a dropped connection that
        # the server has not noticed yet) gives its place to this one.
        for member in await self.records.members(call.id):
            if member.person.id == me.id and member.sid != actor.sid:
                await self.drop(call.id, member.sid, "replaced")
                await self.outbox.emit(
                    member.sid, "call:ended", {"call_id": call.id, "reason": "replaced"}
                )
        entry = CallMember(sid=actor.sid, person=me, joined_at=self.now())
        outcome = await self.engine.presence.add_capped(
            scope, actor.sid, actor.sid, encode(entry), call.capacity
        )
        if outcome == "full":
            raise errors.ROOM_FULL(f"this call is full ({call.capacity} people)")
        state.call_id = call.id
        if state.knock_id == call.id:
            await self.knocking.withdraw_socket(actor)
        # Read the members after adding: anyone who joins later sees us in their reply.
        others = [m for m in await self.records.members(call.id) if m.sid != actor.sid]
        if outcome == "joined":
            for member in others:
                await self.outbox.emit(
                    member.sid, "call:joined", {"call_id": call.id, "member": entry}
                )
        return {
            "call": call,
            "sid": actor.sid,
            "host": standing == "host",
            "members": others,
            **self.ice.servers_for(me.id, self.now()),
        }

    @command("call:leave", CallRef, Perm.CALL_JOIN)
    async def leave(self, actor: Actor, req: CallRef) -> dict:
        """Leave a call (at a booth, knock again to come back)."""
        if not await self.drop(req.call_id, actor.sid, "left"):
            raise errors.NOT_IN_CALL()
        state = self.sockets.of(actor.sid)
        if state.call_id == req.call_id:
            state.call_id = None
        if names.booth_of_call(req.call_id) is not None:
            access = self.records.access(actor.event_id, req.call_id)
            held = await access.get(actor.person.id)
            if held is not None and held.state == "admitted":
                await access.delete(actor.person.id)
        return {"call_id": req.call_id}

    async def drop(self, call_id: str, sid: str, reason: str) -> bool:
        """Remove one socket from a call and tell the others; False if it was not in."""
        if await self.engine.presence.remove(names.call_scope(call_id), sid) is None:
            return False
        await self.announce_left(call_id, sid, reason)
        return True

    async def announce_left(self, call_id: str, sid: str, reason: str) -> None:
        left = {"call_id": call_id, "sid": sid, "reason": reason}
        for member in await self.records.members(call_id):
            await self.outbox.emit(member.sid, "call:left", left)
