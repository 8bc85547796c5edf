"""Scenario 1: N clients in one room, S senders, stepped send rates.

For each step it counts deliveries, latency (send stamp -> receipt), and the server's
CPU time; it stops at the first step that loses a delivery or has p99 >= 100 ms.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from loadtests.eio_client import HOST, EioClient, PollingClient, Stats, connect, stamp
from loadtests.servers import cpu_seconds, rss_bytes

P99_LIMIT_MS = 100.0
MAX_CLIENTS = 20_000  # bounded: this is a benchmark, not a flood


@dataclass
class Target:
    """How to talk to one kind of server."""

    name: str
    ports: list[int]  # clients are spread over these (two for a cluster)
    pids: list[int]  # whose CPU and memory are measured
    send_event: str
    payload: Callable[[str], dict]
    push_marker: bytes  # start of the broadcast event's JSON array
    invite: str | None = None  # fairhall: register each client with this invite
    transport: str = "websocket"  # how clients connect (loadtests.eio_client.TRANSPORTS)


def fairhall_target(
    name: str, ports: list[int], pids: list[int], invite: str, transport: str = "websocket"
) -> Target:
    return Target(
        name,
        ports,
        pids,
        "chat:send",
        lambda text: {"channel": "lobby", "text": text},
        b'["chat:message"',
        invite,
        transport,
    )


def baseline_target(name: str, port: int, pid: int) -> Target:
    return Target(name, [port], [pid], "send", lambda text: {"text": text}, b'["msg"')


def percentile(values: list[int], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6  # ns -> ms


def cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def rss(pids: list[int]) -> int:
    return sum(rss_bytes(pid) for pid in pids)


async def register(port: int, invite: str, count: int, concurrency: int = 32) -> list[str]:
    """Real session tokens through the real join API."""
    tokens: list[str] = []
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as http:

        async def one(i: int) -> None:
            form = {
                "code": invite,
                "name": f"Load {i}",
                "company": f"Company {i}",
                "country": "FR",
                "sector": "ICT",
            }
            async with sem, http.post(f"http://{HOST}:{port}/api/join", json=form) as resp:
                resp.raise_for_status()
                tokens.append((await resp.json())["token"])

        await asyncio.gather(*(one(i) for i in range(count)))
    return tokens


async def connect_all(
    target: Target,
    tokens: list[str | None],
    stats: Stats,
    per_second: float | None = None,
    concurrency: int = 200,
) -> tuple[list[EioClient | PollingClient], list[float]]:
    """Connect one client per token round-robin over the target's ports; returns
    connect times (s)."""
    n = len(tokens)
    sem = asyncio.Semaphore(concurrency)
    clients: list[EioClient | PollingClient | None] = [None] * n
    times: list[float] = []
    started = time.monotonic()

    async def one(i: int) -> None:
        if per_second:
            await asyncio.sleep(max(0.0, started + i / per_second - time.monotonic()))
        async with sem:
            t0 = time.monotonic()
            auth = {"token": tokens[i]} if tokens[i] else None
            clients[i] = await connect(
                target.ports[i % len(target.ports)],
                stats,
                auth,
                target.push_marker,
                transport=target.transport,
            )
            times.append(time.monotonic() - t0)

    await asyncio.gather(*(one(i) for i in range(n)))
    return clients, times


async def quiesce(stats: Stats, quiet: float = 0.7, limit: float = 120.0) -> None:
    """Wait until pushes stop arriving (e.g. presence after a big connect)."""
    deadline = time.monotonic() + limit
    last, last_change = stats.received, time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        if stats.received != last:
            last, last_change = stats.received, time.monotonic()
        elif time.monotonic() - last_change >= quiet:
            return


async def send_at(
    rate: float, seconds: float, senders: list[EioClient | PollingClient], target: Target
) -> int:
    """Send ``rate`` messages per second for ``seconds``, spread over the senders."""
    sent = 0
    start = time.monotonic()
    while (now := time.monotonic()) - start < seconds:
        due = int(rate * (now - start))
        while sent < due:
            senders[sent % len(senders)].emit(target.send_event, target.payload(stamp()))
            sent += 1
        await asyncio.sleep(0.002)
    return sent


async def run_fanout(
    target: Target, n: int, senders: int, rates: list[float], step_seconds: float = 4.0
) -> dict:
    if not 1 <= n <= MAX_CLIENTS:
        raise ValueError(f"clients must be 1..{MAX_CLIENTS}")
    stats = Stats()
    rss_empty = rss(target.pids)
    # registering people first: a stored person is not a connection's memory
    tokens = await register(target.ports[0], target.invite, n) if target.invite else [None] * n
    rss_before = rss(target.pids)
    t0 = time.monotonic()
    clients, connect_times = await connect_all(target, tokens, stats)
    connect_seconds = time.monotonic() - t0
    await quiesce(stats)
    rss_after = rss(target.pids)
    steps = []
    try:
        # warm-up at the first rate, not recorded: first-use costs are not steady state
        await send_at(rates[0], 2.0, clients[:senders], target)
        await quiesce(stats, quiet=0.3, limit=5)
        for rate in rates:
            stats.reset()
            stats.sample_every = max(1, int(rate * n / 50_000))  # keep ~50k latency samples/s
            disconnects = stats.disconnects
            cpu0, own0, t_step = cpu(target.pids), sum(os.times()[:2]), time.monotonic()
            sent = await send_at(rate, step_seconds, clients[:senders], target)
            expected = sent * n
            drain_deadline = time.monotonic() + 3.0
            # polling, not an Event: signalling from the per-packet hot path would cost more
            while stats.received < expected and time.monotonic() < drain_deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            wall = time.monotonic() - t_step
            server_cpu = cpu(target.pids) - cpu0
            received = stats.received
            step = {
                "rate_msgs_per_s": rate,
                "sent": sent,
                "expected": expected,
                "delivered": received,
                "complete": received >= expected,
                "deliveries_per_s": round(received / step_seconds),
                "p50_ms": round(percentile(stats.latencies_ns, 0.50), 2),
                "p99_ms": round(percentile(stats.latencies_ns, 0.99), 2),
                "server_cpu_s": round(server_cpu, 3),
                "server_cpu_us_per_delivery": round(server_cpu / max(received, 1) * 1e6, 2),
                "server_core_use": round(server_cpu / wall, 2),
                "loadgen_core_use": round((sum(os.times()[:2]) - own0) / wall, 2),
                "disconnects": stats.disconnects - disconnects,
            }
            step["ok"] = (
                step["complete"] and step["p99_ms"] < P99_LIMIT_MS and not step["disconnects"]
            )
            steps.append(step)
            print(
                f"  {target.name} n={n} rate={rate:g}/s -> {step['deliveries_per_s']:,} deliveries/s, p99 {step['p99_ms']} ms, {step['server_cpu_us_per_delivery']} us/delivery, complete={step['complete']}",
                flush=True,
            )
            if not step["ok"]:
                break
            await quiesce(stats, quiet=0.3, limit=5)
    finally:
        for client in clients:
            client.close()
    passing = [s for s in steps if s["ok"]]
    best = max(passing, key=lambda s: s["deliveries_per_s"]) if passing else None
    connect_times.sort()
    return {
        "server": target.name,
        "transport": target.transport,
        "clients": n,
        "senders": senders,
        "connect_seconds": round(connect_seconds, 2),
        "connect_p99_ms": round(connect_times[int(0.99 * (len(connect_times) - 1))] * 1000, 1),
        "rss_per_connection_bytes": round((rss_after - rss_before) / n),
        "rss_per_person_bytes": round((rss_before - rss_empty) / n),
        "best": best,
        "steps": steps,
    }


def default_rates(n: int) -> list[float]:
    """Steps of total deliveries per second, turned into message rates for n clients.

    From 5k (where the stock python-socketio path still passes at 2000 clients) to
    400k (past what the load generator itself can take in on one core)."""
    targets = [5_000, 10_000, 20_000, 50_000, 80_000, 110_000, 140_000, 170_000]
    targets += [200_000, 240_000, 280_000, 330_000, 400_000]
    return [round(t / n, 1) for t in targets]
