"""Engine.IO heartbeats for a whole server from one task, instead of a task per socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.fanout.sockets import TimedSocket

log = logging.getLogger(__name__)


class Pinger:
    """Engine.IO v4 heartbeats for every socket of one server, from one task.

    The protocol: the server sends a PING every ``ping_interval``; a client that has
    not answered it with a PONG within ``ping_timeout`` is gone, and its session is
    closed; the next PING goes ``ping_interval`` after the PONG. Only a PONG counts:
    a client that sends data but never answers is closed all the same, and a client
    that answers is never closed, however busy it is.

    Every socket of a server has the same interval and the same timeout, so deadlines
    appended to a queue in the order they are set are already in time order: two
    first-in-first-out queues (PINGs due, PONGs due) do what a timer per socket, or a
    scan of every socket, would. The task sleeps until the earliest deadline and pops
    what is due: one PING is one append and one pop, at any interval, whatever the
    number of idle sockets. Wake-ups are batched to ``resolution`` (at most 50 ms, a
    tenth of the interval or of the timeout when shorter): a PING leaves at most that
    early or late, and a missing PONG is acted on at most that late, never early.
    Entries of sockets that closed, or whose deadline moved, are skipped when popped;
    the queues hold weak references, so a closed connection is freed at once.
    """

    def __init__(self, eio) -> None:
        self.eio = eio
        self.interval: float = eio.ping_interval
        self.timeout: float = eio.ping_timeout
        self.resolution = min(0.05, self.interval / 10, self.timeout / 10)
        self.pings: deque[tuple[float, weakref.ref]] = deque()
        self.pongs: deque[tuple[float, weakref.ref]] = deque()
        self.closing: set[asyncio.Task] = set()
        self.task: asyncio.Task | None = None

    # called by the sockets ---------------------------------------------------------------
    def pong(self, socket: TimedSocket) -> None:
        """engine.io's schedule_ping: once when the connection is accepted, then on
        every PONG. A PONG nobody asked for changes nothing."""
        if socket.beat is None:
            socket.beat = weakref.ref(socket)
        elif socket.pong_by is None:
            return
        socket.pong_by = None
        socket.ping_at = due = time.monotonic() + self.interval
        self.pings.append((due, socket.beat))

    # the task ------------------------------------------------------------------------------
    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _run(self) -> None:
        while True:
            self._send_pings()
            overdue = self._overdue()
            if overdue:
                # A PONG that reached this host in time may still be unread: this task
                # can run before the loop reads its sockets (after a stall, or on
                # uvloop, which runs timers first). Two turns of the loop read it.
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                for socket, due in overdue:
                    if socket.pong_by == due and not (socket.closing or socket.closed):
                        self._expire(socket)
            await asyncio.sleep(self._next_wake() - time.monotonic())

    def _send_pings(self) -> None:
        pings, pongs = self.pings, self.pongs
        now = time.monotonic()
        until = now + self.resolution
        while pings and pings[0][0] <= until:
            due, beat = pings.popleft()
            socket = beat()
            if socket is None or socket.ping_at != due or socket.closing or socket.closed:
                continue
            socket.ping_at = None
            socket.pong_by = pong_by = now + self.timeout
            pongs.append((pong_by, beat))
            socket.send_ping()

    def _overdue(self) -> list[tuple[TimedSocket, float]]:
        pongs = self.pongs
        now = time.monotonic()
        overdue = []
        while pongs and pongs[0][0] <= now:
            due, beat = pongs.popleft()
            socket = beat()
            if socket is not None and socket.pong_by == due:
                overdue.append((socket, due))
        return overdue

    def _next_wake(self) -> float:
        now = time.monotonic()
        heads = [queue[0][0] for queue in (self.pings, self.pongs) if queue]
        # nothing queued: whatever is queued next is due one interval from now at the earliest
        wake = min(heads) if heads else now + self.interval
        return max(wake, now + self.resolution)

    def _expire(self, socket: TimedSocket) -> None:
        socket.pong_by = None
        task = asyncio.get_running_loop().create_task(self._close(socket))
        self.closing.add(task)
        task.add_done_callback(self.closing.discard)

    async def _close(self, socket: TimedSocket) -> None:
        log.info("closing %s: no PONG within ping_timeout", socket.sid)
        try:
            await socket.close(wait=False, abort=False, reason=self.eio.reason.PING_TIMEOUT)
        except Exception:
            log.exception("closing %s after a ping timeout failed", socket.sid)
        # engine.io forgets a polling socket only when a request of its comes in
        if self.eio.sockets.get(socket.sid) is socket:
            del self.eio.sockets[socket.sid]
