"""Video calls: booth calls with a knock, 1:1 meetings and small group rooms.

Browsers connect peer to peer (a mesh); the server is the gatekeeper and the
signalling relay. It decides who may join, enforces capacity atomically across nodes,
and relays offers, answers and ICE candidates only between members of one call.

Membership lives in the engine as presence sessions keyed by sid (scope
``call:<call id>``, member = sid), so a disconnect removes exactly that socket and a
crashed node's members are reaped with its other sessions (``Presence.reap`` hands
those scopes back to :meth:`Calls.reaped`). Knocks at a booth are kept the same way
(scope ``knock:<call id>``). Pushes about a call go to the members' sids one by one,
never to a Socket.IO room: a room is local to a node and would keep a socket that
another node removed from the call.

Kinds and their hosts:

- ``booth`` (id ``booth:<booth id>``): the booth's staff host it and join freely;
  visitors knock and join once admitted (until they leave the call).
- ``meeting``: exactly the invited people (the creator and the invitees); its creator
  hosts it.
- ``group``: created by a moderator with a capacity (default 6); anyone in the event
  may join; moderators and organizers host it.

Hosts may ask a member to mute and may remove a member; a removed person cannot join
(or knock) again until a host admits them again.
"""

from __future__ import annotations

import time
from typing import Literal

import msgspec
from msgspec import Struct

from rooms.catalog import Catalog
from rooms.context import Actor, Limits, Outbox
from rooms.engine import Engine
from rooms.errors import DomainError, Forbidden, InvalidInput, NotFound, RateLimited
from rooms.ice import IceConfig
from rooms.ids import new_id
from rooms.models import Call, Person, PersonCard
from rooms.people import People
from rooms.permissions import RANK, is_staff_of, require_moderator
from rooms.protocol import CallCreate, CallMute, CallPerson, CallRef, CallRemove, CallSignal, Empty
from rooms.ratelimit import RateLimiter
from rooms.store import Collection

BOOTH_PREFIX = "booth:"


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


_encode = msgspec.msgpack.Encoder().encode
_decode_member = msgspec.msgpack.Decoder(CallMember).decode
_decode_knock = msgspec.msgpack.Decoder(Knock).decode


def call_scope(call_id: str) -> str:
    return f"call:{call_id}"


def knock_scope(call_id: str) -> str:
    return f"knock:{call_id}"


def staff_room(booth_id: str) -> str:
    return f"staff:{booth_id}"


def is_host(person: Person, call: Call) -> bool:
    if call.kind == "booth":
        return call.booth_id is not None and is_staff_of(person, call.booth_id)
    if call.kind == "group":
        return RANK[person.role] >= RANK["moderator"]
    return person.id == call.created_by


class Calls:
    def __init__(
        self,
        engine: Engine,
        outbox: Outbox,
        catalog: Catalog,
        people: People,
        limits: Limits,
        ice: IceConfig,
        clock=time.time,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.catalog = catalog
        self.people = people
        self.limits = limits
        self.ice = ice
        self.clock = clock
        self.rate = RateLimiter(engine)

    # records ------------------------------------------------------------------------
    def records(self, event_id: str) -> Collection[Call]:
        return Collection(self.engine, f"ev:{event_id}:calls", Call)

    def access(self, event_id: str, call_id: str) -> Collection[Access]:
        return Collection(self.engine, f"ev:{event_id}:call-access:{call_id}", Access)

    async def call(self, event_id: str, call_id: str) -> Call:
        if call_id.startswith(BOOTH_PREFIX):
            booth = await self.catalog.booth(event_id, call_id.removeprefix(BOOTH_PREFIX))
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
            raise NotFound("call", code="call_not_found")
        return call

    async def members(self, call_id: str) -> list[CallMember]:
        raw = await self.engine.presence.members(call_scope(call_id))
        return sorted((_decode_member(v) for v in raw.values()), key=lambda m: m.joined_at)

    async def knocks(self, call_id: str) -> list[Knock]:
        """The queue, one entry per person (their earliest knock), oldest first."""
        raw = await self.engine.presence.members(knock_scope(call_id))
        first: dict[str, Knock] = {}
        for knock in map(_decode_knock, raw.values()):
            if knock.person.id not in first or knock.since < first[knock.person.id].since:
                first[knock.person.id] = knock
        return sorted(first.values(), key=lambda k: k.since)

    async def _standing(self, person: Person, call: Call) -> str:
        """host | allowed | knock (must knock first) | removed | uninvited."""
        if is_host(person, call):
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
    def _refuse(standing: str) -> None:
        if standing == "removed":
            raise DomainError("removed_from_call", "a host removed you from this call", 403)
        if standing == "knock":
            raise DomainError(
                "not_admitted", "knock and wait until the booth's staff let you in", 403
            )
        if standing == "uninvited":
            raise Forbidden("this meeting is for the people invited to it")

    async def _host_call(self, actor: Actor, call_id: str) -> Call:
        call = await self.call(actor.event_id, call_id)
        if not is_host(actor.person, call):
            raise Forbidden("only the hosts of this call may do this")
        return call

    # creating and listing -----------------------------------------------------------
    async def create(self, actor: Actor, req: CallCreate) -> Call:
        person, limits = actor.person, self.limits
        title = req.title.strip()
        if req.kind == "group":
            require_moderator(person)
            if req.invitees:
                raise InvalidInput("group rooms are open to everyone: no invitees")
            if not title:
                raise InvalidInput("a group room needs a title")
            capacity = limits.call_group_capacity if req.capacity is None else req.capacity
            if capacity > limits.call_max_capacity:
                raise InvalidInput(f"a room holds at most {limits.call_max_capacity} people")
            invited: list[str] = []
        else:
            if req.capacity is not None:
                raise InvalidInput("a meeting holds exactly its invited people: no capacity")
            invitees = list(dict.fromkeys(req.invitees))
            if not invitees or person.id in invitees:
                raise InvalidInput("invite at least one other person")
            if len(invitees) + 1 > limits.call_max_capacity:
                raise InvalidInput(f"a meeting holds at most {limits.call_max_capacity} people")
            for invitee in invitees:
                if (await self.people.get(actor.event_id, invitee)).removed:
                    raise NotFound("person", code="person_not_found")
            invited = [person.id, *invitees]
            capacity = len(invited)
        count, window = limits.call_create_rate_count, limits.call_create_rate_window
        try:
            await self.rate.hit(f"call-create:{person.id}", count, window)
        except RateLimited:
            raise RateLimited(f"at most {count} new calls per {window:g} s") from None
        call = Call(
            id=new_id("c-"),
            event_id=actor.event_id,
            kind=req.kind,
            title=title,
            capacity=capacity,
            invited=invited,
            created_by=person.id,
            created_at=self.clock(),
        )
        await self.records(actor.event_id).put(call.id, call)
        if call.kind == "group":
            await self.outbox.emit(f"event:{actor.event_id}", "call:created", call)
        for invitee in call.invited[1:]:
            await self.outbox.emit(
                f"user:{invitee}", "call:invited", {"call": call, "by": person.card()}
            )
        return call

    async def list(self, actor: Actor, _: Empty) -> list[dict]:
        """Group rooms of the event and the meetings you are invited to."""
        calls = [
            call
            for call in await self.records(actor.event_id).all()
            if call.kind == "group" or actor.person.id in call.invited
        ]
        calls.sort(key=lambda c: (c.kind, c.title.casefold(), c.created_at))
        return [
            {"call": call, "members": len(await self.engine.presence.members(call_scope(call.id)))}
            for call in calls
        ]

    async def get(self, actor: Actor, req: CallRef) -> dict:
        """The call and where you stand; members for those who may join, the knock
        queue and the removed people for hosts."""
        call = await self.call(actor.event_id, req.call_id)
        standing = await self._standing(actor.person, call)
        if call.kind == "meeting" and standing == "uninvited":
            self._refuse(standing)
        scope = knock_scope(call.id)
        knocks = await self.engine.presence.members(scope) if call.kind == "booth" else {}
        view: dict = {"call": call, "standing": standing, "knocking": actor.sid in knocks}
        if standing in ("host", "allowed"):
            view["members"] = await self.members(call.id)
        if standing == "host":
            if call.kind == "booth":
                view["knocks"] = await self.knocks(call.id)
            access = await self.access(call.event_id, call.id).all()
            view["removed"] = [a.person for a in access if a.state == "removed"]
        return view

    async def end(self, actor: Actor, req: CallRef) -> dict:
        """Close a meeting or group room for everyone."""
        call = await self._host_call(actor, req.call_id)
        if call.kind == "booth":
            raise Forbidden("a booth's call cannot be closed")
        await self.records(call.event_id).delete(call.id)
        for member in await self.members(call.id):
            await self.engine.presence.remove(call_scope(call.id), member.sid)
        access = self.access(call.event_id, call.id)
        for person_id in await self.engine.docs.all(access.name):
            await access.delete(person_id)
        ended = {"call_id": call.id, "reason": "closed"}
        if call.kind == "group":
            await self.outbox.emit(f"event:{call.event_id}", "call:ended", ended)
        for person_id in call.invited:
            await self.outbox.emit(f"user:{person_id}", "call:ended", ended)
        return ended

    # knocking at a booth --------------------------------------------------------------
    async def knock(self, actor: Actor, req: CallRef) -> dict:
        call = await self.call(actor.event_id, req.call_id)
        if call.kind != "booth":
            raise InvalidInput("only a booth's call takes knocks", code="not_knockable")
        standing = await self._standing(actor.person, call)
        if standing == "removed":
            self._refuse(standing)
        if standing in ("host", "allowed"):
            return {"call_id": call.id, "state": "admitted"}
        if actor.knock_id is not None and actor.knock_id != call.id:
            await self._withdraw(actor)
        knock = Knock(person=actor.person.card(), since=self.clock())
        await self.engine.presence.add(knock_scope(call.id), actor.sid, actor.sid, _encode(knock))
        actor.knock_id = call.id
        queue = await self._push_queue(call.id)
        position = next(i for i, k in enumerate(queue, 1) if k.person.id == actor.person.id)
        return {"call_id": call.id, "state": "waiting", "position": position}

    async def withdraw(self, actor: Actor, req: CallRef) -> dict:
        withdrawn = actor.knock_id == req.call_id and await self._withdraw(actor)
        return {"call_id": req.call_id, "withdrawn": withdrawn}

    async def _withdraw(self, actor: Actor) -> bool:
        call_id, actor.knock_id = actor.knock_id, None
        if call_id is None:
            return False
        gone = await self.engine.presence.remove(knock_scope(call_id), actor.sid) is not None
        if gone:
            await self._push_queue(call_id)
        return gone

    async def _drop_knocks(self, call_id: str, person_id: str) -> bool:
        """Take every knock of one person off the queue; True if there was one."""
        scope = knock_scope(call_id)
        raw = await self.engine.presence.members(scope)
        sids = [sid for sid, info in raw.items() if _decode_knock(info).person.id == person_id]
        for sid in sids:
            await self.engine.presence.remove(scope, sid)
        return bool(sids)

    async def _push_queue(self, call_id: str) -> list[Knock]:
        """Send the booth's staff the whole queue (it is short); return it."""
        queue = await self.knocks(call_id)
        booth_id = call_id.removeprefix(BOOTH_PREFIX)
        await self.outbox.emit(
            staff_room(booth_id), "call:knocks", {"call_id": call_id, "knocks": queue}
        )
        return queue

    async def admit(self, actor: Actor, req: CallPerson) -> dict:
        """Let someone in: a visitor who knocked at the booth, or a removed member."""
        call = await self._host_call(actor, req.call_id)
        target = await self.people.get(actor.event_id, req.person_id)
        if target.removed:
            raise NotFound("person", code="person_not_found")
        if call.kind == "meeting" and target.id not in call.invited:
            raise Forbidden("this meeting is for the people invited to it")
        access = self.access(call.event_id, call.id)
        if call.kind == "booth" and not is_host(target, call):
            await access.put(
                target.id,
                Access(person=target.card(), state="admitted", by=actor.person.id, at=self.clock()),
            )
        else:
            await access.delete(target.id)  # nothing to grant: only a removal to lift
        knocked = await self._drop_knocks(call.id, target.id)
        await self.outbox.emit(
            f"user:{target.id}", "call:admitted", {"call_id": call.id, "by": actor.person.card()}
        )
        if knocked:
            await self._push_queue(call.id)
        return {"call_id": call.id, "person_id": target.id, "state": "admitted"}

    async def decline(self, actor: Actor, req: CallPerson) -> dict:
        call = await self._host_call(actor, req.call_id)
        if not await self._drop_knocks(call.id, req.person_id):
            raise NotFound("knock", code="knock_not_found")
        await self.outbox.emit(f"user:{req.person_id}", "call:declined", {"call_id": call.id})
        await self._push_queue(call.id)
        return {"call_id": call.id, "person_id": req.person_id, "state": "declined"}

    # being in a call ---------------------------------------------------------------------
    async def join(self, actor: Actor, req: CallRef) -> dict:
        call = await self.call(actor.event_id, req.call_id)
        standing = await self._standing(actor.person, call)
        self._refuse(standing)
        if actor.call_id is not None and actor.call_id != call.id:
            await self._drop(actor.call_id, actor.sid, "left")
        scope, me = call_scope(call.id), actor.person.card()
        # One socket per person: an older one (another tab, a dropped connection that
        # the server has not noticed yet) gives its place to this one.
        for member in await self.members(call.id):
            if member.person.id == me.id and member.sid != actor.sid:
                await self._drop(call.id, member.sid, "replaced")
                await self.outbox.emit(
                    member.sid, "call:ended", {"call_id": call.id, "reason": "replaced"}
                )
        entry = CallMember(sid=actor.sid, person=me, joined_at=self.clock())
        outcome = await self.engine.presence.add_capped(
            scope, actor.sid, actor.sid, _encode(entry), call.capacity
        )
        if outcome == "full":
            raise DomainError("room_full", f"this call is full ({call.capacity} people)")
        actor.call_id = call.id
        if actor.knock_id == call.id:
            await self._withdraw(actor)
        # Read the members after adding: anyone who joins later sees us in their reply.
        others = [m for m in await self.members(call.id) if m.sid != actor.sid]
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
            **self.ice.servers_for(me.id, self.clock()),
        }

    async def leave(self, actor: Actor, req: CallRef) -> dict:
        if not await self._drop(req.call_id, actor.sid, "left"):
            raise DomainError("not_in_call", "you are not in this call")
        if actor.call_id == req.call_id:
            actor.call_id = None
        if req.call_id.startswith(BOOTH_PREFIX):  # a visitor knocks again to come back
            access = self.access(actor.event_id, req.call_id)
            held = await access.get(actor.person.id)
            if held is not None and held.state == "admitted":
                await access.delete(actor.person.id)
        return {"call_id": req.call_id}

    async def _drop(self, call_id: str, sid: str, reason: str) -> bool:
        """Remove one socket from a call and tell the others; False if it was not in."""
        if await self.engine.presence.remove(call_scope(call_id), sid) is None:
            return False
        await self._announce_left(call_id, sid, reason)
        return True

    async def _announce_left(self, call_id: str, sid: str, reason: str) -> None:
        left = {"call_id": call_id, "sid": sid, "reason": reason}
        for member in await self.members(call_id):
            await self.outbox.emit(member.sid, "call:left", left)

    async def ice_servers(self, actor: Actor, _: Empty) -> dict:
        """Fresh ICE servers (new TURN credentials), e.g. before an ICE restart."""
        return self.ice.servers_for(actor.person.id, self.clock())

    async def signal(self, actor: Actor, req: CallSignal) -> None:
        """Relay an offer, an answer or ICE candidates to one member of the call."""
        if (req.description is None) == (req.candidates is None):
            raise InvalidInput("send either a description or candidates")
        if req.to == actor.sid:
            raise InvalidInput("you cannot signal yourself")
        sids = await self.engine.presence.members(call_scope(req.call_id))
        if actor.sid not in sids:
            raise DomainError("not_in_call", "join the call before signalling in it")
        if req.to not in sids:
            raise DomainError("not_in_room", "that socket is not in this call")
        relayed: dict = {"call_id": req.call_id, "from": actor.sid, "person_id": actor.person.id}
        if req.description is not None:
            relayed["description"] = req.description
        else:
            relayed["candidates"] = req.candidates
        await self.outbox.emit(req.to, "call:signalled", relayed)

    # moderation ----------------------------------------------------------------------------
    async def _member_sids(self, call_id: str, person_id: str) -> list[str]:
        return [m.sid for m in await self.members(call_id) if m.person.id == person_id]

    async def mute(self, actor: Actor, req: CallMute) -> dict:
        """Ask a member to turn off their microphone (or camera); their client does it."""
        call = await self._host_call(actor, req.call_id)
        sids = await self._member_sids(call.id, req.person_id)
        if not sids:
            raise DomainError("not_in_room", "that person is not in this call")
        asked = {"call_id": call.id, "media": req.media, "by": actor.person.card()}
        for sid in sids:
            await self.outbox.emit(sid, "call:mute_requested", asked)
        return {"call_id": call.id, "person_id": req.person_id, "media": req.media}

    async def remove(self, actor: Actor, req: CallRemove) -> dict:
        """Put a member (or someone knocking) out; they stay out until readmitted."""
        call = await self._host_call(actor, req.call_id)
        if req.person_id == actor.person.id:
            raise Forbidden("you cannot do this to yourself", code="forbidden_self")
        target = await self.people.get(actor.event_id, req.person_id)
        if is_host(target, call):
            raise Forbidden("hosts cannot remove each other")
        await self.access(call.event_id, call.id).put(
            target.id,
            Access(person=target.card(), state="removed", by=actor.person.id, at=self.clock()),
        )
        await self.outbox.emit(
            f"user:{target.id}", "call:removed", {"call_id": call.id, "reason": req.reason}
        )
        for sid in await self._member_sids(call.id, target.id):
            await self._drop(call.id, sid, "removed")
        if await self._drop_knocks(call.id, target.id):
            await self._push_queue(call.id)
        return {"call_id": call.id, "person_id": target.id, "removed": True}

    # sockets and nodes going away ----------------------------------------------------------
    async def disconnect(self, actor: Actor) -> None:
        if actor.call_id is not None:
            await self._drop(actor.call_id, actor.sid, "disconnected")
            actor.call_id = None
        if actor.knock_id is not None:
            await self._withdraw(actor)

    async def reaped(self, scope: str, member: str) -> None:
        """A crashed node's socket was taken out of a call or a knock queue."""
        kind, _, call_id = scope.partition(":")
        if kind == "call":
            await self._announce_left(call_id, member, "disconnected")
        elif kind == "knock" and call_id.startswith(BOOTH_PREFIX):
            await self._push_queue(call_id)
