"""Real processes of a deployment: Debian's nginx running deploy/nginx/fairhall.conf and
Debian's coturn running deploy/coturn/turnserver.conf, each rendered into a temporary
directory with free ports, in the foreground, and stopped by the test.

Rendering changes only what is specific to a machine (addresses, ports, secret) and
checks that every line it changes is there exactly once, so the files under deploy/
and what the tests run cannot drift apart silently.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import secrets
import socket
import struct
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from browser_fixture import _missing
from harness import Client, free_port
from node_process import NodeProcess

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NGINX = "/usr/sbin/nginx"
TURNSERVER = "/usr/bin/turnserver"
START_TIMEOUT = 15.0


def require(path: str, package: str) -> str:
    """Debian's binary, or skip (fail under CI=true, where .ci/run installs it)."""
    if not Path(path).is_file():
        _missing(f"{path} is missing: apt-get install {package}")
    return path


def _substitute(text: str, pattern: str, replacement: Any, count: int) -> str:
    text, found = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert found == count, f"expected {count} x {pattern!r} in the deploy file, found {found}"
    return text


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# nginx ----------------------------------------------------------------------------------
def render_nginx(upstreams: Sequence[str], port: int) -> str:
    """deploy/nginx/fairhall.conf for two upstream addresses and a local port. Debian's
    nginx (1.22) has no `resolve`: it and the Docker resolver go, as deploy/README.md
    says for a plain host."""
    assert len(upstreams) == 2
    text = (DEPLOY / "nginx" / "fairhall.conf").read_text()
    text = _substitute(text, r"^resolver .*;\n", "", 1)
    text = _substitute(
        text,
        r"^(\s+)server fairhall([12]):8080 resolve ",
        lambda m: f"{m[1]}server {upstreams[int(m[2]) - 1]} ",
        4,  # two upstream blocks of two nodes
    )
    return _substitute(text, r"^    listen 80;$", f"    listen 127.0.0.1:{port};", 1)


def _nginx_main(directory: Path) -> str:
    """The main file around the conf.d one: everything in ``directory``."""
    temp = "\n".join(
        f"    {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""  # else workers become nobody
    return f"""{user}daemon off;
worker_processes 1;
pid {directory / "nginx.pid"};
error_log stderr notice;
events {{ worker_connections 1024; }}
http {{
    access_log {directory / "access.log"};
{temp}
    include {directory / "fairhall.conf"};
}}
"""


@dataclass
class Nginx:
    process: subprocess.Popen
    port: int
    directory: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return (self.directory / "nginx.log").read_text(errors="replace")

    def stop(self) -> None:
        _stop(self.process)  # SIGTERM: nginx's fast shutdown


def _wait_tcp(port: int, process: subprocess.Popen, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def start_nginx(directory: Path, upstreams: Sequence[str]) -> Nginx:
    """Debian's nginx in the foreground with the rendered config, on a free port."""
    require(NGINX, "nginx")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "nginx.conf").write_text(_nginx_main(directory))
    command = [NGINX, "-p", str(directory), "-c", str(directory / "nginx.conf"), "-e", "stderr"]
    for _ in range(3):  # the port may be taken between probing and binding
        port = free_port()
        (directory / "fairhall.conf").write_text(render_nginx(upstreams, port))
        with open(directory / "nginx.log", "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        nginx = Nginx(process, port, directory)
        if _wait_tcp(port, process, START_TIMEOUT):
            return nginx
        _stop(process)
        if "Address already in use" not in nginx.log():
            break
    raise RuntimeError(f"nginx did not start:\n{nginx.log()}")


# coturn ---------------------------------------------------------------------------------
@dataclass
class Turn:
    process: subprocess.Popen
    port: int
    secret: str
    directory: Path

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def log(self) -> str:
        return (self.directory / "turnserver.log").read_text(errors="replace")

    def stop(self) -> None:
        _stop(self.process)


def render_turnserver(directory: Path, port: int, relay_ports: range, secret: str) -> str:
    """deploy/coturn/turnserver.conf on 127.0.0.1. In a loopback-only network both
    browsers' relayed addresses are 127.0.0.1, so peers on loopback must be allowed
    here: the one rule this changes (production keeps denying them)."""
    text = (DEPLOY / "coturn" / "turnserver.conf").read_text()
    for key, value in {
        "static-auth-secret": secret,
        "realm": "fairhall.test",
        "listening-port": port,
        "min-port": relay_ports.start,
        "max-port": relay_ports.stop - 1,
    }.items():
        text = _substitute(text, rf"^{key}=.*$", f"{key}={value}", 1)
    text = _substitute(text, r"^denied-peer-ip=127\.0\.0\.0-127\.255\.255\.255\n", "", 1)
    return text + "\n".join(
        (
            "# tests/deploy: loopback only, files in the test's directory",
            "listening-ip=127.0.0.1",
            "relay-ip=127.0.0.1",
            "allow-loopback-peers",
            "no-tls",
            "no-dtls",
            f"pidfile={directory / 'turnserver.pid'}",
            f"userdb={directory / 'turndb'}",
            "",
        )
    )


def stun_answers(port: int, timeout: float = 0.5) -> bool:
    """Whether a STUN Binding request to 127.0.0.1:port gets a success response."""
    transaction = secrets.token_bytes(12)
    request = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(request, ("127.0.0.1", port))
        try:
            reply = sock.recv(2048)
        except OSError:
            return False
    return reply[:2] == b"\x01\x01" and reply[8:20] == transaction


def start_turnserver(directory: Path) -> Turn:
    """Debian's coturn (turnserver) with use-auth-secret on free ports of 127.0.0.1."""
    require(TURNSERVER, "coturn")
    directory.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(16)
    for _ in range(3):
        port = free_port()
        # below Linux's ephemeral range, where Chromium and the nodes pick their ports
        base = random.randrange(20000, 29000, 100)
        conf = directory / "turnserver.conf"
        conf.write_text(render_turnserver(directory, port, range(base, base + 100), secret))
        with open(directory / "turnserver.log", "wb") as log:
            process = subprocess.Popen(
                [TURNSERVER, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
            )
        turn = Turn(process, port, secret, directory)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            if stun_answers(port):
                return turn
        _stop(process)
    raise RuntimeError(f"turnserver did not answer STUN:\n{turn.log()}")


# fairhall nodes -------------------------------------------------------------------------
def start_nodes(log_dir: Path, count: int, **env: str) -> list[NodeProcess]:
    """``count`` node processes on one Redis (FAIRHALL_REDIS in ``env``), started
    together, returned once every one is ready."""
    env = {"FAIRHALL_SECRET": secrets.token_urlsafe(16), **env}
    nodes = [NodeProcess(log_dir, **env) for _ in range(count)]
    try:
        return [node.wait_ready() for node in nodes]
    except BaseException:
        stop_all(nodes)
        raise


def stop_all(processes: Iterable[NodeProcess | Nginx | Turn]) -> None:
    for process in processes:
        process.stop()


async def node_connections(http: aiohttp.ClientSession, node: NodeProcess) -> int:
    """Open Socket.IO connections on one node, read from its /metrics."""
    async with http.get(node.base_url + "/metrics") as resp:
        text = await resp.text()
    (value,) = re.findall(r"^fairhall_connections (\S+)$", text, flags=re.MULTILINE)
    return int(float(value))


async def register(http: aiohttp.ClientSession, base_url: str, code: str, name: str) -> dict:
    """Join by invite over HTTP; returns {token, person}."""
    form = {"code": code, "name": name, "company": f"{name} GmbH", "country": "DE"}
    form |= {"sector": "Logistics", "language": "en"}
    async with http.post(base_url + "/api/join", json=form) as resp:
        data = await resp.json()
        assert resp.status == 201, data
        return data


class ClientFrom(Client):
    """A harness Client whose connections leave from ``source`` (an address on lo), so
    that nginx sees different clients; ``transports`` as socket.io-client names them."""

    def __init__(
        self, base_url: str, token: str, source: str, transports: Sequence[str] = ("websocket",)
    ) -> None:
        super().__init__(base_url, token)
        self.transports = list(transports)
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(source, 0), force_close=False)
        )
        self.sio = socketio.AsyncClient(reconnection=False, http_session=self.http)
        self.sio.on("*", self._record)
        self.sio.on("connect_error", self._refused)

    async def connect(self, auth: Any = ...) -> None:
        auth = {"token": self.token} if auth is ... else auth
        await self.sio.connect(
            self.base_url, auth=auth, transports=self.transports, wait_timeout=10
        )

    async def close(self) -> None:
        await super().close()
        await self.http.close()


async def connections_change(
    http: aiohttp.ClientSession, nodes: Sequence[NodeProcess], before: list[int]
) -> int:
    """Index of the node whose connection count rose above ``before``."""

    async def risen() -> int | None:
        now = await asyncio.gather(*(node_connections(http, n) for n in nodes))
        grown = [i for i, (a, b) in enumerate(zip(now, before, strict=True)) if a > b]
        return grown[0] if grown else None

    deadline = time.monotonic() + 10
    while (index := await risen()) is None:
        assert time.monotonic() < deadline, "no node counted the new connection"
        await asyncio.sleep(0.05)
    return index
