"""Virtual site visits: an exhibitor shows its factory or site live to many viewers.

A visit belongs to a booth. Its staff (or an organizer) schedule it, take it live and
end it: ``scheduled`` → ``live`` → ``ended`` (``ended`` is final; a scheduled visit
may be ended without going live, which cancels it). The one who takes it live is its
*guide*; every staff member of the booth and every organizer *hosts* it (may pin a
chapter, mark questions answered, end it).

Anyone admitted to the event may join a visit that has not ended: the socket enters the
presence scope and Socket.IO room ``visit:<id>`` (viewers list and count, the visit's
chat channel ``visit:<id>``, questions, chapter changes). Watching the video is a
second step on top of joining (``visit:watch``): a WebRTC connection to the node that
hosts the visit's media hub (rooms/media), with a per-node viewer cap.

Questions are records of their own (a Q&A list next to the chat): a viewer asks, the
hosts see them all and mark them answered; everyone in the visit sees both.
"""

from __future__ import annotations

import time
from typing import Annotated, Protocol

import msgspec
from msgspec import Meta

from rooms.catalog import Catalog
from rooms.chat import Chat
from rooms.context import Actor, Limits, Outbox
from rooms.engine import Engine
from rooms.errors import DomainError, Forbidden, InvalidInput, NotFound
from rooms.ids import new_id
from rooms.models import AwareDatetime, Id, Language, Name, Person, Question, Visit, VisitSource
from rooms.permissions import can_edit_booth
from rooms.presence import Presence
from rooms.protocol import Empty, Request, SessionDescription
from rooms.ratelimit import RateLimiter
from rooms.store import Collection

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


def visit_room(visit_id: str) -> str:
    return f"visit:{visit_id}"


def is_visit_host(person: Person, visit: Visit) -> bool:
    return can_edit_booth(person, visit.booth_id)


class Visits:
    def __init__(
        self,
        engine: Engine,
        outbox: Outbox,
        catalog: Catalog,
        chat: Chat,
        presence: Presence,
        limits: Limits,
        media: MediaHubs | None = None,
        clock=time.time,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.catalog = catalog
        self.chat = chat
        self.presence = presence
        self.limits = limits
        self.media = media
        self.clock = clock
        self.rate = RateLimiter(engine)

    # records --------------------------------------------------------------------------
    def records(self, event_id: str) -> Collection[Visit]:
        return Collection(self.engine, f"ev:{event_id}:visits", Visit)

    def questions(self, event_id: str, visit_id: str) -> Collection[Question]:
        return Collection(self.engine, f"ev:{event_id}:visit-questions:{visit_id}", Question)

    async def visit(self, event_id: str, visit_id: str) -> Visit:
        visit = await self.records(event_id).get(visit_id)
        if visit is None:
            raise NotFound("visit", code="visit_not_found")
        return visit

    async def _hosted(self, actor: Actor, visit_id: str) -> Visit:
        visit = await self.visit(actor.event_id, visit_id)
        if not is_visit_host(actor.person, visit):
            raise Forbidden("only this booth's staff or an organizer may do this")
        return visit

    @staticmethod
    def _not_ended(visit: Visit) -> None:
        if visit.state == "ended":
            raise DomainError("visit_ended", "this visit has ended")

    async def _viewers(self, visit_id: str) -> int:
        return await self.engine.presence.count(visit_room(visit_id))

    async def _question_list(self, event_id: str, visit_id: str) -> list[Question]:
        questions = await self.questions(event_id, visit_id).all()
        return sorted(questions, key=lambda q: (q.ts, q.id))

    async def _changed(self, visit: Visit, lobby: bool) -> None:
        """State and schedule changes go to the whole event (lists show them); the
        chapter only to the visit's room."""
        room = f"event:{visit.event_id}" if lobby else visit_room(visit.id)
        await self.outbox.emit(room, "visit:updated", visit)

    # scheduling --------------------------------------------------------------------------
    async def create(self, actor: Actor, req: VisitCreate) -> Visit:
        booth = await self.catalog.booth(actor.event_id, req.booth_id)
        if not can_edit_booth(actor.person, booth.id):
            raise Forbidden("only this booth's staff or an organizer may schedule its visits")
        if req.session_id is not None:
            item = await self.catalog.schedule_item(actor.event_id, req.session_id)
            if item.kind != "site_visit":
                raise InvalidInput("that schedule item is not a site visit")
        visit = Visit(
            id=new_id("v-"),
            event_id=actor.event_id,
            booth_id=booth.id,
            title=req.title.strip() or booth.company,
            starts_at=req.starts_at,
            languages=list(dict.fromkeys(req.languages)),
            session_id=req.session_id,
            created_by=actor.person.id,
            created_at=self.clock(),
        )
        await self.records(actor.event_id).put(visit.id, visit)
        await self.outbox.emit(f"event:{actor.event_id}", "visit:created", visit)
        return visit

    async def list(self, actor: Actor, _: Empty) -> list[dict]:
        """Every visit of the event, live first, then by start time."""
        order = {"live": 0, "scheduled": 1, "ended": 2}
        visits = sorted(
            await self.records(actor.event_id).all(),
            key=lambda v: (order[v.state], v.starts_at, v.title.casefold()),
        )
        return [
            {"visit": v, "viewers": await self._viewers(v.id) if v.state != "ended" else 0}
            for v in visits
        ]

    async def get(self, actor: Actor, req: VisitRef) -> dict:
        visit = await self.visit(actor.event_id, req.visit_id)
        return {
            "visit": visit,
            "host": is_visit_host(actor.person, visit),
            "joined": actor.visit_id == visit.id,
            "viewers": await self._viewers(visit.id),
            "questions": await self._question_list(actor.event_id, visit.id),
        }

    async def update(self, actor: Actor, req: VisitUpdate) -> Visit:
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
    async def start(self, actor: Actor, req: VisitStart) -> Visit:
        visit = await self._hosted(actor, req.visit_id)
        self._not_ended(visit)
        if req.source == "media" and req.media is None:
            raise InvalidInput("source media needs the name of a configured feed")
        if req.source == "browser" and req.media is not None:
            raise InvalidInput("a browser source takes no media name")
        if visit.state == "live":
            if visit.source != req.source:
                raise DomainError("visit_live", "this visit is live with another source")
            return visit  # a guide coming back after a reload
        if self.media is not None:
            await self.media.open(visit, req.media)
        visit.state, visit.source = "live", req.source
        visit.guide, visit.started_at = actor.person.card(), self.clock()
        await self.records(actor.event_id).put(visit.id, visit)
        await self._changed(visit, lobby=True)
        return visit

    async def end(self, actor: Actor, req: VisitRef) -> Visit:
        visit = await self._hosted(actor, req.visit_id)
        self._not_ended(visit)
        was_live = visit.state == "live"
        visit.state, visit.ended_at = "ended", self.clock()
        await self.records(actor.event_id).put(visit.id, visit)
        if was_live and self.media is not None:
            await self.media.close(visit.id)
        await self._changed(visit, lobby=True)
        return visit

    # joining and watching -------------------------------------------------------------------
    async def join(self, actor: Actor, req: VisitRef) -> dict:
        visit = await self.visit(actor.event_id, req.visit_id)
        self._not_ended(visit)
        if actor.visit_id is not None and actor.visit_id != visit.id:
            await self._leave(actor)
        if actor.visit_id != visit.id:
            actor.visit_id = visit.id
            await self.presence.enter(visit_room(visit.id), actor)
        view = await self.get(actor, req)
        view["chat_channel"] = visit_room(visit.id)
        return view

    async def leave(self, actor: Actor, req: VisitRef) -> dict:
        if actor.visit_id != req.visit_id:
            raise DomainError("not_in_visit", "you have not joined this visit")
        await self._leave(actor)
        return {"visit_id": req.visit_id}

    async def _leave(self, actor: Actor) -> None:
        visit_id, actor.visit_id = actor.visit_id, None
        if visit_id is None:
            return
        await self.presence.leave(visit_room(visit_id), actor)
        if self.media is not None:
            await self.media.unwatch(visit_id, actor.sid)

    async def disconnect(self, actor: Actor) -> None:
        visit_id, actor.visit_id = actor.visit_id, None
        if visit_id is None:
            return
        await self.presence.forget(visit_room(visit_id), actor.sid)
        if self.media is not None:
            await self.media.unwatch(visit_id, actor.sid)

    def _require_media(self) -> MediaHubs:
        if self.media is None:
            raise DomainError("media_unavailable", "this server streams no video")
        return self.media

    async def _live(self, actor: Actor, visit_id: str) -> Visit:
        visit = await self.visit(actor.event_id, visit_id)
        self._not_ended(visit)
        if visit.state != "live":
            raise DomainError("visit_not_live", "this visit is not live yet")
        return visit

    async def publish(self, actor: Actor, req: VisitOffer) -> dict:
        """The guide's camera: a WebRTC offer that sends video to the hub."""
        visit = await self._live(actor, req.visit_id)
        if not is_visit_host(actor.person, visit):
            raise Forbidden("only this booth's staff or an organizer may do this")
        if visit.source != "browser":
            raise DomainError("visit_live", "this visit is live with another source")
        if req.description.type != "offer":
            raise InvalidInput("send an offer")
        media = self._require_media()
        answer = await media.publish(visit, actor.sid, _description(req.description))
        return {"visit_id": visit.id, "description": answer}

    async def watch(self, actor: Actor, req: VisitOffer) -> dict:
        """A viewer's video: a receive-only WebRTC offer, answered by the hub."""
        if actor.visit_id != req.visit_id:
            raise DomainError("not_in_visit", "join the visit before watching it")
        visit = await self._live(actor, req.visit_id)
        if req.description.type != "offer":
            raise InvalidInput("send an offer")
        media = self._require_media()
        answer = await media.watch(visit, actor.sid, _description(req.description))
        return {"visit_id": visit.id, "description": answer}

    async def unwatch(self, actor: Actor, req: VisitRef) -> dict:
        if self.media is not None:
            await self.media.unwatch(req.visit_id, actor.sid)
        return {"visit_id": req.visit_id}

    # questions ---------------------------------------------------------------------------------
    async def ask(self, actor: Actor, req: VisitAsk) -> Question:
        if actor.visit_id != req.visit_id:
            raise DomainError("not_in_visit", "join the visit before asking")
        visit = await self.visit(actor.event_id, req.visit_id)
        self._not_ended(visit)
        text = req.text.strip()
        if not text:
            raise InvalidInput("empty question", code="message_empty")
        await self.chat._check_not_muted(actor)
        limits = self.limits
        await self.rate.hit(
            f"chat:{actor.person.id}", limits.chat_rate_count, limits.chat_rate_window
        )
        question = Question(
            id=new_id("q-"), visit_id=visit.id, author=actor.person.card(), text=text,
            ts=self.clock(),
        )  # fmt: skip
        await self.questions(actor.event_id, visit.id).put(question.id, question)
        await self.outbox.emit(visit_room(visit.id), "visit:question", question)
        return question

    async def answered(self, actor: Actor, req: VisitQuestionRef) -> Question:
        visit = await self._hosted(actor, req.visit_id)
        questions = self.questions(actor.event_id, visit.id)
        question = await questions.get(req.question_id)
        if question is None:
            raise NotFound("question", code="question_not_found")
        if not question.answered:
            question.answered, question.answered_by = True, actor.person.id
            await questions.put(question.id, question)
            await self.outbox.emit(visit_room(visit.id), "visit:question", question)
        return question


def _description(desc: SessionDescription) -> dict:
    return {"type": desc.type, "sdp": desc.sdp}
