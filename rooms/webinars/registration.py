"""Registration: a person puts a webinar on their agenda; past its capacity they wait.

One record per person and webinar (keyed by person id) plus an index per person (their
agenda). Seats are counted by an atomic engine counter: a registration takes a seat by
incrementing it and gives it back when the count went past the capacity, so two nodes
can never both take the last seat. Whoever unregisters frees a seat and the first on
the waiting list moves up (``webinar:registration`` to their tabs); each promotion is
claimed with ``put_new``, so two nodes filling the same seat promote one person once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from msgspec import Struct

from rooms import errors, names
from rooms.area import Part
from rooms.commands import command
from rooms.context import Actor, Services
from rooms.errors import DomainError
from rooms.models import PersonCard, ScheduleItem
from rooms.permissions import Perm
from rooms.protocol import Empty, SessionRef
from rooms.store import Collection
from rooms.webinars.records import Webinar, WebinarState

if TYPE_CHECKING:
    from rooms.webinars.sessions import Webinars

log = logging.getLogger(__name__)
Status = Literal["registered", "waitlisted"]


class Seat(Struct, kw_only=True):
    """One person's registration for one webinar."""

    person: PersonCard
    status: Status
    seq: int  # order of registration (the waiting list's order)
    registered_at: float
    promoted_at: float | None = None  # moved up from the waiting list


class AgendaEntry(Struct, kw_only=True):
    session_id: str
    seq: int


class MyRegistration(Struct, kw_only=True):
    session_id: str
    status: Status | Literal["none"]
    position: int | None = None  # on the waiting list (1 = next to move up)


class Registered(Struct, kw_only=True):
    person: PersonCard
    registered_at: float
    position: int | None = None  # waiting list only


class RegistrationList(Struct, kw_only=True):
    session_id: str
    capacity: int | None
    registered: list[Registered]
    waitlisted: list[Registered]  # in the order they move up


class AgendaItem(Struct, kw_only=True):
    session: ScheduleItem
    state: WebinarState
    status: Status
    position: int | None = None


class Registrations(Part):
    def __init__(self, services: Services, webinars: Webinars) -> None:
        super().__init__(services)
        self.webinars = webinars

    def seats(self, webinar: Webinar) -> Collection[Seat]:
        return Collection(self.engine, f"ev:{webinar.event_id}:webinar-seats:{webinar.id}", Seat)

    def agenda_of(self, event_id: str, person_id: str) -> Collection[AgendaEntry]:
        return Collection(self.engine, f"ev:{event_id}:webinar-agenda:{person_id}", AgendaEntry)

    def _taken(self, webinar: Webinar) -> str:
        return f"webinar-seats-taken:{webinar.event_id}:{webinar.id}"

    async def _take_seat(self, webinar: Webinar) -> bool:
        taken = await self.engine.counters.incr(self._taken(webinar))
        if webinar.capacity is None or taken <= webinar.capacity:
            return True
        await self.engine.counters.incr(self._taken(webinar), -1)
        return False

    async def _give_back(self, webinar: Webinar) -> None:
        await self.engine.counters.incr(self._taken(webinar), -1)

    async def registered_people(self, webinar: Webinar) -> list[str]:
        """Person ids with a seat (the reminder goes to them)."""
        return [s.person.id for s in await self.seats(webinar).all() if s.status == "registered"]

    async def _position(self, webinar: Webinar, seat: Seat) -> int | None:
        if seat.status != "waitlisted":
            return None
        waiting = [s for s in await self.seats(webinar).all() if s.status == "waitlisted"]
        return 1 + sum(1 for s in waiting if s.seq < seat.seq)

    async def _mine(self, webinar: Webinar, seat: Seat | None) -> MyRegistration:
        if seat is None:
            return MyRegistration(session_id=webinar.id, status="none")
        position = await self._position(webinar, seat)
        return MyRegistration(session_id=webinar.id, status=seat.status, position=position)

    # commands ----------------------------------------------------------------------------
    @command("webinar:register", SessionRef, Perm.SESSION_ATTEND)
    async def register(self, actor: Actor, req: SessionRef) -> MyRegistration:
        """Put the webinar on your agenda: a seat, or a place on the waiting list."""
        webinar = await self.webinars.webinar(actor.event_id, req.session_id)
        if webinar.state == "ended":
            raise errors.WEBINAR_ENDED()
        seats = self.seats(webinar)
        person_id = actor.person.id
        seat = await seats.get(person_id)
        if seat is not None:
            return await self._mine(webinar, seat)
        seq = await self.engine.counters.incr(f"webinar-seat-seq:{webinar.event_id}:{webinar.id}")
        status: Status = "registered" if await self._take_seat(webinar) else "waitlisted"
        seat = Seat(person=actor.person.card(), status=status, seq=seq, registered_at=self.now())
        if not await seats.put_new(person_id, seat):  # another tab registered first
            if status == "registered":
                await self._give_back(webinar)
            return await self._mine(webinar, await seats.get(person_id))
        await self.agenda_of(actor.event_id, person_id).put(
            webinar.id, AgendaEntry(session_id=webinar.id, seq=seq)
        )
        if status == "waitlisted":
            # a seat may have come free while this one counted past the capacity
            await self.fill(webinar)
            seat = await seats.get(person_id) or seat
        return await self._mine(webinar, seat)

    @command("webinar:unregister", SessionRef, Perm.SESSION_ATTEND)
    async def unregister(self, actor: Actor, req: SessionRef) -> MyRegistration:
        """Take the webinar off your agenda (no error when it was not on it)."""
        webinar = await self.webinars.webinar(actor.event_id, req.session_id)
        seats = self.seats(webinar)
        person_id = actor.person.id
        seat = await seats.get(person_id)
        if seat is not None and await seats.delete(person_id):
            await self.agenda_of(actor.event_id, person_id).delete(webinar.id)
            if seat.status == "registered":
                await self._give_back(webinar)
                await self.fill(webinar)
        return MyRegistration(session_id=webinar.id, status="none")

    @command("webinar:registrations", SessionRef, Perm.SESSION_MODERATE)
    async def registrations(self, actor: Actor, req: SessionRef) -> RegistrationList:
        """Who registered and who waits, in order (moderators)."""
        webinar = await self.webinars.moderated(actor, req.session_id)
        seats = sorted(await self.seats(webinar).all(), key=lambda s: s.seq)
        registered = [
            Registered(person=s.person, registered_at=s.registered_at)
            for s in seats
            if s.status == "registered"
        ]
        waiting = [s for s in seats if s.status == "waitlisted"]
        waitlisted = [
            Registered(person=s.person, registered_at=s.registered_at, position=i)
            for i, s in enumerate(waiting, 1)
        ]
        return RegistrationList(
            session_id=webinar.id,
            capacity=webinar.capacity,
            registered=registered,
            waitlisted=waitlisted,
        )

    @command("webinar:agenda", Empty, Perm.SESSION_ATTEND)
    async def agenda(self, actor: Actor, _: Empty) -> list[AgendaItem]:
        """Your registrations, every webinar, by start time."""
        items = []
        for entry in await self.agenda_of(actor.event_id, actor.person.id).all():
            try:
                webinar = await self.webinars.webinar(actor.event_id, entry.session_id)
                item = await self.webinars.catalog.schedule_item(actor.event_id, webinar.id)
            except DomainError:  # the programme entry went away (or changed kind)
                continue
            seat = await self.seats(webinar).get(actor.person.id)
            if seat is None:
                continue
            items.append(
                AgendaItem(
                    session=item,
                    state=webinar.state,
                    status=seat.status,
                    position=await self._position(webinar, seat),
                )
            )
        items.sort(key=lambda a: (a.session.starts_at, a.session.id))
        return items

    # the waiting list moves up ---------------------------------------------------------------
    async def fill(self, webinar: Webinar) -> None:
        """Move the waiting list up while there are free seats (after a seat was given
        back, or the capacity grew). Safe to run on several nodes at once."""
        seats = self.seats(webinar)
        waiting = sorted(
            (s for s in await seats.all() if s.status == "waitlisted"), key=lambda s: s.seq
        )
        claims = self.engine.docs
        for seat in waiting:
            if not await self._take_seat(webinar):
                return
            claim = f"{webinar.event_id}:{webinar.id}:{seat.person.id}:{seat.seq}"
            if not await claims.put_new("webinar-promotions", claim, b"1"):
                await self._give_back(webinar)  # another node moved them up
                continue
            current = await seats.get(seat.person.id)
            if current is None or current.seq != seat.seq:  # they left meanwhile
                await self._give_back(webinar)
                continue
            current.status = "registered"
            current.promoted_at = self.now()
            await seats.put(seat.person.id, current)
            mine = MyRegistration(session_id=webinar.id, status="registered")
            await self.outbox.emit(names.user_room(seat.person.id), "webinar:registration", mine)
