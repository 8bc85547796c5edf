"""Settings: defaults < config file (TOML or JSON) < FAIRHALL_* environment < CLI flags."""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from rooms.context import Limits
from rooms.ice import IceConfig

ENV_PREFIX = "FAIRHALL_"
Positive = Annotated[float, Meta(gt=0)]
Capacity = Annotated[int, Meta(ge=2, le=64)]
StunUrl = Annotated[str, Meta(pattern=r"^stuns?:[^\s]{1,500}$")]
TurnUrl = Annotated[str, Meta(pattern=r"^turns?:[^\s]{1,500}$")]
MediaFeed = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,64}=\S{1,1000}$")]
LIST_FIELDS = {
    "cors_origins",
    "trusted_proxies",
    "stun_urls",
    "turn_urls",
    "visit_media",
    "media_host_addresses",
}  # comma-separated in the environment


class Settings(Struct, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65535)] = 8080
    redis: str | None = None  # redis://host:port/db; None = embedded memory engine
    demo: bool = True  # seed the demo mission on start
    public_url: str | None = None  # base of invite links; default http://host:port
    secret: str | None = None  # signs session tokens; shared by all nodes of a cluster
    admin_key: str | None = None  # creates events over HTTP; derived from secret when unset
    token_ttl_hours: Positive = 24 * 7
    cors_origins: list[str] = []  # cross-origin browsers allowed to connect (same-origin always)
    # reverse proxies (IPs or networks such as 10.0.0.0/8) whose X-Forwarded-For is
    # believed; from anyone else the header is ignored, or clients could pick any address
    trusted_proxies: list[str] = []
    # limits
    chat_max_length: Annotated[int, Meta(ge=1, le=20_000)] = 2000
    chat_rate_count: Annotated[int, Meta(ge=0)] = 10
    chat_rate_window: Positive = 10.0
    history_page_max: Annotated[int, Meta(ge=1, le=1000)] = 100
    history_max_len: Annotated[int, Meta(ge=10)] = 10_000
    mute_max_minutes: Annotated[int, Meta(ge=1)] = 7 * 24 * 60
    presence_interval: Annotated[float, Meta(ge=0)] = 1.0  # coalesce presence notices per scope
    presence_detail_limit: Annotated[int, Meta(ge=0)] = 1000  # bigger scopes get counts only
    events_per_second: Positive = 30.0  # per socket, all events; bursts up to 2x
    # one person's sockets (tabs, devices), all nodes together; a newer one closes the
    # oldest, so nobody is locked out by connections the server has not seen drop yet
    max_sockets_per_person: Annotated[int, Meta(ge=1, le=1000)] = 10
    # registrations (POST /api/join) per client address and per invite in a window;
    # 0 switches one off. An address counts every try, an invite only those it accepts.
    join_address_rate_count: Annotated[int, Meta(ge=0)] = 20
    join_invite_rate_count: Annotated[int, Meta(ge=0)] = 600
    join_rate_window: Positive = 600.0
    max_message_bytes: Annotated[int, Meta(ge=1024)] = 256 * 1024  # transport limit per frame
    max_send_buffer: Annotated[int, Meta(ge=64 * 1024)] = (
        4 * 1024 * 1024
    )  # unread bytes before a slow reader is dropped
    # video calls (browsers connect peer to peer; the server only signals)
    call_booth_capacity: Capacity = 4  # people in one booth's call, staff included
    call_group_capacity: Capacity = 6  # default capacity of a group room
    call_max_capacity: Capacity = 8  # most a group room or a meeting may hold
    stun_urls: list[StunUrl] = []  # e.g. ["stun:stun.example.org:3478"]; none offline
    turn_urls: list[TurnUrl] = []  # e.g. ["turn:turn.example.org:3478?transport=udp"]
    turn_secret: str | None = None  # coturn's static-auth-secret (use-auth-secret)
    turn_ttl: Positive = 6 * 3600  # seconds a TURN credential handed to a browser is valid
    # site visits: the media hub (aiortc) on this node
    visit_viewer_cap: Annotated[int, Meta(ge=0)] = 400  # video viewers, all visits together
    # seconds a guide whose connection dropped has to publish again; then the visit ends
    visit_guide_grace: Positive = 60.0
    # webinars: a reminder push to each registered person this many seconds before the
    # start (every node looks at the schedule every webinar_reminder_interval seconds;
    # one of them sends it); the hand queue goes to moderators at most once per
    # webinar_hands_interval seconds
    webinar_reminder_lead: Positive = 300.0
    webinar_reminder_interval: Positive = 10.0
    webinar_hands_interval: Annotated[float, Meta(ge=0)] = 0.5
    # webinars: questions, polls and reactions
    qa_rate_count: Annotated[int, Meta(ge=0)] = 5
    qa_rate_window: Positive = 60.0
    qa_max_questions: Annotated[int, Meta(ge=1)] = 2000
    poll_max_polls: Annotated[int, Meta(ge=1)] = 100
    reaction_rate_count: Annotated[int, Meta(ge=0)] = 5
    reaction_rate_window: Positive = 1.0
    engage_push_interval: Annotated[float, Meta(ge=0.05, le=60)] = 1.0
    # seconds a chat:send client_id is remembered: a retry within it is answered with
    # the message stored the first time, never stored again
    chat_client_id_window: Positive = 600.0
    visit_media: list[
        MediaFeed
    ] = []  # feeds hosts may stream: "name=rtsp://..." or "name=/path.ts"
    media_host_addresses: list[str] = []  # ICE host addresses of the hub; [] = every local one
    media_port_min: Annotated[int, Meta(ge=0, le=65535)] = 0  # UDP ports of the hub (0 = any)
    media_port_max: Annotated[int, Meta(ge=0, le=65535)] = 0
    # the hub's address as browsers see it, when 1:1 NAT or a container's published UDP
    # range stands between (the ports must map unchanged); None = the bound addresses
    media_public_address: str | None = None
    # cluster
    heartbeat_interval: Positive = 5.0
    # how often each node tells the others the number of its last emit, so a missed
    # one is noticed (and the clients told to resync) within this many seconds
    fanout_tick_interval: Positive = 1.0
    node_timeout: Positive = 15.0
    # Redis connections per node for requests; past them a command waits (up to
    # redis_wait_seconds) for a free one, so a burst of arrivals queues, then the request
    # is answered `unavailable` (clients retry with backoff). The heartbeat and the
    # cleanups have connections of their own and never wait behind requests.
    redis_max_connections: Annotated[int, Meta(ge=2, le=10_000)] = 64
    redis_wait_seconds: Positive = 2.0
    redis_command_timeout: Positive = 2.0  # no answer within this: Redis is out of reach
    # the transport: Engine.IO heartbeat (seconds, fractions allowed): a PING every
    # ping_interval; no PONG within ping_timeout of it closes the session
    ping_interval: Positive = 25.0
    ping_timeout: Positive = 20.0
    # accept HTTP long-polling, then upgrade to WebSocket (what socket.io-client and
    # python-socketio do by default, and the way in for a browser without WebSocket);
    # with several nodes it needs sticky routing (docs/operations.md). False: WebSocket only
    long_polling: bool = True
    log_level: str = "info"
    # the browser client (index.html, js/, i18n/, node_modules/ from `npm ci`); None =
    # the static/ folder of this checkout, which a non-editable install does not carry
    static_dir: str | None = None

    def __post_init__(self) -> None:
        if self.turn_urls and not self.turn_secret:
            raise ValueError("turn_urls need turn_secret (coturn's static-auth-secret)")
        if (self.media_port_min == 0) != (self.media_port_max == 0) or (
            self.media_port_max < self.media_port_min
        ):
            raise ValueError("media_port_min and media_port_max form a range (both or neither)")
        if self.media_public_address is not None:
            try:  # an ICE candidate carries an IP address, never a host name
                ipaddress.ip_address(self.media_public_address)
            except ValueError:
                raise ValueError("media_public_address must be an IP address") from None
        if self.call_group_capacity > self.call_max_capacity:
            raise ValueError("call_group_capacity is larger than call_max_capacity")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {proxy!r} is not an IP address or network"
                ) from None

    def limits(self) -> Limits:
        return Limits(
            chat_max_length=self.chat_max_length,
            chat_rate_count=self.chat_rate_count,
            chat_rate_window=self.chat_rate_window,
            history_page_max=self.history_page_max,
            history_max_len=self.history_max_len,
            mute_max_minutes=self.mute_max_minutes,
            call_booth_capacity=self.call_booth_capacity,
            call_group_capacity=self.call_group_capacity,
            call_max_capacity=self.call_max_capacity,
            presence_interval=self.presence_interval,
            presence_detail_limit=self.presence_detail_limit,
            max_sockets_per_person=self.max_sockets_per_person,
            join_address_rate_count=self.join_address_rate_count,
            join_invite_rate_count=self.join_invite_rate_count,
            join_rate_window=self.join_rate_window,
            visit_guide_grace=self.visit_guide_grace,
            webinar_reminder_lead=self.webinar_reminder_lead,
            webinar_reminder_interval=self.webinar_reminder_interval,
            webinar_hands_interval=self.webinar_hands_interval,
            qa_rate_count=self.qa_rate_count,
            qa_rate_window=self.qa_rate_window,
            qa_max_questions=self.qa_max_questions,
            poll_max_polls=self.poll_max_polls,
            reaction_rate_count=self.reaction_rate_count,
            reaction_rate_window=self.reaction_rate_window,
            engage_push_interval=self.engage_push_interval,
            chat_client_id_window=self.chat_client_id_window,
        )

    def ice(self) -> IceConfig:
        return IceConfig(
            stun_urls=tuple(self.stun_urls),
            turn_urls=tuple(self.turn_urls),
            turn_secret=self.turn_secret,
            turn_ttl=self.turn_ttl,
        )

    def media_feeds(self) -> dict[str, str]:
        return dict(feed.split("=", 1) for feed in self.visit_media)

    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


class ConfigError(Exception):
    pass


def _read_file(path: str) -> dict[str, Any]:
    text = Path(path).read_text()
    data = tomllib.loads(text) if path.endswith(".toml") else json.loads(text)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a table of settings")
    return data


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in Settings.__struct_fields__:
        raw = environ.get(ENV_PREFIX + field.upper())
        if raw is None:
            continue
        values[field] = [v for v in raw.split(",") if v] if field in LIST_FIELDS else raw
    if environ.get(ENV_PREFIX + "NO_DEMO", "").lower() in ("1", "true", "yes"):
        values["demo"] = False
    return values


def load_settings(
    overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Merge every source; ``overrides`` are the CLI flags that were given."""
    environ = dict(os.environ if environ is None else environ)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    config_path = overrides.pop("config", None) or environ.get(ENV_PREFIX + "CONFIG")
    merged: dict[str, Any] = _read_file(config_path) if config_path else {}
    merged.update(_from_env(environ))
    merged.update(overrides)
    try:
        # strict=False lets "8080" from the environment become an int
        return msgspec.convert(merged, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"bad setting: {exc}") from None
