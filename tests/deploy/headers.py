"""What every HTTP response must carry (issue 10), checked the same way on a node and
through nginx."""

from __future__ import annotations

from collections.abc import Mapping

SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Permissions-Policy",
    "Cross-Origin-Opener-Policy",
)


def csp_directives(policy: str) -> dict[str, list[str]]:
    directives = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} twice in {policy!r}"
        directives[name] = sources
    return directives


def check_security_headers(headers: Mapping[str, str], host: str, where: str) -> None:
    """The policy the browser client passes (test_csp_browser.py proves it in Chromium)
    and nothing weaker; ``host`` is the Host the request was sent with."""
    for name in SECURITY_HEADERS:
        assert len(headers.getall(name, [])) == 1, f"{where}: {name} missing or repeated"
    csp = csp_directives(headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"], where
    assert csp["script-src"] == ["'self'"], where  # no inline script, no eval
    assert csp["style-src"] == ["'self'"], where  # no inline style
    assert csp["connect-src"] == ["'self'", f"ws://{host}", f"wss://{host}"], where
    assert csp["media-src"] == ["'self'", "blob:"], where
    assert csp["frame-ancestors"] == ["'none'"], where
    assert csp["base-uri"] == ["'none'"], where
    assert csp["form-action"] == ["'self'"], where
    assert not any("unsafe" in source for sources in csp.values() for source in sources)
    assert headers["X-Content-Type-Options"] == "nosniff", where
    assert headers["X-Frame-Options"] == "DENY", where
    assert headers["Referrer-Policy"] in ("no-referrer", "strict-origin"), where
    permissions = dict(
        item.strip().split("=", 1) for item in headers["Permissions-Policy"].split(",")
    )
    for feature in ("camera", "microphone", "display-capture"):
        assert permissions[feature] == "(self)", (where, feature)
    assert permissions["geolocation"] == "()", where


def check_server_header(headers: Mapping[str, str], expected: str, where: str) -> None:
    """A product name, no version (aiohttp's default names Python's and its own)."""
    assert headers.getall("Server", []) == [expected], (where, headers.getall("Server", []))
