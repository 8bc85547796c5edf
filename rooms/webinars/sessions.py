"""A webinar session: who plays which part, its state, and who is in it.

``scheduled`` → ``backstage`` → ``live`` → ``ended``, moved by its moderators (the
people an organizer lists, and organizers); ``scheduled`` or ``backstage`` may also go
straight to ``ended`` (cancelled). Everyone admitted to the event may join it
(``webinar:join``): the socket enters the programme session (rooms/places.py: its
presence scope, Socket.IO room and chat channel ``session:<id>``), moderators also the
moderators' room and moderators, speakers and interpreters the backstage room
(rooms/names.py).

Joining costs the same whatever the audience: the reply carries counts, never the
list of everyone present (``webinar:people`` gives moderators a bounded list).

When a person's part changes (assigned moderator or interpreter, a speaker accepting
or removed), every node re-checks the rooms of that person's sockets in the webinar:
the change is published on the pub/sub channel ``names.WEBINAR_ROLES`` and each node
moves its own sockets (Socket.IO room membership is local to a node).

Every push and reply that carries times also carries ``server_now`` (epoch seconds,
the server's clock), so clients count down timers against their clock's offset.

Other parts of a webinar (rooms/webinars/*.py) ask this module, through its public
functions, whether a socket is in a session (:meth:`Webinars.attending`), what part a
person plays (:func:`role_of`) and whether they moderate (:func:`moderates`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from rooms import errors, names
from rooms.area import Area
from rooms.catalog import Catalog
from rooms.commands import command
from rooms.context import Actor, Services
from rooms.models import Id, Person, PersonCard, ScheduleItem
from rooms.people import People
from rooms.permissions import SESSION_MODERATOR, Perm, allows
from rooms.places import Places
from rooms.presence import Presence
from rooms.protocol import Empty, Query, Request, SessionRef
from rooms.store import Collection
from rooms.webinars.attendance import Attendance
from rooms.webinars.hands import Hands
from rooms.webinars.records import SessionRole, Webinar, WebinarState
from rooms.webinars.registration import Registrations
from rooms.webinars.reminders import Reminders
from rooms.webinars.roles import Roles
from rooms.webinars.speakers import Speakers

log = logging.getLogger(__name__)

# the moves a moderator may make; anything else is ``webinar_state``
TRANSITIONS: dict[WebinarState, frozenset[WebinarState]] = {
    "scheduled": frozenset({"backstage", "ended"}),
    "backstage": frozenset({"live", "ended"}),
    "live": frozenset({"ended"}),
    "ended": frozenset(),
}
TIMER_MAX_MINUTES = 600


def moderates(person: Person, webinar: Webinar) -> bool:
    """The event's moderators and organizers (by role), and the people an organizer
    lists among this webinar's moderators (an ambassador, a chamber's guest)."""
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


class WebinarNow(Webinar, kw_only=True):
    """The record as pushed (``webinar:updated``) and replied: plus the server's clock."""

    server_now: float


def with_now(webinar: Webinar, now: float) -> WebinarNow:
    fields = {name: getattr(webinar, name) for name in webinar.__struct_fields__}
    return WebinarNow(**fields, server_now=now)


class WebinarView(Struct, kw_only=True):
    session: ScheduleItem
    webinar: Webinar
    role: SessionRole  # the asking person's part
    joined: bool  # this socket is in the session
    present: int  # people in the session now (counts only: see webinar:people)
    server_now: float  # the server's clock (epoch s), for the timer and the countdown


class RolesChanged(Struct):
    """To every node: these people's parts in a webinar changed; move their sockets."""

    event_id: str
    session_id: str
    person_ids: list[str]


_encode_change = msgspec.msgpack.Encoder().encode
_decode_change = msgspec.msgpack.Decoder(RolesChanged).decode


# -- payloads ------------------------------------------------------------------------------
class SetState(Request):
    session_id: Id
    state: WebinarState


class Configure(Request):
    session_id: Id
    capacity: Annotated[int, Meta(ge=0, le=1000000)] | UnsetType | None = UNSET
    qa_premoderated: bool | UnsetType = UNSET


class SetTimer(Request):
    """Exactly one of: ``minutes`` from now, an absolute ``ends_at``, or ``clear``."""

    session_id: Id
    minutes: Annotated[int, Meta(ge=0, le=TIMER_MAX_MINUTES)] | None = None
    ends_at: Annotated[datetime, Meta(tz=True)] | None = None
    clear: bool = False


class PeopleQuery(Request):
    session_id: Id
    q: Query = ""
    limit: Annotated[int, Meta(ge=1, le=1000)] = 100


class SessionPeople(Struct, kw_only=True):
    count: int  # everyone in the session
    people: list[PersonCard]  # the first ``limit`` matching ones, by name


class Webinars(Area):
    name = "webinar"

    def __init__(
        self,
        services: Services,
        catalog: Catalog,
        places: Places,
        presence: Presence,
        people: People,
    ) -> None:
        super().__init__(services)
        self.catalog = catalog
        self.places = places
        self.presence = presence
        self.people = people
        self._joined: dict[str, str] = {}  # sid -> the webinar that socket joined
        self._actors: dict[str, Actor] = {}  # sid -> its actor, for sockets in a webinar
        self._sids_of: dict[str, set[str]] = {}  # person id -> their sids here in a webinar
        self._listeners: list[Callable[[Webinar], Awaitable[None]]] = []
        self._leave_listeners: list[Callable[[Actor, str], Awaitable[None]]] = []
        self.roles = Roles(services, self)
        self.hands = Hands(services, self)
        self.speakers = Speakers(services, self)
        self.registrations = Registrations(services, self)
        self.attendance = Attendance(services, self)
        self.reminders = Reminders(services, self)

    def parts(self) -> Iterable[object]:
        return (self, self.roles, self.speakers, self.hands, self.registrations)

    # the node's lifecycle (server/app.py) ------------------------------------------------
    async def start(self) -> None:
        """Follow role changes made on any node; remind registered people."""
        await self.engine.pubsub.subscribe(names.WEBINAR_ROLES, self._on_roles_changed)
        self.reminders.start()

    async def close(self) -> None:
        await self.reminders.stop()
        await self.hands.close()

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

    def on_left(self, listener: Callable[[Actor, str], Awaitable[None]]) -> None:
        """``listener(actor, session_id)`` runs when a socket leaves a webinar it had
        joined (``webinar:leave``, or joining another one); a disconnect is each area's
        own ``on_disconnect``."""
        self._leave_listeners.append(listener)

    def on_changed(self, listener: Callable[[Webinar], Awaitable[None]]) -> None:
        """``listener(webinar)`` runs on this node after every change :meth:`save`
        makes (the stage's media follows who is on stage and who is muted)."""
        self._listeners.append(listener)

    async def save(self, webinar: Webinar) -> WebinarNow:
        """Store a changed webinar, tell everyone in it (``webinar:updated``, with the
        server's clock) and this node's listeners. Every change of the record goes
        through here. Returns what was pushed."""
        webinar.updated_at = now = self.now()
        await self.records(webinar.event_id).put(webinar.id, webinar)
        pushed = with_now(webinar, now)
        await self.outbox.emit(names.session_room(webinar.id), "webinar:updated", pushed)
        for listener in self._listeners:
            await listener(webinar)
        return pushed

    async def joined_webinar(self, actor: Actor, session_id: str) -> Webinar:
        """The webinar, provided this socket has joined it (else ``not_in_webinar``)."""
        if self.attending(actor) != session_id:
            raise errors.NOT_IN_WEBINAR()
        return await self.webinar(actor.event_id, session_id)

    async def moderated(self, actor: Actor, session_id: str) -> Webinar:
        """The webinar, provided ``actor`` moderates it (else ``forbidden``)."""
        return await self.moderated_by(actor.person, session_id)

    async def moderated_by(self, person: Person, session_id: str) -> Webinar:
        """The webinar of ``person``'s event, provided they moderate it (HTTP too)."""
        webinar = await self.webinar(person.event_id, session_id)
        if not moderates(person, webinar):
            raise errors.FORBIDDEN("only this webinar's moderators and organizers may do this")
        return webinar

    async def person(self, event_id: str, person_id: str) -> Person:
        """A person of the event who was not removed (else ``person_not_found``)."""
        person = await self.people.get(event_id, person_id)
        if person.removed:
            raise errors.PERSON_NOT_FOUND("that person was removed from the event")
        return person

    async def parts_changed(self, webinar: Webinar, *person_ids: str) -> None:
        """These people's parts changed: every node moves their sockets in the webinar
        into (or out of) the moderators' and backstage rooms."""
        change = RolesChanged(webinar.event_id, webinar.id, list(person_ids))
        await self.engine.pubsub.publish(names.WEBINAR_ROLES, _encode_change(change))

    async def _on_roles_changed(self, payload: bytes) -> None:
        try:
            change = _decode_change(payload)
        except msgspec.DecodeError:
            log.warning("ignored a malformed webinar roles message")
            return
        sids = [
            sid
            for person_id in change.person_ids
            for sid in self._sids_of.get(person_id, ())
            if self._joined.get(sid) == change.session_id
        ]
        if not sids:
            return
        webinar = await self.webinar(change.event_id, change.session_id)
        for sid in sids:
            actor = self._actors.get(sid)
            if actor is not None and self._joined.get(sid) == webinar.id:
                await self._sync_rooms(actor, webinar)

    # joining and leaving ----------------------------------------------------------------
    async def on_disconnect(self, actor: Actor) -> None:
        # rooms go with the socket; places forgets the session's presence
        session_id = self._forget(actor)
        if session_id is not None:
            await self.attendance.left(actor, session_id)

    def _forget(self, actor: Actor) -> str | None:
        session_id = self._joined.pop(actor.sid, None)
        self._actors.pop(actor.sid, None)
        sids = self._sids_of.get(actor.person.id)
        if sids is not None:
            sids.discard(actor.sid)
            if not sids:
                del self._sids_of[actor.person.id]
        return session_id

    async def _view(self, actor: Actor, webinar: Webinar) -> WebinarView:
        return WebinarView(
            session=await self.catalog.schedule_item(actor.event_id, webinar.id),
            webinar=webinar,
            role=role_of(actor.person, webinar),
            joined=self.attending(actor) == webinar.id,
            present=await self.presence.count(names.session_room(webinar.id)),
            server_now=self.now(),
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
            self._actors[actor.sid] = actor
            self._sids_of.setdefault(actor.person.id, set()).add(actor.sid)
            await self.attendance.arrived(actor, webinar.id)
        await self._sync_rooms(actor, webinar)
        return await self._view(actor, webinar)

    async def _sync_rooms(self, actor: Actor, webinar: Webinar) -> None:
        role = role_of(actor.person, webinar)
        mods = names.session_moderators_room(webinar.id)
        backstage = names.session_backstage_room(webinar.id)
        await (self.outbox.join if role == "moderator" else self.outbox.leave)(actor.sid, mods)
        await (self.outbox.join if role != "audience" else self.outbox.leave)(actor.sid, backstage)

    @command("webinar:leave", Empty, Perm.SESSION_ATTEND)
    async def leave(self, actor: Actor, _: Empty) -> None:
        """Leave the webinar you are in."""
        await self._leave(actor)

    async def _leave(self, actor: Actor) -> None:
        session_id = self._forget(actor)
        if session_id is None:
            return
        await self.outbox.leave(actor.sid, names.session_moderators_room(session_id))
        await self.outbox.leave(actor.sid, names.session_backstage_room(session_id))
        await self.places.leave_session_quietly(actor)
        await self.attendance.left(actor, session_id)
        for listener in self._leave_listeners:
            await listener(actor, session_id)

    # running it (moderators) ----------------------------------------------------------------
    @command("webinar:set_state", SetState, Perm.SESSION_MODERATE)
    async def set_state(self, actor: Actor, req: SetState) -> WebinarNow:
        """Move the webinar on: backstage, live, ended (or cancel it before it is live)."""
        webinar = await self.moderated(actor, req.session_id)
        if req.state not in TRANSITIONS[webinar.state]:
            raise errors.WEBINAR_STATE(f"a {webinar.state} webinar cannot become {req.state}")
        now = self.now()
        webinar.state = req.state
        if req.state == "backstage":
            webinar.backstage_at = now
        elif req.state == "live":
            webinar.live_at = now
        else:  # ended: nobody stays on stage, every hand goes down
            webinar.ended_at = now
            for speaker in webinar.speakers.values():
                speaker.on_stage = False
        pushed = await self.save(webinar)
        if req.state == "ended":
            await self.hands.clear(webinar)
        return pushed

    @command("webinar:configure", Configure, Perm.SESSION_MODERATE)
    async def configure(self, actor: Actor, req: Configure) -> WebinarNow:
        """Set the registration capacity (null: none) and whether questions wait for
        approval; fields left out stay as they are."""
        webinar = await self.moderated(actor, req.session_id)
        if webinar.state == "ended":
            raise errors.WEBINAR_ENDED()
        if req.capacity is not UNSET:
            webinar.capacity = req.capacity
        if req.qa_premoderated is not UNSET:
            webinar.qa_premoderated = req.qa_premoderated
        pushed = await self.save(webinar)
        if req.capacity is not UNSET:  # more seats: the waiting list moves up
            await self.registrations.fill(webinar)
        return pushed

    @command("webinar:set_timer", SetTimer, Perm.SESSION_MODERATE)
    async def set_timer(self, actor: Actor, req: SetTimer) -> WebinarNow:
        """Set the session timer everyone sees: minutes from now, an end time, or clear it."""
        webinar = await self.moderated(actor, req.session_id)
        given = (req.minutes is not None) + (req.ends_at is not None) + req.clear
        if given != 1:
            raise errors.INVALID_PAYLOAD("send exactly one of minutes, ends_at or clear: true")
        if webinar.state == "ended":
            raise errors.WEBINAR_ENDED()
        now = self.now()
        if req.clear:
            webinar.timer_ends_at = None
        elif req.minutes is not None:
            webinar.timer_ends_at = now + req.minutes * 60
        else:
            ends_at = req.ends_at.timestamp()
            if not now <= ends_at <= now + TIMER_MAX_MINUTES * 60:
                raise errors.INVALID_PAYLOAD(
                    f"ends_at must lie between now and {TIMER_MAX_MINUTES} minutes from now"
                )
            webinar.timer_ends_at = ends_at
        return await self.save(webinar)

    @command("webinar:people", PeopleQuery, Perm.SESSION_MODERATE)
    async def list_people(self, actor: Actor, req: PeopleQuery) -> SessionPeople:
        """Who is in the webinar (moderators): the count and the first matching people."""
        webinar = await self.moderated(actor, req.session_id)
        scope = names.session_room(webinar.id)
        people = await self.presence.members(scope, req.q, req.limit)
        return SessionPeople(count=await self.presence.count(scope), people=people)
