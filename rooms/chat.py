"""Chat: lobby, booth, session and direct-message channels with history.

Wire channel names: ``lobby``, ``booth:<id>``, ``session:<id>``, ``visit:<id>`` (a site
visit's viewers), ``dm:<person>`` (or
the canonical ``dm:<a>:<b>`` with ids sorted, which is what the server reports).
History ids are engine stream ids and double as resume cursors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from rooms.catalog import Catalog
from rooms.context import Actor, Limits, Outbox
from rooms.engine import Engine
from rooms.errors import DomainError, Forbidden, InvalidInput, NotFound
from rooms.models import ChatMessage, Mute, Visit
from rooms.people import People
from rooms.permissions import RANK, is_staff_of, require_moderator
from rooms.protocol import Announce, ChatDelete, ChatHistory, ChatSend
from rooms.ratelimit import RateLimiter
from rooms.store import Collection

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(ChatMessage).decode


@dataclass(frozen=True)
class Channel:
    name: str  # canonical wire name
    key: str  # history key in the engine
    rooms: tuple[str, ...]  # Socket.IO rooms that receive it live
    booth_id: str | None = None
    session_id: str | None = None
    visit_id: str | None = None
    visit_booth_id: str | None = None  # the booth whose staff host that visit


class Chat:
    def __init__(
        self,
        engine: Engine,
        outbox: Outbox,
        catalog: Catalog,
        people: People,
        limits: Limits,
        clock=time.time,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.catalog = catalog
        self.people = people
        self.limits = limits
        self.clock = clock
        self.rate = RateLimiter(engine)

    def visits(self, event_id: str) -> Collection[Visit]:
        return Collection(self.engine, f"ev:{event_id}:visits", Visit)

    def mutes(self, event_id: str) -> Collection[Mute]:
        return Collection(self.engine, f"ev:{event_id}:mutes", Mute)

    async def resolve(self, actor: Actor, name: str) -> Channel:
        """Check the channel exists and the actor may use it."""
        eid = actor.event_id
        kind, _, rest = name.partition(":")
        if name == "lobby":
            return Channel("lobby", f"chat:{eid}:lobby", (f"event:{eid}",))
        if kind == "booth" and rest:
            await self.catalog.booth(eid, rest)
            return Channel(name, f"chat:{eid}:{name}", (name,), booth_id=rest)
        if kind == "session" and rest:
            await self.catalog.schedule_item(eid, rest)
            return Channel(name, f"chat:{eid}:{name}", (name,), session_id=rest)
        if kind == "visit" and rest:
            visit = await self.visits(eid).get(rest)
            if visit is None:
                raise NotFound("visit", code="visit_not_found")
            key = f"chat:{eid}:{name}"
            return Channel(name, key, (name,), visit_id=rest, visit_booth_id=visit.booth_id)
        if kind == "dm" and rest:
            return await self._direct(actor, rest)
        raise InvalidInput(f"unknown channel {name!r}", code="bad_channel")

    async def _direct(self, actor: Actor, rest: str) -> Channel:
        me = actor.person.id
        ids = rest.split(":")
        if len(ids) == 1:
            pair = {me, ids[0]}
        elif len(ids) == 2:
            if me not in ids:
                raise Forbidden("this is not your conversation")
            pair = set(ids)
        else:
            raise InvalidInput(f"unknown channel dm:{rest}", code="bad_channel")
        if len(pair) != 2:
            raise InvalidInput("you cannot message yourself", code="bad_channel")
        (other,) = pair - {me}
        target = await self.people.get(actor.event_id, other)
        if target.removed:
            raise NotFound("person", code="person_not_found")
        a, b = sorted(pair)
        name = f"dm:{a}:{b}"
        return Channel(name, f"chat:{actor.event_id}:{name}", (f"user:{a}", f"user:{b}"))

    # sending ------------------------------------------------------------------
    @staticmethod
    def _require_inside(actor: Actor, channel: Channel, reading: bool) -> None:
        """Booth and session chat belong to the people there. Staff and moderators
        may read without entering (to moderate), but speak only from inside."""
        person = actor.person
        staff_of = channel.booth_id or channel.visit_booth_id
        overseer = RANK[person.role] >= RANK["moderator"] or (
            staff_of is not None and is_staff_of(person, staff_of)
        )
        if reading and overseer:
            return
        if channel.booth_id and actor.booth_id != channel.booth_id:
            raise DomainError("not_in_booth", "enter the booth to chat there")
        if channel.session_id and actor.session_id != channel.session_id:
            raise DomainError("not_in_session", "join the session to chat there")
        if channel.visit_id and actor.visit_id != channel.visit_id:
            raise DomainError("not_in_visit", "join the visit to chat there")

    async def send(self, actor: Actor, req: ChatSend) -> ChatMessage:
        channel = await self.resolve(actor, req.channel)
        self._require_inside(actor, channel, reading=False)
        text = req.text.strip()
        self._check_text(text)
        await self._check_not_muted(actor)
        limits = self.limits
        await self.rate.hit(
            f"chat:{actor.person.id}", limits.chat_rate_count, limits.chat_rate_window
        )
        message = ChatMessage(
            channel=channel.name, author=actor.person.card(), text=text, ts=self.clock()
        )
        message.id = await self.engine.history.append(
            channel.key, _encode(message), limits.history_max_len
        )
        for room in channel.rooms:
            await self.outbox.emit(room, "chat:message", message)
        return message

    async def announce(self, actor: Actor, req: Announce) -> ChatMessage:
        require_moderator(actor.person)
        text = req.text.strip()
        self._check_text(text)
        await self._check_not_muted(actor)
        eid = actor.event_id
        message = ChatMessage(
            channel="announcements",
            author=actor.person.card(),
            text=text,
            ts=self.clock(),
            kind="announcement",
        )
        message.id = await self.engine.history.append(
            f"chat:{eid}:announcements", _encode(message), self.limits.announcement_history
        )
        await self.outbox.emit(f"event:{eid}", "lobby:announcement", message)
        return message

    async def announcements(self, event_id: str) -> list[ChatMessage]:
        entries = await self.engine.history.before(
            f"chat:{event_id}:announcements", None, self.limits.announcement_history
        )
        return [self._decode(entry_id, raw) for entry_id, raw in entries]

    def _check_text(self, text: str) -> None:
        if not text:
            raise InvalidInput("empty message", code="message_empty")
        if len(text) > self.limits.chat_max_length:
            raise InvalidInput(
                f"messages are limited to {self.limits.chat_max_length} characters",
                code="message_too_long",
            )

    async def _check_not_muted(self, actor: Actor) -> None:
        mute = await self.mutes(actor.event_id).get(actor.person.id)
        if mute is not None and mute.until > self.clock():
            until = datetime.fromtimestamp(mute.until, UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise DomainError("muted", f"you are muted until {until}")

    # reading -------------------------------------------------------------------
    async def history(self, actor: Actor, req: ChatHistory) -> dict:
        if req.before is not None and req.since is not None:
            raise InvalidInput("give either before or since, not both")
        channel = await self.resolve(actor, req.channel)
        self._require_inside(actor, channel, reading=True)
        limit = min(req.limit, self.limits.history_page_max)
        if req.since is not None:
            entries = await self.engine.history.after(channel.key, req.since, limit + 1)
            has_more = len(entries) > limit
            entries = entries[:limit]
        else:
            entries = await self.engine.history.before(channel.key, req.before, limit + 1)
            has_more = len(entries) > limit
            entries = entries[-limit:]
        messages = [self._decode(entry_id, raw) for entry_id, raw in entries]
        return {"channel": channel.name, "messages": messages, "has_more": has_more}

    @staticmethod
    def _decode(entry_id: str, raw: bytes) -> ChatMessage:
        message = _decode(raw)
        message.id = entry_id
        return message

    # moderation ------------------------------------------------------------------
    async def delete(self, actor: Actor, req: ChatDelete) -> dict:
        channel = await self.resolve(actor, req.channel)
        raw = await self.engine.history.get(channel.key, req.id)
        if raw is None:
            raise NotFound("message", code="message_not_found")
        message = self._decode(req.id, raw)
        person = actor.person
        allowed = (
            RANK[person.role] >= RANK["moderator"]
            or message.author.id == person.id
            or (channel.booth_id is not None and is_staff_of(person, channel.booth_id))
            or (channel.visit_booth_id is not None and is_staff_of(person, channel.visit_booth_id))
        )
        if not allowed:
            raise Forbidden("only moderators, the booth's staff or the author may delete this")
        if await self.engine.history.delete(channel.key, req.id):
            for room in channel.rooms:
                await self.outbox.emit(
                    room, "chat:deleted", {"channel": channel.name, "id": req.id}
                )
        return {"channel": channel.name, "id": req.id}
