"""Video calls: booth calls with a knock, 1:1 meetings and small group rooms.

Browsers connect peer to peer (a mesh); the server is the gatekeeper and the
signalling relay. It decides who may join, enforces capacity atomically across nodes,
and relays offers, answers and ICE candidates only between members of one call.
Pushes about a call go to the members' sids one by one, never to a Socket.IO room: a
room is local to a node and would keep a socket that another node removed from the
call.

Kinds and their hosts (``rooms.permissions.hosts_call``):

- ``booth`` (id ``booth:<booth id>``): the booth's staff host it and join freely;
  visitors knock and join once admitted (until they leave the call).
- ``meeting``: exactly the invited people (the creator and the invitees); its creator
  hosts it.
- ``group``: created by a moderator with a capacity (default 6); anyone in the event
  may join; moderators and organizers host it.

Hosts may ask a member to mute and may remove a member; a removed person cannot join
(or knock) again until a host admits them again.

One module per job: records (what a call is, where a person stands), lifecycle
(create, list, get, end), knocks, membership (join, leave), signalling, hosting.
"""

from __future__ import annotations

from collections.abc import Iterable

from rooms import names
from rooms.area import Area
from rooms.calls.hosting import Hosting
from rooms.calls.knocks import Knocking
from rooms.calls.lifecycle import CallRooms
from rooms.calls.membership import Membership
from rooms.calls.records import CallRecords, decode_member
from rooms.calls.signalling import Signalling
from rooms.calls.sockets import CallSockets
from rooms.catalog import Catalog
from rooms.context import Actor, Services
from rooms.ice import IceConfig
from rooms.people import People
from rooms.presence import Presence

__all__ = ["Calls"]


class Calls(Area):
    name = "call"

    def __init__(
        self,
        services: Services,
        catalog: Catalog,
        people: People,
        presence: Presence,
        ice: IceConfig | None = None,
    ) -> None:
        super().__init__(services)
        self.records = CallRecords(services.engine, catalog, services.limits)
        self.sockets = CallSockets()
        self.rooms = CallRooms(services, self.records, people)
        self.knocking = Knocking(services, self.records, self.sockets, people)
        self.membership = Membership(
            services, self.records, self.sockets, self.knocking, ice or IceConfig()
        )
        self.signalling = Signalling(services, ice or IceConfig())
        self.hosting = Hosting(services, self.records, people, self.membership, self.knocking)
        # a crashed node's sockets leave calls and knock queues like any other presence,
        # and come back like it when that node was alive after all (its heartbeat lapsed)
        presence.on_reaped("call", self.reaped)
        presence.on_reaped("knock", self.reaped)
        presence.on_rejoined("call", self.rejoined)
        presence.on_rejoined("knock", self.rejoined)

    def parts(self) -> Iterable[object]:
        return (self.rooms, self.knocking, self.membership, self.signalling, self.hosting)

    async def on_disconnect(self, actor: Actor) -> None:
        state = self.sockets.pop(actor.sid)
        if state is None:
            return
        if state.call_id is not None:
            await self.membership.drop(state.call_id, actor.sid, "disconnected")
        if state.knock_id is not None:
            await self.knocking.remove_knock(state.knock_id, actor.sid)

    async def reaped(self, scope: str, member: str) -> None:
        """A crashed node's socket was taken out of a call or a knock queue."""
        kind, call_id = names.split(scope)
        if kind == "call":
            await self.membership.announce_left(call_id, member, "disconnected")
        elif kind == "knock":
            await self.knocking.push_queue(call_id)

    async def rejoined(self, scope: str, member: str, info: bytes) -> None:
        """A socket reaped from a call or a knock queue is back: its node had looked
        dead. The others connect to it again as to anyone who joins."""
        kind, call_id = names.split(scope)
        if kind == "call":
            joined = {"call_id": call_id, "member": decode_member(info)}
            for other in await self.records.members(call_id):
                if other.sid != member:
                    await self.outbox.emit(other.sid, "call:joined", joined)
        elif kind == "knock":
            await self.knocking.push_queue(call_id)
