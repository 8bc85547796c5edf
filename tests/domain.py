"""In-process domain fixtures for unit tests of rooms/ modules: the real memory engine,
the real Fair, and an outbox that records what would be pushed (the Outbox port's
simplest implementation; the wire itself is covered by the node tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from rooms.context import Actor
from rooms.fair import Fair
from rooms.models import Person
from rooms.people import InviteRequest, Registration
from server.demo import seed_demo
from server.engines.memory import MemoryEngine


@dataclass
class RecordingOutbox:
    pushes: list[tuple[str, str, Any]] = field(default_factory=list)
    rooms: dict[str, set[str]] = field(default_factory=dict)  # sid -> rooms
    kicked: list[str] = field(default_factory=list)

    async def emit(self, room: str, event: str, data: Any, skip_sid: str | None = None) -> None:
        self.pushes.append((room, event, msgspec.to_builtins(data)))

    async def join(self, sid: str, room: str) -> None:
        self.rooms.setdefault(sid, set()).add(room)

    async def leave(self, sid: str, room: str) -> None:
        self.rooms.get(sid, set()).discard(room)

    async def disconnect_person(self, person_id: str, reason: str) -> None:
        self.kicked.append(person_id)

    def sent(self, event: str) -> list[tuple[str, Any]]:
        return [(room, data) for room, name, data in self.pushes if name == event]


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def demo_fair() -> tuple[Fair, RecordingOutbox, Clock]:
    outbox, clock = RecordingOutbox(), Clock()
    fair = Fair(MemoryEngine(), outbox, clock=clock)
    await seed_demo(fair, b"unit-test-secret")
    return fair, outbox, clock


async def person(fair: Fair, role: str = "participant", name: str = "Ana", **booths) -> Person:
    """A registered person of the demo event (exhibitors staff demo-b3)."""
    req = InviteRequest(role=role, booth_ids=booths.get("booth_ids", ["demo-b3"] if role == "exhibitor" else []))  # fmt: skip
    invite = await fair.people.mint_invite(None, "demo", req)
    form = Registration(code=invite.code, name=name, company="ACME", country="FR", sector="ICT")
    return await fair.people.register(form)


async def connected(fair: Fair, who: Person, sid: str) -> Actor:
    return await fair.connect(sid, who.event_id, who.id)
