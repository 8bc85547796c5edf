"""The hand queue of a live webinar: first raised, first served, across nodes.

One record per person (keyed by person id, stored with ``put_new``): raising twice, from
two tabs or two nodes, keeps one hand and its first place. The order is a sequence
number drawn from the engine's atomic counter when the hand goes up, so every node
sees the same queue.

The queue goes to the moderators only (room ``session-mods:<id>``), coalesced: after a
change, at most one ``webinar:hand_queue`` per ``webinar_hands_interval`` seconds per node,
however many hands go up meanwhile. The person whose hand it is hears about their own
hand (``webinar:hand``, all their tabs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from msgspec import Struct

from rooms import errors, names
from rooms.area import Part
from rooms.commands import command
from rooms.context import Actor, Services
from rooms.models import Id, PersonCard
from rooms.permissions import Perm
from rooms.protocol import Request, SessionRef
from rooms.store import Collection
from rooms.webinars.records import Speaker, Webinar

if TYPE_CHECKING:
    from rooms.webinars.sessions import WebinarNow, Webinars

log = logging.getLogger(__name__)
PUSHED_HANDS = 200  # the queue push carries the first ones; webinar:hands gives all


class Hand(Struct, kw_only=True):
    person: PersonCard
    seq: int  # its place in the order: drawn from the engine's counter when raised
    raised_at: float


class QueuedHand(Struct, kw_only=True):
    person: PersonCard
    seq: int
    raised_at: float
    waiting: float  # seconds since it went up, by the server's clock


class HandQueue(Struct, kw_only=True):
    session_id: str
    count: int  # hands up
    hands: list[QueuedHand]  # first raised first (the push: the first PUSHED_HANDS)
    server_now: float


class MyHand(Struct, kw_only=True):
    session_id: str
    raised: bool
    seq: int | None = None
    raised_at: float | None = None
    position: int | None = None  # place in the queue when it went up (1 = first)
    server_now: float


class LowerHand(Request):
    session_id: Id
    person_id: Id | None = None  # someone else's (moderators); your own when left out


class HandRef(Request):
    session_id: Id
    person_id: Id


class Hands(Part):
    def __init__(self, services: Services, webinars: Webinars) -> None:
        super().__init__(services)
        self.webinars = webinars
        self._pending: set[tuple[str, str]] = set()  # (event, session) with a push due
        self._last_push: dict[tuple[str, str], float] = {}
        self._tasks: set[asyncio.Task] = set()

    def hands(self, event_id: str, session_id: str) -> Collection[Hand]:
        return Collection(self.engine, f"ev:{event_id}:webinar-hands:{session_id}", Hand)

    def _sequence(self, webinar: Webinar) -> str:
        return f"webinar-hand-seq:{webinar.event_id}:{webinar.id}"

    def _raised(self, webinar: Webinar) -> str:
        return f"webinar-hands-up:{webinar.event_id}:{webinar.id}"

    # the person's own hand ---------------------------------------------------------------
    @command("webinar:raise_hand", SessionRef, Perm.SESSION_ATTEND)
    async def raise_hand(self, actor: Actor, req: SessionRef) -> MyHand:
        """Raise your hand in the live webinar you joined (again: no change)."""
        webinar = await self.webinars.joined_webinar(actor, req.session_id)
        if webinar.state != "live":
            raise errors.WEBINAR_STATE("hands go up while the webinar is live")
        hands = self.hands(webinar.event_id, webinar.id)
        person_id = actor.person.id
        hand = await hands.get(person_id)
        if hand is not None:
            return self._mine(webinar, hand, None)
        seq = await self.engine.counters.incr(self._sequence(webinar))
        hand = Hand(person=actor.person.card(), seq=seq, raised_at=self.now())
        if not await hands.put_new(person_id, hand):  # another tab was first
            first = await hands.get(person_id)
            return self._mine(webinar, first or hand, None)
        position = await self.engine.counters.incr(self._raised(webinar))
        mine = self._mine(webinar, hand, position)
        await self.outbox.emit(names.user_room(person_id), "webinar:hand", mine)
        self._queue_changed(webinar)
        return mine

    @command("webinar:lower_hand", LowerHand, Perm.SESSION_ATTEND)
    async def lower_hand(self, actor: Actor, req: LowerHand) -> MyHand:
        """Lower your hand; moderators may lower anyone's (no error when it was down)."""
        webinar = await self.webinars.webinar(actor.event_id, req.session_id)
        person_id = req.person_id or actor.person.id
        if person_id != actor.person.id:
            webinar = await self.webinars.moderated(actor, req.session_id)
        await self.lower(webinar, person_id)
        return MyHand(session_id=webinar.id, raised=False, server_now=self.now())

    def _mine(self, webinar: Webinar, hand: Hand, position: int | None) -> MyHand:
        return MyHand(
            session_id=webinar.id,
            raised=True,
            seq=hand.seq,
            raised_at=hand.raised_at,
            position=position,
            server_now=self.now(),
        )

    # public: the speakers' part lowers a hand that went on stage ---------------------------
    async def hand_of(self, webinar: Webinar, person_id: str) -> Hand | None:
        return await self.hands(webinar.event_id, webinar.id).get(person_id)

    async def lower(self, webinar: Webinar, person_id: str) -> bool:
        """Take a hand down; True when it was up (only one caller gets True)."""
        if not await self.hands(webinar.event_id, webinar.id).delete(person_id):
            return False
        await self.engine.counters.incr(self._raised(webinar), -1)
        down = MyHand(session_id=webinar.id, raised=False, server_now=self.now())
        await self.outbox.emit(names.user_room(person_id), "webinar:hand", down)
        self._queue_changed(webinar)
        return True

    async def clear(self, webinar: Webinar) -> None:
        """Every hand down (the webinar ended); their owners learn it from the state."""
        hands = self.hands(webinar.event_id, webinar.id)
        lowered = 0
        for hand in await hands.all():
            lowered += await hands.delete(hand.person.id)
        if lowered:
            await self.engine.counters.incr(self._raised(webinar), -lowered)
        self._queue_changed(webinar)

    # the moderators' queue ----------------------------------------------------------------
    async def queue(self, webinar: Webinar, limit: int | None = None) -> HandQueue:
        now = self.now()
        hands = sorted(await self.hands(webinar.event_id, webinar.id).all(), key=lambda h: h.seq)
        shown = hands if limit is None else hands[:limit]
        return HandQueue(
            session_id=webinar.id,
            count=len(hands),
            hands=[
                QueuedHand(
                    person=h.person,
                    seq=h.seq,
                    raised_at=h.raised_at,
                    waiting=max(0.0, now - h.raised_at),
                )
                for h in shown
            ],
            server_now=now,
        )

    @command("webinar:hands", SessionRef, Perm.SESSION_MODERATE)
    async def list_hands(self, actor: Actor, req: SessionRef) -> HandQueue:
        """The hand queue, first raised first, with how long each has waited (moderators)."""
        return await self.queue(await self.webinars.moderated(actor, req.session_id))

    @command("webinar:invite_hand", HandRef, Perm.SESSION_MODERATE)
    async def invite_hand(self, actor: Actor, req: HandRef) -> WebinarNow:
        """Invite a raised hand to the stage: they accept and go on stage at once."""
        webinar = await self.webinars.moderated(actor, req.session_id)
        if webinar.state != "live":
            raise errors.WEBINAR_STATE("raised hands are invited while the webinar is live")
        hand = await self.hand_of(webinar, req.person_id)
        if hand is None:
            raise errors.HAND_NOT_RAISED()
        speaker = Speaker(
            person=hand.person,
            invited_by=actor.person.id,
            invited_at=self.now(),
            from_hand=True,
        )
        return await self.webinars.speakers.invite(webinar, speaker)

    def _queue_changed(self, webinar: Webinar) -> None:
        """Push the queue to the moderators soon: at once after a quiet interval, then
        at most once per interval, whatever the number of changes."""
        key = (webinar.event_id, webinar.id)
        if key in self._pending:
            return
        self._pending.add(key)
        interval = self.limits.webinar_hands_interval
        delay = max(0.0, self._last_push.get(key, 0.0) + interval - time.monotonic())
        task = asyncio.get_running_loop().create_task(self._push_after(key, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _push_after(self, key: tuple[str, str], delay: float) -> None:
        await asyncio.sleep(delay)
        self._pending.discard(key)  # changes from now on get a push of their own
        self._last_push[key] = time.monotonic()
        event_id, session_id = key
        try:
            webinar = await self.webinars.webinar(event_id, session_id)
            queue = await self.queue(webinar, PUSHED_HANDS)
            room = names.session_moderators_room(session_id)
            await self.outbox.emit(room, "webinar:hand_queue", queue)
        except Exception:
            log.exception("pushing the hand queue of %s failed", session_id)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
