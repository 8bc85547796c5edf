"""The browser client retries what the server could not serve just now (`unavailable`,
here: every Redis connection of the node busy) with growing, jittered delays, then
shows the error (Debian Chromium + Playwright against an in-process node on Redis)."""

from __future__ import annotations

import asyncio
import itertools
import re

from harness import running_node

# the page's Connection on its own socket, every try of a request timestamped
OPEN = """async (token) => {
    const { Connection, RETRY_DELAYS_MS } = await import("/static/js/connection.js");
    const conn = new Connection(token);
    await new Promise((resolve) => conn.on("connect", resolve));
    const emit = conn.socket.emitWithAck.bind(conn.socket);
    window.tries = [];
    conn.socket.emitWithAck = (...args) => {
        window.tries.push(performance.now());
        return emit(...args);
    };
    window.conn = conn;
    return RETRY_DELAYS_MS;
}"""
REQUEST = """() => window.conn.request("lobby:online", {}).then(
    (online) => ({ ok: true, names: online.map((p) => p.name) }),
    (error) => ({ ok: false, code: error.code }),
)"""


async def unavailable_answers(node) -> int:
    _, body = await node.request("GET", "/metrics")
    found = re.search(rb'fairhall_errors_total\{code="unavailable"\} (\S+)', body)
    return int(float(found[1])) if found else 0


async def test_a_request_the_server_cannot_serve_now_is_retried_then_shown(
    redis_url, new_page, measured
):
    settings = {"redis": redis_url, "redis_max_connections": 2, "redis_wait_seconds": 0.1}
    async with running_node(**settings) as node:
        joined = await node.register("participant", name="Patient Browser")
        page = await new_page()
        await page.goto(node.base_url + "/")
        delays = await page.evaluate(OPEN, joined["token"])
        assert delays == [250, 500, 1000, 2000]
        pool = node.fair.engine.connection.redis.connection_pool

        # every request connection busy for a while: the request succeeds once freed
        held = [await pool.get_connection() for _ in range(2)]
        try:
            answered = asyncio.ensure_future(page.evaluate(REQUEST))
            async with asyncio.timeout(10):  # until the page was refused twice
                while await unavailable_answers(node) < 2:  # noqa: ASYNC110 (polls /metrics)
                    await asyncio.sleep(0.02)
        finally:
            for conn in held:
                await pool.release(conn)
        assert await answered == {"ok": True, "names": ["Patient Browser"]}
        tries = await page.evaluate("window.tries")
        assert 3 <= len(tries) <= 5

        # busy for good: one try and four retries, each wait longer, then the error
        before = await unavailable_answers(node)
        await page.evaluate("window.tries = []")
        held = [await pool.get_connection() for _ in range(2)]
        try:
            assert await page.evaluate(REQUEST) == {"ok": False, "code": "unavailable"}
        finally:
            for conn in held:
                await pool.release(conn)
        assert await unavailable_answers(node) - before == 5
        tries = await page.evaluate("window.tries")
        gaps = [later - earlier for earlier, later in itertools.pairwise(tries)]
        # each gap: the server's answer (its 0.1 s wait) plus the jittered delay
        for gap, delay in zip(gaps, delays, strict=True):
            assert 0.5 * delay <= gap <= 1.5 * delay + 1000, (gaps, delays)
        measured(
            f"gaps between the tries of a request answered unavailable: {[round(g) for g in gaps]} ms"
        )
