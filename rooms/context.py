"""What every domain service is handed: limits, the outbox, the acting person."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from rooms.engine import Engine
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
    max_sockets_per_person: int = 10  # all nodes together; a new one closes the oldest
    join_address_rate_count: int = 20  # registrations per client address per window (0: off)
    join_invite_rate_count: int = 600  # registrations per invite per window (0: off)
    join_rate_window: float = 600.0  # seconds
    call_booth_capacity: int = 4  # people in one booth's video call, staff included
    call_group_capacity: int = 6  # default capacity of a group room
    call_max_capacity: int = 8  # most a group room or meeting may hold (mesh: each sends N-1)
    call_create_rate_count: int = 10  # meetings and group rooms one person may create...
    call_create_rate_window: float = 600.0  # ...per this many seconds
    visit_guide_grace: float = 60.0  # seconds a dropped guide has to publish again
    webinar_reminder_lead: float = 300.0  # seconds before a webinar starts: its reminder
    webinar_reminder_interval: float = 10.0  # seconds between two looks at the schedule
    webinar_hands_interval: float = 0.5  # seconds between two pushes of the hand queue
    # webinars: questions, polls and reactions (rooms/webinars/qa.py, polls.py, reactions.py)
    qa_rate_count: int = 5  # questions one person may ask...
    qa_rate_window: float = 60.0  # ...per this many seconds (0 count: off)
    qa_max_questions: int = 2000  # questions of one webinar
    poll_max_polls: int = 100  # polls of one webinar
    reaction_rate_count: int = 5  # reactions one person may send...
    reaction_rate_window: float = 1.0  # ...per this many seconds (0 count: off)
    engage_push_interval: float = 1.0  # seconds per aggregated push (results, reactions, votes)
    chat_client_id_window: float = 600.0  # seconds a chat:send client_id is remembered


class Outbox(Protocol):
    """Delivery to connected sockets, implemented by server/ over Socket.IO.

    Rooms are named by rooms/names.py; every sid is also a room (one socket). Emits
    reach sockets on every node.
    """

    async def emit(self, room: str, event: str, data: Any, skip_sid: str | None = None) -> None: ...

    async def join(self, sid: str, room: str) -> None: ...

    async def leave(self, sid: str, room: str) -> None: ...

    async def disconnect_person(self, person_id: str, reason: str) -> None:
        """Close every socket of that person, on every node."""


class Actor:
    """One signed-in socket and the person behind it (the gateway creates it once per
    socket). Where the socket is (a booth, a call, a visit) is each area's own state,
    keyed by ``sid``."""

    __slots__ = ("person", "sid")

    def __init__(self, sid: str, person: Person) -> None:
        self.sid = sid
        self.person = person

    @property
    def event_id(self) -> str:
        return self.person.event_id


@dataclass
class Services:
    """What every area is built with. ``clock`` is read at each use, so a test can
    move time for the whole node."""

    engine: Engine
    outbox: Outbox
    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], float] = time.time

    def now(self) -> float:
        return self.clock()
