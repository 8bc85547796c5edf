"""Engine.IO pings for a whole server from one task, instead of a task per socket."""

from __future__ import annotations

import asyncio
import contextlib
import time

from server.fanout.frames import PING_FRAME


class Pinger:
    """Engine.IO pings for every lane of one server, from one task.

    The same 3-byte frame for everyone; each socket is pinged ``ping_interval`` after
    its previous ping, checked once a second.
    """

    def __init__(self, eio) -> None:
        self.eio = eio
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        interval = self.eio.ping_interval
        idle_limit = interval + self.eio.ping_timeout
        while True:
            await asyncio.sleep(1.0)
            now, wall = time.monotonic(), time.time()
            for socket in list(self.eio.sockets.values()):
                lane = getattr(socket, "lane", None)
                if lane is None:
                    continue
                if lane.last_seen is not None and now - lane.last_seen > idle_limit:
                    lane.transport.abort()  # no pong, no message: the client is gone
                    continue
                if lane.next_ping > now or socket.closing or socket.closed:
                    continue
                lane.next_ping = now + interval
                socket.last_ping = wall
                lane.write(PING_FRAME)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
