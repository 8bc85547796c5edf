"""``fairhall serve``: run one node (memory engine unless --redis is given).
``fairhall docs``: regenerate the tables of docs/protocol/ from the code."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys

from aiohttp import web

from server.app import ADMIN_KEY, DEMO_INVITES, FAIR, build_app, static_root
from server.config import ConfigError, Settings, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fairhall", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        help="run a server node",
        description="Every option can also be set as FAIRHALL_<NAME> (e.g. FAIRHALL_PORT), "
        "or in a TOML/JSON file given with --config.",
    )
    serve.add_argument("--host", help="address to listen on (FAIRHALL_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (FAIRHALL_PORT, default 8080)")
    serve.add_argument("--redis", metavar="URL", help="Redis URL; omit for the memory engine")
    serve.add_argument("--config", metavar="FILE", help="settings file (.toml or .json)")
    serve.add_argument(
        "--no-demo", dest="demo", action="store_false", default=None, help="don't seed the demo"
    )
    serve.add_argument("--public-url", help="base URL of invite links (FAIRHALL_PUBLIC_URL)")
    serve.add_argument("--secret", help="token signing secret (FAIRHALL_SECRET)")
    docs = sub.add_parser("docs", help="rewrite the generated tables of docs/protocol/")
    docs.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    return parser


def _docs(check: bool) -> int:
    from server import protocol_docs

    try:
        stale = protocol_docs.regenerate(write=not check)
    except (OSError, ValueError) as exc:
        print(f"fairhall docs: {exc}", file=sys.stderr)
        return 2
    for path in stale:
        print(f"{path}: {'out of date' if check else 'regenerated'}")
    if not stale:
        print(f"{protocol_docs.DOCS}: up to date")
    return 1 if check and stale else 0


def _announce(app: web.Application, settings: Settings) -> None:
    base = settings.base_url()
    engine = f"redis ({settings.redis})" if settings.redis else "memory"
    lines = [f"fairhall node {app[FAIR].engine.node_id} on {base} — engine: {engine}"]
    if app[DEMO_INVITES]:
        lines.append("Demo mission invite links (open each in its own browser profile):")
        for role, code in app[DEMO_INVITES].items():
            lines.append(f"  {role:<12} {base}/join/{code}")
    lines.append(f"Admin key (X-Admin-Key, creates events): {app[ADMIN_KEY]}")
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = vars(_parser().parse_args(argv))
    if args.pop("command") == "docs":
        return _docs(args["check"])
    try:
        settings = load_settings(args)
        static_root(settings)
    except (ConfigError, OSError) as exc:
        print(f"fairhall: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    async def make() -> web.Application:
        app = await build_app(settings)

        async def announce(app: web.Application) -> None:
            _announce(app, settings)
            # Long-lived start-up objects leave the GC's view, and collections get
            # rarer: broadcasts allocate many short-lived objects that refcounting
            # frees anyway. 10,000 keeps each pause short (50,000 gave 30-40 ms
            # pauses with 5,000 clients; see docs/performance.md).
            gc.collect()
            gc.freeze()
            gc.set_threshold(10_000, 20, 100)

        app.on_startup.append(announce)
        return app

    try:
        import uvloop  # a dependency except on Windows, where asyncio's loop runs
    except ImportError:
        pass
    else:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    # a deep accept queue: thousands of people arrive within minutes of a start
    web.run_app(make(), host=settings.host, port=settings.port, print=None, backlog=4096)
    return 0


if __name__ == "__main__":
    sys.exit(main())
