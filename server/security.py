"""Security headers on every HTTP response of a node: pages, static files, the API,
errors and the Socket.IO handshake alike; and a Server header without versions.

Installed with `secure_headers(app)` as an `on_response_prepare` hook rather than a
middleware, because a middleware only sees responses its handler returns: a
WebSocket handshake (prepared inside its handler) and a FileResponse streamed by the
static route would get past it. deploy/nginx/fairhall.conf sends the same headers.
"""

from __future__ import annotations

import re

from aiohttp import web, web_response

# aiohttp's default "Python/3.11 aiohttp/3.14.5" would tell an attacker which CVEs
# apply to this node.
SERVER = "fairhall"

# The client is ES modules and stylesheets from this origin only: no inline script or
# style, no eval. data: is the empty favicon in index.html; blob: and the WebSocket of
# this host (ws:/wss: are added per request below) are what a call and Socket.IO need.
CSP_BASE = (
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "media-src 'self' blob:",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that lack it
    # invite links carry the code in the path: never send it to another site
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": (
        "camera=(self), microphone=(self), display-capture=(self), fullscreen=(self), "
        "geolocation=(), payment=(), usb=(), serial=(), bluetooth=()"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
}

# host[:port] as a browser sends it; anything else (a forged Host with spaces, quotes
# or semicolons) must not be copied into the policy
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$")


def content_security_policy(host: str | None) -> str:
    """The policy for a page served to ``host``. CSP3 lets 'self' match ws:/wss: of
    the same host, but Safari before 15.4 and other older browsers do not: name them."""
    connect = "connect-src 'self'"
    if host and _HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join((*CSP_BASE, connect))


async def _add_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    headers = response.headers
    headers["Server"] = SERVER
    headers["Content-Security-Policy"] = content_security_policy(request.host)
    for name, value in HEADERS.items():
        headers[name] = value


def secure_headers(app: web.Application) -> None:
    app.on_response_prepare.append(_add_headers)
    # The hook never runs for the replies aiohttp writes before any app sees the
    # request (400 for a malformed request line): they take this module default.
    # tests/deploy/test_http_headers.py checks that both stay version-free.
    web_response.SERVER_SOFTWARE = SERVER
