"""Being somewhere: a booth or a programme session, one of each per socket at a time.

Each place has a presence scope and Socket.IO room of the same name, and a chat
channel of that name too (registered with the chat area): a booth's chat is for the
people inside it, read by its staff and moderators from outside.
"""

from __future__ import annotations

import msgspec
from msgspec import Struct

from rooms import errors, names
from rooms.area import Area
from rooms.catalog import Catalog
from rooms.chat import Channel, Chat
from rooms.commands import command
from rooms.context import Actor, Services
from rooms.models import Booth, PersonCard, ScheduleItem
from rooms.permissions import BOOTH_STAFF, Perm, is_staff_of, require
from rooms.presence import Presence
from rooms.protocol import BoothRef, BoothUpdate, Empty, SessionRef


class BoothView(Struct, kw_only=True):
    booth: Booth
    present: list[PersonCard]


class SessionView(Struct, kw_only=True):
    session: ScheduleItem
    present: list[PersonCard]


class Whereabouts:
    """Where one socket is."""

    __slots__ = ("booth_id", "session_id")

    def __init__(self) -> None:
        self.booth_id: str | None = None
        self.session_id: str | None = None


class Places(Area):
    name = "places"

    def __init__(
        self, services: Services, catalog: Catalog, presence: Presence, chat: Chat
    ) -> None:
        super().__init__(services)
        self.catalog = catalog
        self.presence = presence
        self._sockets: dict[str, Whereabouts] = {}
        self.chat = chat
        chat.add_kind("booth", self._booth_channel)
        chat.add_kind("session", self._session_channel)

    # where a socket is (public: other areas ask) ---------------------------------------------
    def booth_of(self, actor: Actor) -> str | None:
        where = self._sockets.get(actor.sid)
        return where.booth_id if where else None

    def session_of(self, actor: Actor) -> str | None:
        where = self._sockets.get(actor.sid)
        return where.session_id if where else None

    def _where(self, actor: Actor) -> Whereabouts:
        where = self._sockets.get(actor.sid)
        if where is None:
            where = self._sockets[actor.sid] = Whereabouts()
        return where

    async def on_disconnect(self, actor: Actor) -> None:
        """The socket is gone (and its rooms with it): only presence needs updating."""
        where = self._sockets.pop(actor.sid, None)
        if where is None:
            return
        if where.booth_id is not None:
            await self.presence.forget(names.booth_room(where.booth_id), actor.sid)
        if where.session_id is not None:
            await self.presence.forget(names.session_room(where.session_id), actor.sid)

    # chat channels of places -----------------------------------------------------------------
    async def _booth_channel(self, actor: Actor, booth_id: str) -> Channel:
        await self.catalog.booth(actor.event_id, booth_id)
        room = names.booth_room(booth_id)
        return self.chat.channel(
            actor.event_id,
            room,
            (room,),
            inside=lambda a: self.booth_of(a) == booth_id,
            outside=errors.NOT_IN_BOOTH,
            staff_booth=booth_id,
        )

    async def _session_channel(self, actor: Actor, session_id: str) -> Channel:
        await self.catalog.schedule_item(actor.event_id, session_id)
        room = names.session_room(session_id)
        return self.chat.channel(
            actor.event_id,
            room,
            (room,),
            inside=lambda a: self.session_of(a) == session_id,
            outside=errors.NOT_IN_SESSION,
        )

    # booths ----------------------------------------------------------------------------------
    @command("booth:get", BoothRef, Perm.BOOTH_VISIT)
    async def booth(self, actor: Actor, req: BoothRef) -> BoothView:
        """A booth and who is inside, without entering it."""
        booth = await self.catalog.booth(actor.event_id, req.booth_id)
        present = await self.presence.members(names.booth_room(booth.id))
        return BoothView(booth=booth, present=present)

    @command("booth:enter", BoothRef, Perm.BOOTH_VISIT)
    async def enter_booth(self, actor: Actor, req: BoothRef) -> BoothView:
        """Walk into a booth (leaving the one you were in)."""
        booth_id = req.booth_id
        booth = await self.catalog.booth(actor.event_id, booth_id)
        where = self._where(actor)
        if where.booth_id != booth_id:
            await self._leave_booth(actor, where)
            where.booth_id = booth_id
            await self.presence.enter(names.booth_room(booth_id), actor)
            if is_staff_of(actor.person, booth_id):  # the knock queue of its video call
                await self.outbox.join(actor.sid, names.staff_room(booth_id))
        present = await self.presence.members(names.booth_room(booth_id))
        return BoothView(booth=booth, present=present)

    @command("booth:leave", Empty, Perm.BOOTH_VISIT)
    async def leave_booth(self, actor: Actor, _: Empty) -> None:
        """Walk out of the booth you are in."""
        await self._leave_booth(actor, self._where(actor))

    async def _leave_booth(self, actor: Actor, where: Whereabouts) -> None:
        if where.booth_id is not None:
            booth_id, where.booth_id = where.booth_id, None
            if is_staff_of(actor.person, booth_id):
                await self.outbox.leave(actor.sid, names.staff_room(booth_id))
            await self.presence.leave(names.booth_room(booth_id), actor)

    @command("booth:update", BoothUpdate, Perm.BOOTH_EDIT)
    async def update_booth(self, actor: Actor, req: BoothUpdate) -> Booth:
        """Edit a booth's profile (its staff; organizers)."""
        require(
            actor.person,
            Perm.BOOTH_EDIT,
            (BOOTH_STAFF, req.booth_id),
            message="only this booth's staff or an organizer may edit it",
        )
        # Only the fields the client sent; the catalog re-validates the whole booth.
        sent = msgspec.to_builtins(req)
        fields = {k: v for k, v in sent.items() if k != "booth_id" and v is not None}
        return await self.catalog.update_booth(actor.person, actor.event_id, req.booth_id, fields)

    # sessions --------------------------------------------------------------------------------
    @command("session:enter", SessionRef, Perm.SESSION_ATTEND)
    async def enter_session(self, actor: Actor, req: SessionRef) -> SessionView:
        """Join a programme session's room and chat (leaving the one you were in)."""
        session_id = req.session_id
        item = await self.catalog.schedule_item(actor.event_id, session_id)
        where = self._where(actor)
        if where.session_id != session_id:
            await self._leave_session(actor, where)
            where.session_id = session_id
            await self.presence.enter(names.session_room(session_id), actor)
        present = await self.presence.members(names.session_room(session_id))
        return SessionView(session=item, present=present)

    async def enter_session_quietly(self, actor: Actor, session_id: str) -> None:
        """Be in a session's room, presence and chat, without the list of who is there
        (rooms/webinars/: an arrival must not cost the size of the audience)."""
        where = self._where(actor)
        if where.session_id != session_id:
            await self._leave_session(actor, where)
            where.session_id = session_id
            await self.presence.enter(names.session_room(session_id), actor)

    async def leave_session_quietly(self, actor: Actor) -> None:
        await self._leave_session(actor, self._where(actor))

    @command("session:leave", Empty, Perm.SESSION_ATTEND)
    async def leave_session(self, actor: Actor, _: Empty) -> None:
        """Leave the session you are in."""
        await self._leave_session(actor, self._where(actor))

    async def _leave_session(self, actor: Actor, where: Whereabouts) -> None:
        if where.session_id is not None:
            scope, where.session_id = names.session_room(where.session_id), None
            await self.presence.leave(scope, actor)
