"""Client commands, declared next to their handlers.

An area marks each handler with ``@command``: the wire name, the payload struct, the
permission it needs and its rate class::

    @command("chat:send", ChatSend, Perm.CHAT_WRITE, rate=CHAT)
    async def send(self, actor: Actor, req: ChatSend) -> ChatMessage: ...

``collect`` turns the marked methods of every registered area into the dispatch table
the gateway serves; nothing else lists commands. Names are ``area:verb``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rooms.context import Limits
from rooms.models import ROLES, Role
from rooms.permissions import Perm, may_ever
from rooms.protocol import Request

NAME = re.compile(r"^[a-z]+:[a-z_]+$")


@dataclass(frozen=True)
class RateClass:
    """A per-person budget a command draws from, counted in the engine so it holds
    across tabs and nodes. Only commands that succeed use it up."""

    name: str
    count: Callable[[Limits], int]  # 0 switches the limit off
    window: Callable[[Limits], float]  # seconds
    what: str  # "messages", "new calls": for the refusal's message


SOCKET = None  # only the per-socket event budget every command draws from
CHAT = RateClass("chat", lambda lim: lim.chat_rate_count, lambda lim: lim.chat_rate_window, "messages")  # fmt: skip
CALL_CREATE = RateClass(
    "call_create",
    lambda lim: lim.call_create_rate_count,
    lambda lim: lim.call_create_rate_window,
    "new calls",
)

QA_ASK = RateClass("qa_ask", lambda lim: lim.qa_rate_count, lambda lim: lim.qa_rate_window, "questions")  # fmt: skip
REACTION = RateClass(
    "reaction",
    lambda lim: lim.reaction_rate_count,
    lambda lim: lim.reaction_rate_window,
    "reactions",
)


@dataclass(frozen=True)
class Spec:
    name: str
    payload: type[Request]
    permission: Perm
    rate: RateClass | None


@dataclass(frozen=True)
class Command:
    name: str
    payload: type[Request]
    permission: Perm
    rate: RateClass | None
    handler: Callable[[Any, Any], Awaitable[Any]]
    area: str
    roles: frozenset[Role]  # roles that may ever send it; the gateway refuses the others
    summary: str  # the handler's first docstring line

    def open_to(self, role: Role) -> bool:
        return role in self.roles


def command(
    name: str, payload: type[Request], permission: Perm, *, rate: RateClass | None = SOCKET
) -> Callable:
    if not NAME.match(name):
        raise ValueError(f"command names are area:verb, not {name!r}")

    def mark(handler: Callable) -> Callable:
        handler.__command__ = Spec(name, payload, permission, rate)
        return handler

    return mark


def declared(obj: object) -> list[tuple[Spec, Callable]]:
    """(spec, bound handler) of every ``@command`` method of ``obj``, in source order."""
    found = []
    for attr in dict.fromkeys(name for cls in type(obj).__mro__ for name in vars(cls)):
        spec = getattr(getattr(type(obj), attr, None), "__command__", None)
        if isinstance(spec, Spec):
            found.append((spec, getattr(obj, attr)))
    return found


def collect(areas: Iterable[Any]) -> dict[str, Command]:
    """The dispatch table of the given areas (each with a ``name`` and its ``parts()``)."""
    table: dict[str, Command] = {}
    for area in areas:
        for part in area.parts():
            for spec, handler in declared(part):
                if spec.name in table:
                    raise ValueError(f"command {spec.name} declared twice")
                doc = (handler.__doc__ or "").strip().splitlines()
                table[spec.name] = Command(
                    name=spec.name,
                    payload=spec.payload,
                    permission=spec.permission,
                    rate=spec.rate,
                    handler=handler,
                    area=area.name,
                    roles=frozenset(r for r in ROLES if may_ever(r, spec.permission)),
                    summary=doc[0] if doc else "",
                )
    return table
