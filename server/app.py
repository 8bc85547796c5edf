"""Builds one fairhall node: engine, Socket.IO server, domain, HTTP routes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
from pathlib import Path

import socketio
from aiohttp import web

from rooms.engine import Engine
from rooms.fair import Fair
from server import wire_json
from server.auth import Tokens
from server.config import ConfigError, Settings
from server.demo import seed_demo
from server.engines.memory import MemoryEngine
from server.fanout.install import install_lanes
from server.gateway import Gateway
from server.http_api import HttpApi, errors_as_json
from server.http_webinar_exports import WebinarExports
from server.http_webinars import WebinarHttp
from server.managers import make_manager
from server.metrics import METRICS, Metrics
from server.outbox import SocketIOOutbox
from server.security import secure_headers
from server.socket_server import ClosedSocketServer
from server.static_routes import static_routes

log = logging.getLogger(__name__)
STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"  # of a checkout


def static_root(settings: Settings) -> Path:
    """Where the browser client is; a missing one stops the start with a clear error."""
    root = Path(settings.static_dir) if settings.static_dir else STATIC_ROOT
    if not (root / "index.html").is_file():
        raise ConfigError(
            f"no browser client in {root}: point static_dir (FAIRHALL_STATIC_DIR) at a "
            "copy of static/ (a non-editable install does not carry it)"
        )
    return root


SETTINGS = web.AppKey("settings", Settings)
FAIR = web.AppKey("fair", Fair)
SIO = web.AppKey("sio", socketio.AsyncServer)
ADMIN_KEY = web.AppKey("admin_key", str)
DEMO_INVITES = web.AppKey("demo_invites", dict)
REAPER = web.AppKey("reaper", asyncio.Task)


def make_engine(settings: Settings) -> Engine:
    if settings.redis:
        from server.engines.redis import RedisEngine

        return RedisEngine(
            settings.redis,
            heartbeat_interval=settings.heartbeat_interval,
            node_timeout=settings.node_timeout,
            max_connections=settings.redis_max_connections,
            wait_seconds=settings.redis_wait_seconds,
            command_timeout=settings.redis_command_timeout,
        )
    return MemoryEngine()


def make_media(settings: Settings, engine: Engine):
    """The site visits' media hub (aiortc, imported only here)."""
    from rooms.media.net import MediaNet, configure
    from rooms.media.router import MediaRouter

    configure(
        MediaNet(
            host_addresses=tuple(settings.media_host_addresses),
            port_min=settings.media_port_min,
            port_max=settings.media_port_max,
            public_address=settings.media_public_address,
        )
    )
    return MediaRouter(engine, settings.media_feeds(), settings.visit_viewer_cap, settings.ice())


async def shared_secret(settings: Settings, engine: Engine) -> str:
    """The configured secret, else one stored in the engine on first start, so all
    nodes on one Redis agree without configuration."""
    if settings.secret:
        return settings.secret
    await engine.docs.put_new("server", "secret", secrets.token_urlsafe(32).encode())
    return (await engine.docs.get("server", "secret")).decode()


async def _reap_until(stop: asyncio.Event, fair: Fair, metrics: Metrics, interval: float) -> None:
    # Stopped by an event, not cancel(): on Python 3.11 redis-py's wait_for can
    # swallow a cancellation mid-command and leave the task running (gh-86296).
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
            return
        try:
            metrics.reaped.inc(await fair.presence.reap())
        except Exception:
            log.exception("reaping dead nodes failed")


async def build_app(settings: Settings) -> web.Application:
    metrics = Metrics()
    engine = make_engine(settings)
    await engine.start()
    sio = ClosedSocketServer(
        async_mode="aiohttp",
        client_manager=make_manager(
            engine, bool(settings.redis), metrics, settings.fanout_tick_interval
        ),
        json=wire_json,
        async_handlers=False,  # one socket's events are handled in the order sent
        cors_allowed_origins=settings.cors_origins or None,  # None: same origin only
        max_http_buffer_size=settings.max_message_bytes,
        ping_interval=settings.ping_interval,
        ping_timeout=settings.ping_timeout,
        # long-polling first, then the upgrade (several nodes: sticky routing for it)
        transports=["polling", "websocket"] if settings.long_polling else ["websocket"],
    )
    pinger = install_lanes(sio, settings.max_send_buffer, metrics.slow_consumers.inc)
    outbox = SocketIOOutbox(sio, engine)
    media = make_media(settings, engine)
    metrics.visit_viewers.set_function(media.viewers)
    metrics.visit_hubs.set_function(lambda: len(media.hubs))
    fair = Fair(engine, outbox, settings.limits(), ice=settings.ice(), media=media)
    secret = await shared_secret(settings, engine)
    tokens = Tokens(secret, settings.token_ttl_hours * 3600)
    admin_key = (
        settings.admin_key or hmac.new(secret.encode(), b"admin", hashlib.sha256).hexdigest()[:32]
    )
    gateway = Gateway(sio, fair, tokens, metrics, settings.events_per_second)
    await gateway.start()
    await outbox.start()
    await media.start()

    app = web.Application(middlewares=[errors_as_json], client_max_size=settings.max_message_bytes)
    secure_headers(app)  # CSP, nosniff, frame and referrer policy, no version in Server
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[FAIR] = fair
    app[SIO] = sio
    app[ADMIN_KEY] = admin_key
    api = HttpApi(fair, tokens, admin_key, settings.base_url(), settings.trusted_proxies)
    app.add_routes(api.routes())
    app.add_routes(WebinarHttp(api).routes())
    app.add_routes(WebinarExports(api).routes())
    sio.attach(app)
    app.add_routes(static_routes(static_root(settings)))
    app[DEMO_INVITES] = await seed_demo(fair, secret.encode()) if settings.demo else {}

    stop_reaper = asyncio.Event()

    async def start_background(app: web.Application) -> None:
        reaping = _reap_until(stop_reaper, fair, metrics, settings.heartbeat_interval)
        app[REAPER] = asyncio.create_task(reaping)
        pinger.start()
        await fair.webinars.start()  # role changes from other nodes; reminders

    async def stop(app: web.Application) -> None:
        stop_reaper.set()
        await app[REAPER]
        await fair.webinars.close()
        await pinger.stop()
        await media.shutdown()  # every video connection of this node's visit hubs
        await sio.shutdown()  # disconnect handlers update presence while the engine is up
        await fair.presence.close()  # other nodes hear who left with this one
        await engine.close()

    app.on_startup.append(start_background)
    app.on_shutdown.append(stop)
    return app
