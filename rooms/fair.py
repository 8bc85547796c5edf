"""The composition root: builds the shared services, registers every area (one line
each), and runs commands and socket lifecycles for the gateway.

A new area is one module (rooms/<area>.py or a package) whose class derives from
``rooms.area.Area`` and declares its commands with ``@command``; add one
``self.add(...)`` line below. Nothing else lists commands.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from rooms import errors
from rooms.area import Area
from rooms.calls import Calls
from rooms.catalog import Catalog
from rooms.chat import Chat
from rooms.commands import Command, collect
from rooms.context import Actor, Limits, Outbox, Services
from rooms.engine import Engine
from rooms.errors import DomainError
from rooms.ice import IceConfig
from rooms.lobby import Lobby
from rooms.moderation import Moderation
from rooms.people import People
from rooms.places import Places
from rooms.presence import Presence
from rooms.ratelimit import RateLimiter
from rooms.visits import MediaHubs, Visits
from rooms.webinars import Webinars
from rooms.webinars.polls import Polls
from rooms.webinars.qa import QA
from rooms.webinars.reactions import Reactions
from rooms.webinars.stage import Stage

A = TypeVar("A", bound=Area)


class Fair:
    def __init__(
        self,
        engine: Engine,
        outbox: Outbox,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.time,
        ice: IceConfig | None = None,
        media: MediaHubs | None = None,
    ) -> None:
        s = self.services = Services(engine, outbox, limits or Limits(), clock)
        self.engine, self.outbox, self.limits = engine, outbox, s.limits
        self.areas: list[Area] = []
        # shared services (no commands of their own)
        self.catalog = Catalog(s)
        self.presence = Presence(
            engine, outbox, s.limits.presence_interval, s.limits.presence_detail_limit
        )
        # the areas, in the order sockets meet them on connect
        self.people = self.add(People(s, self.catalog, self.presence))
        self.moderation = self.add(Moderation(s, self.people))
        self.chat = self.add(Chat(s, self.people, self.moderation))
        self.lobby = self.add(Lobby(s, self.catalog, self.presence, self.chat, self.moderation))
        self.places = self.add(Places(s, self.catalog, self.presence, self.chat))
        self.calls = self.add(Calls(s, self.catalog, self.people, self.presence, ice))
        self.visits = self.add(
            Visits(s, self.catalog, self.presence, self.chat, self.moderation, media)
        )
        self.webinars = self.add(Webinars(s, self.catalog, self.places, self.presence, self.people))
        self.qa = self.add(QA(s, self.webinars, self.moderation))
        self.polls = self.add(Polls(s, self.webinars))
        self.reactions = self.add(Reactions(s, self.webinars))
        self.stage = self.add(Stage(s, self.webinars, self.presence, media))
        self.commands: dict[str, Command] = collect(self.areas)
        self.rates = RateLimiter(engine, s.limits)

    def add(self, area: A) -> A:
        self.areas.append(area)
        return area

    # sockets ------------------------------------------------------------------------------
    async def connect(self, sid: str, event_id: str, person_id: str) -> Actor:
        """Admit a socket (once per socket): the person must exist and not be removed."""
        person = await self.people.get(event_id, person_id)
        if person.removed:
            raise errors.REMOVED()
        actor = Actor(sid, person)
        for joined, area in enumerate(self.areas):
            try:
                await area.on_connect(actor)
            except BaseException:
                # refused half-way: the areas already joined forget it, so no ghost stays
                for done in reversed(self.areas[:joined]):
                    await done.on_disconnect(actor)
                raise
        return actor

    async def disconnect(self, actor: Actor) -> None:
        """The socket is gone: every area forgets it, the last registered first. One
        area failing does not stop the others."""
        failed: BaseException | None = None
        for area in reversed(self.areas):
            try:
                await area.on_disconnect(actor)
            except Exception as exc:
                failed = failed or exc
        if failed is not None:
            raise failed

    # commands -----------------------------------------------------------------------------
    async def run(self, command: Command, actor: Actor, payload: Any) -> Any:
        """Run a decoded command for ``actor``: refuse a role that can never hold its
        permission, draw on its rate class, then call its handler."""
        if not command.open_to(actor.person.role):
            permission = command.permission.value
            raise errors.FORBIDDEN(f"{command.name} needs the permission {permission}")
        if command.rate is None:
            return await command.handler(actor, payload)
        taken = await self.rates.take(command.rate, actor.person.id)
        try:
            return await command.handler(actor, payload)
        except DomainError:
            if taken is not None:  # refused requests do not use up the budget
                await self.rates.refund(taken)
            raise
