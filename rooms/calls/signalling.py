"""Relaying WebRTC offers, answers and ICE candidates between the members of one call,
and handing out ICE servers (TURN credentials minted per person)."""

from __future__ import annotations

from rooms import errors, names
from rooms.area import Part
from rooms.commands import command
from rooms.context import Actor, Services
from rooms.ice import IceConfig
from rooms.permissions import Perm
from rooms.protocol import CallSignal, Empty


class Signalling(Part):
    def __init__(self, services: Services, ice: IceConfig) -> None:
        super().__init__(services)
        self.ice = ice

    @command("call:ice", Empty, Perm.CALL_JOIN)
    async def ice_servers(self, actor: Actor, _: Empty) -> dict:
        """Fresh ICE servers (new TURN credentials), e.g. before an ICE restart."""
        return self.ice.servers_for(actor.person.id, self.now())

    @command("call:signal", CallSignal, Perm.CALL_JOIN)
    async def signal(self, actor: Actor, req: CallSignal) -> None:
        """Relay an offer, an answer or ICE candidates to one member of the call."""
        if (req.description is None) == (req.candidates is None):
            raise errors.INVALID_PAYLOAD("send either a description or candidates")
        if req.to == actor.sid:
            raise errors.INVALID_PAYLOAD("you cannot signal yourself")
        sids = await self.engine.presence.members(names.call_scope(req.call_id))
        if actor.sid not in sids:
            raise errors.NOT_IN_CALL("join the call before signalling in it")
        if req.to not in sids:
            raise errors.NOT_IN_ROOM("that socket is not in this call")
        relayed: dict = {"call_id": req.call_id, "from": actor.sid, "person_id": actor.person.id}
        if req.description is not None:
            relayed["description"] = req.description
        else:
            relayed["candidates"] = req.candidates
        await self.outbox.emit(req.to, "call:signalled", relayed)
