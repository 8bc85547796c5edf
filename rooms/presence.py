"""Who is where (the lobby of an event, a booth, a session), cluster-wide.

A presence scope has the same name as the Socket.IO room its members are in, so
notices go to exactly the people who can see that place.

Notices are throttled per scope: the first change after a quiet interval goes out
at once, later ones are coalesced into one ``presence:changed`` per interval. A lobby
that thousands join within minutes would otherwise cost one broadcast to everyone
per arrival — N²/2 deliveries for N people.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable

import msgspec

from rooms import names
from rooms.context import Actor, Outbox
from rooms.engine import Engine
from rooms.models import PersonCard

log = logging.getLogger(__name__)
_encode = msgspec.msgpack.Encoder().encode
_decode_card = msgspec.msgpack.Decoder(PersonCard).decode
# retrying a failed release: first delay, doubling up to the last (seconds)
RELEASE_RETRY_FIRST, RELEASE_RETRY_MAX = 0.2, 5.0


class PresenceNotices:
    """Coalesces joined/left notices per scope (the latest change of a person wins)."""

    def __init__(self, engine: Engine, outbox: Outbox, interval: float, detail_limit: int) -> None:
        self.engine = engine
        self.outbox = outbox
        self.interval = interval
        self.detail_limit = detail_limit
        self._pending: dict[str, dict[str, PersonCard | None]] = {}
        self._last_sent: dict[str, float] = {}
        self._tasks: set[asyncio.Task] = set()

    def add(self, scope: str, person_id: str, card: PersonCard | None) -> None:
        """``card`` None means the person left the scope."""
        changes = self._pending.get(scope)
        if changes is None:
            changes = self._pending[scope] = {}
            delay = self._last_sent.get(scope, 0.0) + self.interval - time.monotonic()
            task = asyncio.get_running_loop().create_task(self._send_after(scope, max(0.0, delay)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        changes.pop(person_id, None)  # keep the order of the latest changes
        changes[person_id] = card

    async def _send_after(self, scope: str, delay: float) -> None:
        await asyncio.sleep(delay)
        changes = self._pending.pop(scope, {})
        self._last_sent[scope] = time.monotonic()
        try:
            count = await self.engine.presence.count(scope)
            notice = {"scope": scope, "count": count, "joined": [], "left": [], "partial": True}
            if count <= self.detail_limit:
                # above the limit, a card for every arrival to everyone costs more than
                # it is worth (10k people: ~200 MB/s); clients show the count and
                # search lobby:online instead
                notice["joined"] = [card for card in changes.values() if card is not None]
                notice["left"] = [pid for pid, card in changes.items() if card is None]
                notice["partial"] = False
            await self.outbox.emit(scope, "presence:changed", notice)
        except Exception:
            log.exception("presence notice for %s failed", scope)

    async def drain(self) -> None:
        """Send what is pending now (shutdown, tests)."""
        for task in list(self._tasks):
            task.cancel()
        for scope in list(self._pending):
            await self._send_after(scope, 0.0)


ReapHandler = Callable[[str, str], Awaitable[None]]
RejoinHandler = Callable[[str, str, bytes], Awaitable[None]]


class Presence:
    def __init__(
        self, engine: Engine, outbox: Outbox, interval: float = 1.0, detail_limit: int = 1000
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.notices = PresenceNotices(engine, outbox, interval, detail_limit)
        self._reap_handlers: dict[str, ReapHandler] = {}
        self._rejoin_handlers: dict[str, RejoinHandler] = {}
        self._unreleased: set[str] = set()  # sids whose release failed, retried
        self._releaser: asyncio.Task | None = None

    def on_reaped(self, kind: str, handler: ReapHandler) -> None:
        """Scopes of ``kind`` (e.g. ``call``, see rooms/names.py) are told about reaped
        members by ``handler(scope, member)`` instead of a presence notice. Their
        members are no people's cards: they get no "joined" notice either, unless
        ``on_rejoined`` gives a handler for that too."""
        self._reap_handlers[kind] = handler

    def on_rejoined(self, kind: str, handler: RejoinHandler) -> None:
        """``handler(scope, member, info)`` tells scopes of ``kind`` that a member is
        back (this node's heartbeat had lapsed and its sessions were restored)."""
        self._rejoin_handlers[kind] = handler

    async def enter(self, scope: str, actor: Actor) -> None:
        await self.outbox.join(actor.sid, scope)
        card = actor.person.card()
        if await self.engine.presence.add(scope, actor.sid, actor.person.id, _encode(card)):
            self.notices.add(scope, card.id, card)

    async def leave(self, scope: str, actor: Actor) -> None:
        await self.outbox.leave(actor.sid, scope)
        await self.forget(scope, actor.sid)

    async def forget(self, scope: str, sid: str) -> None:
        """Drop one session (its socket may be gone already)."""
        member = await self.engine.presence.remove(scope, sid)
        if member is not None:
            self.notices.add(scope, member, None)

    async def members(self, scope: str, q: str = "", limit: int | None = None) -> list[PersonCard]:
        """Members sorted by name; ``q`` filters on name, company, country, sector."""
        raw = await self.engine.presence.members(scope)
        cards = [_decode_card(info) for info in raw.values()]
        if q:
            words = q.casefold().split()
            cards = [
                c
                for c in cards
                if all(
                    w in f"{c.name} {c.company} {c.country} {c.sector}".casefold() for w in words
                )
            ]
        cards.sort(key=lambda c: (c.name.casefold(), c.id))
        return cards if limit is None else cards[:limit]

    async def count(self, scope: str) -> int:
        """How many people (not sockets) are in ``scope``."""
        return await self.engine.presence.count(scope)

    # a socket that is gone -------------------------------------------------------------
    async def release(self, sid: str) -> None:
        """The socket is gone and every area has forgotten it: remove whatever presence
        it still holds (what an area's removal failed to take: Redis out of reach, no
        free connection). Retried in the background until done, so no ghost stays."""
        try:
            left = await self.engine.presence.remove_sessions(sid)
        except Exception as exc:
            log.warning("releasing %s failed (%r); retrying", sid, exc)
            self._unreleased.add(sid)
            if self._releaser is None or self._releaser.done():
                self._releaser = asyncio.get_running_loop().create_task(self._release_later())
            return
        await self._tell_left(left)

    async def _release_later(self) -> None:
        delay = RELEASE_RETRY_FIRST
        while self._unreleased:
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))  # jitter: nodes retry apart
            for sid in sorted(self._unreleased):
                try:
                    left = await self.engine.presence.remove_sessions(sid)
                except Exception:
                    delay = min(delay * 2, RELEASE_RETRY_MAX)
                    break
                self._unreleased.discard(sid)
                await self._tell_left(left)
            else:
                delay = RELEASE_RETRY_FIRST
        log.info("every socket that had left is released")

    async def close(self) -> None:
        """Stop retrying (the node is closing: the engine removes all its sessions)
        and send the notices still pending."""
        if self._releaser is not None:
            self._releaser.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._releaser
        await self.notices.drain()

    # the cluster -------------------------------------------------------------------------
    async def reap(self) -> int:
        """Keep the cluster's presence true, every heartbeat interval: if this node's
        heartbeat had lapsed, add its people back and announce them; remove the people
        of crashed nodes and tell their rooms. Returns how many were reaped."""
        for scope, member, info in await self.engine.presence.restore_lapsed():
            kind = names.split(scope)[0]
            rejoined = self._rejoin_handlers.get(kind)
            try:
                if rejoined is not None:
                    await rejoined(scope, member, info)
                elif kind not in self._reap_handlers:  # a scope of people's cards
                    self.notices.add(scope, member, _decode_card(info))
            except Exception:  # the others are still told
                log.exception("telling %s that %s is back failed", scope, member)
        gone = await self.engine.presence.reap_dead_nodes()
        await self._tell_left(gone)
        return len(gone)

    async def _tell_left(self, gone: list[tuple[str, str]]) -> None:
        for scope, member in gone:
            handler = self._reap_handlers.get(names.split(scope)[0])
            try:
                if handler is None:
                    self.notices.add(scope, member, None)
                else:
                    await handler(scope, member)
            except Exception:  # the others are still told
                log.exception("telling %s that %s left failed", scope, member)
