"""This node's visit hubs, and the way to the node that hosts any other visit's hub.

A visit's hub runs on the node that took it live; ``open`` records that node's id in
the engine (collection ``visit-hubs``). ``publish``, ``watch`` and ``unwatch`` from a
socket on another node travel over the engine's pub/sub: a request on channel
``media:<hub node>``, the reply on ``media-reply:<asking node>``; the asking node waits
at most ``rpc_timeout`` seconds (then ``hub_unavailable``). Errors raised on the hub's
node (``visit_full``, ``media_failed``) come back as the same DomainError.

The viewer cap holds per node: a hub node with ``viewer_cap`` video connections (all
its visits together) refuses the next viewer with ``visit_full``.

While a hub runs, its node also holds a presence session in scope
``visit-hub:<node>:<visit>`` (member: the event id). A node that dies is reaped by
the others (rooms/presence.py), which hands that scope to rooms/visits.py: the visit
is interrupted and :meth:`MediaRouter.lost` forgets the hub. A node that stops cleanly
tells its listener ``stopped`` for each hub it closes. News about a hub's guide
(``guide_lost``, ``guide_back``) goes to the listener on the hub's node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import msgspec
from aiortc import RTCIceServer

from rooms import errors, names
from rooms.engine import Engine
from rooms.errors import DomainError
from rooms.ice import IceConfig
from rooms.ids import new_id
from rooms.media.hub import Hub
from rooms.models import Visit
from rooms.visits import HubNews

log = logging.getLogger(__name__)
LOCATIONS = "visit-hubs"
HUB_SESSION = "hub"  # the hub's presence session (one per node and visit: in the scope)
HubListener = Callable[[str, str, HubNews], Awaitable[None]]  # (event id, visit id, news)


class MediaRequest(msgspec.Struct, kw_only=True):
    id: str
    reply_to: str
    op: Literal["publish", "watch", "unwatch", "close", "drop"]
    visit_id: str
    sid: str = ""
    offer: dict[str, str] | None = None


class MediaReply(msgspec.Struct, kw_only=True):
    id: str
    ok: bool
    data: Any = None
    code: str = ""
    message: str = ""


_encode = msgspec.msgpack.Encoder().encode
_decode_request = msgspec.msgpack.Decoder(MediaRequest).decode
_decode_reply = msgspec.msgpack.Decoder(MediaReply).decode


def hub_ice_servers(ice: IceConfig) -> list[RTCIceServer]:
    """The first STUN and the first TURN URL (aiortc uses no more), TURN with a
    credential minted for the hub."""
    servers: list[RTCIceServer] = []
    if ice.stun_urls:
        servers.append(RTCIceServer(urls=ice.stun_urls[0]))
    found = ice.servers_for("media-hub")["ice_servers"]
    for server in found:
        if "username" in server:
            servers.append(
                RTCIceServer(
                    urls=server["urls"][0],
                    username=server["username"],
                    credential=server["credential"],
                )
            )
    return servers


class MediaRouter:
    def __init__(
        self,
        engine: Engine,
        feeds: dict[str, str],
        viewer_cap: int,
        ice: IceConfig | None = None,
        rpc_timeout: float = 5.0,
    ) -> None:
        self.engine = engine
        self.feeds = feeds
        self.viewer_cap = viewer_cap
        self.ice = ice or IceConfig()
        self.rpc_timeout = rpc_timeout
        self.node = engine.node_id
        self.hubs: dict[str, Hub] = {}
        self.remote_watchers: dict[str, tuple[str, str]] = {}  # sid -> (visit id, node)
        self._pending: dict[str, asyncio.Future] = {}
        self._tasks: set[asyncio.Task] = set()
        self._listener: HubListener | None = None

    def listen(self, listener: HubListener) -> None:
        self._listener = listener

    async def _tell(self, event_id: str, visit_id: str, news: HubNews) -> None:
        if self._listener is not None:
            await self._listener(event_id, visit_id, news)

    async def start(self) -> None:
        await self.engine.pubsub.subscribe(names.media_requests(self.node), self._on_request)
        await self.engine.pubsub.subscribe(names.media_replies(self.node), self._on_reply)

    async def shutdown(self) -> None:
        """Close every hub of this node (the node stops); their visits are told first,
        so none stays live on a node that is gone."""
        for visit_id, hub in list(self.hubs.items()):
            try:
                await self._tell(hub.event_id, visit_id, "stopped")
            except Exception:
                log.exception("telling %s that its hub stops failed", visit_id)
            await self._close_local(visit_id)
        for task in list(self._tasks):
            task.cancel()

    def viewers(self) -> int:
        return sum(len(hub.viewers) for hub in self.hubs.values())

    # MediaHubs -----------------------------------------------------------------------------
    async def open(self, visit: Visit, media: str | None) -> None:
        if media is not None and media not in self.feeds:
            raise errors.MEDIA_UNKNOWN(f"no media feed named {media!r}")
        await self._close_local(visit.id)
        event_id, visit_id = visit.event_id, visit.id

        async def on_guide(news: HubNews) -> None:
            await self._tell(event_id, visit_id, news)

        hub = Hub(visit.id, hub_ice_servers(self.ice), on_guide, event_id)
        if media is not None:
            await hub.open_feed(self.feeds[media])
        self.hubs[visit.id] = hub
        await self.engine.docs.put(LOCATIONS, visit.id, self.node.encode())
        # reaped with this node if it dies: the survivors interrupt the visit
        scope = names.visit_hub_scope(self.node, visit.id)
        await self.engine.presence.add(scope, HUB_SESSION, event_id, b"")

    async def close(self, visit_id: str) -> None:
        node = await self._where(visit_id)
        await self.engine.docs.delete(LOCATIONS, visit_id)
        if node == self.node or node is None:
            await self._close_local(visit_id)
        else:
            request = MediaRequest(id="", reply_to="", op="close", visit_id=visit_id)
            await self.engine.pubsub.publish(names.media_requests(node), _encode(request))

    async def publish(self, visit: Visit, sid: str, offer: dict) -> dict:
        return await self._route("publish", visit.id, sid, offer)

    async def watch(self, visit: Visit, sid: str, offer: dict) -> dict:
        answer = await self._route("watch", visit.id, sid, offer)
        node = await self._where(visit.id)
        if node != self.node and node is not None:
            self.remote_watchers[sid] = (visit.id, node)
        return answer

    async def drop_publisher(self, visit_id: str, sid: str) -> None:
        node = await self._where(visit_id)
        if node == self.node:
            await self._local("drop", visit_id, sid, None)
        elif node is not None:  # no reply awaited: the hub's node tells its own listener
            request = MediaRequest(id="", reply_to="", op="drop", visit_id=visit_id, sid=sid)
            await self.engine.pubsub.publish(names.media_requests(node), _encode(request))

    async def lost(self, visit_id: str, node: str) -> bool:
        """``node``, which ran this visit's hub, was reaped: forget the hub's location
        unless it moved to another node meanwhile (then False: nothing was lost)."""
        where = await self._where(visit_id)
        if where is not None and where != node:
            return False
        if where is not None:
            await self.engine.docs.delete(LOCATIONS, visit_id)
        # a node reaped while alive (a stalled heartbeat) closes the hub it still runs
        request = MediaRequest(id="", reply_to="", op="close", visit_id=visit_id)
        await self.engine.pubsub.publish(names.media_requests(node), _encode(request))
        return True

    async def unwatch(self, visit_id: str, sid: str) -> None:
        hub = self.hubs.get(visit_id)
        if hub is not None:
            await hub.unwatch(sid)
        remote = self.remote_watchers.pop(sid, None)
        if remote is not None:
            request = MediaRequest(id="", reply_to="", op="unwatch", visit_id=remote[0], sid=sid)
            await self.engine.pubsub.publish(names.media_requests(remote[1]), _encode(request))

    # local work ----------------------------------------------------------------------------
    async def _close_local(self, visit_id: str) -> None:
        hub = self.hubs.pop(visit_id, None)
        if hub is not None:
            await hub.close()
            scope = names.visit_hub_scope(self.node, visit_id)
            try:
                await self.engine.presence.remove(scope, HUB_SESSION)
            except Exception:  # left behind, it is reaped with this node: harmless then
                log.warning("could not remove the presence of %s's hub", visit_id)

    async def _local(self, op: str, visit_id: str, sid: str, offer: dict | None) -> Any:
        hub = self.hubs.get(visit_id)
        if op == "close":
            await self._close_local(visit_id)
            return None
        if op == "unwatch":
            if hub is not None:
                await hub.unwatch(sid)
            return None
        if op == "drop":
            if hub is not None:
                await hub.drop_publisher(sid)
            return None
        if hub is None:
            raise errors.HUB_UNAVAILABLE("this visit's video is not running")
        if op == "publish":
            return await hub.publish(sid, offer or {})
        if sid not in hub.viewers and self.viewers() >= self.viewer_cap:
            raise errors.VISIT_FULL(
                f"this visit has as many viewers as the server takes ({self.viewer_cap}); "
                "try again later",
            )
        return await hub.watch(sid, offer or {})

    # routing --------------------------------------------------------------------------------
    async def _where(self, visit_id: str) -> str | None:
        if visit_id in self.hubs:
            return self.node
        raw = await self.engine.docs.get(LOCATIONS, visit_id)
        return None if raw is None else raw.decode()

    async def _route(self, op: str, visit_id: str, sid: str, offer: dict) -> Any:
        node = await self._where(visit_id)
        if node is None:
            raise errors.HUB_UNAVAILABLE("this visit's video is not running")
        if node == self.node:
            return await self._local(op, visit_id, sid, offer)
        request = MediaRequest(
            id=new_id(), reply_to=names.media_replies(self.node), op=op, visit_id=visit_id,
            sid=sid, offer=offer,
        )  # fmt: skip
        future = asyncio.get_running_loop().create_future()
        self._pending[request.id] = future
        try:
            await self.engine.pubsub.publish(names.media_requests(node), _encode(request))
            async with asyncio.timeout(self.rpc_timeout):
                reply: MediaReply = await future
        except TimeoutError:
            raise errors.HUB_UNAVAILABLE(
                "the server that streams this visit does not answer"
            ) from None
        finally:
            self._pending.pop(request.id, None)
        if not reply.ok:
            raise errors.CATALOG.get(reply.code, errors.INTERNAL)(reply.message)
        return reply.data

    async def _on_request(self, payload: bytes) -> None:
        try:
            request = _decode_request(payload)
        except msgspec.DecodeError:
            log.warning("ignored a malformed media request")
            return
        # answered in a task: the engine's listener must not wait for ICE gathering
        task = asyncio.get_running_loop().create_task(self._serve(request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, request: MediaRequest) -> None:
        try:
            data = await self._local(request.op, request.visit_id, request.sid, request.offer)
            reply = MediaReply(id=request.id, ok=True, data=data)
        except DomainError as exc:
            reply = MediaReply(id=request.id, ok=False, code=exc.code, message=exc.message)
        except Exception:
            log.exception("media request %s for %s failed", request.op, request.visit_id)
            reply = MediaReply(
                id=request.id, ok=False, code=errors.INTERNAL.code, message="the media hub failed"
            )
        if request.reply_to:
            with contextlib.suppress(Exception):
                await self.engine.pubsub.publish(request.reply_to, _encode(reply))

    async def _on_reply(self, payload: bytes) -> None:
        try:
            reply = _decode_reply(payload)
        except msgspec.DecodeError:
            return
        future = self._pending.get(reply.id)
        if future is not None and not future.done():
            future.set_result(reply)
