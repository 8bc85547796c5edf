"""Socket.IO gateway: authenticate, decode, dispatch ``area:verb`` events, ack.

Every request gets ``{"ok": true, "data": ...}`` or
``{"ok": false, "error": {"code": ..., "message": ...}}``; nothing a client sends
may close its connection or disturb the node.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import msgspec
import socketio

from rooms.context import Actor
from rooms.errors import DomainError
from rooms.fair import Fair
from server.auth import Tokens
from server.metrics import Metrics

log = logging.getLogger(__name__)


def ok(data: Any) -> dict:
    return {"ok": True, "data": data}


def error(code: str, message: str) -> dict:
    return {"ok": False, "error": {"code": code, "message": message}}


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
        sio: socketio.AsyncServer,
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
        sio.on("connect", self.on_connect)
        sio.on("disconnect", self.on_disconnect)
        sio.on("*", self.on_event)

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            claims = self.tokens.verify(token)
            actor = await self.fair.connect(sid, claims.event_id, claims.person_id)
        except DomainError as exc:
            code = "auth_invalid" if exc.code == "person_not_found" else exc.code
            self._refuse(code, exc.message)
        except Exception:
            log.exception("connect of %s failed", sid)
            self._refuse("unavailable", "the server cannot take connections right now")
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

    async def on_event(self, event: Any, sid: str, *args: Any) -> dict:
        started = time.perf_counter()
        command = self.fair.commands.get(event) if isinstance(event, str) else None
        label = command.name if command else "unknown"
        self.metrics.events.labels(label).inc()
        try:
            reply = await self._dispatch(command, event, sid, args)
        finally:
            self.metrics.event_seconds.labels(label).observe(time.perf_counter() - started)
        if not reply["ok"]:
            self.metrics.errors.labels(reply["error"]["code"]).inc()
        return reply

    async def _dispatch(self, command, event: Any, sid: str, args: tuple) -> dict:
        actor = self.actors.get(sid)
        if actor is None:
            return error("not_connected", "this socket is not signed in")
        if not self.budgets[sid].take():
            return error("too_many_requests", "too many requests on this connection, slow down")
        if command is None:
            return error("unknown_event", f"unknown event {str(event)[:60]!r}")
        if len(args) > 1:
            return error("invalid_payload", "send exactly one payload object")
        raw = args[0] if args and args[0] is not None else {}
        try:
            payload = msgspec.convert(raw, command.payload)
        except msgspec.ValidationError as exc:
            return error("invalid_payload", str(exc))
        try:
            return ok(await command.handler(actor, payload))
        except DomainError as exc:
            return error(exc.code, exc.message)
        except Exception:
            log.exception("%s from %s failed", command.name, sid)
            return error("internal", "the server could not complete this request")
