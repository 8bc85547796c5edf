"""engine.io's socket, in two shapes of ours (set as its class, so no per-socket
closure refers back to the socket: a closed connection is freed by reference
counting, not left for a rare full garbage collection).

``TimedSocket``: every socket from its connect on. Its heartbeat belongs to the
server's one Pinger (engine.io's task per socket and its timeout check are not
used), the Engine.IO OPEN packet states fractional intervals exactly, and a
long-polling POST that cannot be decoded closes the session, as the protocol says.
Long-polling sessions, and WebSocket sessions until their lane exists, write through
engine.io's queue.

``LaneSocket``: once a WebSocket carries the session (a fresh one, or a polling
session's upgrade), every packet takes its Lane instead of the queue and its writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import TYPE_CHECKING

from engineio import exceptions as engineio_exceptions
from engineio import packet as eio_packet
from engineio import payload as eio_payload
from engineio.async_socket import AsyncSocket

from server.fanout.frames import PING_FRAME, eio_frame

if TYPE_CHECKING:
    from server.fanout.lane import Lane

log = logging.getLogger(__name__)

PING_PACKET = eio_packet.Packet(eio_packet.PING)
NOOP_PACKET = eio_packet.Packet(eio_packet.NOOP)
CLOSE_PACKET = eio_packet.Packet(eio_packet.CLOSE)


class _NoQueue:
    """Stands in for engine.io's per-socket queue once the lane owns writing: the
    queue, its writer task and their memory are not needed. A long-poll that was
    waiting on the old queue when its session upgraded ends through it too (its
    ``task_done`` and ``get_nowait``)."""

    def empty(self) -> bool:
        return True

    async def join(self) -> None:
        return None

    async def put(self, item) -> None:
        return None

    def put_nowait(self, item) -> None:
        return None

    def task_done(self) -> None:
        return None

    def get_nowait(self):
        raise asyncio.QueueEmpty


NO_QUEUE = _NoQueue()


class TimedSocket(AsyncSocket):
    """An engine.io socket whose heartbeat the Pinger keeps (server/fanout/pinger.py).

    Per-socket heartbeat state, read and written by the Pinger only: ``ping_at`` (when
    the next PING is due), ``pong_by`` (when the PONG to the last one is due) and
    ``beat`` (a weak reference to the socket, for the Pinger's queues).
    """

    ping_at: float | None
    pong_by: float | None
    beat: weakref.ref | None

    def schedule_ping(self) -> None:
        # engine.io calls this once when the connection is accepted, then on each PONG
        self.server.pinger.pong(self)

    def send_ping(self) -> None:
        self.queue.put_nowait(PING_PACKET)

    async def close(self, wait=True, abort=False, reason=None):
        if self.closed or self.closing:
            return
        await super().close(wait=False, abort=abort, reason=reason)
        if abort:
            # engine.io queues nothing on an abort (the client's own CLOSE, a lost
            # connection): a long-poll still waiting would hang until its timeout
            self.queue.put_nowait(CLOSE_PACKET)
        elif wait and not self.queue.empty():  # (a lane socket's is always empty)
            # engine.io waits until a long-poll has taken the CLOSE packet: a client
            # that never polls again must not hold the caller (a request) for good
            with contextlib.suppress(TimeoutError):
                limit = self.server.ping_interval + self.server.ping_timeout
                await asyncio.wait_for(self.queue.join(), limit)

    async def handle_post_request(self, environ) -> None:
        """engine.io's, except that a payload that cannot be decoded closes the session
        (engine.io logs it and answers 200), and that packets behind one that ended
        the session are not read (engine.io would answer them with a 500)."""
        try:
            length = int(environ.get("CONTENT_LENGTH", "0"))
            if length > self.server.max_http_buffer_size:
                raise engineio_exceptions.ContentTooLongError()
            body = (await environ["wsgi.input"].read(length)).decode("utf-8")
            packets = eio_payload.Payload(encoded_payload=body).packets
            if not all(0 <= p.packet_type < len(eio_packet.packet_names) for p in packets):
                raise ValueError("no such packet type")
        except engineio_exceptions.EngineIOError:
            raise
        except Exception as exc:
            log.info("closing %s: undecodable long-polling payload (%s)", self.sid, exc)
            raise engineio_exceptions.UnknownPacketError() from exc
        for pkt in packets:
            if self.closing or self.closed:
                break
            await self.receive(pkt)  # an invalid packet raises: engine.io closes the session


class LaneSocket(TimedSocket):
    """engine.io's socket once its lane writes for it.

    ``send`` takes the lane instead of engine.io's queue and writer task; ``close``
    also ends the stream, since after the hand-over (server/ws_reader.py) no handler
    of aiohttp's would.
    """

    lane: Lane

    async def send(self, pkt: eio_packet.Packet) -> None:
        self.lane.write(eio_frame(pkt))

    def send_ping(self) -> None:
        self.lane.write(PING_FRAME)  # the same 3 bytes for every socket

    async def close(self, wait=True, abort=False, reason=None):
        await super().close(wait=wait, abort=abort, reason=reason)
        self.lane.flush()  # the CLOSE packet goes before the end of the stream
        self.lane.transport.close()


def adopt(socket: AsyncSocket) -> None:
    """Make a socket engine.io has just created (its OPEN packet queued, its connect
    handler about to run) a TimedSocket."""
    socket.__class__ = TimedSocket
    socket.ping_at = socket.pong_by = socket.beat = None
    # engine.io's own timeout check (in send and its service task) reads last_ping;
    # None keeps it silent: the Pinger alone decides
    socket.last_ping = None
    server = socket.server
    queued = []
    while not socket.queue.empty():
        queued.append(socket.queue.get_nowait())
        socket.queue.task_done()
    for pkt in queued:
        if pkt is not None and pkt.packet_type == eio_packet.OPEN and isinstance(pkt.data, dict):
            # engine.io states whole seconds (int(0.3) * 1000 == 0); clients would
            # then give up on a 0.3 s heartbeat after ping_timeout alone
            interval = server.ping_interval + server.ping_interval_grace_period
            pkt.data["pingInterval"] = round(interval * 1000)
            pkt.data["pingTimeout"] = round(server.ping_timeout * 1000)
        socket.queue.put_nowait(pkt)


def give_lane(socket: TimedSocket, lane: Lane) -> None:
    """From now on every packet for ``socket`` takes ``lane``, in order: what
    engine.io's queue holds goes first."""
    queue = socket.queue
    while not queue.empty():
        queued = queue.get_nowait()
        queue.task_done()
        if queued is not None and queued.packet_type != eio_packet.NOOP:
            lane.write(eio_frame(queued))
    socket.queue = NO_QUEUE
    socket.lane = lane
    socket.__class__ = LaneSocket
    socket.connected = socket.upgraded = True
    socket.upgrading = False
    # a long-poll still waiting on the old queue (its wake-up may be pending while the
    # item it was woken for was just moved to the lane) returns at once with this
    queue.put_nowait(NOOP_PACKET)
