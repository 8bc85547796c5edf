"""python-socketio's server with a closed dispatch.

Stock python-socketio routes whatever event name a client sends to a handler of that
name: a client-sent ``connect`` re-runs the connect handler on a live socket (and can
switch its identity), ``disconnect`` runs the disconnect handler while the socket
stays open, and ``*`` reaches the catch-all with a sid taken from the payload. A
malformed packet raises inside the library and the sender never hears back.

Here every packet a client sends is read by server/packets.py and taken apart by
type: the connect handler runs once per socket, events go to ``Gateway.on_event``
(which only knows declared commands), and a packet that cannot be read gets an error
ack when it carries an ack id, else the socket is closed with a ``socket:closing``
push that says why. No client input reaches python-socketio's own event routing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import socketio
from socketio import packet as sio_packet

from rooms import errors
from rooms.errors import DomainError, ErrorCode
from server import packets
from server.packets import PacketError

if TYPE_CHECKING:
    from server.gateway import Gateway

log = logging.getLogger(__name__)
NAMESPACE = "/"


class ClosedSocketServer(socketio.AsyncServer):
    gateway: Gateway

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await self._read(eio_sid, data)
        except PacketError as exc:
            await self.close_socket(eio_sid, errors.BAD_REQUEST, str(exc))
        except DomainError as exc:  # an unreadable packet without an ack id to answer on
            await self.close_socket(eio_sid, exc.error, exc.message)

    async def _read(self, eio_sid: str, data: Any) -> None:
        if not isinstance(data, str):
            raise PacketError("binary messages are not accepted")
        header = packets.read_header(data)
        if header.type == packets.EVENT:
            await self._event(eio_sid, header)
        elif header.type == packets.CONNECT:
            await self._connect(eio_sid, header)
        elif header.type == packets.DISCONNECT:
            await self._handle_disconnect(eio_sid, header.namespace, self.reason.CLIENT_DISCONNECT)
        elif header.type == packets.ACK:
            # we never ask clients for acks: nothing waits for this one
            self.gateway.metrics.bad_packets.labels("unexpected_ack").inc()
        elif header.type == packets.BINARY_EVENT and header.ack_id is not None:
            await self._refuse(eio_sid, header, errors.BAD_REQUEST, "binary data is not accepted")
        else:  # binary without an ack id, CONNECT_ERROR (a server's packet)
            raise PacketError(f"packets of type {header.type} are not accepted")

    async def _connect(self, eio_sid: str, header: packets.Header) -> None:
        if self.manager.sid_from_eio_sid(eio_sid, header.namespace) is not None:
            raise PacketError("this socket is connected already")
        auth = packets.read_json(header.body) if header.body else None
        await self._handle_connect(eio_sid, header.namespace, auth)

    async def _event(self, eio_sid: str, header: packets.Header) -> None:
        if header.namespace != NAMESPACE:
            message = f"this server serves only the namespace {NAMESPACE}"
            await self._refuse(eio_sid, header, errors.BAD_REQUEST, message)
            return
        sid = self.manager.sid_from_eio_sid(eio_sid, NAMESPACE)
        if sid is None:
            await self._refuse(eio_sid, header, errors.NOT_CONNECTED, "connect first")
            return
        reply = await self.gateway.on_event(sid, header.body)
        if header.ack_id is not None:
            await self._ack(eio_sid, header, reply)
        elif not reply["ok"] and reply["error"]["code"] in packets.UNREADABLE:
            code = errors.CATALOG[reply["error"]["code"]]
            await self.close_socket(eio_sid, code, reply["error"]["message"])

    async def _refuse(
        self, eio_sid: str, header: packets.Header, code: ErrorCode, message: str
    ) -> None:
        """A packet the gateway cannot take: an error ack if it asked for one."""
        if header.ack_id is None:
            raise PacketError(message)
        self.gateway.metrics.bad_packets.labels(code.code).inc()
        reply = {"ok": False, "error": {"code": code.code, "message": message}}
        await self._ack(eio_sid, header, reply)

    async def _ack(self, eio_sid: str, header: packets.Header, reply: dict) -> None:
        ack = self.packet_class(
            sio_packet.ACK, namespace=header.namespace, id=header.ack_id, data=[reply]
        )
        await self._send_packet(eio_sid, ack)

    async def close_socket(self, eio_sid: str, code: ErrorCode, message: str) -> None:
        """Tell the client why, then close its namespace and its connection."""
        self.gateway.metrics.bad_packets.labels(code.code).inc()
        log.info("closing connection %s: %s (%s)", eio_sid, message, code.code)
        sid = self.manager.sid_from_eio_sid(eio_sid, NAMESPACE)
        if sid is not None:
            closing = ["socket:closing", {"code": code.code, "message": message}]
            await self._send_packet(eio_sid, self.packet_class(sio_packet.EVENT, data=closing))
            await self.disconnect(sid, ignore_queue=True)
        await self.eio.disconnect(eio_sid)
