"""Invitations, registration and the people of an event, and what one person may
take of the cluster: registrations per address and per invite, sockets per person.

A person's sockets are sessions of the presence scope ``user:<person id>`` (member =
sid, info = when it connected): counted across nodes, reaped with a crashed node, and
silent (nobody is told about them). Past ``max_sockets_per_person`` the oldest other
sockets are taken out and closed, on whichever node they are, by an order on the
pub/sub channel ``names.SOCKET_ORDERS`` that the gateway of every node follows.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from rooms import errors, names
from rooms.area import Area
from rooms.catalog import Catalog
from rooms.commands import RateClass, command
from rooms.context import Actor, Services
from rooms.errors import DomainError
from rooms.ids import new_id
from rooms.models import (
    Country,
    Id,
    Invite,
    Language,
    Name,
    Person,
    PersonCard,
    Role,
    Sector,
    ShortText,
)  # fmt: skip
from rooms.permissions import Perm, require
from rooms.presence import Presence
from rooms.protocol import PersonRef
from rooms.ratelimit import RateLimiter
from rooms.store import Collection

# Registrations (POST /api/join): every try from one address counts, so guessing invite
# codes is as slow as registering; an invite counts the registrations it accepts.
JOIN_ADDRESS = RateClass(
    "join_address",
    lambda lim: lim.join_address_rate_count,
    lambda lim: lim.join_rate_window,
    "registrations from one address",
)
JOIN_INVITE = RateClass(
    "join_invite",
    lambda lim: lim.join_invite_rate_count,
    lambda lim: lim.join_rate_window,
    "registrations through one invite",
)


class CloseSockets(Struct):
    """An order to every node: close these sockets (``socket:closing`` with the code)."""

    sids: list[str]
    code: str
    message: str


encode_order = msgspec.msgpack.Encoder().encode
decode_order = msgspec.msgpack.Decoder(CloseSockets).decode
_encode_since = msgspec.msgpack.Encoder().encode
_decode_since = msgspec.msgpack.Decoder(float).decode


class Registration(Struct, forbid_unknown_fields=True, kw_only=True):
    """What a person tells us when they open an invite link."""

    code: Annotated[str, Meta(min_length=8, max_length=64)]
    name: Name
    company: Name
    country: Country
    sector: Sector
    language: Language = "en"


class InviteRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    role: Role
    booth_ids: Annotated[list[Id], Meta(max_length=20)] = []
    max_uses: Annotated[int, Meta(ge=1, le=100_000)] | None = None
    expires_in_hours: Annotated[float, Meta(gt=0, le=24 * 365)] | None = None
    label: ShortText = ""


SocketCloser = Callable[[list[str], DomainError], Awaitable[None]]


class People(Area):
    name = "people"
    #: Closes sockets of this node at once (the gateway sets it), so one person's
    #: connects on a node never outrun the closing of their oldest sockets; every node
    #: (this one included, where they are gone by then) follows the published order.
    close_here: SocketCloser | None = None

    def __init__(self, services: Services, catalog: Catalog, presence: Presence) -> None:
        super().__init__(services)
        self.catalog = catalog
        self.invites = Collection(self.engine, "invites", Invite)
        self.rates = RateLimiter(self.engine, self.limits)
        # a person's sockets are nobody else's business: no notices when a node that
        # held some is reaped or comes back
        presence.on_reaped("user", self._quietly)

    async def _quietly(self, scope: str, member: str) -> None:
        return None

    # sockets -----------------------------------------------------------------
    async def on_connect(self, actor: Actor) -> None:
        """Count the socket among its person's; past the cap, the oldest others close."""
        scope = names.user_room(actor.person.id)
        since = _encode_since(self.now())
        await self.engine.presence.add(scope, actor.sid, actor.sid, since)
        cap = self.limits.max_sockets_per_person
        sockets = await self.engine.presence.members(scope)
        if len(sockets) <= cap:
            return
        # The newest is never the one to go: it is the person in front of the screen.
        # Two nodes doing this at once pick the same oldest ones (ties by sid), and a
        # session is removed only once, so each socket is ordered closed once.
        others = sorted((_decode_since(info), sid) for sid, info in sockets.items())
        others = [sid for _, sid in others if sid != actor.sid][: len(sockets) - cap]
        closing = [sid for sid in others if await self.engine.presence.remove(scope, sid)]
        if closing:
            why = errors.TOO_MANY_SOCKETS(
                f"more than {cap} connections of this person: the oldest close"
            )
            if self.close_here is not None:
                await self.close_here(closing, why)
            order = CloseSockets(sids=closing, code=why.code, message=why.message)
            await self.engine.pubsub.publish(names.SOCKET_ORDERS, encode_order(order))

    async def on_disconnect(self, actor: Actor) -> None:
        await self.engine.presence.remove(names.user_room(actor.person.id), actor.sid)

    @command("people:get", PersonRef, Perm.LOBBY_READ)
    async def card(self, actor: Actor, ref: PersonRef) -> PersonCard:
        """What others may see of one person."""
        person = await self.get(actor.event_id, ref.person_id)
        return person.card()

    def people(self, event_id: str) -> Collection[Person]:
        return Collection(self.engine, f"ev:{event_id}:people", Person)

    async def get(self, event_id: str, person_id: str) -> Person:
        person = await self.people(event_id).get(person_id)
        if person is None:
            raise errors.PERSON_NOT_FOUND()
        return person

    async def list(self, event_id: str) -> list[Person]:
        return sorted(await self.people(event_id).all(), key=lambda p: p.name.casefold())

    async def save(self, person: Person) -> None:
        await self.people(person.event_id).put(person.id, person)

    # invitations ----------------------------------------------------------
    async def mint_invite(self, actor: Person | None, event_id: str, req: InviteRequest) -> Invite:
        """Organizers mint invites; ``actor`` None is the server itself (admin key, demo)."""
        if actor is not None:
            require(actor, Perm.INVITES_MANAGE)
        await self.catalog.event(event_id)
        return await self._store_invite(event_id, req, secrets.token_urlsafe(12), actor)

    async def ensure_invite(self, event_id: str, req: InviteRequest, secret: bytes) -> Invite:
        """A stable invite derived from ``secret`` (demo links survive restarts and
        are the same on every node sharing that secret)."""
        digest = hmac.new(secret, f"{event_id}:{req.role}:{req.label}".encode(), hashlib.sha256)
        code = digest.hexdigest()[:20]
        existing = await self.invites.get(code)
        if existing is not None:
            return existing  # keep an organizer's revocation across restarts
        return await self._store_invite(event_id, req, code, None)

    async def _store_invite(
        self, event_id: str, req: InviteRequest, code: str, actor: Person | None
    ) -> Invite:
        if req.role == "exhibitor" and not req.booth_ids:
            raise errors.INVALID_PAYLOAD("an exhibitor invite must name at least one booth")
        if req.role != "exhibitor" and req.booth_ids:
            raise errors.INVALID_PAYLOAD("only exhibitor invites carry booths")
        for booth_id in req.booth_ids:
            await self.catalog.booth(event_id, booth_id)
        expires = self.now() + req.expires_in_hours * 3600 if req.expires_in_hours else None
        invite = Invite(
            code=code,
            event_id=event_id,
            role=req.role,
            booth_ids=list(req.booth_ids),
            max_uses=req.max_uses,
            expires_at=expires,
            label=req.label,
            created_by=actor.id if actor else "",
        )
        await self.invites.put(code, invite)
        return invite

    async def usable_invite(self, code: str) -> Invite:
        invite = await self.invites.get(code)
        if invite is None or invite.revoked:
            raise errors.INVITE_INVALID()
        if invite.expires_at is not None and invite.expires_at <= self.now():
            raise errors.INVITE_EXPIRED()
        return invite

    async def list_invites(self, actor: Person, event_id: str) -> list[Invite]:
        require(actor, Perm.INVITES_MANAGE)
        invites = [i for i in await self.invites.all() if i.event_id == event_id]
        return sorted(invites, key=lambda i: (i.role, i.label, i.code))

    async def list_for(self, actor: Person) -> list[Person]:
        """Everyone registered for the actor's event (organizers' figures)."""
        require(actor, Perm.PEOPLE_LIST)
        return await self.list(actor.event_id)

    async def revoke_invite(self, actor: Person, code: str) -> None:
        require(actor, Perm.INVITES_MANAGE)
        invite = await self.invites.get(code)
        if invite is None or invite.event_id != actor.event_id:
            raise errors.INVITE_INVALID()
        invite.revoked = True
        await self.invites.put(code, invite)

    # registration -----------------------------------------------------------
    async def register(self, form: Registration, address: str | None = None) -> Person:
        """A new person, by invite. ``address`` is the client's (its budget of
        registrations); None when the server registers someone itself."""
        if address is not None:
            await self.rates.take(JOIN_ADDRESS, address)
        invite = await self.usable_invite(form.code)
        name, company = form.name.strip(), form.company.strip()
        if not name or not company:  # before counting a use: a typo must not spend one
            raise errors.INVALID_PAYLOAD("name and company must not be blank")
        await self.rates.take(JOIN_INVITE, invite.code)
        if invite.max_uses is not None:
            used = await self.engine.counters.incr(f"invite-uses:{invite.code}")
            if used > invite.max_uses:
                raise errors.INVITE_USED_UP()
        booth_ids = [
            b for b in invite.booth_ids if await self.catalog.booths(invite.event_id).get(b)
        ]
        if invite.role == "exhibitor" and not booth_ids:
            raise errors.INVITE_INVALID()  # its booths were deleted
        person = Person(
            id=new_id("p-"),
            event_id=invite.event_id,
            role=invite.role,
            name=name,
            company=company,
            country=form.country,
            sector=form.sector,
            language=form.language,
            booth_ids=booth_ids,
            created_at=self.now(),
        )
        await self.save(person)
        return person
