"""Cross-node emits over the engine's pub/sub, with no silent loss.

python-socketio's Redis manager publishes every emit once and gives up after two
tries; a node whose subscription drops misses what was published meanwhile, and
nobody is told (measured: 2 s of Redis outage, 17-22 pushes silently missed per
client). Here every message a node publishes carries that node's next number (sent in
order by one task; what queues up meanwhile leaves as one batch), and each node sends
a tick with its latest number every ``tick_interval`` seconds. A node
that sees a sender's number jump (a lost publish, or its own subscription lost and
restored) tells its own clients ``socket:resync`` with a history cursor from a little
before the last time it heard that node in order: they fetch every channel's messages
since it (merging by id, so holes before their newest message are filled too) and
reload the state they show. So a push can be
missed, but never silently, and the tick bounds how long a miss can go unnoticed.

The messages go through ``engine.pubsub`` (one Redis connection per node, with the
engine's health checks and reconnects) on the channel ``names.FANOUT``; local
delivery is FanoutManager's, as on a single node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from socketio.async_pubsub_manager import AsyncPubSubManager

from rooms import names
from rooms.engine import PubSub
from server.fanout.manager import FanoutManager

log = logging.getLogger(__name__)
MAX_BATCH = 256  # messages queued together leave as one Redis message
RESYNC_MARGIN = 5.0  # seconds: clock differences between nodes and Redis, publish delays


class ClusterFanoutManager(AsyncPubSubManager, FanoutManager):
    """MRO: AsyncPubSubManager publishes and then hands local delivery to
    FanoutManager.emit, before the stock AsyncManager.emit."""

    name = "fairhall-cluster"

    def __init__(self, pubsub: PubSub, json, tick_interval: float = 1.0) -> None:
        super().__init__(channel=names.FANOUT, json=json)
        self.pubsub = pubsub
        self.tick_interval = tick_interval
        self.sent = 0  # this node's number of the last message it published
        self.seen: dict[str, int] = {}  # sender's host id -> the last number received
        self.complete_at: dict[str, float] = {}  # host -> when last heard with no gap
        self.resync_since: float | None = None
        self.inbox: asyncio.Queue[dict] = asyncio.Queue()  # received, for _thread
        self.outbox: asyncio.Queue[dict] = asyncio.Queue()  # to publish, in order
        self.on_gap: Callable[[], None] = lambda: None  # metrics
        self.on_lost_publish: Callable[[int], None] = lambda n: None
        self._resync_task: asyncio.Task | None = None

    def initialize(self) -> None:
        super().initialize()  # starts _thread, which listens
        self.server.start_background_task(self._sender)
        self.server.start_background_task(self._tick)

    # sending ----------------------------------------------------------------------------
    async def _publish(self, data: dict) -> None:
        # numbered and queued now, sent in order by one task: concurrent publishes on
        # a pool's connections could reach Redis in another order and look like a gap
        self.sent += 1
        data["seq"] = self.sent
        self.outbox.put_nowait(data)

    async def _sender(self) -> None:
        while True:
            batch = [await self.outbox.get()]
            while not self.outbox.empty() and len(batch) < MAX_BATCH:
                batch.append(self.outbox.get_nowait())
            try:
                await self.pubsub.publish(self.channel, self.json.dumps(batch).encode())
            except Exception as exc:  # the others notice the gap at the next tick
                self.on_lost_publish(len(batch))
                log.warning("cross-node publish of %d messages lost: %r", len(batch), exc)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)
            self.outbox.put_nowait({"method": "tick", "host_id": self.host_id, "seq": self.sent})

    # receiving --------------------------------------------------------------------------
    async def _listen(self):
        while True:
            try:
                await self.pubsub.subscribe(self.channel, self._received)
                break
            except Exception as exc:  # no Redis yet: keep trying, as the engine does
                log.warning("cannot subscribe to cross-node emits yet: %r", exc)
                await asyncio.sleep(self.tick_interval)
        while True:
            yield await self.inbox.get()

    async def _received(self, payload: bytes) -> None:
        try:
            batch = self.json.loads(payload)
            host = batch[0]["host_id"]
        except (ValueError, KeyError, TypeError, IndexError):
            log.warning("ignored a malformed cross-node message")
            return
        if host == self.host_id:
            return  # delivered locally when it was sent
        for data in batch:
            self._count(host, data)
            if data.get("method") != "tick":
                self.inbox.put_nowait(data)

    def _count(self, host: str, data: dict) -> None:
        number, tick = data.get("seq"), data.get("method") == "tick"
        if not isinstance(number, int):
            return
        last = self.seen.get(host)
        now = time.time()
        # a message should be the next number; a tick repeats the last one sent
        if last is not None and number > last + (0 if tick else 1):
            self._gap(host, last, number, since=self.complete_at.get(host, now))
        if last is None or number > last:
            self.seen[host] = number
        self.complete_at[host] = now

    def _gap(self, host: str, last: int, number: int, since: float) -> None:
        log.warning("missed cross-node messages %s..%s of %s: clients resync", last, number, host)
        self.on_gap()
        # what was missed was stored after the last message heard in order from that
        # node; the clients fetch from a little before it (clocks of nodes and Redis)
        self.resync_since = min(self.resync_since or since, since)
        if self._resync_task is None or self._resync_task.done():
            # one resync covers every miss noticed before it goes out
            self._resync_task = asyncio.get_running_loop().create_task(self._resync())

    async def _resync(self) -> None:
        since, self.resync_since = self.resync_since, None
        cursor = f"{max(0, int((since - RESYNC_MARGIN) * 1000))}-0"
        with contextlib.suppress(Exception):
            await self.server.emit(
                "socket:resync",
                {"reason": "missed_pushes", "since": cursor},
                namespace="/",
                ignore_queue=True,
            )
