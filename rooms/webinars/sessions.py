"""A webinar session: who plays which part, its state, and who is in it.

``scheduled`` → ``backstage`` → ``live`` → ``ended``, moved by its moderators (the
people an organizer lists, and organizers). Everyone admitted to the event may join
it (``webinar:join``): the socket enters the programme session (rooms/places.py: its
presence scope, Socket.IO room and chat channel ``session:<id>``), moderators also the
moderators' room and moderators and speakers the backstage room (rooms/names.py).

Joining costs the same whatever the audience: the reply carries counts, never the
list of everyone present (``webinar:people`` pages through it for moderators).

Other parts of a webinar (rooms/webinars/*.py) ask this module, through its public
functions, whether a socket is in a session (:meth:`Webinars.attending`), what part a
person plays (:func:`role_of`) and whether they moderate (:func:`moderates`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from msgspec import Struct

from rooms import errors, names
from rooms.area import Area
from rooms.catalog import Catalog
from rooms.commands import command
from rooms.context import Actor, Services
from rooms.models import Person, ScheduleItem
from rooms.permissions import SESSION_MODERATOR, Perm, allows
from rooms.places import Places
from rooms.presence import Presence
from rooms.protocol import Empty, SessionRef
from rooms.store import Collection
from rooms.webinars.records import SessionRole, Webinar


def moderates(person: Person, webinar: Webinar) -> bool:
    """Organizers, and the people listed among the webinar's moderators."""
    return allows(person, Perm.SESSION_MODERATE, (SESSION_MODERATOR, webinar))


def role_of(person: Person, webinar: Webinar) -> SessionRole:
    if moderates(person, webinar):
        return "moderator"
    speaker = webinar.speakers.get(person.id)
    if speaker is not None and speaker.state == "accepted":
        return "speaker"
    if any(person.id in ids for ids in webinar.interpreters.values()):
        return "interpreter"
    return "audience"


class WebinarView(Struct, kw_only=True):
    session: ScheduleItem
    webinar: Webinar
    role: SessionRole  # the asking person's part
    joined: bool  # this socket is in the session
    present: int  # people in the session now (counts only: see webinar:people)


class Webinars(Area):
    name = "webinar"

    def __init__(
        self, services: Services, catalog: Catalog, places: Places, presence: Presence
    ) -> None:
        super().__init__(services)
        self.catalog = catalog
        self.places = places
        self.presence = presence
        self._joined: dict[str, str] = {}  # sid -> the webinar that socket joined
        self._listeners: list[Callable[[Webinar], Awaitable[None]]] = []

    # public: other parts of the webinar ask these ---------------------------------------
    def attending(self, actor: Actor) -> str | None:
        """The webinar this socket has joined, if any."""
        return self._joined.get(actor.sid)

    def records(self, event_id: str) -> Collection[Webinar]:
        return Collection(self.engine, f"ev:{event_id}:webinars", Webinar)

    async def webinar(self, event_id: str, session_id: str) -> Webinar:
        """The webinar of a programme entry of kind ``webinar``, made on first use."""
        item = await self.catalog.schedule_item(event_id, session_id)
        if item.kind != "webinar":
            raise errors.NOT_A_WEBINAR()
        records = self.records(event_id)
        webinar = await records.get(session_id)
        if webinar is None:
            webinar = Webinar(id=session_id, event_id=event_id, updated_at=self.now())
            if not await records.put_new(session_id, webinar):  # another node was first
                webinar = await records.get(session_id) or webinar
        return webinar

    def on_changed(self, listener: Callable[[Webinar], Awaitable[None]]) -> None:
        """``listener(webinar)`` runs on this node after every change :meth:`save`
        makes (the stage's media follows who is on stage and who is muted)."""
        self._listeners.append(listener)

    async def save(self, webinar: Webinar) -> None:
        """Store a changed webinar, tell everyone in it (``webinar:updated``) and this
        node's listeners. Every change of the record goes through here."""
        webinar.updated_at = self.now()
        await self.records(webinar.event_id).put(webinar.id, webinar)
        await self.outbox.emit(names.session_room(webinar.id), "webinar:updated", webinar)
        for listener in self._listeners:
            await listener(webinar)

    async def joined_webinar(self, actor: Actor, session_id: str) -> Webinar:
        """The webinar, provided this socket has joined it (else ``not_in_webinar``)."""
        if self.attending(actor) != session_id:
            raise errors.NOT_IN_WEBINAR()
        return await self.webinar(actor.event_id, session_id)

    async def moderated(self, actor: Actor, session_id: str) -> Webinar:
        """The webinar, provided ``actor`` moderates it (else ``forbidden``)."""
        webinar = await self.webinar(actor.event_id, session_id)
        if not moderates(actor.person, webinar):
            raise errors.FORBIDDEN("only this webinar's moderators and organizers may do this")
        return webinar

    # joining and leaving ----------------------------------------------------------------
    async def on_disconnect(self, actor: Actor) -> None:
        self._joined.pop(actor.sid, None)  # rooms go with the socket; places forgets presence

    async def _view(self, actor: Actor, webinar: Webinar) -> WebinarView:
        return WebinarView(
            session=await self.catalog.schedule_item(actor.event_id, webinar.id),
            webinar=webinar,
            role=role_of(actor.person, webinar),
            joined=self.attending(actor) == webinar.id,
            present=await self.presence.count(names.session_room(webinar.id)),
        )

    @command("webinar:get", SessionRef, Perm.SESSION_ATTEND)
    async def get(self, actor: Actor, req: SessionRef) -> WebinarView:
        """A webinar, your part in it and how many people are in it, without joining."""
        return await self._view(actor, await self.webinar(actor.event_id, req.session_id))

    @command("webinar:join", SessionRef, Perm.SESSION_ATTEND)
    async def join(self, actor: Actor, req: SessionRef) -> WebinarView:
        """Join a webinar (leaving the session you were in): its pushes and chat."""
        webinar = await self.webinar(actor.event_id, req.session_id)
        if webinar.state == "ended":
            raise errors.WEBINAR_ENDED()
        if self.attending(actor) != webinar.id:
            await self._leave(actor)
            await self.places.enter_session_quietly(actor, webinar.id)
            self._joined[actor.sid] = webinar.id
        await self._join_rooms(actor, webinar)
        return await self._view(actor, webinar)

    async def _join_rooms(self, actor: Actor, webinar: Webinar) -> None:
        role = role_of(actor.person, webinar)
        if role == "moderator":
            await self.outbox.join(actor.sid, names.session_moderators_room(webinar.id))
        if role != "audience":
            await self.outbox.join(actor.sid, names.session_backstage_room(webinar.id))

    @command("webinar:leave", Empty, Perm.SESSION_ATTEND)
    async def leave(self, actor: Actor, _: Empty) -> None:
        """Leave the webinar you are in."""
        await self._leave(actor)

    async def _leave(self, actor: Actor) -> None:
        session_id = self._joined.pop(actor.sid, None)
        if session_id is None:
            return
        await self.outbox.leave(actor.sid, names.session_moderators_room(session_id))
        await self.outbox.leave(actor.sid, names.session_backstage_room(session_id))
        await self.places.leave_session_quietly(actor)
