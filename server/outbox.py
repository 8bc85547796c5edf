"""rooms.Outbox over python-socketio, plus cluster-wide "kick this person"."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import socketio

from rooms import names
from rooms.engine import Engine

log = logging.getLogger(__name__)
NAMESPACE = "/"


class Kick(msgspec.Struct):
    person_id: str
    reason: str


class SocketIOOutbox:
    def __init__(self, sio: socketio.AsyncServer, engine: Engine) -> None:
        self.sio = sio
        self.engine = engine

    async def emit(self, room: str, event: str, data: Any, skip_sid: str | None = None) -> None:
        await self.sio.emit(event, data, room=room, skip_sid=skip_sid)

    async def join(self, sid: str, room: str) -> None:
        await self.sio.enter_room(sid, room)

    async def leave(self, sid: str, room: str) -> None:
        await self.sio.leave_room(sid, room)

    async def disconnect_person(self, person_id: str, reason: str) -> None:
        # Every node closes its own sockets of that person (room membership is local).
        await self.engine.pubsub.publish(
            names.CONTROL, msgspec.msgpack.encode(Kick(person_id, reason))
        )

    async def start(self) -> None:
        await self.engine.pubsub.subscribe(names.CONTROL, self._on_control)

    async def _on_control(self, payload: bytes) -> None:
        try:
            kick = msgspec.msgpack.decode(payload, type=Kick)
        except msgspec.DecodeError:
            log.warning("ignored malformed control message")
            return
        room = names.user_room(kick.person_id)
        sids = [sid for sid, _ in self.sio.manager.get_participants(NAMESPACE, room)]
        for sid in sids:
            # told on the same socket right before closing, so it arrives first
            await self.sio.emit("mod:removed", {"reason": kick.reason}, to=sid)
            await self.sio.disconnect(sid)
