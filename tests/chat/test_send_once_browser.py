"""The browser client sends each chat message with its own client_id and the same one
on every retry: a message whose first try was stored but whose answer was lost shows
once, is stored once (Debian Chromium + Playwright, a node on Redis behind a proxy
that loses one answer)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets

from browser_pages import join, unique
from losing_proxy import node_behind_proxy

try:
    from playwright.async_api import expect
except ImportError:  # the fixtures skip (or fail on CI) before expect is needed
    expect = None

EVENT = re.compile(r"^42\d*(\[.*)$", re.S)  # a Socket.IO event, with or without ack id


async def unavailable_answers(node) -> int:
    _, body = await node.request("GET", "/metrics")
    found = re.search(rb'fairhall_errors_total\{code="unavailable"\} (\S+)', body)
    return int(float(found[1])) if found else 0


def sent_sends(page) -> list[dict]:
    """Every chat:send payload the page writes to its WebSocket, as it goes."""
    sends: list[dict] = []

    def frame(payload) -> None:
        found = EVENT.match(payload) if isinstance(payload, str) else None
        if found:
            name, *args = json.loads(found[1])
            if name == "chat:send":
                sends.append(args[0])

    page.on("websocket", lambda ws: ws.on("framesent", frame))
    return sends


async def test_the_browser_retries_a_message_with_its_client_id_and_it_shows_once(
    redis_url, new_page
):
    async with node_behind_proxy(redis_url) as (node, proxy):
        page = await new_page()
        sends = sent_sends(page)
        invite = f"{node.base_url}/join/{node.invites['participant']}"
        await join(page, invite, unique("Lea Roux"), company="Roux SAS", country="FR", sector="ICT")
        lobby = page.get_by_test_id("view-lobby")
        log = lobby.get_by_test_id("chat-messages")
        tag = secrets.token_hex(3)

        async def send(text: str) -> None:
            await lobby.get_by_test_id("chat-input").fill(text)
            await lobby.get_by_test_id("chat-send").click()

        await send(f"first {tag}")  # loads the script, so the lost try runs it
        await expect(log.get_by_text(f"first {tag}", exact=True)).to_have_count(1)

        lost = f"lost answer {tag}"
        refused = await unavailable_answers(node)
        proxy.lose_answer_to(lost)
        await send(lost)
        async with asyncio.timeout(10):  # the page was told `unavailable`
            await proxy.lost.wait()
            while await unavailable_answers(node) == refused:  # noqa: ASYNC110 (/metrics)
                await asyncio.sleep(0.02)
        proxy.heal()  # the page's next retry gets through
        await expect(log.get_by_text(lost, exact=True)).to_have_count(1)
        await expect(lobby.get_by_test_id("chat-error")).to_be_hidden()
        reader = await node.client()
        history = await reader.ok("chat:history", {"channel": "lobby"})
        assert [m["text"] for m in history["messages"]] == [f"first {tag}", lost]

        tries = [s for s in sends if s["text"] == lost]
        assert len(tries) >= 2, sends  # the try that was lost and at least one retry
        assert len({s["client_id"] for s in tries}) == 1
        first = next(s for s in sends if s["text"] == f"first {tag}")
        assert first["client_id"] != tries[0]["client_id"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{8,64}", first["client_id"])
