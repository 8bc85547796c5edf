"""The browser client without a WebSocket: a Chromium page whose WebSocket is removed,
and one behind a proxy that refuses WebSocket upgrades, join the lobby and chat over
HTTP long-polling (Debian Chromium + Playwright, a real server process)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import AsyncIterator

from browser_pages import join, unique

try:
    from playwright.async_api import Page, expect
except ImportError:  # the fixtures skip (or fail on CI) before expect is needed
    Page = expect = None


def socketio_traffic(page: Page) -> dict[str, list[str]]:
    """The page's Socket.IO requests by transport, as the page makes them."""
    seen: dict[str, list[str]] = {"websocket": [], "polling": []}
    page.on("websocket", lambda ws: seen["websocket"].append(ws.url))
    page.on(
        "request",
        lambda r: seen["polling"].append(r.url) if "transport=polling" in r.url else None,
    )
    return seen


async def chat_both_ways(page: Page, other: Page) -> None:
    """A lobby message from each page reaches the other."""
    for writer, reader in ((page, other), (other, page)):
        text = f"over the fence {secrets.token_hex(3)}"
        lobby = writer.get_by_test_id("view-lobby")
        await lobby.get_by_test_id("chat-input").fill(text)
        await lobby.get_by_test_id("chat-send").click()
        log = reader.get_by_test_id("view-lobby").get_by_test_id("chat-messages")
        await expect(log.get_by_text(text, exact=True)).to_be_visible()


async def test_a_browser_without_websocket_joins_the_lobby_and_chats(fairhall_server, new_page):
    invites = fairhall_server.invites
    page = await new_page()
    await page.add_init_script("delete window.WebSocket;")  # before any script of the page
    traffic = socketio_traffic(page)
    await join(
        page,
        invites["participant"],
        unique("Nadia Polling"),
        company="Old Browser SARL",
        country="FR",
        sector="ICT",
    )
    other = await new_page()
    other_traffic = socketio_traffic(other)
    await join(
        other,
        invites["participant"],
        unique("Walter Socket"),
        company="New Browser GmbH",
        country="DE",
        sector="ICT",
    )
    await chat_both_ways(page, other)
    # the first page polled and never opened a WebSocket; the other one took WebSocket
    assert traffic["websocket"] == [] and traffic["polling"]
    assert other_traffic["websocket"] and other_traffic["polling"] == []


@contextlib.asynccontextmanager
async def proxy_refusing_websocket(target_port: int) -> AsyncIterator[tuple[int, list[str]]]:
    """An HTTP proxy on 127.0.0.1 that answers WebSocket upgrade requests with 403 and
    passes everything else through to ``target_port``. Yields its port and the
    refused request lines."""
    refused: list[str] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        if re.search(rb"(?im)^upgrade:\s*websocket\s*$", head):
            refused.append(head.split(b"\r\n", 1)[0].decode())
            writer.write(
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        up_writer.write(head)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], refused
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)


async def test_a_browser_behind_a_proxy_that_refuses_websocket_joins(fairhall_server, new_page):
    server_port = int(fairhall_server.base_url.rsplit(":", 1)[1])
    async with proxy_refusing_websocket(server_port) as (port, refused):
        to_proxy = lambda link: re.sub(r"//127\.0\.0\.1:\d+", f"//127.0.0.1:{port}", link)  # noqa: E731
        page = await new_page()
        traffic = socketio_traffic(page)
        # WebSocket first, refused by the proxy: the client moves on to long-polling
        await join(
            page,
            to_proxy(fairhall_server.invites["participant"]),
            unique("Paula Proxy"),
            company="Behind The Firewall AG",
            country="CH",
            sector="Logistics",
        )
        other = await new_page()
        await join(
            other,
            fairhall_server.invites["participant"],
            unique("Otto Direct"),
            company="Open Network SA",
            country="FR",
            sector="Logistics",
        )
        await chat_both_ways(page, other)
        assert refused and all("/socket.io/" in line for line in refused)
        assert traffic["polling"]
