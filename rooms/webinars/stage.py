"""A webinar's stage: publishing camera, microphone and screen, and watching it.

Moderators and accepted speakers publish (``webinar:publish``) to the stage's media
hub (rooms/media/stage.py), which runs on one node per webinar (the node of the first
publish or watch). Everyone in the webinar watches one *program* of it
(``webinar:watch``): the audience the ``stage`` (only while the webinar is live),
moderators, speakers and interpreters the ``backstage`` (any time before the end),
or the stage if they ask for it. Who is in which video slot and who speaks is pushed
as ``webinar:stage_layout`` (throttled) to the session's room (the stage program)
and its backstage room (the backstage program).

The webinar record (rooms/webinars/sessions.py) says who is on stage and who is
muted: every change :meth:`Webinars.save` makes on any node reaches this area's
listener on that node, which forwards the roster to the hub's node; the end of the
webinar closes the hub. A publisher's or viewer's socket that goes away takes its
connection with it.
"""

from __future__ import annotations

import logging
from typing import Literal, Protocol

from rooms import errors, names
from rooms.area import Area
from rooms.commands import command
from rooms.context import Actor, Services
from rooms.models import Id
from rooms.permissions import SESSION_MODERATOR, SESSION_SPEAKER, Perm, require
from rooms.presence import Presence
from rooms.protocol import Request, SessionDescription
from rooms.webinars.records import Webinar
from rooms.webinars.sessions import Webinars, moderates, role_of

log = logging.getLogger(__name__)
Program = Literal["stage", "backstage"]


class StagePublish(Request):
    session_id: Id
    description: SessionDescription
    screen: bool = False  # the offer's second video is a screen share


class StageWatch(Request):
    session_id: Id
    description: SessionDescription
    program: Program | None = None  # default: by your part (audience: stage)


class StageRef(Request):
    session_id: Id


class StageMedia(Protocol):
    """The stages' hubs, wherever in the cluster they run (rooms/media/stage.py)."""

    async def publish(self, event_id: str, session_id: str, roster, sid: str, person: dict,
                      part: str, offer: dict, screen: bool) -> dict: ...  # fmt: skip
    async def watch(self, event_id: str, session_id: str, roster, sid: str, program: str,
                    offer: dict) -> dict: ...  # fmt: skip
    async def unwatch(self, session_id: str, sid: str) -> None: ...
    async def unpublish(self, session_id: str, sid: str) -> None: ...
    async def update(self, session_id: str, roster) -> None: ...
    async def close(self, session_id: str) -> None: ...
    async def lost(self, session_id: str, node: str) -> None: ...
    def listen(self, listener) -> None: ...


def roster_of(webinar: Webinar):
    from rooms.media.stage import Roster, Seat  # aiortc is imported only with a hub

    return Roster(
        updated_at=webinar.updated_at,
        state=webinar.state,
        speakers={
            pid: Seat(s.on_stage, s.muted)
            for pid, s in webinar.speakers.items()
            if s.state == "accepted"
        },
    )


class Stage(Area):
    name = "webinar"

    def __init__(
        self, services: Services, webinars: Webinars, presence: Presence, media=None
    ) -> None:
        super().__init__(services)
        self.webinars = webinars
        self.media: StageMedia | None = getattr(media, "stages", None)
        self._publishing: dict[str, str] = {}  # sid -> session it publishes to
        self._watching: dict[str, str] = {}  # sid -> session it watches
        webinars.on_changed(self._changed)
        webinars.on_left(self._left)
        presence.on_reaped(names.STAGE_HUB, self._hub_reaped)
        if self.media is not None:
            self.media.listen(self._layout)

    def _require_media(self) -> StageMedia:
        if self.media is None:
            raise errors.MEDIA_UNAVAILABLE("this server streams no video")
        return self.media

    async def _speaking(self, actor: Actor, session_id: str) -> Webinar:
        webinar = await self.webinars.webinar(actor.event_id, session_id)
        require(
            actor.person, Perm.SESSION_SPEAK, (SESSION_MODERATOR, webinar),
            (SESSION_SPEAKER, webinar),
            message="only this webinar's moderators and accepted speakers may publish",
        )  # fmt: skip
        return webinar

    @staticmethod
    def _offer(desc: SessionDescription) -> dict:
        if desc.type != "offer":
            raise errors.INVALID_PAYLOAD("send an offer")
        return {"type": desc.type, "sdp": desc.sdp}

    # commands -------------------------------------------------------------------------------
    @command("webinar:publish", StagePublish, Perm.SESSION_SPEAK)
    async def publish(self, actor: Actor, req: StagePublish) -> dict:
        """Send camera and microphone (and a screen share) to the stage (moderators,
        accepted speakers): a WebRTC offer, answered by the stage's hub."""
        await self._speaking(actor, req.session_id)
        webinar = await self.webinars.joined_webinar(actor, req.session_id)
        if webinar.state == "ended":
            raise errors.WEBINAR_ENDED()
        offer = self._offer(req.description)
        media = self._require_media()
        part = "moderator" if moderates(actor.person, webinar) else "speaker"
        person = {"id": actor.person.id, "name": actor.person.name}
        reply = await media.publish(
            actor.event_id, webinar.id, roster_of(webinar), actor.sid, person, part, offer,
            req.screen,
        )  # fmt: skip
        self._publishing[actor.sid] = webinar.id
        return {"session_id": webinar.id, **reply}

    @command("webinar:unpublish", StageRef, Perm.SESSION_SPEAK)
    async def unpublish(self, actor: Actor, req: StageRef) -> dict:
        """Stop sending to the stage."""
        await self._speaking(actor, req.session_id)
        if self._publishing.get(actor.sid) == req.session_id:
            del self._publishing[actor.sid]
            await self._require_media().unpublish(req.session_id, actor.sid)
        return {"session_id": req.session_id}

    @command("webinar:watch", StageWatch, Perm.SESSION_ATTEND)
    async def watch(self, actor: Actor, req: StageWatch) -> dict:
        """Receive a program of the stage: a receive-only offer (camera slots, the
        screen slot, the mixed sound), answered by the stage's hub."""
        webinar = await self.webinars.joined_webinar(actor, req.session_id)
        if webinar.state == "ended":
            raise errors.WEBINAR_ENDED()
        backstage = role_of(actor.person, webinar) != "audience"
        program = req.program or ("backstage" if backstage else "stage")
        if program == "backstage" and not backstage:
            raise errors.FORBIDDEN("the backstage is for moderators, speakers and interpreters")
        if program == "stage" and webinar.state != "live":
            raise errors.WEBINAR_STATE("the stage is shown once the webinar is live")
        offer = self._offer(req.description)
        media = self._require_media()
        reply = await media.watch(
            actor.event_id, webinar.id, roster_of(webinar), actor.sid, program, offer
        )
        self._watching[actor.sid] = webinar.id
        return {"session_id": webinar.id, "program": program, **reply}

    @command("webinar:unwatch", StageRef, Perm.SESSION_ATTEND)
    async def unwatch(self, actor: Actor, req: StageRef) -> dict:
        """Close this socket's connection to the stage."""
        if self._watching.get(actor.sid) == req.session_id:
            del self._watching[actor.sid]
            await self._require_media().unwatch(req.session_id, actor.sid)
        return {"session_id": req.session_id}

    # the record, the hub and sockets -----------------------------------------------------------
    async def _changed(self, webinar: Webinar) -> None:
        """On the node where the record changed: the hub follows, wherever it runs."""
        if self.media is None:
            return
        try:
            await self.media.update(webinar.id, roster_of(webinar))
        except Exception:
            log.exception("telling the stage of %s about a change failed", webinar.id)

    async def _layout(self, event_id: str, layout) -> None:
        """On the hub's node: a program's layout changed."""
        if layout.program == "stage":
            room = names.session_room(layout.session_id)
        else:
            room = names.session_backstage_room(layout.session_id)
        await self.outbox.emit(room, "webinar:stage_layout", layout)

    async def _hub_reaped(self, scope: str, _event_id: str) -> None:
        node, session_id = names.stage_hub_of(scope)
        if self.media is not None:
            await self.media.lost(session_id, node)

    async def _left(self, actor: Actor, session_id: str) -> None:
        """Leaving the webinar closes this socket's connections to its stage."""
        if session_id in (self._publishing.get(actor.sid), self._watching.get(actor.sid)):
            await self.on_disconnect(actor)

    async def on_disconnect(self, actor: Actor) -> None:
        published = self._publishing.pop(actor.sid, None)
        watched = self._watching.pop(actor.sid, None)
        if self.media is None:
            return
        if published is not None:
            await self.media.unpublish(published, actor.sid)
        if watched is not None:
            await self.media.unwatch(watched, actor.sid)
