"""Mute and remove people (moderators and organizers). Mutes live here; areas where
people speak ask :meth:`Moderation.check_not_muted`."""

from __future__ import annotations

from datetime import UTC, datetime

from rooms import errors, names
from rooms.area import Area
from rooms.commands import command
from rooms.context import Actor, Services
from rooms.models import Mute
from rooms.people import People
from rooms.permissions import Perm, require_outranks
from rooms.protocol import Mute as MuteRequest
from rooms.protocol import PersonRef, Remove
from rooms.store import Collection


class Moderation(Area):
    name = "mod"

    def __init__(self, services: Services, people: People) -> None:
        super().__init__(services)
        self.people = people

    def mutes(self, event_id: str) -> Collection[Mute]:
        return Collection(self.engine, f"ev:{event_id}:mutes", Mute)

    async def check_not_muted(self, actor: Actor) -> None:
        """Raise ``muted`` while the actor's mute runs."""
        mute = await self.mutes(actor.event_id).get(actor.person.id)
        if mute is not None and mute.until > self.now():
            until = datetime.fromtimestamp(mute.until, UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise errors.MUTED(f"you are muted until {until}")

    @command("mod:mute", MuteRequest, Perm.PEOPLE_MUTE)
    async def mute(self, actor: Actor, req: MuteRequest) -> Mute:
        """Mute someone of a lower role for a number of minutes."""
        target = await self.people.get(actor.event_id, req.person_id)
        require_outranks(actor.person, target)
        minutes = min(req.minutes, self.limits.mute_max_minutes)
        mute = Mute(person_id=target.id, until=self.now() + minutes * 60, by=actor.person.id)
        await self.mutes(actor.event_id).put(target.id, mute)
        await self.outbox.emit(
            names.user_room(target.id), "mod:muted", {"until": mute.until, "reason": req.reason}
        )
        return mute

    @command("mod:unmute", PersonRef, Perm.PEOPLE_MUTE)
    async def unmute(self, actor: Actor, req: PersonRef) -> dict:
        """Lift a mute before it runs out."""
        target = await self.people.get(actor.event_id, req.person_id)
        require_outranks(actor.person, target)
        mutes = self.mutes(actor.event_id)
        mute = await mutes.get(target.id)
        removed = mute is not None and mute.until > self.now()
        if mute is not None:
            await mutes.delete(target.id)
        if removed:
            await self.outbox.emit(names.user_room(target.id), "mod:unmuted", {})
        return {"person_id": target.id, "was_muted": removed}

    @command("mod:remove", Remove, Perm.PEOPLE_REMOVE)
    async def remove(self, actor: Actor, req: Remove) -> dict:
        """Take a person out of the event: sockets closed everywhere, token refused."""
        target = await self.people.get(actor.event_id, req.person_id)
        require_outranks(actor.person, target)
        target.removed = True
        await self.people.save(target)
        # each socket is told "mod:removed" and closed, on whichever node it is
        await self.outbox.disconnect_person(target.id, req.reason)
        return {"person_id": target.id, "removed": True}

    @command("mod:reinstate", PersonRef, Perm.PEOPLE_REINSTATE)
    async def reinstate(self, actor: Actor, req: PersonRef) -> dict:
        """Let a removed person back in."""
        target = await self.people.get(actor.event_id, req.person_id)
        if target.id == actor.person.id:
            raise errors.FORBIDDEN_SELF()
        target.removed = False
        await self.people.save(target)
        return {"person_id": target.id, "removed": False}
