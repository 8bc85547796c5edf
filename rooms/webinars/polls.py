"""Polls of a webinar: single or multiple choice, draft → open → closed, anonymous or not.

A poll is one record (``ev:<event>:polls:<session>``); votes are records of their own,
so one vote rewrites one small record whatever the audience:

- a named poll keeps one ballot per person (``poll-ballots:<poll>``, keyed by the
  person: who chose what), replaced when they change their vote;
- an anonymous poll keeps two collections that share nothing: ``poll-voters:<poll>``
  (person id -> empty: THAT they voted, for the one-vote rule) and
  ``poll-anon:<poll>`` (a random ballot token -> the chosen options). The first vote
  returns the token; the voter's client keeps it and sends it to change the vote
  while the poll is open. Nothing stored links a person to a token or a choice.

Results are counted from the stored ballots when a push is built, so totals are exact
whatever happened concurrently; they reach the moderators (and, once a moderator
shows them, everyone) aggregated: at most one ``poll:results`` per interval and poll
across the cluster (rooms/webinars/aggregate.py). The last results pushed are kept
(``poll-results``) so ``poll:list`` costs the same whatever the audience.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from rooms import errors, names
from rooms.area import Area
from rooms.commands import command
from rooms.context import Actor, Services
from rooms.ids import new_id
from rooms.models import Id, PersonCard
from rooms.permissions import Perm
from rooms.protocol import Request, SessionRef
from rooms.store import Collection
from rooms.webinars.aggregate import Aggregator, Key
from rooms.webinars.sessions import Webinars, moderates

PollState = Literal["draft", "open", "closed"]
MAX_OPTIONS = 10
PollQuestion = Annotated[str, Meta(min_length=1, max_length=300)]
OptionText = Annotated[str, Meta(min_length=1, max_length=200)]
Options = Annotated[list[OptionText], Meta(min_length=2, max_length=MAX_OPTIONS)]
Choice = Annotated[
    list[Annotated[int, Meta(ge=0, le=MAX_OPTIONS - 1)]], Meta(min_length=1, max_length=MAX_OPTIONS)
]
BallotToken = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{16,64}$")]


class Poll(Struct, kw_only=True):
    id: str
    session_id: str
    question: str
    options: list[str]
    multiple: bool = False
    anonymous: bool = False
    state: PollState = "draft"
    results_shown: bool = False  # to everyone; moderators always see them
    created_by: str = ""
    created_at: float = 0.0
    opened_at: float | None = None
    closed_at: float | None = None


class Ballot(Struct, kw_only=True):
    """A named poll's vote (keyed by the person)."""

    person: PersonCard
    options: list[int]


class AnonymousBallot(Struct, kw_only=True):
    """An anonymous poll's vote (keyed by a random token, no person)."""

    options: list[int]


class PollResults(Struct, kw_only=True):
    poll_id: str
    session_id: str
    counts: list[int]  # per option, exact
    voters: int  # people who voted
    shown: bool  # also shown to the audience


class PollView(Struct, kw_only=True):
    poll: Poll
    results: PollResults | None  # moderators always; the audience once shown
    voted: bool
    my_vote: list[int] | None  # named polls only


class Voted(Struct, kw_only=True):
    poll_id: str
    options: list[int]
    ballot: str | None  # anonymous polls: keep it to change your vote


# payloads ---------------------------------------------------------------------------------
class PollCreate(Request):
    session_id: Id
    question: PollQuestion
    options: Options
    multiple: bool = False
    anonymous: bool = False


class PollUpdate(Request):
    session_id: Id
    poll_id: Id
    question: PollQuestion | None = None
    options: Options | None = None
    multiple: bool | None = None
    anonymous: bool | None = None


class PollRef(Request):
    session_id: Id
    poll_id: Id


class PollVote(Request):
    session_id: Id
    poll_id: Id
    options: Choice
    ballot: BallotToken | None = None  # anonymous polls: the token of your first vote


class PollShow(Request):
    session_id: Id
    poll_id: Id
    shown: bool = True


def _clean_options(options: list[str]) -> list[str]:
    cleaned = [o.strip() for o in options]
    if any(not o for o in cleaned) or len(set(cleaned)) != len(cleaned):
        raise errors.INVALID_PAYLOAD("options must be non-empty and different")
    return cleaned


def _clean_question(question: str) -> str:
    if not question.strip():
        raise errors.INVALID_PAYLOAD("the question is empty")
    return question.strip()


class Polls(Area):
    name = "poll"

    def __init__(self, services: Services, webinars: Webinars) -> None:
        super().__init__(services)
        self.webinars = webinars
        self.results_push = Aggregator(
            services, "poll", self._push_results, services.limits.engage_push_interval
        )

    # storage ----------------------------------------------------------------------------
    def polls(self, event_id: str, session_id: str) -> Collection[Poll]:
        return Collection(self.engine, f"ev:{event_id}:polls:{session_id}", Poll)

    def ballots(self, event_id: str, poll_id: str) -> Collection[Ballot]:
        return Collection(self.engine, f"ev:{event_id}:poll-ballots:{poll_id}", Ballot)

    def anonymous_ballots(self, event_id: str, poll_id: str) -> Collection[AnonymousBallot]:
        return Collection(self.engine, f"ev:{event_id}:poll-anon:{poll_id}", AnonymousBallot)

    @staticmethod
    def voters(event_id: str, poll_id: str) -> str:
        """The documents of an anonymous poll's voters (key: person id, value empty)."""
        return f"ev:{event_id}:poll-voters:{poll_id}"

    def _results(self, event_id: str, session_id: str) -> Collection[PollResults]:
        return Collection(self.engine, f"ev:{event_id}:poll-results:{session_id}", PollResults)

    async def _poll(self, event_id: str, session_id: str, poll_id: str) -> Poll:
        poll = await self.polls(event_id, session_id).get(poll_id)
        if poll is None:
            raise errors.POLL_NOT_FOUND()
        return poll

    async def count(self, event_id: str, poll: Poll) -> PollResults:
        """Exact results, counted from the stored ballots."""
        if poll.anonymous:
            choices = [b.options for b in await self.anonymous_ballots(event_id, poll.id).all()]
        else:
            choices = [b.options for b in await self.ballots(event_id, poll.id).all()]
        counts = [0] * len(poll.options)
        for options in choices:
            for index in options:
                if index < len(counts):
                    counts[index] += 1
        return PollResults(
            poll_id=poll.id,
            session_id=poll.session_id,
            counts=counts,
            voters=len(choices),
            shown=poll.results_shown,
        )

    async def all_polls(self, event_id: str, session_id: str) -> list[Poll]:
        """Every poll of a webinar, oldest first (exports)."""
        return sorted(await self.polls(event_id, session_id).all(), key=lambda p: p.created_at)

    # pushes -----------------------------------------------------------------------------
    async def _push_results(self, key: Key) -> None:
        event_id, session_id, poll_id = key
        poll = await self.polls(event_id, session_id).get(poll_id)
        if poll is None or poll.state == "draft":
            return
        results = await self.count(event_id, poll)
        await self._results(event_id, session_id).put(poll.id, results)
        room = names.session_room if poll.results_shown else names.session_moderators_room
        await self.outbox.emit(room(session_id), "poll:results", results)

    async def _changed(self, event_id: str, poll: Poll, results: bool = False) -> None:
        """Store a changed poll, tell who may see it, and queue its results."""
        await self.polls(event_id, poll.session_id).put(poll.id, poll)
        room = names.session_moderators_room if poll.state == "draft" else names.session_room
        await self.outbox.emit(room(poll.session_id), "poll:updated", poll)
        if results:
            self.results_push.add((event_id, poll.session_id, poll.id))

    # the moderators ---------------------------------------------------------------------
    async def _moderated(self, actor: Actor, req: PollRef | PollUpdate | PollShow) -> Poll:
        webinar = await self.webinars.moderated(actor, req.session_id)
        return await self._poll(actor.event_id, webinar.id, req.poll_id)

    @command("poll:create", PollCreate, Perm.SESSION_MODERATE)
    async def create(self, actor: Actor, req: PollCreate) -> Poll:
        """Draft a poll (moderators); the audience sees it once opened."""
        webinar = await self.webinars.moderated(actor, req.session_id)
        polls = self.polls(actor.event_id, webinar.id)
        if len(await self.engine.docs.all(polls.name)) >= self.limits.poll_max_polls:
            raise errors.POLL_FULL(f"at most {self.limits.poll_max_polls} polls per webinar")
        poll = Poll(
            id=new_id("p-"),
            session_id=webinar.id,
            question=_clean_question(req.question),
            options=_clean_options(req.options),
            multiple=req.multiple,
            anonymous=req.anonymous,
            created_by=actor.person.id,
            created_at=self.now(),
        )
        await self._changed(actor.event_id, poll)
        return poll

    @command("poll:update", PollUpdate, Perm.SESSION_MODERATE)
    async def update(self, actor: Actor, req: PollUpdate) -> Poll:
        """Change a draft: question, options, single or multiple, anonymous (moderators)."""
        poll = await self._moderated(actor, req)
        if poll.state != "draft":
            raise errors.POLL_STATE("only drafts can be edited")
        if req.question is not None:
            poll.question = _clean_question(req.question)
        if req.options is not None:
            poll.options = _clean_options(req.options)
        if req.multiple is not None:
            poll.multiple = req.multiple
        if req.anonymous is not None:
            poll.anonymous = req.anonymous
        await self._changed(actor.event_id, poll)
        return poll

    @command("poll:delete", PollRef, Perm.SESSION_MODERATE)
    async def delete(self, actor: Actor, req: PollRef) -> None:
        """Delete a draft (moderators)."""
        poll = await self._moderated(actor, req)
        if poll.state != "draft":
            raise errors.POLL_STATE("only drafts can be deleted")
        if await self.polls(actor.event_id, poll.session_id).delete(poll.id):
            await self.outbox.emit(
                names.session_moderators_room(poll.session_id),
                "poll:deleted",
                {"session_id": poll.session_id, "poll_id": poll.id},
            )

    @command("poll:open", PollRef, Perm.SESSION_MODERATE)
    async def open(self, actor: Actor, req: PollRef) -> Poll:
        """Open a draft for votes (moderators): everyone in the webinar sees it."""
        poll = await self._moderated(actor, req)
        if poll.state != "draft":
            raise errors.POLL_STATE("only drafts can be opened")
        poll.state, poll.opened_at = "open", self.now()
        await self._changed(actor.event_id, poll, results=True)
        return poll

    @command("poll:close", PollRef, Perm.SESSION_MODERATE)
    async def close(self, actor: Actor, req: PollRef) -> Poll:
        """Close an open poll (moderators): no more votes or changes."""
        poll = await self._moderated(actor, req)
        if poll.state != "open":
            raise errors.POLL_STATE("only open polls can be closed")
        poll.state, poll.closed_at = "closed", self.now()
        await self._changed(actor.event_id, poll, results=True)
        return poll

    @command("poll:show_results", PollShow, Perm.SESSION_MODERATE)
    async def show_results(self, actor: Actor, req: PollShow) -> Poll:
        """Show a poll's results to everyone, or to the moderators only again."""
        poll = await self._moderated(actor, req)
        if poll.results_shown != req.shown:
            poll.results_shown = req.shown
            await self._changed(actor.event_id, poll, results=poll.state != "draft")
        return poll

    # everyone in the webinar ------------------------------------------------------------
    @command("poll:vote", PollVote, Perm.SESSION_ATTEND)
    async def vote(self, actor: Actor, req: PollVote) -> Voted:
        """Vote in an open poll, or change your vote while it is open."""
        webinar = await self.webinars.joined_webinar(actor, req.session_id)
        poll = await self._poll(actor.event_id, webinar.id, req.poll_id)
        if poll.state != "open":
            raise errors.POLL_NOT_FOUND() if poll.state == "draft" else errors.POLL_STATE()
        choice = sorted(req.options)
        if len(set(choice)) != len(choice) or choice[-1] >= len(poll.options):
            raise errors.POLL_CHOICE(f"options are indexes 0..{len(poll.options) - 1}, once each")
        if not poll.multiple and len(choice) != 1:
            raise errors.POLL_CHOICE("a single-choice poll takes exactly one option")
        token = None
        if poll.anonymous:
            token = await self._vote_anonymously(actor, poll, choice, req.ballot)
        else:
            if req.ballot is not None:
                raise errors.INVALID_PAYLOAD("`ballot` is only for anonymous polls")
            ballot = Ballot(person=actor.person.card(), options=choice)
            await self.ballots(actor.event_id, poll.id).put(actor.person.id, ballot)
        self.results_push.add((actor.event_id, webinar.id, poll.id))
        return Voted(poll_id=poll.id, options=choice, ballot=token)

    async def _vote_anonymously(
        self, actor: Actor, poll: Poll, choice: list[int], token: str | None
    ) -> str:
        ballots = self.anonymous_ballots(actor.event_id, poll.id)
        voters = self.voters(actor.event_id, poll.id)
        if token is not None:  # a change: the token proves which ballot is yours
            if await self.engine.docs.get(voters, actor.person.id) is None:
                raise errors.POLL_BALLOT("you have not voted in this poll yet")
            if await ballots.get(token) is None:
                raise errors.POLL_BALLOT("no such ballot in this poll")
            await ballots.put(token, AnonymousBallot(options=choice))
            return token
        token = secrets.token_urlsafe(24)
        await ballots.put(token, AnonymousBallot(options=choice))
        # the one-vote rule: only the first of a person's concurrent votes keeps its ballot
        if not await self.engine.docs.put_new(voters, actor.person.id, b""):
            await ballots.delete(token)
            raise errors.POLL_BALLOT("you voted already: send your ballot token to change it")
        return token

    @command("poll:list", SessionRef, Perm.SESSION_ATTEND)
    async def list(self, actor: Actor, req: SessionRef) -> list[PollView]:
        """The webinar's polls you may see (drafts: moderators), results and your vote."""
        webinar = await self.webinars.webinar(actor.event_id, req.session_id)
        moderator = moderates(actor.person, webinar)
        if not moderator and self.webinars.attending(actor) != webinar.id:
            raise errors.NOT_IN_WEBINAR()
        results = {r.poll_id: r for r in await self._results(actor.event_id, webinar.id).all()}
        views = []
        for poll in await self.all_polls(actor.event_id, webinar.id):
            if poll.state == "draft" and not moderator:
                continue
            shown = None
            if poll.state != "draft" and (moderator or poll.results_shown):
                shown = results.get(poll.id) or await self.count(actor.event_id, poll)
                shown = msgspec.structs.replace(shown, shown=poll.results_shown)
            my_vote = None
            if poll.anonymous:
                voted = await self.engine.docs.get(
                    self.voters(actor.event_id, poll.id), actor.person.id
                )
                has_voted = voted is not None
            else:
                ballot = await self.ballots(actor.event_id, poll.id).get(actor.person.id)
                has_voted = ballot is not None
                my_vote = ballot.options if ballot is not None else None
            views.append(PollView(poll=poll, results=shown, voted=has_voted, my_vote=my_vote))
        return views
