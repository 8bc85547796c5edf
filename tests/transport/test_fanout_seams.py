"""The private parts of python-socketio, python-engineio, aiohttp and bidict that
server/fanout/ and server/ws_reader.py rely on, each named with the module of ours
that needs it.

Nothing else fails loudly when an upgrade moves one of them: a connection that stays
on aiohttp's reading path, a heartbeat engine.io runs beside ours, a long-poll that
hangs after an upgrade only show as slow or dropped clients later. So each check here
says what moved and who needs it, and a test reports every broken seam it found, not
just the first. Checks run against real objects where possible: a real Socket.IO
server with lanes installed, real clients (on WebSocket and on long-polling with its
upgrade), a real aiohttp server; signatures where we override or call.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib.metadata
import inspect
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import engineio
import engineio.async_drivers.aiohttp as engineio_aiohttp
import engineio.async_server
import engineio.async_socket
import pytest
import redis
import socketio
import socketio.async_server
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from bidict import bidict
from engineio import exceptions as engineio_exceptions
from engineio import packet as eio_packet
from engineio import payload as eio_payload
from engineio.async_drivers.aiohttp import WebSocket as EngineIOWebSocket
from engineio.async_socket import AsyncSocket
from harness import eventually, free_port
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from raw_websocket import TEXT, RawWebSocket
from socketio import packet as sio_packet
from socketio.async_pubsub_manager import AsyncPubSubManager

from rooms import names
from server import packets, wire_json
from server.engines.redis import RedisEngine
from server.fanout import (
    NO_QUEUE,
    PING_FRAME,
    ClusterFanoutManager,
    FanoutManager,
    LaneSocket,
    LaneWebSocket,
    TimedSocket,
    install_lanes,
)
from server.fanout.sockets import _NoQueue
from server.socket_server import ClosedSocketServer
from server.ws_reader import WebSocketIn

ROOT = Path(__file__).resolve().parents[2]
DRIVER, PINGER, MANAGER, INSTALL, FRAMES, SOCKETS = (
    f"server/fanout/{name}.py"
    for name in ("driver", "pinger", "manager", "install", "frames", "sockets")
)
READER = "server/ws_reader.py"
CLUSTER = "server/fanout/cluster.py"
SOCKET_SERVER = "server/socket_server.py"
MISSING = object()
SEE_OTHERS = "the seam that moved is most likely named by another test of this file"


class Seams:
    """Collects the broken seams of one test, so an upgrade shows all of them at once."""

    def __init__(self) -> None:
        self.broken: list[str] = []

    def check(self, ok: Any, message: str) -> bool:
        if not ok and message not in self.broken:  # one line per seam, not per socket
            self.broken.append(message)
        return bool(ok)

    def attr(self, obj: Any, name: str, message: str) -> Any:
        """``obj.name``, or MISSING (and a broken seam) when it is not there."""
        value = getattr(obj, name, MISSING)
        self.check(value is not MISSING, message)
        return value

    def same_signature(self, library: Callable, expected: Callable, message: str) -> None:
        """The library's function still has the parameters of ``expected``: our
        override of it, or the shape we call it with."""
        if not callable(library):
            self.broken.append(f"{message} (now gone)")
        elif _params(library) != _params(expected):
            self.broken.append(f"{message} (now {_sig(library)})")

    def accepts(self, fn: Callable, message: str, *args: Any, **kwargs: Any) -> None:
        """``fn`` can still be called the way our code calls it."""
        if not callable(fn):
            self.broken.append(f"{message} (now gone)")
            return
        try:
            inspect.signature(fn).bind(*args, **kwargs)
        except TypeError as exc:
            self.broken.append(f"{message} (now {_sig(fn)}: {exc})")

    def done(self) -> None:
        if self.broken:
            pytest.fail("broken seams:\n- " + "\n- ".join(self.broken), pytrace=False)


def _params(fn: Callable) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def _sig(fn: Callable) -> str:
    return f"{getattr(fn, '__qualname__', fn)}{inspect.signature(fn)}"


def bare_sio(**options: Any) -> socketio.AsyncServer:
    return socketio.AsyncServer(async_mode="aiohttp", **options)


# versions ---------------------------------------------------------------------------

PINNED = {  # distribution -> our modules that use its private parts
    "python-socketio": f"{MANAGER}, {INSTALL} and {SOCKET_SERVER}",
    "python-engineio": f"{DRIVER}, {SOCKETS}, {PINGER}, {INSTALL} and {READER}",
    "aiohttp": f"{READER} and {DRIVER}",
    "bidict": MANAGER,
}


def test_installed_versions_are_within_the_pinned_ranges():
    seams = Seams()
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {canonicalize_name(r.name): r for r in map(Requirement, dependencies)}
    for name, ours in PINNED.items():
        pin = pins.get(canonicalize_name(name))
        if not seams.check(pin, f"pyproject.toml does not pin {name}; {ours} relies on it"):
            continue
        seams.check(
            any(spec.operator in ("<", "<=", "==", "~=") for spec in pin.specifier),
            f"pyproject.toml pins {name} without an upper bound ({pin}); {ours} relies "
            "on its internals, so a new version must pass this file before it is allowed",
        )
        installed = importlib.metadata.version(name)
        seams.check(
            pin.specifier.contains(installed, prereleases=True),
            f"{name} {installed} is installed but pyproject.toml pins {pin.specifier}; "
            f"run tests/transport/test_fanout_seams.py against it, then move the pin ({ours})",
        )
    seams.done()


# bidict -----------------------------------------------------------------------------


def test_bidict_forward_map_is_a_live_dict():
    seams = Seams()
    room = bidict({"sid-1": "eio-1"})
    fwdm = seams.attr(room, "_fwdm", f"bidict moved bidict._fwdm; {MANAGER} iterates it")
    if fwdm is not MISSING:
        seams.check(
            isinstance(fwdm, dict) and dict(fwdm) == {"sid-1": "eio-1"},
            f"bidict._fwdm is no longer the sid -> eio_sid dict; {MANAGER} iterates its items",
        )
        room["sid-2"] = "eio-2"
        del room["sid-1"]
        seams.check(
            room._fwdm is fwdm and dict(fwdm) == {"sid-2": "eio-2"},
            f"bidict._fwdm is no longer the live forward map; {MANAGER} reads members from it",
        )
    seams.done()


# engine.io packets ------------------------------------------------------------------


def test_engineio_packet_encodings_we_write_by_hand():
    seams = Seams()
    Packet = eio_packet.Packet
    seams.check(
        PING_FRAME == b"\x81\x01" + Packet(eio_packet.PING).encode().encode(),
        f"python-engineio changed the PING packet's encoding; {FRAMES} hard-codes it (PING_FRAME)",
    )
    seams.check(
        Packet(eio_packet.MESSAGE, '2["e"]').encode() == '42["e"]',
        f"python-engineio changed MESSAGE's encoding ('4' + payload); {MANAGER} prefixes b'4'",
    )
    seams.check(
        isinstance(Packet(eio_packet.MESSAGE, b"\x01").encode(), bytes)
        and isinstance(Packet(eio_packet.OPEN, {"sid": "x"}).encode(), str),
        f"python-engineio's Packet.encode no longer gives bytes for binary and str for "
        f"text; {FRAMES} picks the frame's opcode by that type",
    )
    decoded = [Packet(encoded_packet=data) for data in ("3", '42["e"]', b"\x01\x02")]
    seams.check(
        [p.packet_type for p in decoded]
        == [eio_packet.PONG, eio_packet.MESSAGE, eio_packet.MESSAGE]
        and [p.data for p in decoded[1:]] == ['2["e"]', b"\x01\x02"],
        f"python-engineio's Packet(encoded_packet=...) decodes differently; {READER} and "
        f"{DRIVER} hand it whole WebSocket messages (str for text, bytes for binary)",
    )
    seams.check(
        Packet(eio_packet.PONG, data="probe").encode() == "3probe"
        and Packet(eio_packet.NOOP).encode() == "6"
        and (lambda p: (p.packet_type, p.data))(Packet(encoded_packet="2probe"))
        == (eio_packet.PING, "probe")
        and Packet(encoded_packet="5").packet_type == eio_packet.UPGRADE,
        f"python-engineio changed the upgrade packets (2probe, 3probe, 5, 6); {DRIVER} "
        "compares and writes them by hand",
    )
    seams.check(
        [(p.packet_type, p.data) for p in eio_payload.Payload(encoded_payload="3\x1e4x").packets]
        == [(eio_packet.PONG, ""), (eio_packet.MESSAGE, "x")],
        f"python-engineio's Payload(encoded_payload=...) decodes a long-polling body "
        f"differently; {SOCKETS}'s TimedSocket.handle_post_request decodes with it",
    )
    names = getattr(eio_packet, "packet_names", None)
    seams.check(
        isinstance(names, list | tuple)
        and len(names) == eio_packet.NOOP + 1
        and names[eio_packet.MESSAGE] == "MESSAGE",
        f"python-engineio changed packet.packet_names; {READER} and {SOCKETS} accept a "
        "packet only when its type indexes that list",
    )
    seams.check(
        isinstance(getattr(engineio_exceptions, "SocketIsClosedError", None), type),
        f"python-engineio moved exceptions.SocketIsClosedError; {READER} catches it",
    )
    errors = [
        getattr(engineio_exceptions, n, None) for n in ("UnknownPacketError", "ContentTooLongError")
    ]
    seams.check(
        all(
            isinstance(e, type) and issubclass(e, engineio_exceptions.EngineIOError) for e in errors
        ),
        f"python-engineio moved UnknownPacketError or ContentTooLongError out of EngineIOError; "
        f"{SOCKETS} raises them so that engine.io closes the session and answers 400",
    )
    pkt = bare_sio().packet_class
    seams.check(
        isinstance(pkt(sio_packet.EVENT, namespace="/", data=["e", 1]).encode(), str)
        and not isinstance(pkt(sio_packet.EVENT, namespace="/", data=["e", b"x"]).encode(), str),
        f"python-socketio's packet_class(EVENT, namespace=, data=).encode() no longer gives "
        f"str for JSON and a list for binary; {MANAGER} sends only str on the fast path",
    )
    seams.done()


# engine.io driver and socket --------------------------------------------------------


def test_engineio_websocket_driver_seams():
    seams = Seams()
    table = seams.attr(
        engineio_aiohttp, "_async", f"python-engineio moved async_drivers.aiohttp._async; {INSTALL}"
    )
    seams.check(
        isinstance(table, dict) and table.get("websocket") is EngineIOWebSocket,
        f"python-engineio's aiohttp driver table no longer has 'websocket': WebSocket; "
        f"{INSTALL} replaces that entry with {DRIVER}'s LaneWebSocket",
    )
    sio, other = bare_sio(), bare_sio()
    eio_async = seams.attr(
        sio.eio,
        "_async",
        f"python-engineio moved AsyncServer._async; {INSTALL} sets our driver in it",
    )
    seams.check(
        isinstance(eio_async, dict) and eio_async.get("websocket") is EngineIOWebSocket,
        f"python-engineio's AsyncServer._async['websocket'] is no longer its aiohttp "
        f"WebSocket; {INSTALL} replaces it",
    )
    handlers = seams.attr(
        sio.eio,
        "handlers",
        f"python-engineio moved AsyncServer.handlers; {INSTALL} wraps 'connect'",
    )
    seams.check(
        isinstance(handlers, dict)
        and getattr(handlers.get("connect"), "__func__", None)
        is socketio.AsyncServer._handle_eio_connect,
        f"python-socketio no longer registers _handle_eio_connect as engine.io's 'connect' "
        f"handler; {INSTALL} wraps that handler to adopt each new socket",
    )
    handlers = dict(handlers) if isinstance(handlers, dict) else {}  # as they were
    seams.check(
        seams.attr(
            sio.eio,
            "start_service_task",
            f"python-engineio moved AsyncServer.start_service_task; {INSTALL} clears it "
            "(the Pinger replaces engine.io's per-socket timeout scan)",
        )
        is True,
        f"python-engineio's AsyncServer.start_service_task is no longer True by default; {INSTALL}",
    )
    install_lanes(sio, 1024, lambda: None)
    seams.check(
        issubclass(sio.eio._async["websocket"], LaneWebSocket)
        and other.eio._async["websocket"] is EngineIOWebSocket
        and engineio_aiohttp._async["websocket"] is EngineIOWebSocket,
        f"install_lanes must change one server's driver only ({INSTALL}); engine.io's "
        "driver table is shared",
    )
    seams.check(
        sio.eio.handlers.get("connect") is not handlers.get("connect")
        and other.eio.handlers["connect"].__func__ is socketio.AsyncServer._handle_eio_connect,
        f"python-engineio's AsyncServer.on('connect', ...) no longer replaces the handler of "
        f"one server; {INSTALL} wraps it",
    )
    # the driver: engine.io builds it as driver(handler, server) and awaits driver(environ)
    seams.same_signature(
        EngineIOWebSocket.__init__,
        LaneWebSocket.__init__,
        f"python-engineio changed WebSocket.__init__(handler, server); {DRIVER}'s "
        "LaneWebSocket is built the same way",
    )
    seams.same_signature(
        EngineIOWebSocket.__call__,
        LaneWebSocket.__call__,
        f"python-engineio changed WebSocket.__call__(environ); {DRIVER}'s LaneWebSocket "
        "is called the same way",
    )
    seams.done()


def _queue_calls(source: str, skip: frozenset[str] = frozenset()) -> set[tuple[str, str]]:
    """(function, method) for every ``<something>.queue.<method>`` in ``source``."""
    found = set()
    for fn in ast.walk(ast.parse(source)):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and fn.name not in skip:
            for node in ast.walk(fn):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "queue"
                ):
                    found.add((fn.name, node.attr))
    return found


async def test_engineio_socket_seams():
    seams = Seams()
    eio = bare_sio().eio
    socket = AsyncSocket(eio, "sid-1")
    for name in (
        "server",
        "sid",
        "queue",
        "last_ping",
        "connected",
        "upgrading",
        "upgraded",
        "closing",
        "closed",
    ):
        seams.attr(
            socket,
            name,
            f"python-engineio moved AsyncSocket.{name}; {SOCKETS}, {DRIVER}, {PINGER} or "
            f"{READER} uses it",
        )
    queue = getattr(socket, "queue", None)
    seams.check(
        isinstance(queue, asyncio.Queue),
        f"python-engineio's AsyncSocket.queue is no longer an asyncio.Queue; {SOCKETS} "
        "moves what it holds to the lane (get_nowait, task_done, put_nowait)",
    )
    seams.check(
        getattr(socket, "connected", None) is False
        and getattr(socket, "upgraded", None) is False
        and isinstance(getattr(socket, "last_ping", None), float),
        f"python-engineio's new AsyncSocket no longer starts unconnected with a last_ping "
        f"time; {DRIVER} tells a fresh WebSocket by connected=False, {SOCKETS} clears last_ping",
    )
    for cls in (TimedSocket, LaneSocket):
        try:
            socket.__class__ = cls
            socket.lane = "lane"
            swapped = type(socket) is cls
        except (TypeError, AttributeError):
            swapped = False
        seams.check(
            swapped,
            f"python-engineio's AsyncSocket no longer takes a new class and attributes "
            f"(__slots__?); {SOCKETS} sets socket.__class__ = {cls.__name__} and socket.lane",
        )
    socket.__class__ = AsyncSocket
    for cls, overridden in (
        (TimedSocket, ("schedule_ping", "close", "handle_post_request")),
        (LaneSocket, ("send", "close")),
    ):
        for name in overridden:
            seams.same_signature(
                getattr(AsyncSocket, name, None),
                getattr(cls, name),
                f"python-engineio changed AsyncSocket.{name}; {SOCKETS}'s {cls.__name__} "
                "overrides it",
            )
    seams.accepts(
        AsyncSocket.close,
        f"python-engineio changed AsyncSocket.close; {READER} and {PINGER} call it",
        socket,
        wait=False,
        abort=True,
        reason=eio.reason.TRANSPORT_CLOSE,
    )
    seams.accepts(
        AsyncSocket.receive,
        f"python-engineio changed AsyncSocket.receive; {READER} and {SOCKETS} call it",
        socket,
        None,
    )
    for name in (
        "ping_interval",
        "ping_interval_grace_period",
        "ping_timeout",
        "max_http_buffer_size",
        "sockets",
        "reason",
    ):
        seams.attr(
            eio,
            name,
            f"python-engineio moved AsyncServer.{name}; {DRIVER}/{SOCKETS}/{PINGER}/{READER}",
        )
    seams.check(
        isinstance(getattr(eio, "sockets", None), dict),
        f"python-engineio's AsyncServer.sockets is no longer a dict of sid -> socket; "
        f"{PINGER} and {READER} remove closed sockets from it",
    )
    seams.check(
        all(
            hasattr(getattr(eio, "reason", None), r)
            for r in ("TRANSPORT_CLOSE", "TRANSPORT_ERROR", "PING_TIMEOUT")
        ),
        f"python-engineio moved AsyncServer.reason.TRANSPORT_CLOSE/TRANSPORT_ERROR/"
        f"PING_TIMEOUT; {READER}, {DRIVER} and {PINGER} pass them",
    )
    # engine.io's own heartbeat stays silent once last_ping is None (SOCKETS.adopt)
    socket.last_ping = None
    silent = await socket.check_ping_timeout()
    seams.check(
        silent is True and not socket.closing,
        f"python-engineio's AsyncSocket.check_ping_timeout closes a socket whose last_ping "
        f"is None; {SOCKETS} sets it so to leave the heartbeat to {PINGER}",
    )
    # what the upgrade relies on: polls get a NOOP while upgrading and once upgraded
    for flag in ("upgrading", "upgraded"):
        probe = AsyncSocket(eio, f"sid-{flag}")
        setattr(probe, flag, True)
        answer = await probe.handle_get_request({})
        seams.check(
            isinstance(answer, list)
            and [p.packet_type for p in answer] == [eio_packet.NOOP]
            and probe.queue.empty(),
            f"python-engineio's AsyncSocket.handle_get_request no longer answers a NOOP "
            f"without reading the queue when {flag} is set; {DRIVER}'s Upgrade relies on it",
        )
    # a PONG reaches schedule_ping (long-polling PONGs take this way to the Pinger)
    pinged = []
    probe = AsyncSocket(eio, "sid-pong")
    probe.schedule_ping = lambda: pinged.append(True)
    await probe.receive(eio_packet.Packet(eio_packet.PONG))
    seams.check(
        pinged == [True],
        f"python-engineio's AsyncSocket.receive no longer calls schedule_ping on a PONG; "
        f"{SOCKETS}' TimedSocket.schedule_ping hands it to {PINGER}",
    )
    for kind in (eio_packet.OPEN, eio_packet.PING, eio_packet.NOOP):
        try:
            await probe.receive(eio_packet.Packet(kind))
            raised = None
        except Exception as exc:
            raised = exc
        seams.check(
            isinstance(raised, engineio_exceptions.UnknownPacketError),
            f"python-engineio's AsyncSocket.receive no longer raises UnknownPacketError for "
            f"a client's {eio_packet.packet_names[kind]}; {READER} closes the session on it",
        )
    # NO_QUEUE stands in for socket.queue: it must answer everything engine.io asks of a
    # lane socket's queue (engine.io's own WebSocket handler never runs for one; a poll
    # that was waiting when its session upgraded ends through it, one that starts later
    # is answered with a NOOP above and never reaches the queue)
    answers = {m for m in dir(_NoQueue) if not m.startswith("_")}
    asked = _queue_calls(
        inspect.getsource(engineio.async_socket),
        skip=frozenset({"_websocket_handler", "writer", "websocket_wait"}),
    )
    asked -= {("poll", "get")}
    asked |= _queue_calls(inspect.getsource(engineio.async_server))
    asked |= _queue_calls(inspect.getsource(socketio.async_server))
    for fn, method in sorted(asked):
        seams.check(
            method in answers,
            f"python-engineio's {fn}() now calls socket.queue.{method}(); {SOCKETS} replaces "
            f"the queue with NO_QUEUE, which has no {method}",
        )
    seams.check(
        isinstance(NO_QUEUE, _NoQueue)
        and {"empty", "join", "put", "put_nowait", "task_done", "get_nowait"} <= answers,
        f"{SOCKETS}'s NO_QUEUE lost a method engine.io calls",
    )
    seams.done()


# socket.io managers -----------------------------------------------------------------


def test_socketio_server_seams_of_the_closed_dispatch():
    """server/socket_server.py replaces python-socketio's reading of client packets."""
    seams = Seams()
    base = socketio.AsyncServer
    seams.same_signature(
        base._handle_eio_message,
        ClosedSocketServer._handle_eio_message,
        f"python-socketio changed AsyncServer._handle_eio_message; {SOCKET_SERVER} overrides it",
    )
    sio = ClosedSocketServer(async_mode="aiohttp")
    handler = sio.eio.handlers.get("message")
    seams.check(
        getattr(handler, "__func__", None) is ClosedSocketServer._handle_eio_message,
        f"python-socketio no longer hands engine.io messages to _handle_eio_message; "
        f"{SOCKET_SERVER}'s closed dispatch would be skipped",
    )
    for name, args, kwargs in [
        ("_handle_connect", ("eio", "/", None), {}),
        ("_handle_disconnect", ("eio", "/", "client disconnect"), {}),
        ("_send_packet", ("eio", None), {}),
        ("disconnect", ("sid",), {"ignore_queue": True}),
    ]:
        seams.accepts(
            getattr(base, name, None),
            f"python-socketio changed AsyncServer.{name}; {SOCKET_SERVER} calls it",
            None,
            *args,
            **kwargs,
        )
    seams.accepts(
        getattr(sio.manager, "sid_from_eio_sid", None),
        f"python-socketio changed BaseManager.sid_from_eio_sid; {SOCKET_SERVER} calls it",
        "eio",
        "/",
    )
    seams.accepts(
        getattr(sio.eio, "disconnect", None),
        f"python-engineio changed AsyncServer.disconnect; {SOCKET_SERVER} calls it",
        "eio",
    )
    seams.check(
        hasattr(sio.reason, "CLIENT_DISCONNECT"),
        f"python-socketio moved reason.CLIENT_DISCONNECT; {SOCKET_SERVER}",
    )
    numbers = {
        name: getattr(sio_packet, name, MISSING)
        for name in ("CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK")
    }  # fmt: skip
    seams.check(
        numbers == {name: getattr(packets, name) for name in numbers},
        "python-socketio renumbered its packet types; server/packets.py reads them by number",
    )
    ack = sio.packet_class(sio_packet.ACK, namespace="/", id=7, data=[{"ok": True}])
    seams.check(
        ack.encode() == '37[{"ok":true}]',
        f"python-socketio encodes an ACK differently; {SOCKET_SERVER} acks with packet_class",
    )
    seams.done()


def test_socketio_manager_seams():
    seams = Seams()
    seams.same_signature(
        socketio.AsyncManager.emit,
        FanoutManager.emit,
        f"python-socketio changed AsyncManager.emit; {MANAGER}'s FanoutManager overrides it",
    )
    # the two ways python-socketio calls a manager's emit
    seams.accepts(
        FanoutManager.emit,
        f"python-socketio's AsyncServer.emit call no longer fits {MANAGER}'s FanoutManager.emit",
        None, "e", None, "/", room=None, skip_sid=None, callback=None, ignore_queue=False,
    )  # fmt: skip
    seams.accepts(
        FanoutManager.emit,
        f"python-socketio's AsyncPubSubManager super().emit call no longer fits "
        f"{MANAGER}'s FanoutManager.emit",
        None, "e", None, namespace="/", room=None, skip_sid=None, callback=None,
    )  # fmt: skip
    send = seams.attr(
        socketio.AsyncServer,
        "_send_eio_packet",
        f"python-socketio moved AsyncServer._send_eio_packet; {MANAGER} sends to lane-less "
        "sockets through it",
    )
    if send is not MISSING:
        seams.accepts(
            send,
            f"python-socketio changed AsyncServer._send_eio_packet; {MANAGER}",
            None,
            "e",
            None,
        )
    mro = ClusterFanoutManager.__mro__
    seams.check(
        mro.index(AsyncPubSubManager) < mro.index(FanoutManager) < mro.index(socketio.AsyncManager),
        f"ClusterFanoutManager's MRO no longer puts FanoutManager between python-socketio's "
        f"AsyncPubSubManager and AsyncManager; {CLUSTER} relies on it",
    )
    for hook in ("_publish", "_listen", "_thread", "_handle_emit", "initialize"):
        seams.check(
            callable(getattr(AsyncPubSubManager, hook, None)),
            f"python-socketio's AsyncPubSubManager lost {hook}; {CLUSTER} builds on it",
        )
    manager = ClusterFanoutManager(SimpleNamespace(), json=None)
    seams.check(
        hasattr(manager, "count_deliveries") and isinstance(manager.host_id, str),
        f"python-socketio's AsyncPubSubManager no longer calls super().__init__ all the way "
        f"to FanoutManager (or lost host_id); {CLUSTER}",
    )
    sio = bare_sio(client_manager=FanoutManager())
    seams.check(
        sio.manager.server is sio and sio.eio.sockets is not None,
        f"python-socketio's manager no longer gets .server (with .eio.sockets); {MANAGER}",
    )
    seams.check(
        isinstance(getattr(sio.manager, "rooms", None), dict),
        f"python-socketio moved BaseManager.rooms; {MANAGER} reads rooms[namespace][room]",
    )
    seams.done()


async def test_cluster_manager_hands_local_and_remote_emits_to_fanout_manager(redis_url):
    """AsyncPubSubManager delivers an emit here through super().emit, and one from
    another node (through _publish, _listen and _thread) the same way: both must reach
    FanoutManager.emit (our fast path)."""
    seams = Seams()
    engines = [RedisEngine(redis_url), RedisEngine(redis_url)]
    for engine in engines:
        await engine.start()
    sender, receiver = (
        bare_sio(client_manager=ClusterFanoutManager(e.pubsub, json=wire_json)) for e in engines
    )
    sent, received = [], []
    sender.manager.count_deliveries = sent.append
    receiver.manager.count_deliveries = received.append
    try:
        for sio in (sender, receiver):
            sio.manager.initialize()  # as its first connection would
        watcher = redis.Redis.from_url(redis_url)
        # the listener subscribes in the background: wait until Redis counts it
        channel = f"fh:ps:{names.FANOUT}"
        await eventually(lambda: watcher.pubsub_numsub(channel)[0][1] >= 2)
        watcher.close()
        await sender.emit("probe", {"n": 1}, room="nobody-here")
        seams.check(
            sent == [0],
            f"python-socketio's AsyncPubSubManager.emit no longer hands local delivery to "
            f"super().emit; {CLUSTER}'s ClusterFanoutManager skips the fan-out path",
        )
        with contextlib.suppress(AssertionError):
            await eventually(lambda: received, within=5)
        seams.check(
            received == [0],
            f"python-socketio's AsyncPubSubManager no longer delivers another node's emit "
            f"through _listen, _thread and super().emit; {CLUSTER} skips the fan-out path",
        )
    finally:
        for engine in engines:
            await engine.close()
    seams.done()


# aiohttp ----------------------------------------------------------------------------


async def test_aiohttp_keeps_the_bytes_behind_an_upgrade_request_unparsed():
    """A bare aiohttp app whose handler does what server/fanout/driver.py does: finds
    the bytes a client sent right behind its upgrade request in the protocol's
    _message_tail, writes a 101 with StreamResponse, and writes on the raw transport."""
    seams = Seams()
    seen: dict[str, Any] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        protocol = request.protocol
        seen["protocol"] = protocol
        seen["same_transport"] = getattr(protocol, "transport", MISSING) is request.transport
        seen["upgraded"] = getattr(protocol, "_upgraded", MISSING)
        seen["tail"] = getattr(protocol, "_message_tail", MISSING)
        seen["force_close"] = getattr(protocol, "_force_close", MISSING)
        response = web.StreamResponse(
            status=101, headers={"Upgrade": "x-test", "Connection": "Upgrade"}
        )
        response.force_close()
        await response.prepare(request)
        await response.write_eof()
        request.transport.write(b"after the head")
        request.transport.close()
        return response

    app = web.Application()
    app.router.add_get("/up", handler)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"GET /up HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            b"bytes behind"
        )
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
    finally:
        await runner.cleanup()
    seams.check(
        isinstance(seen.get("protocol"), RequestHandler) and seen.get("same_transport") is True,
        f"aiohttp moved request.protocol (the RequestHandler) or its .transport; {READER} "
        "detaches the protocol from the transport",
    )
    seams.check(
        seen.get("upgraded") is True,
        f"aiohttp moved RequestHandler._upgraded (True for an upgrade request); {DRIVER} "
        "takes over only such a request",
    )
    seams.check(
        seen.get("tail") == b"bytes behind",
        f"aiohttp no longer keeps the bytes behind an upgrade request in "
        f"RequestHandler._message_tail (found {seen.get('tail')!r}); {READER} hands them to "
        "its reader, else they are lost",
    )
    seams.check(
        seen.get("force_close") is False,
        f"aiohttp moved RequestHandler._force_close; {READER} sets it so the request loop "
        "ends without closing the transport",
    )
    head, _, rest = answer.partition(b"\r\n\r\n")
    seams.check(
        head.startswith(b"HTTP/1.1 101 ")
        and b"upgrade: x-test" in head.lower()
        and b"content-length" not in head.lower()
        and b"transfer-encoding" not in head.lower()
        and rest == b"after the head",
        f"aiohttp's StreamResponse(status=101) no longer writes a bare 101 head at prepare() "
        f"and nothing at write_eof() (got {answer!r}); {DRIVER} answers the WebSocket "
        "handshake with it",
    )
    for name in ("transport", "_force_close", "_message_tail", "_upgraded"):
        seams.check(
            name in _slots(RequestHandler),
            f"aiohttp moved RequestHandler.{name}; {READER}'s take_over/_release use it",
        )
    seams.accepts(
        getattr(RequestHandler, "connection_lost", None),
        f"aiohttp changed RequestHandler.connection_lost(exc); {READER}'s _release calls it",
        None,
        None,
    )
    seams.done()


def _slots(cls: type) -> set[str]:
    return {slot for klass in cls.__mro__ for slot in getattr(klass, "__slots__", ())}


# the whole hand-over, on a real Socket.IO server --------------------------------------


@dataclass
class LaneServer:
    sio: socketio.AsyncServer
    runner: web.AppRunner
    url: str
    at_driver: list[dict] = field(default_factory=list)
    at_take_over: list[dict] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)


@contextlib.asynccontextmanager
async def lane_server(monkeypatch, **options: Any):
    """A bare Socket.IO server (long-polling and WebSocket) with lanes installed (no
    fairhall domain) whose driver and take_over note what they were given, then run
    as usual."""
    manager = FanoutManager()
    sio = bare_sio(client_manager=manager, async_handlers=False, **options)
    pinger = install_lanes(sio, 1 << 20, lambda: None)
    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    server = LaneServer(sio, runner, f"http://127.0.0.1:{port}")
    manager.count_deliveries = server.deliveries.append

    @sio.event
    async def connect(sid, environ, auth=None):
        await sio.enter_room(sid, "booth")

    @sio.on("echo")
    async def echo(sid, data):
        return data

    class NotingDriver(sio.eio._async["websocket"]):
        async def __call__(self, environ):
            socket = getattr(self.handler, "__self__", None)
            queue = getattr(socket, "queue", None)
            queued = list(getattr(queue, "_queue", ())) if isinstance(queue, asyncio.Queue) else []
            server.at_driver.append(
                {
                    "type": type(socket),
                    "connected": getattr(socket, "connected", MISSING),
                    "upgraded": getattr(socket, "upgraded", MISSING),
                    "queued": [getattr(p, "packet_type", None) for p in queued],
                    "server": self.server,
                    "request": environ.get("aiohttp.request"),
                }
            )
            response = await super().__call__(environ)
            server.at_driver[-1]["response"] = response
            return response

    sio.eio._async = {**sio.eio._async, "websocket": NotingDriver}
    driver_module = sys.modules[LaneWebSocket.__module__]
    real_take_over = driver_module.take_over

    def noting_take_over(request, reader):
        protocol = getattr(request, "protocol", MISSING)
        seen = {
            "protocol": protocol,
            "force_close": getattr(protocol, "_force_close", MISSING),
            "same_transport": getattr(protocol, "transport", MISSING) is request.transport,
            "reader": reader,
        }
        real_take_over(request, reader)
        seen["after_force_close"] = getattr(protocol, "_force_close", MISSING)
        server.at_take_over.append(seen)

    monkeypatch.setattr(driver_module, "take_over", noting_take_over)
    pinger.start()
    try:
        yield server
    finally:
        await pinger.stop()
        await sio.shutdown()
        await runner.cleanup()


@dataclass
class Member:
    client: socketio.AsyncClient
    probes: list = field(default_factory=list)

    @property
    def sid(self) -> str:
        return self.client.get_sid()


async def connected_members(server: LaneServer, transports: list[str] | None) -> list[Member]:
    members: list[Member] = []
    try:
        for _ in range(2):
            member = Member(socketio.AsyncClient(reconnection=False))
            member.client.on("probe", member.probes.append)
            members.append(member)
            await member.client.connect(server.url, transports=transports, wait_timeout=5)
    except Exception as exc:
        pytest.fail(f"no Socket.IO client could connect ({exc!r}); {SEE_OTHERS}", pytrace=False)
    return members


@pytest.fixture(params=["websocket", "upgrade"])
async def lanes(request, monkeypatch):
    """A lane server with two connected Socket.IO clients in the room "booth": fresh
    WebSockets, or sessions that started on long-polling and upgraded."""
    transports = ["websocket"] if request.param == "websocket" else None  # None: the default
    async with lane_server(monkeypatch) as server:
        members = await connected_members(server, transports)
        with contextlib.suppress(AssertionError):  # checked by the tests
            await eventually(lambda: all(m.client.transport() == "websocket" for m in members))
        server.upgrade = request.param == "upgrade"
        try:
            yield server, members
        finally:
            for member in members:
                await member.client.disconnect()


async def test_engineio_calls_our_driver_for_every_websocket(lanes):
    server, members = lanes
    sio = server.sio
    seams = Seams()
    seams.check(
        len(server.at_driver) == len(members),
        f"python-engineio no longer builds each WebSocket's driver from "
        f"AsyncServer._async['websocket'] (for an upgrade: {server.upgrade}); {INSTALL} "
        f"installs {DRIVER}'s there",
    )
    for seen in server.at_driver:
        seams.check(
            seen["type"] is TimedSocket,
            f"python-engineio's driver handler is no longer a bound method of the socket its "
            f"connect handler got (found {seen['type']}); {DRIVER} finds the socket through "
            f"handler.__self__, {INSTALL}'s connect handler made it a TimedSocket",
        )
        seams.check(
            seen["server"] is sio.eio,
            f"python-engineio no longer passes its server to the driver; {DRIVER}",
        )
        if server.upgrade:
            seams.check(
                seen["connected"] is True and seen["upgraded"] is False,
                f"python-engineio no longer calls the driver for an upgrade with a connected, "
                f"not yet upgraded socket (connected={seen['connected']}, upgraded="
                f"{seen['upgraded']}); {DRIVER} tells an upgrade by that",
            )
        else:
            seams.check(
                seen["connected"] is False and seen["queued"] == [eio_packet.OPEN],
                f"python-engineio no longer calls the driver with an unconnected socket whose "
                f"asyncio.Queue holds the OPEN packet (connected={seen['connected']}, "
                f"queued={seen['queued']}); {DRIVER} tells a fresh WebSocket by that and moves "
                "the OPEN packet to the lane",
            )
        seams.check(
            isinstance(seen["request"], web.BaseRequest),
            f"python-engineio moved environ['aiohttp.request']; {DRIVER} answers the "
            "handshake on it",
        )
        seams.check(
            getattr(seen.get("response"), "status", None) == 101,
            f"python-engineio no longer answers the request with what the driver returns; "
            f"{DRIVER} returns its 101 response",
        )
    for socket in list(sio.eio.sockets.values()):
        seams.check(
            type(socket) is LaneSocket and socket.queue is NO_QUEUE,
            f"{SOCKETS} no longer swaps the socket's class and queue",
        )
        seams.check(
            sio.eio.transport(socket.sid) == "websocket",
            f"python-engineio no longer reads AsyncSocket.upgraded; {SOCKETS} sets it",
        )
    seams.check(
        len(sio.eio.sockets) == len(members),
        f"python-engineio dropped a socket when the driver returned; {READER} keeps it in "
        "AsyncServer.sockets until the connection ends",
    )
    seams.check(
        getattr(sio.eio, "service_task_handle", MISSING) is None,
        f"python-engineio started its service task although {INSTALL} cleared "
        "start_service_task (or moved service_task_handle)",
    )
    seams.done()


async def test_aiohttp_lets_take_over_move_the_connection(lanes):
    server, members = lanes
    seams = Seams()
    seams.check(server.at_take_over, f"{DRIVER} never called {READER}'s take_over")
    for seen in server.at_take_over:
        seams.check(
            isinstance(seen["protocol"], RequestHandler) and seen["same_transport"],
            f"aiohttp moved request.protocol or its .transport; {READER}",
        )
        seams.check(
            seen["force_close"] is False and seen["after_force_close"] is True,
            f"aiohttp moved RequestHandler._force_close; {READER} sets it",
        )
    if seams.broken:  # what follows would only repeat the consequences
        seams.done()
    readers = [seen["reader"] for seen in server.at_take_over]
    seams.check(
        all(
            isinstance(reader, WebSocketIn) and reader.lane.transport.get_protocol() is reader
            for reader in readers
        ),
        f"the transport did not move to {READER}'s WebSocketIn",
    )
    # _release: aiohttp forgets the connection without closing our transport
    protocols = {seen["protocol"] for seen in server.at_take_over}

    def released() -> bool:
        return not protocols & set(server.runner.server.connections)

    with contextlib.suppress(AssertionError):
        await eventually(released)
    seams.check(
        released(),
        f"aiohttp's RequestHandler.connection_lost no longer removes the connection from "
        f"the server; {READER}'s _release relies on it",
    )
    seams.check(
        all(getattr(p, "transport", None) is None for p in protocols)
        and not any(reader.lane.transport.is_closing() for reader in readers),
        f"aiohttp closed a handed-over transport (RequestHandler.transport, _force_close or "
        f"connection_lost changed); {READER}",
    )
    # both ways still work: an ack comes back through our reader and the lane
    reply = await members[0].client.call("echo", {"n": 1}, timeout=5)
    seams.check(reply == {"n": 1}, f"no ack through {READER} and the lane")
    # the end of a connection: engine.io's socket is closed and forgotten
    sio = server.sio
    eio_sid = sio.manager.eio_sid_from_sid(members[1].sid, "/")
    await members[1].client.disconnect()
    with contextlib.suppress(AssertionError):
        await eventually(lambda: eio_sid not in sio.eio.sockets)
    seams.check(
        eio_sid not in sio.eio.sockets,
        f"a closed connection stays in python-engineio's AsyncServer.sockets; {READER} "
        "removes it through socket.server.sockets",
    )
    seams.done()


async def test_socketio_rooms_as_fanout_manager_reads_them(lanes):
    server, members = lanes
    sio = server.sio
    seams = Seams()
    sids = {m.sid: sio.manager.eio_sid_from_sid(m.sid, "/") for m in members}
    rooms = sio.manager.rooms.get("/", {})
    booth = rooms.get("booth")
    seams.check(
        isinstance(booth, bidict),
        f"python-socketio's rooms[namespace][room] is no longer a bidict; {MANAGER} reads "
        "its _fwdm",
    )
    members_map = getattr(booth, "_fwdm", MISSING)
    seams.check(
        members_map == sids and all(eio in sio.eio.sockets for eio in sids.values()),
        f"python-socketio's rooms[namespace][room]._fwdm is no longer sid -> eio_sid "
        f"(engine.io's sid); {MANAGER} reads members and their sockets from it",
    )
    everyone = rooms.get(None)
    seams.check(
        everyone is not None and set(sids) <= set(everyone._fwdm),
        f"python-socketio's rooms[namespace][None] no longer holds every socket; {MANAGER} "
        "broadcasts to a namespace from it",
    )
    seams.check(
        all(rooms.get(sid) is not None and sid in rooms[sid]._fwdm for sid in sids),
        f"python-socketio no longer puts each sid in a room of its own; {MANAGER} sends "
        "to=sid through it",
    )
    await sio.emit("probe", {"n": 1}, room="booth")
    seams.check(
        server.deliveries == [len(members)],
        f"AsyncServer.emit did not reach {MANAGER}'s fast path (deliveries: {server.deliveries})",
    )
    # the slow path sends an engine.io packet through python-socketio's private sender
    await sio._send_eio_packet(
        sids[members[0].sid], eio_packet.Packet(eio_packet.MESSAGE, '2["probe",{"n":2}]')
    )
    with contextlib.suppress(AssertionError):
        await eventually(lambda: len(members[0].probes) == 2 and members[1].probes)
    seams.check(
        all({"n": 1} in m.probes for m in members),
        f"a broadcast on {MANAGER}'s fast path did not arrive",
    )
    seams.check(
        {"n": 2} in members[0].probes,
        f"python-socketio's AsyncServer._send_eio_packet did not deliver; {MANAGER}'s slow "
        "path uses it",
    )
    seams.done()


async def test_engineio_heartbeat_hooks_around_the_pinger(monkeypatch):
    """engine.io calls the connect handler with the OPEN packet queued (install's hook
    states the heartbeat in milliseconds there), then schedule_ping (the Pinger starts
    the socket's heartbeat); the Pinger's PINGs arrive on time; engine.io's own
    timeout check stays silent."""
    seams = Seams()
    async with lane_server(monkeypatch, ping_interval=0.5, ping_timeout=5) as server:
        eio = server.sio.eio
        try:
            ws = await RawWebSocket.open(SimpleNamespace(base_url=server.url))
            ws.send_text("40")
            await ws.text_starting("40")
        except (AssertionError, OSError, TimeoutError) as exc:
            pytest.fail(f"a raw WebSocket could not connect ({exc!r}); {SEE_OTHERS}", pytrace=False)
        try:
            seams.check(
                ws.open_packet.get("pingInterval") == 500
                and ws.open_packet.get("pingTimeout") == 5000,
                f"python-engineio's OPEN packet is no longer queued before the connect handler "
                f"runs, or no longer a dict with pingInterval/pingTimeout (got "
                f"{ws.open_packet}); {SOCKETS}'s adopt states the heartbeat there",
            )
            socket = next(iter(eio.sockets.values()))
            seams.check(
                socket.beat is not None and socket.last_ping is None,
                f"python-engineio no longer calls schedule_ping once a connection is accepted; "
                f"{SOCKETS}' TimedSocket starts the socket's heartbeat in {PINGER} there",
            )
            started = time.monotonic()
            await _next_ping(ws)
            seams.check(
                0.4 <= time.monotonic() - started <= 2.0 and socket.pong_by is not None,
                f"{PINGER} did not ping one interval after the connect",
            )
            ws.send_text("3")  # PONG
            with contextlib.suppress(AssertionError):
                await eventually(lambda: socket.pong_by is None)
            seams.check(socket.pong_by is None, f"a PONG did not reach {PINGER}")
            alive = await socket.check_ping_timeout()
            seams.check(
                alive is True and not socket.closed,
                f"python-engineio's AsyncSocket.check_ping_timeout closed a socket {PINGER} "
                "keeps alive",
            )
        finally:
            ws.writer.close()
    seams.done()


async def _next_ping(ws: RawWebSocket) -> None:
    while (await ws.frame(within=5)) != (TEXT, b"2"):
        pass
