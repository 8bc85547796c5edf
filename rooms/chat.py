"""Chat: channels with history, for the lobby, direct messages, and whatever places
other areas register (booths, sessions, site visits).

A channel kind is registered by the area that owns the place
(``chat.add_kind("booth", resolver)``); the resolver checks the place exists and says
who is inside, which error an outsider gets, and which booth's staff oversee it.
Wire names: ``lobby``, ``dm:<person>`` (or the canonical ``dm:<a>:<b>`` with ids
sorted, which the server reports), and ``<kind>:<id>`` for registered kinds. History
ids are engine stream ids and double as resume cursors.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec

from rooms import errors, names
from rooms.area import Area
from rooms.commands import CHAT, command
from rooms.context import Actor, Services
from rooms.engine import EngineUnavailable
from rooms.errors import ErrorCode
from rooms.models import ChatMessage, Person
from rooms.moderation import Moderation
from rooms.people import People
from rooms.permissions import BOOTH_STAFF, MESSAGE_AUTHOR, Perm, allows, require
from rooms.protocol import ChatDelete, ChatHistory, ChatSend

log = logging.getLogger(__name__)
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(ChatMessage).decode


@dataclass(frozen=True)
class Channel:
    name: str  # canonical wire name
    key: str  # its history stream
    rooms: tuple[str, ...]  # Socket.IO rooms that receive it live
    inside: Callable[[Actor], bool] | None = None  # None: everyone who can resolve it
    outside: ErrorCode | None = None  # the refusal for someone not inside
    staff_booth: str | None = None  # the booth whose staff oversee it


ChannelResolver = Callable[[Actor, str], Awaitable[Channel]]


class Chat(Area):
    name = "chat"

    def __init__(self, services: Services, people: People, moderation: Moderation) -> None:
        super().__init__(services)
        self.people = people
        self.moderation = moderation
        self._kinds: dict[str, ChannelResolver] = {"dm": self._direct}

    def add_kind(self, kind: str, resolver: ChannelResolver) -> None:
        """Serve channels ``<kind>:<id>``; ``resolver(actor, id)`` builds the Channel
        (and raises when the place does not exist)."""
        if kind in self._kinds:
            raise ValueError(f"chat channel kind {kind!r} registered twice")
        self._kinds[kind] = resolver

    def channel(self, event_id: str, name: str, rooms: tuple[str, ...], **rules) -> Channel:
        """A Channel of the event named ``name`` (for resolvers)."""
        return Channel(name, names.history_stream(event_id, name), rooms, **rules)

    async def resolve(self, actor: Actor, name: str) -> Channel:
        """Check the channel exists and the actor may see it."""
        if name == names.LOBBY:
            return self.channel(actor.event_id, name, (names.event_room(actor.event_id),))
        kind, rest = names.split(name)
        resolver = self._kinds.get(kind)
        if resolver is None or not rest:
            raise errors.BAD_CHANNEL(f"unknown channel {name!r}")
        return await resolver(actor, rest)

    async def _direct(self, actor: Actor, rest: str) -> Channel:
        me = actor.person.id
        ids = rest.split(":")
        if len(ids) == 1:
            pair = {me, ids[0]}
        elif len(ids) == 2:
            if me not in ids:
                raise errors.FORBIDDEN("this is not your conversation")
            pair = set(ids)
        else:
            raise errors.BAD_CHANNEL(f"unknown channel dm:{rest}")
        if len(pair) != 2:
            raise errors.BAD_CHANNEL("you cannot message yourself")
        (other,) = pair - {me}
        target = await self.people.get(actor.event_id, other)
        if target.removed:
            raise errors.PERSON_NOT_FOUND()
        a, b = sorted(pair)
        return self.channel(
            actor.event_id, names.dm_channel(a, b), (names.user_room(a), names.user_room(b))
        )

    @staticmethod
    def oversees(person: Person, channel: Channel) -> bool:
        """Moderators, and a booth's staff in its channels, may read without entering
        and delete any message there."""
        return allows(person, Perm.CHAT_DELETE, (BOOTH_STAFF, channel.staff_booth))

    def _require_inside(self, actor: Actor, channel: Channel, reading: bool) -> None:
        """A place's chat belongs to the people there; its overseers may read it from
        outside, but speak only from inside."""
        if channel.inside is None or channel.inside(actor):
            return
        if reading and self.oversees(actor.person, channel):
            return
        raise (channel.outside or errors.FORBIDDEN)()

    def check_text(self, text: str) -> None:
        if not text:
            raise errors.MESSAGE_EMPTY()
        if len(text) > self.limits.chat_max_length:
            raise errors.MESSAGE_TOO_LONG(
                f"messages are limited to {self.limits.chat_max_length} characters"
            )

    @command("chat:send", ChatSend, Perm.CHAT_WRITE, rate=CHAT)
    async def send(self, actor: Actor, req: ChatSend) -> ChatMessage:
        """Post a message; everyone in the channel gets it as chat:message. With a
        ``client_id``, a retry is answered with the message stored the first time."""
        channel = await self.resolve(actor, req.channel)
        self._require_inside(actor, channel, reading=False)
        text = req.text.strip()
        self.check_text(text)
        await self.moderation.check_not_muted(actor)
        message = ChatMessage(
            channel=channel.name, author=actor.person.card(), text=text, ts=self.now()
        )
        if req.client_id is not None:
            return await self._send_once(actor, channel, message, req.client_id)
        message.id = await self.engine.history.append(
            channel.key, _encode(message), self.limits.history_max_len
        )
        await self._push(channel, message)
        return message

    async def _send_once(
        self, actor: Actor, channel: Channel, message: ChatMessage, client_id: str
    ) -> ChatMessage:
        """Store the message unless this person's ``client_id`` stored one in the channel
        within the window; then answer with that one. Stored exactly once; pushed by
        the attempt that stored it, or, when that attempt did not get to push it (the
        store's reply was lost, the node died), by the first retry: a message is
        pushed twice only when a retry comes while its first attempt is between
        storing and noting the push done (clients skip ids they have)."""
        key = f"{actor.person.id}:{client_id}"
        done = await self.engine.history.append_once(
            channel.key,
            _encode(message),
            self.limits.history_max_len,
            key,
            self.limits.chat_client_id_window,
        )
        if done.created:
            message.id = done.id
        elif done.payload is None:
            raise errors.MESSAGE_NOT_FOUND(
                "the message sent with this client_id has been deleted since"
            )
        else:
            original = decode_message(done.id, done.payload)
            if original.text != message.text:
                raise errors.CLIENT_ID_REUSED(
                    f"client_id {client_id!r} was used for another text in this channel"
                )
            message = original
        if done.created or not done.settled:
            await self._push(channel, message)
            try:
                await self.engine.history.settle(channel.key, key, done.id)
            except EngineUnavailable:
                # stored and pushed: a retry would push it again, which clients absorb
                log.warning("chat: could not note message %s as pushed", done.id)
        return message

    async def _push(self, channel: Channel, message: ChatMessage) -> None:
        for room in channel.rooms:
            await self.outbox.emit(room, "chat:message", message)

    @command("chat:history", ChatHistory, Perm.CHAT_READ)
    async def history(self, actor: Actor, req: ChatHistory) -> dict:
        """A page of a channel's messages: the newest, older ones, or those since a cursor."""
        if req.before is not None and req.since is not None:
            raise errors.INVALID_PAYLOAD("give either before or since, not both")
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
        messages = [decode_message(entry_id, raw) for entry_id, raw in entries]
        return {"channel": channel.name, "messages": messages, "has_more": has_more}

    @command("chat:delete", ChatDelete, Perm.CHAT_DELETE)
    async def delete(self, actor: Actor, req: ChatDelete) -> dict:
        """Delete a message: its author, the channel's overseers."""
        channel = await self.resolve(actor, req.channel)
        raw = await self.engine.history.get(channel.key, req.id)
        if raw is None:
            raise errors.MESSAGE_NOT_FOUND()
        message = decode_message(req.id, raw)
        require(
            actor.person,
            Perm.CHAT_DELETE,
            (MESSAGE_AUTHOR, message.author.id),
            (BOOTH_STAFF, channel.staff_booth),
            message="only moderators, the booth's staff or the author may delete this",
        )
        if await self.engine.history.delete(channel.key, req.id):
            deleted = {"channel": channel.name, "id": req.id}
            for room in channel.rooms:
                await self.outbox.emit(room, "chat:deleted", deleted)
        return {"channel": channel.name, "id": req.id}


def encode_message(message: ChatMessage) -> bytes:
    return _encode(message)


def decode_message(entry_id: str, raw: bytes) -> ChatMessage:
    message = _decode(raw)
    message.id = entry_id
    return message
