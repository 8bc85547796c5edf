"""One object that wires the services together and lists every client command."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rooms import protocol as p
from rooms import visits as v
from rooms.calls import Calls
from rooms.catalog import Catalog
from rooms.chat import Chat
from rooms.context import Actor, Limits, Outbox
from rooms.engine import Engine
from rooms.errors import DomainError
from rooms.ice import IceConfig
from rooms.models import PersonCard
from rooms.moderation import Moderation
from rooms.people import People
from rooms.places import Places
from rooms.presence import Presence
from rooms.visits import MediaHubs, Visits


@dataclass(frozen=True)
class Command:
    """A client event: its payload type and the handler that serves it."""

    name: str
    payload: type[p.Request]
    handler: Callable[[Actor, Any], Awaitable[Any]]


class Fair:
    def __init__(
        self,
        engine: Engine,
        outbox: Outbox,
        limits: Limits | None = None,
        clock=time.time,
        ice: IceConfig | None = None,
        media: MediaHubs | None = None,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.limits = limits or Limits()
        self.catalog = Catalog(engine, outbox)
        self.people = People(engine, self.catalog, clock)
        self.presence = Presence(
            engine, outbox, self.limits.presence_interval, self.limits.presence_detail_limit
        )
        self.chat = Chat(engine, outbox, self.catalog, self.people, self.limits, clock)
        self.places = Places(self.catalog, self.presence, outbox)
        self.moderation = Moderation(self.people, self.chat, outbox, self.limits, clock)
        self.calls = Calls(
            engine, outbox, self.catalog, self.people, self.limits, ice or IceConfig(), clock
        )
        self.visits = Visits(
            engine, outbox, self.catalog, self.chat, self.presence, self.limits, media, clock
        )
        for prefix in ("call:", "knock:"):  # their sessions die with a crashed node too
            self.presence.on_reaped(prefix, self.calls.reaped)
        self.commands = {c.name: c for c in self._commands()}

    def _commands(self) -> list[Command]:
        places, chat, mod, calls = self.places, self.chat, self.moderation, self.calls
        visits = self.visits
        return [
            Command("lobby:state", p.Empty, self.lobby_state),
            Command("lobby:online", p.OnlineQuery, self.online),
            Command("lobby:directory", p.DirectoryQuery, self.directory),
            Command("lobby:announce", p.Announce, chat.announce),
            Command("people:get", p.PersonRef, self.person_card),
            Command("booth:get", p.BoothRef, places.booth),
            Command("booth:enter", p.BoothRef, places.enter_booth),
            Command("booth:leave", p.Empty, places.leave_booth),
            Command("booth:update", p.BoothUpdate, places.update_booth),
            Command("session:enter", p.SessionRef, places.enter_session),
            Command("session:leave", p.Empty, places.leave_session),
            Command("chat:send", p.ChatSend, chat.send),
            Command("chat:history", p.ChatHistory, chat.history),
            Command("chat:delete", p.ChatDelete, chat.delete),
            Command("mod:mute", p.Mute, mod.mute),
            Command("mod:unmute", p.PersonRef, mod.unmute),
            Command("mod:remove", p.Remove, mod.remove),
            Command("mod:reinstate", p.PersonRef, mod.reinstate),
            Command("call:create", p.CallCreate, calls.create),
            Command("call:list", p.Empty, calls.list),
            Command("call:get", p.CallRef, calls.get),
            Command("call:end", p.CallRef, calls.end),
            Command("call:knock", p.CallRef, calls.knock),
            Command("call:withdraw", p.CallRef, calls.withdraw),
            Command("call:admit", p.CallPerson, calls.admit),
            Command("call:decline", p.CallPerson, calls.decline),
            Command("call:join", p.CallRef, calls.join),
            Command("call:leave", p.CallRef, calls.leave),
            Command("call:signal", p.CallSignal, calls.signal),
            Command("call:ice", p.Empty, calls.ice_servers),
            Command("call:mute", p.CallMute, calls.mute),
            Command("call:remove", p.CallRemove, calls.remove),
            Command("visit:create", v.VisitCreate, visits.create),
            Command("visit:list", p.Empty, visits.list),
            Command("visit:get", v.VisitRef, visits.get),
            Command("visit:update", v.VisitUpdate, visits.update),
            Command("visit:start", v.VisitStart, visits.start),
            Command("visit:end", v.VisitRef, visits.end),
            Command("visit:join", v.VisitRef, visits.join),
            Command("visit:leave", v.VisitRef, visits.leave),
            Command("visit:publish", v.VisitOffer, visits.publish),
            Command("visit:watch", v.VisitOffer, visits.watch),
            Command("visit:unwatch", v.VisitRef, visits.unwatch),
            Command("visit:ask", v.VisitAsk, visits.ask),
            Command("visit:answered", v.VisitQuestionRef, visits.answered),
        ]  # fmt: skip

    # connection lifecycle ----------------------------------------------------
    async def connect(self, sid: str, event_id: str, person_id: str) -> Actor:
        """Admit a socket: the person must exist and not be removed."""
        person = await self.people.get(event_id, person_id)
        if person.removed:
            raise DomainError("removed", "you have been removed from this event", status=403)
        actor = Actor(sid=sid, person=person)
        await self.outbox.join(sid, f"user:{person.id}")
        await self.presence.enter(f"event:{event_id}", actor)
        return actor

    async def disconnect(self, actor: Actor) -> None:
        await self.calls.disconnect(actor)
        await self.visits.disconnect(actor)
        await self.places.leave_all(actor)

    # lobby ----------------------------------------------------------------------
    async def lobby_state(self, actor: Actor, _: p.Empty) -> dict:
        eid = actor.event_id
        return {
            "me": actor.person,
            "event": await self.catalog.event(eid),
            "halls": await self.catalog.list_halls(eid),
            "schedule": await self.catalog.list_schedule(eid),
            # a big lobby's list is capped: online_count tells the rest, lobby:online searches
            "online": await self.presence.members(
                f"event:{eid}", limit=self.limits.presence_detail_limit
            ),
            "online_count": await self.presence.engine.presence.count(f"event:{eid}"),
            "announcements": await self.chat.announcements(eid),
        }

    async def online(self, actor: Actor, query: p.OnlineQuery) -> list[PersonCard]:
        return await self.presence.members(f"event:{actor.event_id}", query.q, query.limit)

    async def directory(self, actor: Actor, q: p.DirectoryQuery) -> list:
        return await self.catalog.list_booths(actor.event_id, q.q, q.sector, q.country, q.hall_id)

    async def person_card(self, actor: Actor, ref: p.PersonRef) -> PersonCard:
        person = await self.people.get(actor.event_id, ref.person_id)
        return person.card()
