"""The ``churn`` scenario: the same people connect and disconnect again and again.

A mission runs for days and people reconnect all the time (reloads, laptops waking,
networks changing). The server's RSS after each round shows whether closed
connections are given back: it should level off once the allocator has warmed up,
not grow with every round.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from loadtests import report, servers
from loadtests.eio_client import Stats
from loadtests.fanout import MAX_CLIENTS, connect_all, fairhall_target, quiesce, register

COLUMNS = [
    ("round", "round"),
    ("connected", "connected"),
    ("rss_mb", "server RSS MB after it"),
    ("growth_kb_per_connection", "growth KB/connection"),
]


async def churn(args, tmp: Path) -> dict:
    n, rounds = args.clients, args.rounds
    if not 1 <= n <= MAX_CLIENTS or not 1 <= rounds <= 100:
        raise ValueError(f"clients must be 1..{MAX_CLIENTS}, rounds 1..100")
    server = servers.start_fairhall(tmp)
    rows = []
    try:
        invite = server.invites["participant"]
        target = fairhall_target("fairhall", [server.port], [server.pid], invite)
        tokens = await register(server.port, invite, n)
        before = servers.rss_bytes(server.pid)
        for i in range(rounds):
            stats = Stats()
            clients, _ = await connect_all(target, tokens, stats)
            await quiesce(stats)
            connected = sum(1 for c in clients if c.transport and not c.transport.is_closing())
            for client in clients:
                client.close()
            await asyncio.sleep(3)  # the server notices every close
            rss = servers.rss_bytes(server.pid)
            rows.append(
                {
                    "round": i + 1,
                    "connected": connected,
                    "rss_mb": round(rss / 2**20, 1),
                    "growth_kb_per_connection": round((rss - before) / n / 1024, 2),
                }
            )
            before = rss
            print(f"  churn round {i + 1}: {rows[-1]}", flush=True)
    finally:
        server.stop()
    print(report.table(rows, COLUMNS))
    return {"clients": n, "rounds": rounds, "rows": rows}
