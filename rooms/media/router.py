"""This node's hubs, and the way to the node that hosts any other hub.

:class:`HubRouter` is what every kind of hub shares (visits here, webinar stages in
rooms/media/stage.py): the hub's location in the engine (collection
``<kind>-hubs``), requests to its node over pub/sub, the presence session that gets
a dead node's hubs reaped. :class:`MediaRouter` is the visits' side and owns the
stages' (:attr:`MediaRouter.stages`); both count towards one viewer cap per node.

A visit's hub runs on the node that took it live; ``open`` records that node's id in
the engine (collection ``visit-hubs``). ``publish``, ``watch`` and ``unwatch`` from a
socket on another node travel over the engine's pub/sub: a request on channel
``media:<hub node>``, the reply on ``media-reply:<asking node>``; the asking node waits
at most ``rpc_timeout`` seconds (then ``hub_unavailable``). Errors raised on the hub's
node (``visit_full``, ``media_failed``) come back as the same DomainError.

The viewer cap holds per node: a hub node with ``viewer_cap`` video connections (all
its visits and stages together) refuses the next viewer with ``visit_full``
(``stage_full`` for a stage).

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
from typing import Any

import msgspec
from aiortc import RTCIceServer

from rooms import errors, names
from rooms.engine import Engine
from rooms.errors import DomainError
from rooms.ice import IceConfig
from rooms.ids import new_id
from rooms.media.hub import Hub
from rooms.media.stage import StageHubs
from rooms.models import Visit
from rooms.visits import HubNews

log = logging.getLogger(__name__)
VISIT = "visit"  # the kind of the visits' hubs (engine collection ``visit-hubs``)
HUB_SESSION = "hub"  # the hub's presence session (one per node and visit: in the scope)
HubListener = Callable[[str, str, HubNews], Awaitable[None]]  # (event id, visit id, news)


class MediaRequest(msgspec.Struct, kw_only=True):
    id: str
    reply_to: str
    kind: str = "visit"  # which hubs: "visit" (this module) or "stage" (rooms/media/stage.py)
    op: str
    hub_id: str
    sid: str = ""
    offer: dict[str, str] | None = None
    data: Any = None  # a kind's own arguments (msgpack-able)


class MediaReply(msgspec.Struct, kw_only=True):
    id: str
    ok: bool
    data: Any = None
    code: str = ""
    message: str = ""


_encode = msgspec.msgpack.Encoder().encode
_decode_request = msgspec.msgpack.Decoder(MediaRequest).decode
_decode_reply = msgspec.msgpack.Decoder(MediaReply).decode
# a kind's local work: (op, hub id, sid, offer, data) -> reply data, or DomainError
Serve = Callable[[str, str, str, dict | None, Any], Awaitable[Any]]


def locations(kind: str) -> str:
    """The engine collection that says which node runs a hub of ``kind``."""
    return f"{kind}-hubs"


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


class HubRouter:
    """What every kind of hub shares: where a hub runs (engine collection
    :func:`locations`), and requests to the node that runs it over the engine's
    pub/sub. A kind registers its local work with :meth:`serve`; :meth:`call` runs it
    here or on the hub's node and brings the reply (or the same DomainError) back."""

    def __init__(self, engine: Engine, rpc_timeout: float = 5.0) -> None:
        self.engine = engine
        self.rpc_timeout = rpc_timeout
        self.node = engine.node_id
        self.kinds: dict[str, Serve] = {}
        self._pending: dict[str, asyncio.Future] = {}
        self._tasks: set[asyncio.Task] = set()

    def serve(self, kind: str, handler: Serve) -> None:
        self.kinds[kind] = handler

    async def start(self) -> None:
        await self.engine.pubsub.subscribe(names.media_requests(self.node), self._on_request)
        await self.engine.pubsub.subscribe(names.media_replies(self.node), self._on_reply)

    def _stop_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    # where hubs run -------------------------------------------------------------------------
    async def locate(self, kind: str, hub_id: str) -> str | None:
        raw = await self.engine.docs.get(locations(kind), hub_id)
        return None if raw is None else raw.decode()

    async def place(self, kind: str, hub_id: str) -> None:
        """Record this node as the one that runs the hub."""
        await self.engine.docs.put(locations(kind), hub_id, self.node.encode())

    async def claim(self, kind: str, hub_id: str) -> str:
        """This node runs the hub unless another node already does: the winner."""
        if await self.engine.docs.put_new(locations(kind), hub_id, self.node.encode()):
            return self.node
        return await self.locate(kind, hub_id) or await self.claim(kind, hub_id)

    async def forget(self, kind: str, hub_id: str) -> None:
        await self.engine.docs.delete(locations(kind), hub_id)

    async def hold(self, scope: str, member: str) -> None:
        """A presence session for the hub: reaped with this node if it dies, so the
        survivors hear of it (rooms/presence.py ``on_reaped``)."""
        await self.engine.presence.add(scope, HUB_SESSION, member, b"")

    async def unhold(self, scope: str) -> None:
        try:
            await self.engine.presence.remove(scope, HUB_SESSION)
        except Exception:  # left behind, it is reaped with this node: harmless then
            log.warning("could not remove the hub presence %s", scope)

    # requests -------------------------------------------------------------------------------
    async def call(
        self, node: str, kind: str, op: str, hub_id: str, sid: str = "",
        offer: dict | None = None, data: Any = None,
    ) -> Any:  # fmt: skip
        """Run ``op`` on ``node`` (here, or there through pub/sub) and return its reply."""
        if node == self.node:
            return await self.kinds[kind](op, hub_id, sid, offer, data)
        request = MediaRequest(
            id=new_id(), reply_to=names.media_replies(self.node), kind=kind, op=op,
            hub_id=hub_id, sid=sid, offer=offer, data=data,
        )  # fmt: skip
        future = asyncio.get_running_loop().create_future()
        self._pending[request.id] = future
        try:
            await self.engine.pubsub.publish(names.media_requests(node), _encode(request))
            async with asyncio.timeout(self.rpc_timeout):
                reply: MediaReply = await future
        except TimeoutError:
            raise errors.HUB_UNAVAILABLE("the server that streams this does not answer") from None
        finally:
            self._pending.pop(request.id, None)
        if not reply.ok:
            raise errors.CATALOG.get(reply.code, errors.INTERNAL)(reply.message)
        return reply.data

    async def send(
        self, node: str, kind: str, op: str, hub_id: str, sid: str = "", data: Any = None
    ) -> None:
        """Run ``op`` on ``node`` without waiting for a reply (here: run it now)."""
        if node == self.node:
            await self.kinds[kind](op, hub_id, sid, None, data)
            return
        request = MediaRequest(
            id="", reply_to="", kind=kind, op=op, hub_id=hub_id, sid=sid, data=data
        )
        await self.engine.pubsub.publish(names.media_requests(node), _encode(request))

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
        handler = self.kinds.get(request.kind)
        try:
            if handler is None:
                raise errors.HUB_UNAVAILABLE(f"no {request.kind} hubs on this node")
            data = await handler(
                request.op, request.hub_id, request.sid, request.offer, request.data
            )
            reply = MediaReply(id=request.id, ok=True, data=data)
        except DomainError as exc:
            reply = MediaReply(id=request.id, ok=False, code=exc.code, message=exc.message)
        except Exception:
            log.exception("media request %s %s for %s failed", request.kind, request.op,
                          request.hub_id)  # fmt: skip
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


class MediaRouter(HubRouter):
    """The visits' hubs (kind ``visit``), and the webinars' stages beside them
    (:attr:`stages`, kind ``stage``): one router, one viewer cap per node."""

    def __init__(
        self,
        engine: Engine,
        feeds: dict[str, str],
        viewer_cap: int,
        ice: IceConfig | None = None,
        rpc_timeout: float = 5.0,
    ) -> None:
        super().__init__(engine, rpc_timeout)
        self.feeds = feeds
        self.viewer_cap = viewer_cap
        self.ice = ice or IceConfig()
        self.hubs: dict[str, Hub] = {}
        self.remote_watchers: dict[str, tuple[str, str]] = {}  # sid -> (visit id, node)
        self._listener: HubListener | None = None
        self.serve(VISIT, self._local)
        self.stages = StageHubs(self, hub_ice_servers(self.ice))

    def listen(self, listener: HubListener) -> None:
        self._listener = listener

    async def _tell(self, event_id: str, visit_id: str, news: HubNews) -> None:
        if self._listener is not None:
            await self._listener(event_id, visit_id, news)

    async def shutdown(self) -> None:
        """Close every hub of this node (the node stops); their visits are told first,
        so none stays live on a node that is gone."""
        for visit_id, hub in list(self.hubs.items()):
            try:
                await self._tell(hub.event_id, visit_id, "stopped")
            except Exception:
                log.exception("telling %s that its hub stops failed", visit_id)
            await self._close_local(visit_id)
        await self.stages.shutdown()
        self._stop_tasks()

    def viewers(self) -> int:
        """Viewers of this node's visit hubs."""
        return sum(len(hub.viewers) for hub in self.hubs.values())

    def connections(self) -> int:
        """Viewer connections of this node, visits and stages: what the cap counts."""
        return self.viewers() + self.stages.viewers()

    def full(self) -> bool:
        return self.connections() >= self.viewer_cap

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
        await self.place(VISIT, visit.id)
        # reaped with this node if it dies: the survivors interrupt the visit
        await self.hold(names.visit_hub_scope(self.node, visit.id), event_id)

    async def close(self, visit_id: str) -> None:
        node = await self._where(visit_id)
        await self.forget(VISIT, visit_id)
        if node == self.node or node is None:
            await self._close_local(visit_id)
        else:
            await self.send(node, VISIT, "close", visit_id)

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
        if node is not None:  # no reply awaited: the hub's node tells its own listener
            await self.send(node, VISIT, "drop", visit_id, sid)

    async def lost(self, visit_id: str, node: str) -> bool:
        """``node``, which ran this visit's hub, was reaped: forget the hub's location
        unless it moved to another node meanwhile (then False: nothing was lost)."""
        where = await self._where(visit_id)
        if where is not None and where != node:
            return False
        if where is not None:
            await self.forget(VISIT, visit_id)
        # a node reaped while alive (a stalled heartbeat) closes the hub it still runs
        if node == self.node:
            await self._close_local(visit_id)
        else:
            await self.send(node, VISIT, "close", visit_id)
        return True

    async def unwatch(self, visit_id: str, sid: str) -> None:
        hub = self.hubs.get(visit_id)
        if hub is not None:
            await hub.unwatch(sid)
        remote = self.remote_watchers.pop(sid, None)
        if remote is not None:
            await self.send(remote[1], VISIT, "unwatch", remote[0], sid)

    # local work ----------------------------------------------------------------------------
    async def _close_local(self, visit_id: str) -> None:
        hub = self.hubs.pop(visit_id, None)
        if hub is not None:
            await hub.close()
            await self.unhold(names.visit_hub_scope(self.node, visit_id))

    async def _local(
        self, op: str, visit_id: str, sid: str, offer: dict | None, _: Any = None
    ) -> Any:
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
        if op != "watch":
            raise errors.INVALID_PAYLOAD(f"no visit hub operation {op!r}")
        if sid not in hub.viewers and self.full():
            raise errors.VISIT_FULL(
                f"this visit has as many viewers as the server takes ({self.viewer_cap}); "
                "try again later",
            )
        return await hub.watch(sid, offer or {})

    # routing --------------------------------------------------------------------------------
    async def _where(self, visit_id: str) -> str | None:
        if visit_id in self.hubs:
            return self.node
        return await self.locate(VISIT, visit_id)

    async def _route(self, op: str, visit_id: str, sid: str, offer: dict) -> Any:
        node = await self._where(visit_id)
        if node is None:
            raise errors.HUB_UNAVAILABLE("this visit's video is not running")
        return await self.call(node, VISIT, op, visit_id, sid, offer)
