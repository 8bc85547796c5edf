"""What every domain service is handed: limits, the outbox, the acting person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from rooms.models import Person


@dataclass(frozen=True)
class Limits:
    """Tunable limits; server/config.py fills them from settings."""

    chat_max_length: int = 2000
    chat_rate_count: int = 10
    chat_rate_window: float = 10.0
    history_page_max: int = 100
    history_max_len: int = 10_000
    mute_max_minutes: int = 7 * 24 * 60
    announcement_history: int = 20
    presence_interval: float = 1.0  # seconds between presence notices of one scope
    presence_detail_limit: int = 1000  # above this many people, notices carry counts only
    call_booth_capacity: int = 4  # people in one booth's video call, staff included
    call_group_capacity: int = 6  # default capacity of a group room
    call_max_capacity: int = 8  # most a group room or meeting may hold (mesh: each sends N-1)
    call_create_rate_count: int = 10  # meetings and group rooms one person may create...
    call_create_rate_window: float = 600.0  # ...per this many seconds


class Outbox(Protocol):
    """Delivery to connected sockets, implemented by server/ over Socket.IO.

    Rooms: ``event:{id}`` (lobby), ``booth:{id}``, ``session:{id}``, ``user:{id}``,
    ``staff:{booth_id}`` (that booth's staff while inside it), and every sid (one
    socket). Emits reach sockets on every node.
    """

    async def emit(self, room: str, event: str, data: Any, skip_sid: str | None = None) -> None: ...

    async def join(self, sid: str, room: str) -> None: ...

    async def leave(self, sid: str, room: str) -> None: ...

    async def disconnect_person(self, person_id: str, reason: str) -> None:
        """Close every socket of that person, on every node."""


@dataclass
class Actor:
    """One connected socket and the person behind it (the gateway owns it)."""

    sid: str
    person: Person
    booth_id: str | None = None
    session_id: str | None = None
    call_id: str | None = None  # the video call this socket joined (the engine decides)
    knock_id: str | None = None  # the booth call this socket knocked at
    visit_id: str | None = None  # the site visit this socket joined (viewers' room)

    @property
    def event_id(self) -> str:
        return self.person.event_id
