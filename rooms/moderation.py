"""Mute and remove people (moderators and organizers)."""

from __future__ import annotations

import time

from rooms.chat import Chat
from rooms.context import Actor, Limits, Outbox
from rooms.errors import Forbidden
from rooms.models import Mute
from rooms.people import People
from rooms.permissions import require_organizer, require_outranks
from rooms.protocol import Mute as MuteRequest
from rooms.protocol import PersonRef, Remove


class Moderation:
    def __init__(
        self, people: People, chat: Chat, outbox: Outbox, limits: Limits, clock=time.time
    ) -> None:
        self.people = people
        self.chat = chat
        self.outbox = outbox
        self.limits = limits
        self.clock = clock

    async def mute(self, actor: Actor, req: MuteRequest) -> Mute:
        target = await self.people.get(actor.event_id, req.person_id)
        require_outranks(actor.person, target)
        minutes = min(req.minutes, self.limits.mute_max_minutes)
        mute = Mute(person_id=target.id, until=self.clock() + minutes * 60, by=actor.person.id)
        await self.chat.mutes(actor.event_id).put(target.id, mute)
        await self.outbox.emit(
            f"user:{target.id}", "mod:muted", {"until": mute.until, "reason": req.reason}
        )
        return mute

    async def unmute(self, actor: Actor, req: PersonRef) -> dict:
        target = await self.people.get(actor.event_id, req.person_id)
        require_outranks(actor.person, target)
        mutes = self.chat.mutes(actor.event_id)
        mute = await mutes.get(target.id)
        removed = mute is not None and mute.until > self.clock()
        if mute is not None:
            await mutes.delete(target.id)
        if removed:
            await self.outbox.emit(f"user:{target.id}", "mod:unmuted", {})
        return {"person_id": target.id, "was_muted": removed}

    async def remove(self, actor: Actor, req: Remove) -> dict:
        """Take a person out of the event: sockets closed everywhere, token refused."""
        target = await self.people.get(actor.event_id, req.person_id)
        require_outranks(actor.person, target)
        target.removed = True
        await self.people.save(target)
        # each socket is told "mod:removed" and closed, on whichever node it is
        await self.outbox.disconnect_person(target.id, req.reason)
        return {"person_id": target.id, "removed": True}

    async def reinstate(self, actor: Actor, req: PersonRef) -> dict:
        require_organizer(actor.person)
        target = await self.people.get(actor.event_id, req.person_id)
        if target.id == actor.person.id:
            raise Forbidden("you cannot do this to yourself", code="forbidden_self")
        target.removed = False
        await self.people.save(target)
        return {"person_id": target.id, "removed": False}
