"""Socket.IO gateway: sign sockets in, serve the declared commands, answer every
request.

Every request gets ``{"ok": true, "data": ...}`` or
``{"ok": false, "error": {"code": ..., "message": ...}}``; nothing a client sends may
close its connection (short of an unreadable packet, see server/socket_server.py) or
disturb the node. The order of checks is part of the protocol: signed in, the
socket's event budget, a readable ``[name, payload]``, a declared command, a payload
that fits its struct; then ``Fair.run``: a role that may ever send it (else
``forbidden`` before any handler runs), the command's rate class, its handler.

A store that cannot answer in time (``EngineUnavailable``) is ``unavailable``, which
clients retry, never ``internal``. One person's connects are admitted one at a time
per node, so a flood of sockets with one token holds at most one of the node's Redis
connections; the domain closes the oldest past ``max_sockets_per_person``
(rooms/people.py) by an order every node's gateway follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import socketio

from rooms import errors, names
from rooms.commands import Command
from rooms.context import Actor
from rooms.engine import EngineUnavailable
from rooms.errors import DomainError, ErrorCode
from rooms.fair import Fair
from rooms.people import decode_order
from server import packets
from server.auth import Tokens
from server.metrics import Metrics
from server.socket_server import NAMESPACE, ClosedSocketServer

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


class _Turns:
    """One person's connects waiting on this node (the first one is being admitted)."""

    __slots__ = ("lock", "waiting")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0


class Admission:
    """Admits one person's sockets one at a time on this node. While ``limit`` of them
    wait, another is refused at once (``too_many_sockets``): a flood queues in memory
    here instead of taking every Redis connection the node has."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._people: dict[str, _Turns] = {}

    @contextlib.asynccontextmanager
    async def turn(self, person_id: str) -> AsyncIterator[None]:
        turns = self._people.get(person_id)
        if turns is None:
            turns = self._people[person_id] = _Turns()
        if turns.waiting >= self.limit:
            raise errors.TOO_MANY_SOCKETS(
                f"{turns.waiting} connections of this person are waiting to be admitted"
            )
        turns.waiting += 1
        try:
            async with turns.lock:
                yield
        finally:
            turns.waiting -= 1
            if turns.waiting == 0:
                del self._people[person_id]


class Gateway:
    def __init__(
        self,
        sio: ClosedSocketServer,
        fair: Fair,
        tokens: Tokens,
        metrics: Metrics,
        events_per_second: float,
    ) -> None:
        self.sio = sio
        self.fair = fair
        self.tokens = tokens
        self.metrics = metrics
        self.events_per_second = events_per_second
        self.actors: dict[str, Actor] = {}
        self.budgets: dict[str, TokenBucket] = {}
        self.admission = Admission(fair.limits.max_sockets_per_person)
        self.connecting: set[str] = set()  # sids whose connect handler runs now
        # sids ordered closed while still connecting: refused when their connect ends
        self.doomed: dict[str, DomainError] = {}
        self._closing: set[asyncio.Task] = set()
        self.decoders = {name: msgspec.json.Decoder(c.payload) for name, c in fair.commands.items()}
        sio.gateway = self
        # Only the server itself triggers these two (server/socket_server.py); no
        # client-sent event name reaches python-socketio's handler table.
        sio.on("connect", self.on_connect)
        sio.on("disconnect", self.on_disconnect)
        fair.people.close_here = self._close_here

    async def start(self) -> None:
        """Follow the cluster's orders to close sockets (before taking connections)."""
        await self.fair.engine.pubsub.subscribe(names.SOCKET_ORDERS, self._on_close_order)

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        self.connecting.add(sid)
        try:
            claims = self.tokens.verify(token)
            async with self.admission.turn(claims.person_id):
                actor = await self.fair.connect(sid, claims.event_id, claims.person_id)
            doomed = self.doomed.pop(sid, None)
            if doomed is not None:  # a newer socket of this person took its place meanwhile
                await self._forget(actor)
                raise doomed
        except DomainError as exc:
            await self.fair.presence.release(sid)  # whatever a refusal half-way left
            refused = errors.AUTH_INVALID if exc.error is errors.PERSON_NOT_FOUND else exc.error
            self._refuse(refused.code, exc.message)
        except Exception as exc:
            if isinstance(exc, EngineUnavailable):
                log.warning("connect of %s failed: %s", sid, exc)
            else:
                log.exception("connect of %s failed", sid)
            await self.fair.presence.release(sid)
            self._refuse(errors.UNAVAILABLE.code, "the server cannot take connections right now")
        finally:
            self.connecting.discard(sid)
            self.doomed.pop(sid, None)
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
        await self._forget(actor)

    async def _forget(self, actor: Actor) -> None:
        """Every area forgets the socket; what fails is retried until done."""
        try:
            await self.fair.disconnect(actor)
        except EngineUnavailable as exc:
            log.warning("cleanup after disconnect of %s incomplete (%s): retrying", actor.sid, exc)
        except Exception:
            log.exception("cleanup after disconnect of %s failed", actor.sid)
        await self.fair.presence.release(actor.sid)

    # orders to close sockets -------------------------------------------------------------
    async def _on_close_order(self, payload: bytes) -> None:
        try:
            order = decode_order(payload)
        except msgspec.DecodeError:
            log.warning("ignored a malformed order to close sockets")
            return
        code = errors.CATALOG.get(order.code, errors.INTERNAL)
        for sid in order.sids:
            if sid in self.connecting:
                self.doomed[sid] = code(order.message)
            elif sid in self.actors:
                # not on the pub/sub reader: closing runs the disconnect's cleanups
                task = asyncio.create_task(self._close(sid, code, order.message))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

    async def _close_here(self, sids: list[str], why: DomainError) -> None:
        """The domain closes sockets of this node now (a person's oldest, past the cap)."""
        for sid in sids:
            if sid in self.connecting:
                self.doomed[sid] = why
            elif sid in self.actors:
                await self._close(sid, why.error, why.message)

    async def _close(self, sid: str, code: ErrorCode, message: str) -> None:
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, NAMESPACE)
        if eio_sid is not None:
            await self.sio.close_socket(eio_sid, code, message)

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
        except EngineUnavailable as exc:
            log.warning("%s from %s: %s", label, sid, exc)
            reply = refusal(errors.UNAVAILABLE("the server cannot serve this right now; retry"))
            self.metrics.errors.labels(errors.UNAVAILABLE.code).inc()
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
