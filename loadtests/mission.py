"""Scenario 2: a realistic mission lobby ramping up to N people on one node.

Clients join at ``--join-rate`` per second; each, once connected, fetches the last 50
lobby messages and answers pings. A ``--chatty`` share of them chat every
``--chat-interval`` seconds on average (exponential gaps). Measured: chat delivery
latency at every receiver (p50/p95/p99), ack latency of history and chat requests,
ping timeouts (server-side disconnects) and connection errors; the largest N that
keeps chat p99 < 250 ms (steady state, once everyone is in) with no ping timeout is
the result. The p99 during the ramp is reported beside it.
"""

from __future__ import annotations

import asyncio
import os
import random
import time

from loadtests import report, servers
from loadtests.eio_client import EioClient, Stats, connect, stamp
from loadtests.fanout import MAX_CLIENTS, cpu, percentile, register, rss

P99_LIMIT_MS = 250.0
COLUMNS = [
    ("clients", "clients"),
    ("connected", "connected"),
    ("chat_p50_ms", "chat p50 ms"),
    ("chat_p95_ms", "p95 ms"),
    ("chat_p99_ms", "p99 ms"),
    ("ramp_chat_p99_ms", "p99 during ramp ms"),
    ("ack_p99_ms", "ack p99 ms"),
    ("history_ack_p99_ms", "history ack p99 ms"),
    ("ping_timeouts", "ping timeouts"),
    ("connect_errors", "connect errors"),
    ("server_core_use", "server cores"),
    ("loadgen_core_use", "loadgen cores"),
    ("rss_kb_per_client", "RSS KB/client"),
    ("ok", "ok"),
]


async def _timed(fut: asyncio.Future, sink: list[float]) -> None:
    t0 = time.monotonic()
    try:
        await asyncio.wait_for(fut, 30)
        sink.append((time.monotonic() - t0) * 1000)
    except (TimeoutError, ConnectionError):
        sink.append(float("inf"))


async def _chatter(client: EioClient, interval: float, until: float, acks: list[float]) -> None:
    while (now := time.monotonic()) < until:
        await asyncio.sleep(min(random.expovariate(1 / interval), max(0.0, until - now)))
        if client.transport is None or client.transport.is_closing() or time.monotonic() >= until:
            return
        fut = client.emit("chat:send", {"channel": "lobby", "text": stamp()}, ack=True)
        await _timed(fut, acks)


async def run_mission(n: int, args, tmp) -> dict:
    if not 1 <= n <= MAX_CLIENTS:
        raise ValueError(f"clients must be 1..{MAX_CLIENTS}")
    server = servers.start_fairhall(tmp)
    try:
        port, invite = server.port, server.invites["participant"]
        tokens = await register(port, invite, n + 1)
        stats = Stats()
        stats.sample_every = 1
        seeder = await connect(
            port, Stats(), {"token": tokens[n]}, b'["chat:message"'
        )  # own counters
        for _ in range(60):  # history for everyone to fetch
            await seeder.emit(
                "chat:send", {"channel": "lobby", "text": "history " + stamp()}, ack=True
            )
        seeder.close()
        await asyncio.sleep(0.5)
        rss0, cpu0, t0 = rss([server.pid]), cpu([server.pid]), time.monotonic()
        clients: list[EioClient] = []
        history_acks: list[float] = []
        chat_acks: list[float] = []
        connect_errors = 0
        chatters: list[asyncio.Task] = []
        ramp_seconds = n / args.join_rate
        end = t0 + ramp_seconds + args.hold_seconds
        stats.reset()
        chatty_every = max(1, round(1 / args.chatty)) if args.chatty > 0 else 0

        async def join(i: int) -> None:
            nonlocal connect_errors
            await asyncio.sleep(max(0.0, t0 + i / args.join_rate - time.monotonic()))
            try:
                client = await connect(
                    port, stats, {"token": tokens[i]}, b'["chat:message"', within=30
                )
            except (OSError, ConnectionError, TimeoutError):
                connect_errors += 1
                return
            clients.append(client)
            await _timed(
                client.emit("chat:history", {"channel": "lobby", "limit": 50}, ack=True),
                history_acks,
            )
            if chatty_every and i % chatty_every == 0:
                chatters.append(
                    asyncio.create_task(_chatter(client, args.chat_interval, end, chat_acks))
                )

        own0 = sum(os.times()[:2])
        joins = [asyncio.create_task(join(i)) for i in range(n)]
        await asyncio.gather(*joins)
        ramp_latencies, ramp_received = stats.latencies_ns, stats.received
        stats.latencies_ns = []  # steady state: everyone is in
        hold_started = time.monotonic()
        await asyncio.sleep(max(0.0, end - time.monotonic()))
        await asyncio.gather(*chatters)
        wall = time.monotonic() - t0
        own_cpu = sum(os.times()[:2]) - own0
        server_cpu = cpu([server.pid]) - cpu0
        hold_seconds = time.monotonic() - hold_started
        rss1 = rss([server.pid])
        drops = stats.disconnects
        for client in clients:
            client.close()
    finally:
        server.stop()
    finite = [a for a in chat_acks if a != float("inf")]
    row = {
        "clients": n,
        "connected": len(clients),
        "chat_messages": len(chat_acks),
        "deliveries": ramp_received + stats.received,
        "hold_seconds": round(hold_seconds, 1),
        "chat_p50_ms": round(percentile(stats.latencies_ns, 0.50), 1),
        "chat_p95_ms": round(percentile(stats.latencies_ns, 0.95), 1),
        "chat_p99_ms": round(percentile(stats.latencies_ns, 0.99), 1),
        "ramp_chat_p99_ms": round(percentile(ramp_latencies, 0.99), 1),
        "ack_p99_ms": round(sorted(finite)[int(0.99 * (len(finite) - 1))], 1) if finite else None,
        "history_ack_p99_ms": round(sorted(history_acks)[int(0.99 * (len(history_acks) - 1))], 1)
        if history_acks
        else None,
        "ping_timeouts": drops,
        "connect_errors": connect_errors,
        "server_core_use": round(server_cpu / wall, 2),
        "loadgen_core_use": round(own_cpu / wall, 2),
        "rss_kb_per_client": round((rss1 - rss0) / max(1, len(clients)) / 1024, 1),
    }
    row["ok"] = (
        row["connected"] == n
        and not drops
        and not connect_errors
        and row["chat_p99_ms"] < P99_LIMIT_MS
    )
    print(f"  mission n={n}: {row}", flush=True)
    return row


async def mission(args, tmp) -> dict:
    rows = []
    for n in [int(x) for x in args.clients.split(",") if x]:
        rows.append(await run_mission(n, args, tmp))
    passing = [r["clients"] for r in rows if r["ok"]]
    print(report.table(rows, COLUMNS))
    print(
        f"largest N with chat p99 < {P99_LIMIT_MS:g} ms and no ping timeout: {max(passing) if passing else 'none'}"
    )
    return {"rows": rows, "largest_ok": max(passing) if passing else None}
