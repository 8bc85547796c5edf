"""A TCP proxy between a node and Redis that loses one answer of Redis on purpose:
the request reaches Redis and takes effect, the node never hears back and cannot
reconnect for a moment (as when Redis dies right after a write)."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlparse

from harness import running_node


class LosingProxy:
    """Forwards TCP to Redis. ``lose_answer_to(needle)``: the next request containing
    ``needle`` reaches Redis, Redis's answer is read and dropped, that connection is
    closed and new ones are refused until ``heal()``."""

    def __init__(self, redis_url: str) -> None:
        target = urlparse(redis_url)
        self.target = (target.hostname, target.port)
        self.needle: bytes | None = None
        self.refusing = False
        self.lost = asyncio.Event()  # an answer was swallowed
        self.tasks: set[asyncio.Task] = set()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    def lose_answer_to(self, needle: str) -> None:
        self.needle, self.refusing = needle.encode(), False
        self.lost.clear()

    def heal(self) -> None:
        self.needle, self.refusing = None, False

    async def close(self) -> None:
        self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _serve(self, client_r, client_w) -> None:
        if self.refusing:
            client_w.close()
            return
        redis_r, redis_w = await asyncio.open_connection(*self.target)
        cut = asyncio.Event()  # the next answer on this connection is to be lost
        up = asyncio.ensure_future(self._up(client_r, redis_w, cut))
        down = asyncio.ensure_future(self._down(redis_r, client_w, cut))
        self.tasks |= {up, down}
        await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        for task in (up, down):
            task.cancel()
        for writer in (client_w, redis_w):
            writer.close()

    async def _up(self, reader, writer, cut: asyncio.Event) -> None:
        while chunk := await reader.read(65536):
            if self.needle is not None and self.needle in chunk:
                self.needle, self.refusing = None, True
                cut.set()
            writer.write(chunk)
            await writer.drain()

    async def _down(self, reader, writer, cut: asyncio.Event) -> None:
        while chunk := await reader.read(65536):
            if cut.is_set():  # Redis has executed the request: its answer goes nowhere
                self.lost.set()
                return
            writer.write(chunk)
            await writer.drain()


@contextlib.asynccontextmanager
async def node_behind_proxy(redis_url: str):
    proxy = LosingProxy(redis_url)
    url = await proxy.start()
    try:
        async with running_node(redis=url, redis_command_timeout=1.0) as node:
            yield node, proxy
    finally:
        await proxy.close()
