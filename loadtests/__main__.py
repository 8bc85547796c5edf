"""python -m loadtests <scenario> ...: run one benchmark, print its table, write JSON."""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import sys
import tempfile
from pathlib import Path

from loadtests import scenarios


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loadtests", description=__doc__)
    parser.add_argument(
        "--out", help="JSON result path (default loadtests/results/<scenario>-<time>.json)"
    )
    sub = parser.add_subparsers(dest="scenario", required=True)

    def fanout_args(
        p: argparse.ArgumentParser, clients: str, transports: str = "websocket"
    ) -> None:
        p.add_argument("--clients", default=clients, help="comma-separated client counts")
        p.add_argument(
            "--transports",
            default=transports,
            help="how fairhall's clients connect, comma-separated, one run each: websocket; "
            "upgrade (long-polling, then the WebSocket upgrade, as socket.io-client by "
            "default); polling (long-polling only)",
        )
        p.add_argument("--senders", type=int, default=4)
        p.add_argument("--step-seconds", type=float, default=4.0)
        p.add_argument(
            "--rates", help="comma-separated messages/s steps (default: by client count)"
        )

    fanout_args(
        sub.add_parser("fanout", help="N clients in one room, stepped send rates"), "1000,2000"
    )
    fanout_args(
        sub.add_parser("baseline", help="fanout vs bare python-socketio and Node socket.io"),
        "1000,2000",
        "websocket,upgrade",
    )
    fanout_args(sub.add_parser("cluster", help="fanout across two nodes on one Redis"), "1000,2000")
    mission = sub.add_parser("mission", help="a realistic lobby ramping up to N clients")
    mission.add_argument("--clients", default="2000,5000,10000", help="comma-separated targets")
    mission.add_argument("--join-rate", type=float, default=250.0, help="joins per second")
    mission.add_argument("--hold-seconds", type=float, default=30.0)
    mission.add_argument("--chatty", type=float, default=0.01, help="share of clients that chat")
    mission.add_argument(
        "--chat-interval",
        type=float,
        default=15.0,
        help="mean seconds between a chatter's messages",
    )
    viewers = sub.add_parser("viewers", help="one site-visit source, N aiortc viewers")
    viewers.add_argument("--viewers", default="50,100,200", help="comma-separated counts")
    viewers.add_argument("--seconds", type=float, default=10.0, help="measuring window per step")
    viewers.add_argument(
        "--source",
        choices=["feed", "publisher"],
        default="feed",
        help="feed: an H.264 file passed through; publisher: a camera decoded and encoded once",
    )
    viewers.add_argument("--keyint", type=int, default=15, help="feed: frames between key frames")
    churn = sub.add_parser(
        "churn", help="the same people connect and disconnect, round after round"
    )
    churn.add_argument("--clients", type=int, default=2000)
    churn.add_argument("--rounds", type=int, default=8)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    gc.freeze()  # the generator's own long-lived objects never need scanning
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    with tempfile.TemporaryDirectory(prefix="fairhall-load-") as tmp:
        return runner(scenarios.run(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
