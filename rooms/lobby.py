"""The lobby: being signed in to an event, who is online, the exhibitor directory and
the organizers' announcements."""

from __future__ import annotations

from rooms import names
from rooms.area import Area
from rooms.catalog import Catalog
from rooms.chat import Chat, decode_message, encode_message
from rooms.commands import command
from rooms.context import Actor, Services
from rooms.models import Booth, ChatMessage, PersonCard
from rooms.moderation import Moderation
from rooms.permissions import Perm
from rooms.presence import Presence
from rooms.protocol import Announce, DirectoryQuery, Empty, OnlineQuery


class Lobby(Area):
    name = "lobby"

    def __init__(
        self,
        services: Services,
        catalog: Catalog,
        presence: Presence,
        chat: Chat,
        moderation: Moderation,
    ) -> None:
        super().__init__(services)
        self.catalog = catalog
        self.presence = presence
        self.chat = chat
        self.moderation = moderation

    async def on_connect(self, actor: Actor) -> None:
        await self.outbox.join(actor.sid, names.user_room(actor.person.id))
        await self.presence.enter(names.event_room(actor.event_id), actor)

    async def on_disconnect(self, actor: Actor) -> None:
        # the socket is gone with its rooms: only presence needs updating
        await self.presence.forget(names.event_room(actor.event_id), actor.sid)

    @command("lobby:state", Empty, Perm.LOBBY_READ)
    async def state(self, actor: Actor, _: Empty) -> dict:
        """Everything the lobby shows: you, the event, halls, programme, who is online."""
        eid = actor.event_id
        scope = names.event_room(eid)
        return {
            "me": actor.person,
            "event": await self.catalog.event(eid),
            "halls": await self.catalog.list_halls(eid),
            "schedule": await self.catalog.list_schedule(eid),
            # a big lobby's list is capped: online_count tells the rest, lobby:online searches
            "online": await self.presence.members(scope, limit=self.limits.presence_detail_limit),
            "online_count": await self.presence.count(scope),
            "announcements": await self.announcements(eid),
        }

    @command("lobby:online", OnlineQuery, Perm.LOBBY_READ)
    async def online(self, actor: Actor, query: OnlineQuery) -> list[PersonCard]:
        """Search the people online now."""
        scope = names.event_room(actor.event_id)
        return await self.presence.members(scope, query.q, query.limit)

    @command("lobby:directory", DirectoryQuery, Perm.LOBBY_READ)
    async def directory(self, actor: Actor, q: DirectoryQuery) -> list[Booth]:
        """Search the exhibitors' booths."""
        return await self.catalog.list_booths(actor.event_id, q.q, q.sector, q.country, q.hall_id)

    # announcements --------------------------------------------------------------------------
    def _stream(self, event_id: str) -> str:
        return names.history_stream(event_id, names.ANNOUNCEMENTS)

    @command("lobby:announce", Announce, Perm.LOBBY_ANNOUNCE)
    async def announce(self, actor: Actor, req: Announce) -> ChatMessage:
        """Tell the whole event something (kept with the last few announcements)."""
        text = req.text.strip()
        self.chat.check_text(text)
        await self.moderation.check_not_muted(actor)
        message = ChatMessage(
            channel=names.ANNOUNCEMENTS,
            author=actor.person.card(),
            text=text,
            ts=self.now(),
            kind="announcement",
        )
        message.id = await self.engine.history.append(
            self._stream(actor.event_id), encode_message(message), self.limits.announcement_history
        )
        await self.outbox.emit(names.event_room(actor.event_id), "lobby:announcement", message)
        return message

    async def announcements(self, event_id: str) -> list[ChatMessage]:
        entries = await self.engine.history.before(
            self._stream(event_id), None, self.limits.announcement_history
        )
        return [decode_message(entry_id, raw) for entry_id, raw in entries]
