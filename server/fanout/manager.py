"""python-socketio client managers whose local delivery goes through the lanes: a
broadcast is encoded once and the same frame is written to every member's lane."""

from __future__ import annotations

from collections.abc import Callable

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from server.fanout.frames import ws_frame


class FanoutManager(socketio.AsyncManager):
    """Local delivery of emits: one encode, one frame, one write per recipient."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.count_deliveries: Callable[[int], None] = lambda n: None

    async def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):  # fmt: skip
        room = to or room
        members = self._members(namespace, room)
        if members is None or callback is not None:
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)  # fmt: skip
        if isinstance(data, tuple):
            args = [event, *data]
        else:
            args = [event] if data is None else [event, data]
        pkt = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=args)
        encoded = pkt.encode()
        if not isinstance(encoded, str):  # binary attachments: the stock path handles them
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, **kwargs)  # fmt: skip
        frame = ws_frame(b"4" + encoded.encode())
        skip = skip_sid if isinstance(skip_sid, list) else (skip_sid,)
        sockets = self.server.eio.sockets
        delivered = 0
        slow_path = []
        # No await inside this loop, so membership cannot change under it.
        for sid, eio_sid in members.items():
            if sid in skip:
                continue
            lane = getattr(sockets.get(eio_sid), "lane", None)
            if lane is not None:
                delivered += lane.write(frame)
            else:
                slow_path.append(eio_sid)
        self.count_deliveries(delivered)
        if slow_path:  # sockets without a lane (never on a WebSocket-only server)
            eio_pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
            for eio_sid in slow_path:
                await self.server._send_eio_packet(eio_sid, eio_pkt)

    def _members(self, namespace, room):
        """The room's sid -> eio_sid map, or None when the stock path must decide."""
        if room is not None and not isinstance(room, str):
            return None  # a list of rooms: let the stock path merge them
        rooms = self.rooms.get(namespace)
        if rooms is None:
            return {}
        members = rooms.get(room)
        return {} if members is None else members._fwdm
