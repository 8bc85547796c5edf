"""The shape of a product area (lobby, chat, calls, site visits, ...).

An area is one module (or package) that owns its records, declares its commands with
``@command`` next to their handlers, keeps its own per-socket state keyed by sid, and
says what it does when a socket connects and disconnects. rooms/fair.py registers each
area with one line; areas use each other only through public methods.
"""

from __future__ import annotations

from collections.abc import Iterable

from rooms.context import Actor, Services


class Part:
    """Something that serves commands with the shared services: an area, or one job of
    a larger area (rooms/calls/)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.engine = services.engine
        self.outbox = services.outbox
        self.limits = services.limits

    def now(self) -> float:
        return self.services.now()


class Area(Part):
    name: str = ""  # the ``area`` of its ``area:verb`` commands

    def parts(self) -> Iterable[object]:
        """The objects whose ``@command`` methods are this area's commands (itself,
        and the helpers a larger area splits its jobs into)."""
        return (self,)

    async def on_connect(self, actor: Actor) -> None:
        """A socket was admitted (runs once per socket, in registration order)."""

    async def on_disconnect(self, actor: Actor) -> None:
        """The socket is gone (reverse registration order); forget its state here."""
