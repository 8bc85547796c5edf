"""Questions and answers of a webinar: ask, upvote, pre-moderation, answered, pinned.

A question is one record (``ev:<event>:qa:<session>``, keyed by its id) and always
keeps its author; ``anonymous`` hides the author from the audience, never from the
moderators. Every question therefore has two views, built by :func:`view`: the
moderators' (author included, pushed to room ``session-mods:<id>``) and the
audience's (author stripped when anonymous, pushed to ``session:<id>``). No reply or
push to anyone but the moderators carries the author of an anonymous question.

Upvotes: one vote per person and question, a toggle. The vote is a document keyed by
the question in the voter's own collection (``put_new`` adds it, ``delete`` takes it
away: both atomic), and the count is an engine counter moved by exactly one step per
document that was really added or removed, so concurrent toggles on several nodes
always end in the exact count. Vote counts reach the audience aggregated
(``qa:votes``, at most one push per interval and webinar, rooms/webinars/aggregate.py),
so an upvote costs the same whatever the audience.

Pre-moderation (``Webinar.qa_premoderated``): new questions are ``pending``, seen by
the moderators and their author only, until ``qa:approve``; ``qa:hide`` hides one.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from msgspec import Meta, Struct

from rooms import errors, names
from rooms.area import Area
from rooms.commands import QA_ASK, command
from rooms.context import Actor, Services
from rooms.ids import new_id
from rooms.models import Id, PersonCard
from rooms.moderation import Moderation
from rooms.permissions import Perm
from rooms.protocol import Request
from rooms.store import Collection
from rooms.webinars.aggregate import Aggregator, Key
from rooms.webinars.records import Webinar
from rooms.webinars.sessions import Webinars, moderates

QuestionState = Literal["pending", "visible", "hidden"]
QuestionText = Annotated[str, Meta(min_length=1, max_length=500)]


class Question(Struct, kw_only=True):
    """What is stored: the author always, whatever the audience sees."""

    id: str
    session_id: str
    text: str
    author: PersonCard
    anonymous: bool = False
    state: QuestionState = "visible"
    answered: bool = False
    ts: float = 0.0


class QuestionView(Struct, kw_only=True):
    """A question as one side sees it (``view``): ``author`` is null for the audience
    when the question is anonymous; ``voted_by_me`` and ``mine`` only in replies."""

    id: str
    session_id: str
    text: str  # "" for the audience once hidden
    author: PersonCard | None
    anonymous: bool
    votes: int
    state: QuestionState
    answered: bool
    pinned: bool
    ts: float
    view: Literal["audience", "moderators"]
    voted_by_me: bool | None = None
    mine: bool | None = None


def view(
    question: Question,
    votes: int,
    pinned: bool,
    moderators: bool,
    voted_by_me: bool | None = None,
    mine: bool | None = None,
) -> QuestionView:
    hidden = question.state == "hidden" and not moderators
    return QuestionView(
        id=question.id,
        session_id=question.session_id,
        text="" if hidden else question.text,
        author=question.author if moderators or not (question.anonymous or hidden) else None,
        anonymous=question.anonymous,
        votes=votes,
        state=question.state,
        answered=question.answered,
        pinned=pinned,
        ts=question.ts,
        view="moderators" if moderators else "audience",
        voted_by_me=voted_by_me,
        mine=mine,
    )


# payloads ---------------------------------------------------------------------------------
class QaAsk(Request):
    session_id: Id
    text: QuestionText
    anonymous: bool = False


class QaRef(Request):
    session_id: Id
    question_id: Id


class QaUpvote(Request):
    session_id: Id
    question_id: Id
    up: bool | None = None  # None toggles; true/false sets (idempotent)


class QaAnswer(Request):
    session_id: Id
    question_id: Id
    answered: bool = True


class QaPin(Request):
    session_id: Id
    question_id: Id
    pinned: bool = True


class QaList(Request):
    session_id: Id
    sort: Literal["votes", "time"] = "votes"
    offset: Annotated[int, Meta(ge=0, le=100_000)] = 0
    limit: Annotated[int, Meta(ge=1, le=100)] = 50


class Upvoted(Struct, kw_only=True):
    question_id: str
    votes: int
    voted: bool


class QuestionPage(Struct, kw_only=True):
    questions: list[QuestionView]
    total: int  # questions you may see, all pages together
    offset: int
    pinned_id: str | None


class QA(Area):
    name = "qa"

    def __init__(self, services: Services, webinars: Webinars, moderation: Moderation) -> None:
        super().__init__(services)
        self.webinars = webinars
        self.moderation = moderation
        self.votes_push = Aggregator(
            services, "qa", self._push_votes, services.limits.engage_push_interval
        )

    # storage ----------------------------------------------------------------------------
    def questions(self, event_id: str, session_id: str) -> Collection[Question]:
        return Collection(self.engine, f"ev:{event_id}:qa:{session_id}", Question)

    def _voted(self, event_id: str, session_id: str, person_id: str) -> str:
        """The collection of one person's votes in one webinar (key: question id)."""
        return f"ev:{event_id}:qa-voted:{session_id}:{person_id}"

    @staticmethod
    def _votes_key(event_id: str, session_id: str, question_id: str) -> str:
        return f"qa:{event_id}:{session_id}:votes:{question_id}"

    def _pins(self, event_id: str) -> str:
        return f"ev:{event_id}:qa-pinned"  # key: session id, value: the pinned question id

    async def votes(self, event_id: str, session_id: str, question_id: str) -> int:
        return await self.engine.counters.incr(
            self._votes_key(event_id, session_id, question_id), 0
        )

    async def pinned_id(self, event_id: str, session_id: str) -> str | None:
        raw = await self.engine.docs.get(self._pins(event_id), session_id)
        return None if raw is None else raw.decode()

    async def all_questions(self, event_id: str, session_id: str) -> list[tuple[Question, int]]:
        """Every question of a webinar with its votes, oldest first (exports)."""
        found = await self.questions(event_id, session_id).all()
        counts = await asyncio.gather(*(self.votes(event_id, session_id, q.id) for q in found))
        return sorted(zip(found, counts, strict=True), key=lambda qc: (qc[0].ts, qc[0].id))

    async def _question(self, event_id: str, session_id: str, question_id: str) -> Question:
        question = await self.questions(event_id, session_id).get(question_id)
        if question is None:
            raise errors.QA_QUESTION_NOT_FOUND()
        return question

    @staticmethod
    def _open(webinar: Webinar) -> None:
        if webinar.state == "ended":
            raise errors.WEBINAR_ENDED()

    # pushes -----------------------------------------------------------------------------
    async def _publish(self, event_id: str, question: Question) -> None:
        """Both views of a changed question, each to the room that may see it."""
        votes = await self.votes(event_id, question.session_id, question.id)
        pinned = await self.pinned_id(event_id, question.session_id) == question.id
        await self.outbox.emit(
            names.session_moderators_room(question.session_id),
            "qa:question",
            view(question, votes, pinned, moderators=True),
        )
        audience = view(question, votes, pinned, moderators=False)
        if question.state == "pending":  # the author waits for approval, alone
            await self.outbox.emit(names.user_room(question.author.id), "qa:question", audience)
        else:
            await self.outbox.emit(names.session_room(question.session_id), "qa:question", audience)

    async def _push_votes(self, key: Key) -> None:
        """The aggregated ``qa:votes``: current counts of the webinar's visible questions."""
        event_id, session_id = key
        found = [
            q for q in await self.questions(event_id, session_id).all() if q.state == "visible"
        ]
        counts = await asyncio.gather(*(self.votes(event_id, session_id, q.id) for q in found))
        await self.outbox.emit(
            names.session_room(session_id),
            "qa:votes",
            {
                "session_id": session_id,
                "votes": {q.id: n for q, n in zip(found, counts, strict=True)},
            },
        )

    # the audience -----------------------------------------------------------------------
    @command("qa:ask", QaAsk, Perm.SESSION_ATTEND, rate=QA_ASK)
    async def ask(self, actor: Actor, req: QaAsk) -> QuestionView:
        """Ask a question, optionally anonymous towards the audience."""
        webinar = await self.webinars.joined_webinar(actor, req.session_id)
        self._open(webinar)
        text = req.text.strip()
        if not text:
            raise errors.MESSAGE_EMPTY("empty question")
        await self.moderation.check_not_muted(actor)
        count_key = f"qa:{actor.event_id}:{webinar.id}:count"
        if await self.engine.counters.incr(count_key) > self.limits.qa_max_questions:
            await self.engine.counters.incr(count_key, -1)
            raise errors.QA_FULL(f"at most {self.limits.qa_max_questions} questions per webinar")
        question = Question(
            id=new_id("q-"),
            session_id=webinar.id,
            text=text,
            author=actor.person.card(),
            anonymous=req.anonymous,
            state="pending" if webinar.qa_premoderated else "visible",
            ts=self.now(),
        )
        await self.questions(actor.event_id, webinar.id).put(question.id, question)
        await self._publish(actor.event_id, question)
        return view(question, 0, False, moderators=False, voted_by_me=False, mine=True)

    @command("qa:upvote", QaUpvote, Perm.SESSION_ATTEND)
    async def upvote(self, actor: Actor, req: QaUpvote) -> Upvoted:
        """Upvote a question, or take your vote back (a toggle, or set with ``up``)."""
        webinar = await self.webinars.joined_webinar(actor, req.session_id)
        self._open(webinar)
        question = await self._question(actor.event_id, webinar.id, req.question_id)
        if question.state != "visible":
            raise errors.QA_QUESTION_NOT_FOUND("only visible questions take votes")
        docs, counters = self.engine.docs, self.engine.counters
        mine = self._voted(actor.event_id, webinar.id, actor.person.id)
        key = self._votes_key(actor.event_id, webinar.id, question.id)
        voted: bool | None = None
        for _ in range(4):  # a concurrent toggle of the same person may win a step
            if req.up is not False:
                if await docs.put_new(mine, question.id, b"1"):
                    votes, voted = await counters.incr(key, 1), True
                    break
                if req.up:
                    votes, voted = await counters.incr(key, 0), True
                    break
            if await docs.delete(mine, question.id):
                votes, voted = await counters.incr(key, -1), False
                break
            if req.up is False:
                votes, voted = await counters.incr(key, 0), False
                break
        if voted is None:
            raise errors.UNAVAILABLE("the vote kept changing under us; try again")
        self.votes_push.add((actor.event_id, webinar.id))
        return Upvoted(question_id=question.id, votes=votes, voted=voted)

    @command("qa:list", QaList, Perm.SESSION_ATTEND)
    async def list(self, actor: Actor, req: QaList) -> QuestionPage:
        """The questions you may see, by votes or newest first, a page at a time."""
        webinar = await self.webinars.webinar(actor.event_id, req.session_id)
        moderator = moderates(actor.person, webinar)
        if not moderator and self.webinars.attending(actor) != webinar.id:
            raise errors.NOT_IN_WEBINAR()
        me = actor.person.id
        found = [
            q
            for q in await self.questions(actor.event_id, webinar.id).all()
            if moderator or q.state == "visible" or (q.state == "pending" and q.author.id == me)
        ]
        counts = await asyncio.gather(
            *(self.votes(actor.event_id, webinar.id, q.id) for q in found)
        )
        mine = await self.engine.docs.all(self._voted(actor.event_id, webinar.id, me))
        pinned = await self.pinned_id(actor.event_id, webinar.id)
        rows = list(zip(found, counts, strict=True))
        if req.sort == "votes":
            rows.sort(key=lambda qc: (-qc[1], -qc[0].ts, qc[0].id))
        else:
            rows.sort(key=lambda qc: (-qc[0].ts, qc[0].id))
        page = rows[req.offset : req.offset + req.limit]
        return QuestionPage(
            questions=[
                view(q, n, q.id == pinned, moderator, q.id in mine, q.author.id == me)
                for q, n in page
            ],
            total=len(rows),
            offset=req.offset,
            pinned_id=pinned,
        )

    # the moderators ---------------------------------------------------------------------
    async def _moderated(self, actor: Actor, req: QaRef | QaAnswer | QaPin) -> Question:
        webinar = await self.webinars.moderated(actor, req.session_id)
        return await self._question(actor.event_id, webinar.id, req.question_id)

    async def _set_state(self, actor: Actor, req: QaRef, state: QuestionState) -> QuestionView:
        question = await self._moderated(actor, req)
        if question.state != state:
            question.state = state
            await self.questions(actor.event_id, question.session_id).put(question.id, question)
            if state == "hidden" and await self.pinned_id(actor.event_id, question.session_id) == (
                question.id
            ):
                await self.engine.docs.delete(self._pins(actor.event_id), question.session_id)
            await self._publish(actor.event_id, question)
        return await self._moderators_view(actor.event_id, question)

    async def _moderators_view(self, event_id: str, question: Question) -> QuestionView:
        votes = await self.votes(event_id, question.session_id, question.id)
        pinned = await self.pinned_id(event_id, question.session_id) == question.id
        return view(question, votes, pinned, moderators=True)

    @command("qa:approve", QaRef, Perm.SESSION_MODERATE)
    async def approve(self, actor: Actor, req: QaRef) -> QuestionView:
        """Show a pending (or hidden) question to the audience (moderators)."""
        return await self._set_state(actor, req, "visible")

    @command("qa:hide", QaRef, Perm.SESSION_MODERATE)
    async def hide(self, actor: Actor, req: QaRef) -> QuestionView:
        """Hide a question from the audience (moderators)."""
        return await self._set_state(actor, req, "hidden")

    @command("qa:answer", QaAnswer, Perm.SESSION_MODERATE)
    async def answer(self, actor: Actor, req: QaAnswer) -> QuestionView:
        """Mark a question answered, or not answered again (moderators)."""
        question = await self._moderated(actor, req)
        if question.answered != req.answered:
            question.answered = req.answered
            await self.questions(actor.event_id, question.session_id).put(question.id, question)
            await self._publish(actor.event_id, question)
        return await self._moderators_view(actor.event_id, question)

    @command("qa:pin", QaPin, Perm.SESSION_MODERATE)
    async def pin(self, actor: Actor, req: QaPin) -> QuestionView:
        """Pin the question being answered (one at a time), or unpin it (moderators)."""
        question = await self._moderated(actor, req)
        pins, session_id = self._pins(actor.event_id), question.session_id
        before = await self.pinned_id(actor.event_id, session_id)
        if req.pinned:
            if question.state != "visible":
                raise errors.QA_QUESTION_NOT_FOUND("only visible questions can be pinned")
            if before != question.id:
                await self.engine.docs.put(pins, session_id, question.id.encode())
                await self._publish(actor.event_id, question)
                if before is not None:  # the one pinned before is not any more
                    previous = await self.questions(actor.event_id, session_id).get(before)
                    if previous is not None:
                        await self._publish(actor.event_id, previous)
        elif before == question.id:
            await self.engine.docs.delete(pins, session_id)
            await self._publish(actor.event_id, question)
        return await self._moderators_view(actor.event_id, question)
