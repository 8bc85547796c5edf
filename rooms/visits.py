"""Virtual site visits: an exhibitor shows its factory or site live to many viewers.

A visit belongs to a booth. Its staff (or an organizer) schedule it, take it live and
end it: ``scheduled`` → ``live`` → ``ended`` (``ended`` is final; a scheduled visit
may be ended without going live, which cancels it). The one who takes it live is its
*guide*; every staff member of the booth and every organizer *hosts* it (may pin a
chapter, mark questions answered, end it).

Failures, none of which leaves a visit ``live`` without a way back:

- The guide's connection drops (its socket disconnects, or the hub sees its peer
  connection fail): the visit stays ``live`` with ``reconnecting_until`` set (viewers
  see "the guide is reconnecting"). A guide who publishes again within
  ``visit_guide_grace`` seconds clears it and every viewer's picture resumes on the
  same connection; otherwise the visit ends (``end_reason`` ``guide_lost``). The
  grace period runs on the hub's node, beside the hub.
- The hub's node dies (reaped: its ``visit-hub`` presence session goes with it) or
  stops: the visit becomes ``interrupted``. A host's ``visit:start`` opens a new hub
  on the node that host is connected to (``live`` again); ``visit:end`` ends it.

Anyone admitted to the event may join a visit that has not ended: the socket enters the
presence scope and Socket.IO room ``visit:<id>`` (viewers list and count, the visit's
chat channel ``visit:<id>``, questions, chapter changes). Watching the video is a
second step on top of joining (``visit:watch``): a WebRTC connection to the node that
hosts the visit's media hub (rooms/media), with a per-node viewer cap.

Questions are records of their own (a Q&A list next to the chat): a viewer asks, the
hosts see them all and mark them answered; everyone in the visit sees both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal, Protocol

import msgspec
from msgspec import Meta

from rooms import errors, names
from rooms.area import Area
from rooms.catalog import Catalog
from rooms.chat import Channel, Chat
from rooms.commands import CHAT, command
from rooms.context import Actor, Services
from rooms.ids import new_id
from rooms.models import (
    AwareDatetime,
    Id,
    Language,
    Name,
    Person,
    Question,
    Visit,
    VisitEndReason,
    VisitSource,
)
from rooms.moderation import Moderation
from rooms.permissions import BOOTH_STAFF, Perm, allows, require
from rooms.presence import Presence
from rooms.protocol import Empty, Request, SessionDescription
from rooms.store import Collection

log = logging.getLogger(__name__)
REAPED_RETRIES = (0.5, 1.0, 2.0, 4.0, None)  # seconds between attempts; None: give up
Chapter = Annotated[str, Meta(max_length=80)]
QuestionText = Annotated[str, Meta(min_length=1, max_length=500)]
MediaName = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Languages = Annotated[list[Language], Meta(min_length=1, max_length=3)]


# -- payloads ---------------------------------------------------------------------------
class VisitCreate(Request):
    booth_id: Id
    title: Name
    starts_at: AwareDatetime
    languages: Languages = msgspec.field(default_factory=lambda: ["en"])
    session_id: Id | None = None


class VisitRef(Request):
    visit_id: Id


class VisitUpdate(Request):
    visit_id: Id
    title: Name | None = None
    starts_at: AwareDatetime | None = None
    languages: Languages | None = None
    chapter: Chapter | None = None


class VisitStart(Request):
    visit_id: Id
    source: VisitSource = "browser"
    media: MediaName | None = None  # source "media": a feed the operator configured


class VisitAsk(Request):
    visit_id: Id
    text: QuestionText


class VisitQuestionRef(Request):
    visit_id: Id
    question_id: Id


class VisitOffer(Request):
    visit_id: Id
    description: SessionDescription


# -- the media side (rooms/media), seen from here ------------------------------------------
HubNews = Literal["guide_lost", "guide_back", "stopped"]


class MediaHubs(Protocol):
    """Hubs of live visits, wherever in the cluster they run."""

    async def open(self, visit: Visit, media: str | None) -> None:
        """Create the visit's hub on this node (``media``: a configured feed name, or
        None for a guide's browser); raise DomainError when the feed is unknown."""

    async def close(self, visit_id: str) -> None:
        """Stop the hub and every connection of it, on whichever node it runs."""

    async def publish(self, visit: Visit, sid: str, offer: dict) -> dict:
        """The guide's browser sends its camera: offer in, answer out."""

    async def watch(self, visit: Visit, sid: str, offer: dict) -> dict:
        """A viewer's browser receives the video: offer in, answer out."""

    async def unwatch(self, visit_id: str, sid: str) -> None:
        """Close that socket's connections to the hub (no error when there are none)."""

    async def drop_publisher(self, visit_id: str, sid: str) -> None:
        """Socket ``sid`` is gone: close its publishing connection, wherever the hub
        runs (the hub's listener hears ``guide_lost`` when it was the guide)."""

    async def lost(self, visit_id: str, node: str) -> bool:
        """``node``, which ran the visit's hub, died: forget that hub. False when the
        hub has moved to another node since (nothing was lost)."""

    def listen(self, listener: Callable[[str, str, HubNews], Awaitable[None]]) -> None:
        """``listener(event_id, visit_id, news)`` runs on the hub's node: its guide's
        connection was lost or is up again, or the hub stops with its node."""


def is_visit_host(person: Person, visit: Visit) -> bool:
    """Its booth's staff and organizers host a visit."""
    return allows(person, Perm.VISIT_HOST, (BOOTH_STAFF, visit.booth_id))


HOSTS_ONLY = "only this booth's staff or an organizer may do this"


class Visits(Area):
    name = "visit"

    def __init__(
        self,
        services: Services,
        catalog: Catalog,
        presence: Presence,
        chat: Chat,
        moderation: Moderation,
        media: MediaHubs | None = None,
    ) -> None:
        super().__init__(services)
        self.catalog = catalog
        self.presence = presence
        self.chat = chat
        self.moderation = moderation
        self.media = media
        self._joined: dict[str, str] = {}  # sid -> the visit that socket joined
        self._publishing: dict[str, str] = {}  # sid -> the visit it sends video to
        self._grace: dict[str, asyncio.Task] = {}  # visit id -> its guide's grace period
        chat.add_kind("visit", self._channel)
        presence.on_reaped(names.VISIT_HUB, self._hub_reaped)
        if media is not None:
            media.listen(self._hub_news)

    def joined(self, actor: Actor) -> str | None:
        """The visit this socket follows, if any."""
        return self._joined.get(actor.sid)

    async def _channel(self, actor: Actor, visit_id: str) -> Channel:
        visit = await self.visit(actor.event_id, visit_id)
        room = names.visit_room(visit.id)
        return self.chat.channel(
            actor.event_id,
            room,
            (room,),
            inside=lambda a: self.joined(a) == visit_id,
            outside=errors.NOT_IN_VISIT,
            staff_booth=visit.booth_id,
        )

    # records --------------------------------------------------------------------------
    def records(self, event_id: str) -> Collection[Visit]:
        return Collection(self.engine, f"ev:{event_id}:visits", Visit)

    def questions(self, event_id: str, visit_id: str) -> Collection[Question]:
        return Collection(self.engine, f"ev:{event_id}:visit-questions:{visit_id}", Question)

    async def visit(self, event_id: str, visit_id: str) -> Visit:
        visit = await self.records(event_id).get(visit_id)
        if visit is None:
            raise errors.VISIT_NOT_FOUND()
        return visit

    async def _hosted(self, actor: Actor, visit_id: str) -> Visit:
        visit = await self.visit(actor.event_id, visit_id)
        require(actor.person, Perm.VISIT_HOST, (BOOTH_STAFF, visit.booth_id), message=HOSTS_ONLY)
        return visit

    @staticmethod
    def _not_ended(visit: Visit) -> None:
        if visit.state == "ended":
            raise errors.VISIT_ENDED()

    async def _viewers(self, visit_id: str) -> int:
        return await self.presence.count(names.visit_room(visit_id))

    async def _question_list(self, event_id: str, visit_id: str) -> list[Question]:
        questions = await self.questions(event_id, visit_id).all()
        return sorted(questions, key=lambda q: (q.ts, q.id))

    async def _changed(self, visit: Visit, lobby: bool) -> None:
        """State and schedule changes go to the whole event (lists show them); the
        chapter only to the visit's room."""
        room = names.event_room(visit.event_id) if lobby else names.visit_room(visit.id)
        await self.outbox.emit(room, "visit:updated", visit)

    # scheduling --------------------------------------------------------------------------
    @command("visit:create", VisitCreate, Perm.VISIT_HOST)
    async def create(self, actor: Actor, req: VisitCreate) -> Visit:
        """Schedule a visit of a booth (its staff; organizers)."""
        booth = await self.catalog.booth(actor.event_id, req.booth_id)
        require(
            actor.person,
            Perm.VISIT_HOST,
            (BOOTH_STAFF, booth.id),
            message="only this booth's staff or an organizer may schedule its visits",
        )
        if req.session_id is not None:
            item = await self.catalog.schedule_item(actor.event_id, req.session_id)
            if item.kind != "site_visit":
                raise errors.INVALID_PAYLOAD("that schedule item is not a site visit")
        visit = Visit(
            id=new_id("v-"),
            event_id=actor.event_id,
            booth_id=booth.id,
            title=req.title.strip() or booth.company,
            starts_at=req.starts_at,
            languages=list(dict.fromkeys(req.languages)),
            session_id=req.session_id,
            created_by=actor.person.id,
            created_at=self.now(),
        )
        await self.records(actor.event_id).put(visit.id, visit)
        await self.outbox.emit(names.event_room(actor.event_id), "visit:created", visit)
        return visit

    @command("visit:list", Empty, Perm.VISIT_WATCH)
    async def list(self, actor: Actor, _: Empty) -> list[dict]:
        """Every visit of the event, live (then interrupted) first, then by start time."""
        order = {"live": 0, "interrupted": 1, "scheduled": 2, "ended": 3}
        visits = sorted(
            await self.records(actor.event_id).all(),
            key=lambda v: (order[v.state], v.starts_at, v.title.casefold()),
        )
        return [
            {"visit": v, "viewers": await self._viewers(v.id) if v.state != "ended" else 0}
            for v in visits
        ]

    @command("visit:get", VisitRef, Perm.VISIT_WATCH)
    async def get(self, actor: Actor, req: VisitRef) -> dict:
        """A visit, whether you host and follow it, its viewers and questions."""
        visit = await self.visit(actor.event_id, req.visit_id)
        return {
            "visit": visit,
            "host": is_visit_host(actor.person, visit),
            "joined": self.joined(actor) == visit.id,
            "viewers": await self._viewers(visit.id),
            "questions": await self._question_list(actor.event_id, visit.id),
        }

    @command("visit:update", VisitUpdate, Perm.VISIT_HOST)
    async def update(self, actor: Actor, req: VisitUpdate) -> Visit:
        """Change the title, start, languages, or the chapter shown now (hosts)."""
        visit = await self._hosted(actor, req.visit_id)
        self._not_ended(visit)
        lobby = False
        if req.title is not None:
            visit.title, lobby = req.title.strip() or visit.title, True
        if req.starts_at is not None:
            visit.starts_at, lobby = req.starts_at, True
        if req.languages is not None:
            visit.languages, lobby = list(dict.fromkeys(req.languages)), True
        if req.chapter is not None:
            visit.chapter = req.chapter.strip()
        await self.records(actor.event_id).put(visit.id, visit)
        # the event's room holds the visit's room: one push reaches everyone
        await self._changed(visit, lobby)
        return visit

    # going live ----------------------------------------------------------------------------
    @command("visit:start", VisitStart, Perm.VISIT_HOST)
    async def start(self, actor: Actor, req: VisitStart) -> Visit:
        """Go live, from the guide's browser or a configured feed; restart an
        interrupted visit on this node (hosts)."""
        visit = await self._hosted(actor, req.visit_id)
        self._not_ended(visit)
        if req.source == "media" and req.media is None:
            raise errors.INVALID_PAYLOAD("source media needs the name of a configured feed")
        if req.source == "browser" and req.media is not None:
            raise errors.INVALID_PAYLOAD("a browser source takes no media name")
        if visit.state == "live":
            if visit.source != req.source:
                raise errors.VISIT_LIVE("this visit is live with another source")
            return visit  # a guide coming back after a reload
        if self.media is not None:
            await self.media.open(visit, req.media)
        restarted = visit.state == "interrupted"  # keeps the time it first went live
        visit.state, visit.source = "live", req.source
        visit.guide, visit.reconnecting_until = actor.person.card(), None
        visit.started_at = visit.started_at if restarted else self.now()
        await self.records(actor.event_id).put(visit.id, visit)
        await self._changed(visit, lobby=True)
        return visit

    @command("visit:end", VisitRef, Perm.VISIT_HOST)
    async def end(self, actor: Actor, req: VisitRef) -> Visit:
        """End a visit (or cancel a scheduled one) for good (hosts)."""
        visit = await self._hosted(actor, req.visit_id)
        self._not_ended(visit)
        return await self._finish(visit, "host")

    async def _finish(self, visit: Visit, reason: VisitEndReason) -> Visit:
        # an interrupted visit's old hub may still run on a node that only stalled
        had_hub = visit.state in ("live", "interrupted")
        visit.state, visit.ended_at, visit.end_reason = "ended", self.now(), reason
        visit.reconnecting_until = None
        await self.records(visit.event_id).put(visit.id, visit)
        if had_hub and self.media is not None:
            await self.media.close(visit.id)
        await self._changed(visit, lobby=True)
        return visit

    # failures ---------------------------------------------------------------------------------
    async def _hub_news(self, event_id: str, visit_id: str, news: HubNews) -> None:
        """From the media hub, on the hub's node."""
        if news == "guide_lost":
            await self._guide_lost(event_id, visit_id)
        elif news == "guide_back":
            await self._guide_back(event_id, visit_id)
        else:
            await self._interrupt(event_id, visit_id)

    async def _guide_lost(self, event_id: str, visit_id: str) -> None:
        visit = await self.records(event_id).get(visit_id)
        if visit is None or visit.state != "live" or visit.source != "browser":
            return
        grace = self.limits.visit_guide_grace
        if visit.reconnecting_until is None:
            visit.reconnecting_until = self.now() + grace
            await self.records(event_id).put(visit.id, visit)
            await self._changed(visit, lobby=True)
        if visit_id not in self._grace:  # a second drop does not extend the first one's
            left = min(grace, max(0.0, visit.reconnecting_until - self.now()))
            task = asyncio.get_running_loop().create_task(
                self._grace_period(event_id, visit_id, left)
            )
            self._grace[visit_id] = task

    async def _grace_period(self, event_id: str, visit_id: str, seconds: float) -> None:
        try:
            await asyncio.sleep(seconds)
            del self._grace[visit_id]  # from here on, a guide coming back is too late
            visit = await self.records(event_id).get(visit_id)
            if visit and visit.state == "live" and visit.reconnecting_until is not None:
                await self._finish(visit, "guide_lost")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ending %s after its guide's grace period failed", visit_id)

    def _stop_grace(self, visit_id: str) -> None:
        task = self._grace.pop(visit_id, None)
        if task is not None:
            task.cancel()

    async def _guide_back(self, event_id: str, visit_id: str) -> None:
        self._stop_grace(visit_id)
        visit = await self.records(event_id).get(visit_id)
        if visit is not None and visit.state == "live" and visit.reconnecting_until is not None:
            visit.reconnecting_until = None
            await self.records(event_id).put(visit.id, visit)
            await self._changed(visit, lobby=True)

    async def _interrupt(self, event_id: str, visit_id: str) -> None:
        """The visit's hub is gone with its node: a host may start it again."""
        self._stop_grace(visit_id)
        visit = await self.records(event_id).get(visit_id)
        if visit is None or visit.state != "live":
            return
        visit.state, visit.reconnecting_until = "interrupted", None
        await self.records(event_id).put(visit.id, visit)
        await self._changed(visit, lobby=True)

    async def _hub_reaped(self, scope: str, event_id: str) -> None:
        """A dead node's hub session, reaped on a surviving node. Its session is gone
        now, so nothing else would ever interrupt the visit: a failure (a Redis blip)
        is retried."""
        node, visit_id = names.visit_hub_of(scope)
        for delay in REAPED_RETRIES:
            try:
                if self.media is not None and not await self.media.lost(visit_id, node):
                    return  # restarted elsewhere since
                await self._interrupt(event_id, visit_id)
                return
            except Exception:
                log.warning("interrupting %s (its hub's node %s died) failed", visit_id, node)
                if delay is None:
                    raise
                await asyncio.sleep(delay)

    # joining and watching -------------------------------------------------------------------
    @command("visit:join", VisitRef, Perm.VISIT_WATCH)
    async def join(self, actor: Actor, req: VisitRef) -> dict:
        """Follow a visit: its viewers, chat, questions and chapters (then visit:watch)."""
        visit = await self.visit(actor.event_id, req.visit_id)
        self._not_ended(visit)
        current = self.joined(actor)
        if current is not None and current != visit.id:
            await self._leave(actor)
        if current != visit.id:
            self._joined[actor.sid] = visit.id
            await self.presence.enter(names.visit_room(visit.id), actor)
        view = await self.get(actor, req)
        view["chat_channel"] = names.visit_room(visit.id)
        return view

    @command("visit:leave", VisitRef, Perm.VISIT_WATCH)
    async def leave(self, actor: Actor, req: VisitRef) -> dict:
        """Stop following a visit (and watching its video)."""
        if self.joined(actor) != req.visit_id:
            raise errors.NOT_IN_VISIT("you have not joined this visit")
        await self._leave(actor)
        return {"visit_id": req.visit_id}

    async def _leave(self, actor: Actor) -> None:
        visit_id = self._joined.pop(actor.sid, None)
        if visit_id is None:
            return
        await self.presence.leave(names.visit_room(visit_id), actor)
        if self.media is not None:
            await self.media.unwatch(visit_id, actor.sid)

    async def on_disconnect(self, actor: Actor) -> None:
        published = self._publishing.pop(actor.sid, None)
        if published is not None and self.media is not None:
            await self.media.drop_publisher(published, actor.sid)
        visit_id = self._joined.pop(actor.sid, None)
        if visit_id is None:
            return
        await self.presence.forget(names.visit_room(visit_id), actor.sid)
        if self.media is not None:
            await self.media.unwatch(visit_id, actor.sid)

    def _require_media(self) -> MediaHubs:
        if self.media is None:
            raise errors.MEDIA_UNAVAILABLE("this server streams no video")
        return self.media

    @classmethod
    def _require_live(cls, visit: Visit) -> Visit:
        cls._not_ended(visit)
        if visit.state == "interrupted":
            raise errors.VISIT_NOT_LIVE("this visit was interrupted; a host may start it again")
        if visit.state != "live":
            raise errors.VISIT_NOT_LIVE("this visit is not live yet")
        return visit

    @command("visit:publish", VisitOffer, Perm.VISIT_HOST)
    async def publish(self, actor: Actor, req: VisitOffer) -> dict:
        """The guide's camera: a WebRTC offer that sends video to the hub."""
        visit = self._require_live(await self._hosted(actor, req.visit_id))
        if visit.source != "browser":
            raise errors.VISIT_LIVE("this visit is live with another source")
        if req.description.type != "offer":
            raise errors.INVALID_PAYLOAD("send an offer")
        media = self._require_media()
        answer = await media.publish(visit, actor.sid, _description(req.description))
        self._publishing[actor.sid] = visit.id  # its disconnect drops the guide
        return {"visit_id": visit.id, "description": answer}

    @command("visit:watch", VisitOffer, Perm.VISIT_WATCH)
    async def watch(self, actor: Actor, req: VisitOffer) -> dict:
        """A viewer's video: a receive-only WebRTC offer, answered by the hub."""
        if self.joined(actor) != req.visit_id:
            raise errors.NOT_IN_VISIT("join the visit before watching it")
        visit = self._require_live(await self.visit(actor.event_id, req.visit_id))
        if req.description.type != "offer":
            raise errors.INVALID_PAYLOAD("send an offer")
        media = self._require_media()
        answer = await media.watch(visit, actor.sid, _description(req.description))
        return {"visit_id": visit.id, "description": answer}

    @command("visit:unwatch", VisitRef, Perm.VISIT_WATCH)
    async def unwatch(self, actor: Actor, req: VisitRef) -> dict:
        """Close this socket's video of the visit."""
        if self.media is not None:
            await self.media.unwatch(req.visit_id, actor.sid)
        return {"visit_id": req.visit_id}

    # questions ---------------------------------------------------------------------------------
    @command("visit:ask", VisitAsk, Perm.VISIT_WATCH, rate=CHAT)
    async def ask(self, actor: Actor, req: VisitAsk) -> Question:
        """Ask the guide a question (it counts as a chat message for the rate)."""
        if self.joined(actor) != req.visit_id:
            raise errors.NOT_IN_VISIT("join the visit before asking")
        visit = await self.visit(actor.event_id, req.visit_id)
        self._not_ended(visit)
        text = req.text.strip()
        if not text:
            raise errors.MESSAGE_EMPTY("empty question")
        await self.moderation.check_not_muted(actor)
        question = Question(
            id=new_id("q-"), visit_id=visit.id, author=actor.person.card(), text=text,
            ts=self.now(),
        )  # fmt: skip
        await self.questions(actor.event_id, visit.id).put(question.id, question)
        await self.outbox.emit(names.visit_room(visit.id), "visit:question", question)
        return question

    @command("visit:answered", VisitQuestionRef, Perm.VISIT_HOST)
    async def answered(self, actor: Actor, req: VisitQuestionRef) -> Question:
        """Mark a question answered (hosts)."""
        visit = await self._hosted(actor, req.visit_id)
        questions = self.questions(actor.event_id, visit.id)
        question = await questions.get(req.question_id)
        if question is None:
            raise errors.QUESTION_NOT_FOUND()
        if not question.answered:
            question.answered, question.answered_by = True, actor.person.id
            await questions.put(question.id, question)
            await self.outbox.emit(names.visit_room(visit.id), "visit:question", question)
        return question


def _description(desc: SessionDescription) -> dict:
    return {"type": desc.type, "sdp": desc.sdp}
