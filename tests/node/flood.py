"""One person floods a node with sockets: run as its own process by test_chaos.py, so
its CPU does not slow the test's own clients, whose latency is what is measured.

    python tests/node/flood.py --port P --token T --sockets 500 --seconds 8

Every socket connects at once with the same token (loadtests' raw Engine.IO client,
cheap per socket) and, while open, asks ``lobby:online`` ``--requests-per-second``
times a second (within the per-socket budget); one that is refused or closed connects
again after ``--reopen-after`` seconds (socket.io-client's default reconnection delay
is 1 s), until the time is up. Prints one JSON line: how the server answered, and how many of
the sockets were still open at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: loadtests

from loadtests.eio_client import EioClient, Stats, connect


async def flood(
    port: int,
    token: str,
    sockets: int,
    seconds: float,
    reopen_after: float,
    requests_per_second: float,
) -> dict:
    stats = Stats()
    outcomes: Counter[str] = Counter()
    live: set[EioClient] = set()
    deadline = time.monotonic() + seconds

    def on_push(client: EioClient, packet: bytes) -> None:
        if packet.startswith(b'42["socket:closing"'):
            code = json.loads(packet[2:])[1]["code"]
            outcomes[f"closed:{code}"] += 1

    async def ask(client: EioClient) -> None:
        # what the server must serve for every open socket: lobby:online, within the
        # per-socket budget, replies unread (no ack asked)
        while not client.closed.done():
            client.emit("lobby:online", {})
            outcomes["requests"] += 1
            await asyncio.sleep(1 / requests_per_second)

    async def slot() -> None:
        while time.monotonic() < deadline:
            try:
                client = await connect(port, stats, {"token": token}, within=10)
            except ConnectionError as exc:
                text = str(exc)
                code = json.loads(text)["data"]["code"] if text.startswith("{") else "closed"
                outcomes[f"refused:{code}"] += 1
            except (OSError, TimeoutError) as exc:
                outcomes[f"failed:{type(exc).__name__}"] += 1
            else:
                outcomes["connected"] += 1
                client.on_push = lambda packet, c=client: on_push(c, packet)
                live.add(client)
                asking = asyncio.create_task(ask(client))
                remaining = deadline - time.monotonic()
                if remaining > 0:
                    await asyncio.wait({client.closed}, timeout=remaining)
                asking.cancel()
                if client.closed.done():
                    live.discard(client)
                else:
                    return  # still connected at the end: counted below
            await asyncio.sleep(reopen_after)

    await asyncio.gather(*(slot() for _ in range(sockets)))
    # the last sockets' orders to close may still be on their way
    open_ = {c.closed for c in live if not c.closed.done()}
    if open_:
        await asyncio.wait(open_, timeout=2)
    live = {c for c in live if not c.closed.done()}
    result = {"outcomes": dict(outcomes), "connected_at_end": len(live)}
    for client in live:
        client.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--reopen-after", type=float, default=1.0)
    parser.add_argument("--requests-per-second", type=float, default=20.0)  # per open socket
    args = parser.parse_args()
    result = asyncio.run(
        flood(
            args.port,
            args.token,
            args.sockets,
            args.seconds,
            args.reopen_after,
            args.requests_per_second,
        )
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
