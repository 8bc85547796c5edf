"""Being somewhere: a booth or a session. One of each per socket at a time."""

from __future__ import annotations

import msgspec
from msgspec import Struct

from rooms.catalog import Catalog
from rooms.context import Actor, Outbox
from rooms.models import Booth, PersonCard, ScheduleItem
from rooms.permissions import is_staff_of
from rooms.presence import Presence
from rooms.protocol import BoothRef, BoothUpdate, Empty, SessionRef


class BoothView(Struct, kw_only=True):
    booth: Booth
    present: list[PersonCard]


class SessionView(Struct, kw_only=True):
    session: ScheduleItem
    present: list[PersonCard]


class Places:
    def __init__(self, catalog: Catalog, presence: Presence, outbox: Outbox) -> None:
        self.catalog = catalog
        self.presence = presence
        self.outbox = outbox

    async def booth(self, actor: Actor, req: BoothRef) -> BoothView:
        booth_id = req.booth_id
        booth = await self.catalog.booth(actor.event_id, booth_id)
        return BoothView(booth=booth, present=await self.presence.members(f"booth:{booth_id}"))

    async def enter_booth(self, actor: Actor, req: BoothRef) -> BoothView:
        booth_id = req.booth_id
        booth = await self.catalog.booth(actor.event_id, booth_id)
        if actor.booth_id != booth_id:
            await self.leave_booth(actor)
            actor.booth_id = booth_id
            await self.presence.enter(f"booth:{booth_id}", actor)
            if is_staff_of(actor.person, booth_id):  # the knock queue of its video call
                await self.outbox.join(actor.sid, f"staff:{booth_id}")
        return BoothView(booth=booth, present=await self.presence.members(f"booth:{booth_id}"))

    async def leave_booth(self, actor: Actor, _: Empty | None = None) -> None:
        if actor.booth_id is not None:
            booth_id, actor.booth_id = actor.booth_id, None
            if is_staff_of(actor.person, booth_id):
                await self.outbox.leave(actor.sid, f"staff:{booth_id}")
            await self.presence.leave(f"booth:{booth_id}", actor)

    async def update_booth(self, actor: Actor, req: BoothUpdate) -> Booth:
        # Only the fields the client sent; the catalog re-validates the whole booth.
        sent = msgspec.to_builtins(req)
        fields = {k: v for k, v in sent.items() if k != "booth_id" and v is not None}
        return await self.catalog.update_booth(actor.person, actor.event_id, req.booth_id, fields)

    async def enter_session(self, actor: Actor, req: SessionRef) -> SessionView:
        session_id = req.session_id
        item = await self.catalog.schedule_item(actor.event_id, session_id)
        if actor.session_id != session_id:
            await self.leave_session(actor)
            actor.session_id = session_id
            await self.presence.enter(f"session:{session_id}", actor)
        return SessionView(
            session=item, present=await self.presence.members(f"session:{session_id}")
        )

    async def leave_session(self, actor: Actor, _: Empty | None = None) -> None:
        if actor.session_id is not None:
            scope, actor.session_id = f"session:{actor.session_id}", None
            await self.presence.leave(scope, actor)

    async def leave_all(self, actor: Actor) -> None:
        """On disconnect: the socket is gone, so only presence needs updating."""
        for scope in (
            f"booth:{actor.booth_id}" if actor.booth_id else None,
            f"session:{actor.session_id}" if actor.session_id else None,
            f"event:{actor.event_id}",
        ):
            if scope is not None:
                await self.presence.forget(scope, actor.sid)
        actor.booth_id = actor.session_id = None
