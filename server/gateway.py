"""Socket.IO gateway: sign sockets in, serve the declared commands, answer every
request.

Every request gets ``{"ok": true, "data": ...}`` or
``{"ok": false, "error": {"code": ..., "message": ...}}``; nothing a client sends may
close its connection (short of an unreadable packet, see server/socket_server.py) or
disturb the node. The order of checks is part of the protocol: signed in, the
socket's event budget, a readable ``[name, payload]``, a declared command, a payload
that fits its struct; then ``Fair.run``: a role that may ever send it (else
``forbidden`` before any handler runs), the command's rate class, its handler.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import msgspec
import socketio

from rooms import errors
from rooms.commands import Command
from rooms.context import Actor
from rooms.errors import DomainError
from rooms.fair import Fair
from server import packets
from server.auth import Tokens
from server.metrics import Metrics
from server.socket_server import ClosedSocketServer

log = logging.getLogger(__name__)


def ok(data: Any) -> dict:
    return {"ok": True, "data": data}


def refusal(exc: DomainError) -> dict:
    return {"ok": False, "error": {"code": exc.code, "message": exc.message}}


KEPT_ENVIRON = ("REMOTE_ADDR", "HTTP_X_FORWARDED_FOR", "HTTP_USER_AGENT")


class TokenBucket:
    """Per-socket event budget: ``rate`` per second, bursts up to ``2 * rate``."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = 2 * rate
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Gateway:
    def __init__(
        self,
        sio: ClosedSocketServer,
        fair: Fair,
        tokens: Tokens,
        metrics: Metrics,
        events_per_second: float,
    ) -> None:
        self.fair = fair
        self.tokens = tokens
        self.metrics = metrics
        self.events_per_second = events_per_second
        self.actors: dict[str, Actor] = {}
        self.budgets: dict[str, TokenBucket] = {}
        self.decoders = {name: msgspec.json.Decoder(c.payload) for name, c in fair.commands.items()}
        sio.gateway = self
        # Only the server itself triggers these two (server/socket_server.py); no
        # client-sent event name reaches python-socketio's handler table.
        sio.on("connect", self.on_connect)
        sio.on("disconnect", self.on_disconnect)

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            claims = self.tokens.verify(token)
            actor = await self.fair.connect(sid, claims.event_id, claims.person_id)
        except DomainError as exc:
            refused = errors.AUTH_INVALID if exc.error is errors.PERSON_NOT_FOUND else exc.error
            self._refuse(refused.code, exc.message)
        except Exception:
            log.exception("connect of %s failed", sid)
            self._refuse(errors.UNAVAILABLE.code, "the server cannot take connections right now")
        self.actors[sid] = actor
        self.budgets[sid] = TokenBucket(self.events_per_second)
        # python-socketio keeps environ for the connection's lifetime; the HTTP
        # request in it (with its headers, handler and response objects) and the
        # headers copied into it are not needed once the person is signed in
        # (docs/performance.md, idle memory)
        kept = {key: environ[key] for key in KEPT_ENVIRON if key in environ}
        environ.clear()
        environ.update(kept)
        self.metrics.connects.labels("ok").inc()
        self.metrics.connections.inc()

    def _refuse(self, code: str, message: str) -> None:
        self.metrics.connects.labels("refused").inc()
        # the client sees err.message and err.data = {code, message}
        raise socketio.exceptions.ConnectionRefusedError(
            message, {"code": code, "message": message}
        )

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        actor = self.actors.pop(sid, None)
        self.budgets.pop(sid, None)
        if actor is None:
            return
        self.metrics.connections.dec()
        try:
            await self.fair.disconnect(actor)
        except Exception:
            log.exception("cleanup after disconnect of %s failed", sid)

    # events ------------------------------------------------------------------------------------
    async def on_event(self, sid: str, body: str) -> dict:
        """Serve one event packet's JSON of a signed-in socket; the reply to ack."""
        started = time.perf_counter()
        label = "unknown"
        try:
            command, actor, args = self._lookup(sid, body)
            label = command.name
            payload = packets.read_payload(args[0] if args else None, self.decoders[label])
            reply = ok(await self.fair.run(command, actor, payload))
        except DomainError as exc:
            reply = refusal(exc)
            self.metrics.errors.labels(exc.code).inc()
        except Exception:
            log.exception("%s from %s failed", label, sid)
            reply = refusal(errors.INTERNAL("the server could not complete this request"))
            self.metrics.errors.labels(errors.INTERNAL.code).inc()
        self.metrics.events.labels(label).inc()
        self.metrics.event_seconds.labels(label).observe(time.perf_counter() - started)
        return reply

    def _lookup(self, sid: str, body: str) -> tuple[Command, Actor, list]:
        """The declared command, who sends it and its raw arguments, or the refusal."""
        actor = self.actors.get(sid)
        if actor is None:
            raise errors.NOT_CONNECTED("this socket is not signed in")
        if not self.budgets[sid].take():
            raise errors.TOO_MANY_REQUESTS("too many requests on this connection, slow down")
        name, args = packets.read_event(body)
        command = self.fair.commands.get(name)
        if command is None:
            raise errors.UNKNOWN_EVENT(f"unknown event {name[:60]!r}")
        if len(args) > 1:
            raise errors.INVALID_PAYLOAD("send exactly one payload object")
        return command, actor, args
