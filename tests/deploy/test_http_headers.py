"""A node's HTTP hardening: security headers on every response (pages, static files,
the API, errors, the Socket.IO handshake), a Server header without versions, and only
the browser client's own files under /static/."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from multidict import CIMultiDict

from .headers import check_security_headers, check_server_header

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"

RESPONSES = {
    "/": 200,
    "/join/some-invite": 200,
    "/static/js/main.js": 200,
    "/static/css/base.css": 200,
    "/static/i18n/en.json": 200,
    "/vendor/socket.io.esm.min.js": 200,
    "/api/errors/en": 200,
    "/healthz": 200,
    "/api/me": 401,
    "/api/nothing-here": 404,
    "/static/package.json": 404,
    "/socket.io/?EIO=3&transport=websocket": 400,  # an Engine.IO version we do not speak
}


async def raw_request(port: int, request: bytes) -> tuple[int, CIMultiDict]:
    """Send bytes as they are; the status and headers of the reply."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    finally:
        writer.close()
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = CIMultiDict(line.split(": ", 1) for line in lines if line)
    return int(status_line.split()[1]), headers


def port_of(node) -> int:
    return int(node.base_url.rsplit(":", 1)[1])


async def test_every_kind_of_response_carries_the_headers(node):
    host = node.base_url.removeprefix("http://")
    for path, status in RESPONSES.items():
        async with node.http.get(node.base_url + path) as resp:
            assert resp.status == status, path
            check_security_headers(resp.headers, host, path)
            check_server_header(resp.headers, "fairhall", path)


async def test_the_websocket_handshake_carries_them_too(node):
    status, headers = await raw_request(
        port_of(node),
        b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    assert status == 101
    check_security_headers(headers, "127.0.0.1", "websocket handshake")
    check_server_header(headers, "fairhall", "websocket handshake")


async def test_a_malformed_request_gets_no_version_either(node):
    """aiohttp answers these itself, before any app hook runs."""
    status, headers = await raw_request(port_of(node), b"NOT HTTP AT ALL\r\n\r\n")
    assert status == 400
    check_server_header(headers, "fairhall", "malformed request")


@pytest.mark.parametrize("host", ["evil.example; script-src *", "a'b", "x y:80", "h:port"])
async def test_a_forged_host_is_not_copied_into_the_policy(node, host):
    async with node.http.get(node.base_url + "/", headers={"Host": host}) as resp:
        policy = resp.headers["Content-Security-Policy"]
    assert "connect-src 'self'" in policy and "ws:" not in policy
    assert policy.count("script-src") == 1


@pytest.mark.parametrize(
    "path",
    [
        "/static/package.json",
        "/static/package-lock.json",
        "/static/node_modules/socket.io-client/package.json",
        "/static/node_modules/socket.io-client/dist/socket.io.esm.min.js",
        "/static/",
        "/static/index.html",
        "/static/js/../package.json",
        "/static/js/%2e%2e/package.json",
        "/static/i18n/..%2fpackage.json",
        "/vendor/package.json",
        "/vendor/..%2fpackage.json",
    ],
)
async def test_only_the_clients_own_files_are_served(node, path):
    async with node.http.get(node.base_url + path) as resp:
        body = await resp.read()
        assert resp.status in (403, 404), (path, resp.status)
    assert b"socket.io-client" not in body and b'"dependencies"' not in body


async def test_every_file_the_client_loads_is_served(node):
    """index.html's stylesheets and script, every module, stylesheet and dictionary."""
    index = (STATIC / "index.html").read_text()
    paths = set(re.findall(r'(?:href|src)="(/(?:static|vendor)/[^"]+)"', index))
    for folder in ("js", "css", "i18n"):
        paths |= {
            "/static/" + file.relative_to(STATIC).as_posix()
            for file in (STATIC / folder).rglob("*")
            if file.is_file()
        }
    assert len(paths) > 30
    for path in sorted(paths):
        async with node.http.get(node.base_url + path) as resp:
            assert resp.status == 200, path
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            kind = path.rsplit(".", 1)[1]
            expected = {"js": "javascript", "css": "text/css", "json": "application/json"}
            assert expected[kind] in resp.headers["Content-Type"], (path, resp.content_type)
