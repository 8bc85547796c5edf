"""Who runs a webinar: its moderators (listed by organizers) and its interpreters per
language (listed by organizers and the webinar's moderators).

A person assigned while in the webinar moves into the moderators' or backstage room at
once, on whichever node their sockets are (:meth:`Webinars.parts_changed`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from rooms import errors
from rooms.area import Part
from rooms.commands import command
from rooms.context import Actor, Services
from rooms.models import Id, Language
from rooms.permissions import Perm, granted
from rooms.protocol import Request
from rooms.webinars.records import Webinar

if TYPE_CHECKING:
    from rooms.webinars.sessions import WebinarNow, Webinars

AssignedRole = Literal["moderator", "interpreter"]


class Assign(Request):
    session_id: Id
    person_id: Id
    role: AssignedRole
    language: Language | None = None  # interpreters: the language they interpret into


class Roles(Part):
    def __init__(self, services: Services, webinars: Webinars) -> None:
        super().__init__(services)
        self.webinars = webinars

    async def _allowed(self, actor: Actor, req: Assign) -> Webinar:
        webinar = await self.webinars.moderated(actor, req.session_id)
        if req.role == "moderator" and not granted(actor.person.role, Perm.SESSION_MODERATE):
            raise errors.FORBIDDEN("only organizers list a webinar's moderators")
        if req.role == "moderator" and req.language is not None:
            raise errors.INVALID_PAYLOAD("a moderator has no language")
        return webinar

    @command("webinar:assign", Assign, Perm.SESSION_MODERATE)
    async def assign(self, actor: Actor, req: Assign) -> WebinarNow:
        """Make a person a moderator (organizers) or an interpreter of one language."""
        webinar = await self._allowed(actor, req)
        if req.role == "interpreter" and req.language is None:
            raise errors.INVALID_PAYLOAD("an interpreter needs a language (fr, de or en)")
        person = await self.webinars.person(actor.event_id, req.person_id)
        if req.role == "moderator":
            if person.id not in webinar.moderators:
                webinar.moderators.append(person.id)
        else:
            listed = webinar.interpreters.setdefault(req.language, [])
            if person.id not in listed:
                listed.append(person.id)
        pushed = await self.webinars.save(webinar)
        await self.webinars.parts_changed(webinar, person.id)
        return pushed

    @command("webinar:unassign", Assign, Perm.SESSION_MODERATE)
    async def unassign(self, actor: Actor, req: Assign) -> WebinarNow:
        """Take a moderator (organizers) or an interpreter (all languages when none
        is given) off the webinar; no error when they were not listed."""
        webinar = await self._allowed(actor, req)
        if req.role == "moderator":
            webinar.moderators = [p for p in webinar.moderators if p != req.person_id]
        else:
            languages = [req.language] if req.language else list(webinar.interpreters)
            for language in languages:
                kept = [p for p in webinar.interpreters.get(language, []) if p != req.person_id]
                if kept:
                    webinar.interpreters[language] = kept
                else:
                    webinar.interpreters.pop(language, None)
        pushed = await self.webinars.save(webinar)
        await self.webinars.parts_changed(webinar, req.person_id)
        return pushed
