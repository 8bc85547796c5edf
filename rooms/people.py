"""Invitations, registration and the people of an event."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from msgspec import Meta, Struct

from rooms import errors
from rooms.area import Area
from rooms.catalog import Catalog
from rooms.commands import command
from rooms.context import Actor, Services
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
from rooms.protocol import PersonRef
from rooms.store import Collection


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


class People(Area):
    name = "people"

    def __init__(self, services: Services, catalog: Catalog) -> None:
        super().__init__(services)
        self.catalog = catalog
        self.invites = Collection(self.engine, "invites", Invite)

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
    async def register(self, form: Registration) -> Person:
        invite = await self.usable_invite(form.code)
        name, company = form.name.strip(), form.company.strip()
        if not name or not company:  # before counting a use: a typo must not spend one
            raise errors.INVALID_PAYLOAD("name and company must not be blank")
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
