"""Reactions of a webinar's audience: applause, thumbs up, heart, laugh, question mark.

A reaction is not stored per person: the node that receives it adds one to its own
count for the current window, and once per window (one second by default) the
cluster sends ONE ``reaction:counts`` to the webinar's room with what came in during
that window per kind and the cumulative totals (rooms/webinars/aggregate.py). A burst
of thousands of reactions thus reaches each client as one push (two when it spans a
window's edge), and one reaction costs the same whatever the audience.
"""

from __future__ import annotations

from typing import Literal, get_args

import msgspec
from msgspec import Struct

from rooms import errors, names
from rooms.area import Area
from rooms.commands import REACTION, command
from rooms.context import Actor, Services
from rooms.models import Id
from rooms.permissions import Perm
from rooms.protocol import Request
from rooms.webinars.aggregate import Aggregator, Key
from rooms.webinars.sessions import Webinars

ReactionKind = Literal["applause", "thumbs_up", "heart", "laugh", "question"]
KINDS: tuple[str, ...] = get_args(ReactionKind)


class ReactionSend(Request):
    session_id: Id
    kind: ReactionKind


class ReactionCounts(Struct, kw_only=True):
    session_id: str
    counts: dict[str, int]  # per kind, since the previous push (the last window)
    totals: dict[str, int]  # per kind, since the webinar began (clients may diff these)


_encode = msgspec.msgpack.Encoder().encode
_decode_totals = msgspec.msgpack.Decoder(dict[str, int]).decode


class Reactions(Area):
    name = "reaction"

    def __init__(self, services: Services, webinars: Webinars) -> None:
        super().__init__(services)
        self.webinars = webinars
        self.counts_push = Aggregator(
            services, "reaction", self._push_counts, services.limits.engage_push_interval
        )

    def _last(self, event_id: str) -> str:
        """The totals of the last push per webinar (key: session id)."""
        return f"ev:{event_id}:reaction-pushed"

    async def totals(self, event_id: str, session_id: str) -> dict[str, int]:
        return await self.counts_push.totals((event_id, session_id), KINDS)

    async def _push_counts(self, key: Key) -> None:
        event_id, session_id = key
        totals = await self.totals(event_id, session_id)
        raw = await self.engine.docs.get(self._last(event_id), session_id)
        before = _decode_totals(raw) if raw is not None else {}
        await self.engine.docs.put(self._last(event_id), session_id, _encode(totals))
        counts = {kind: max(0, totals[kind] - before.get(kind, 0)) for kind in KINDS}
        await self.outbox.emit(
            names.session_room(session_id),
            "reaction:counts",
            ReactionCounts(session_id=session_id, counts=counts, totals=totals),
        )

    @command("reaction:send", ReactionSend, Perm.SESSION_ATTEND, rate=REACTION)
    async def send(self, actor: Actor, req: ReactionSend) -> None:
        """React (applause, thumbs up, heart, laugh, question): counted, pushed aggregated."""
        webinar = await self.webinars.joined_webinar(actor, req.session_id)
        if webinar.state == "ended":
            raise errors.WEBINAR_ENDED()
        self.counts_push.add((actor.event_id, webinar.id), {req.kind: 1})
