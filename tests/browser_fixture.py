"""Browser tests' fixtures: Debian's Chromium driven by Playwright, and a real
fairhall server in a subprocess (memory engine, demo mission, random secret).

tests/conftest.py star-imports this module to get the fixtures. Facts about the
browser on these machines: /work/shared/BROWSER-TESTS.md (never `playwright install`).
"""

from __future__ import annotations

import ctypes
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio

try:
    from playwright.async_api import Browser, Page, async_playwright
except ImportError:  # reported by the fixtures: skip locally, fail on CI
    async_playwright = None

__all__ = [
    "CHROMIUM",
    "LAUNCH_ARGS",
    "FairhallServer",
    "chromium",
    "chromium_path",
    "fairhall_server",
    "isolate_network",
    "new_page",
    "start_fairhall_server",
]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # media: a fake camera and microphone, no permission prompt, ICE over loopback
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]
SOCKET_IO_CLIENT = ROOT / "static/node_modules/socket.io-client/dist/socket.io.esm.min.js"
ROLES = ("participant", "exhibitor", "moderator", "organizer")
INVITE_LINE = re.compile(
    r"^\s+(participant|exhibitor|moderator|organizer)\s+(https?://\S+/join/\S+)\s*$"
)
START_TIMEOUT = 20.0


def _missing(what: str) -> None:
    """A missing prerequisite skips on a laptop but fails on CI, where it is a setup bug."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (required when CI=true)", pytrace=False)
    pytest.skip(what)


# the server --------------------------------------------------------------------------
@dataclass
class FairhallServer:
    process: subprocess.Popen[str]
    base_url: str
    invites: dict[str, str]  # role -> invite link printed by the server
    output: list[str] = field(default_factory=list)  # everything it printed so far

    def log(self) -> str:
        return "".join(self.output[-200:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def start_fairhall_server(extra_env: dict[str, str] | None = None) -> FairhallServer:
    """Start `python -m server serve` on a free port and wait for its invite links."""
    for _ in range(3):  # the port may be taken between probing and binding
        port = _free_port()
        env = {
            **os.environ,
            "FAIRHALL_SECRET": secrets.token_urlsafe(32),
            "PYTHONUNBUFFERED": "1",
            # the media hub's ICE address: aioice never offers 127.0.0.1 by itself
            "FAIRHALL_MEDIA_HOST_ADDRESSES": "127.0.0.1",
            # every browser of the session registers from 127.0.0.1
            "FAIRHALL_JOIN_ADDRESS_RATE_COUNT": "0",
        }
        for name in (
            "FAIRHALL_REDIS",
            "FAIRHALL_NO_DEMO",
            "FAIRHALL_PUBLIC_URL",
            "FAIRHALL_CONFIG",
        ):
            env.pop(name, None)  # a developer's shell must not change what the tests see
        env.update(extra_env or {})  # ...but the test may
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        output: list[str] = []
        invites: dict[str, str] = {}
        ready = threading.Event()

        def drain(process=process, output=output, invites=invites, ready=ready) -> None:
            # Keep reading for the server's whole life so a full pipe never blocks it.
            for line in process.stdout:
                output.append(line)
                if match := INVITE_LINE.match(line):
                    invites[match[1]] = match[2]
                    if len(invites) == len(ROLES):
                        ready.set()
            ready.set()  # EOF: the process is gone

        threading.Thread(target=drain, name=f"fairhall-{port}-stdout", daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.wait(0.05) and time.monotonic() < deadline:
            pass
        if len(invites) == len(ROLES) and process.poll() is None:
            base_url = invites["participant"].split("/join/")[0]
            return FairhallServer(process, base_url, dict(invites), output)
        _stop(process)
        if not any("address already in use" in line.lower() for line in output):
            break
    raise RuntimeError("fairhall server did not print its invite links:\n" + "".join(output))


@pytest.fixture(scope="session")
def fairhall_server() -> Iterator[FairhallServer]:
    if not SOCKET_IO_CLIENT.is_file():
        _missing("socket.io-client is not installed: run `npm ci --prefix static`")
    server = start_fairhall_server()
    try:
        yield server
    finally:
        _stop(server.process)


# the browser ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium and Playwright, or skip (fail on CI)."""
    if async_playwright is None:
        _missing("Playwright for Python is not installed")
    if not Path(CHROMIUM).is_file():
        _missing(f"{CHROMIUM} is missing: apt-get install -y chromium")
    return CHROMIUM


@pytest_asyncio.fixture
async def chromium(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture
async def new_page(chromium: Browser) -> AsyncIterator[Callable[..., Awaitable[Page]]]:
    """`await new_page()` opens a page in a fresh context (its own storage, like a
    separate person) that may use the (fake) camera and microphone. Uncaught
    JavaScript errors in any of them fail the test."""
    contexts = []
    errors: list[str] = []

    async def open_page(**context_options) -> Page:
        options = {
            "viewport": {"width": 1400, "height": 900},
            "locale": "en-GB",
            # also for receive-only pages: without it Chromium hides host candidates
            "permissions": ["camera", "microphone"],
            **context_options,
        }
        context = await chromium.new_context(**options)
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        return page

    yield open_page
    for context in contexts:
        await context.close()
    assert not errors, "JavaScript errors in the page:\n" + "\n".join(errors)


# network isolation -------------------------------------------------------------------------
CLONE_NEWNET = 0x40000000


def isolate_network() -> bool:
    """Move this process into a network namespace that holds only `lo` (see
    BROWSER-TESTS.md). Call it first thing in conftest.py, before any thread or
    subprocess exists: a namespace belongs to the calling thread and its later
    children. Returns False (and changes nothing) without root or `ip`."""
    if os.geteuid() != 0 or threading.active_count() > 1:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return False
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    return True
