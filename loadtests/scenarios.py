"""The scenarios behind ``python -m loadtests``: each starts its own servers on
127.0.0.1, runs, stops them, prints a table and writes JSON."""

from __future__ import annotations

import argparse
from pathlib import Path

from loadtests import report, servers
from loadtests.eio_client import TRANSPORTS
from loadtests.fanout import baseline_target, default_rates, fairhall_target, run_fanout

FANOUT_COLUMNS = [
    ("server", "server"),
    ("clients", "clients"),
    ("deliveries_per_s", "best deliveries/s"),
    ("p99_ms", "p99 ms"),
    ("cpu_us", "server CPU us/delivery"),
    ("common_cpu_us", "CPU us/delivery @common"),
    ("common_deliveries", "@common deliveries/s"),
    ("connect_seconds", "connect s"),
    ("rss_kb", "RSS KB/conn"),
]


SINGLE_COLUMNS = [c for c in FANOUT_COLUMNS if not c[0].startswith("common_")]


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def _transports(args: argparse.Namespace) -> list[str]:
    chosen = [t for t in args.transports.split(",") if t]
    if not chosen or set(chosen) - set(TRANSPORTS):
        raise SystemExit(f"--transports: a comma-separated list of {', '.join(TRANSPORTS)}")
    return chosen


def _rates(args: argparse.Namespace, n: int) -> list[float]:
    return [float(x) for x in args.rates.split(",")] if args.rates else default_rates(n)


def _row(result: dict) -> dict:
    best = result["best"] or {}
    return {
        "server": result["server"],
        "clients": result["clients"],
        "deliveries_per_s": best.get("deliveries_per_s", 0),
        "p99_ms": best.get("p99_ms"),
        "cpu_us": best.get("server_cpu_us_per_delivery"),
        "connect_seconds": result["connect_seconds"],
        "rss_kb": round(result["rss_per_connection_bytes"] / 1024, 1),
    }


def _at_common_rate(a: dict, b: dict) -> tuple[float | None, float | None, float | None]:
    """The highest rate both runs passed, and each one's CPU per delivery there: a
    like-for-like figure (CPU per delivery falls as the rate rises, since more frames
    share a write) that stays meaningful when the load generator saturates first."""
    passed = [{s["rate_msgs_per_s"] for s in r["steps"] if s["ok"]} for r in (a, b)]
    both = set.intersection(*passed)
    common = max(both) if both else None

    def cpu_at(r: dict) -> float | None:
        step = next((s for s in r["steps"] if s["rate_msgs_per_s"] == common), None)
        return step["server_cpu_us_per_delivery"] if step else None

    return common, cpu_at(a), cpu_at(b)


def _common_cpu(results: list[dict], pair: tuple[str, str]) -> None:
    """Each result's CPU per delivery at the highest rate both servers of ``pair``
    passed (see _at_common_rate)."""
    by_kind = {r["server"]: r for r in results}
    common, _, _ = _at_common_rate(by_kind[pair[0]], by_kind[pair[1]])
    for r in results:
        step = next((s for s in r["steps"] if s["rate_msgs_per_s"] == common), None)
        r["common_rate"] = common
        r["common_cpu_us"] = step["server_cpu_us_per_delivery"] if step else None


def _fairhall_name(transport: str) -> str:
    return "fairhall" if transport == "websocket" else f"fairhall ({transport})"


async def _fanout_one(kind: str, n: int, args, tmp: Path, transport: str = "websocket") -> dict:
    if kind == "fairhall":
        server = servers.start_fairhall(tmp)
        target = fairhall_target(
            _fairhall_name(transport),
            [server.port],
            [server.pid],
            server.invites["participant"],
            transport,
        )
    elif kind == "python-socketio":
        server = servers.start_bare_socketio(tmp)
        target = baseline_target(kind, server.port, server.pid)
    else:
        server = servers.start_node_socketio(tmp)
        target = baseline_target(kind, server.port, server.pid)
    try:
        return await run_fanout(target, n, args.senders, _rates(args, n), args.step_seconds)
    finally:
        server.stop()


async def fanout(args, tmp: Path) -> dict:
    results = [
        await _fanout_one("fairhall", n, args, tmp, transport)
        for n in _ints(args.clients)
        for transport in _transports(args)
    ]
    rows = [_row(r) for r in results]
    print(report.table(rows, SINGLE_COLUMNS))
    return {"results": results}


async def baseline(args, tmp: Path) -> dict:
    """fairhall (once per client transport asked for) against bare python-socketio and
    bare Node socket.io (WebSocket clients), for each client count."""
    transports = _transports(args)
    kinds = [("fairhall", t) for t in transports] + [("python-socketio", "websocket")]
    why_not = servers.node_available()
    if why_not:
        print(f"Node baseline skipped: {why_not}")
    else:
        kinds.append(("node-socket.io", "websocket"))
    groups, rows = [], []
    for n in _ints(args.clients):
        results = [await _fanout_one(kind, n, args, tmp, t) for kind, t in kinds]
        by_kind = {r["server"]: r for r in results}
        ref = by_kind.get("node-socket.io") or by_kind["python-socketio"]
        mine = by_kind[_fairhall_name(transports[0])]
        _common_cpu(results, (mine["server"], ref["server"]))
        groups.append({"clients": n, "results": results, "ratios": []})
        for r in results:
            common = r["common_rate"] and round(r["common_rate"] * n)
            rows.append(
                {**_row(r), "common_cpu_us": r["common_cpu_us"], "common_deliveries": common}
            )
        # fairhall against the reference, then each other client transport against
        # the first (upgrading clients against WebSocket ones, in the same run)
        pairs = [(mine, ref)] + [(by_kind[_fairhall_name(t)], mine) for t in transports[1:]]
        for first, second in pairs:
            common, cpu_first, cpu_second = _at_common_rate(first, second)
            ratio = {
                "server": f"{first['server']} / {second['server']}",
                "clients": n,
                "deliveries_per_s": _ratio(_best(first), _best(second)),
                "cpu_us": _ratio(_cpu(first), _cpu(second)),
                "common_cpu_us": _ratio(cpu_first, cpu_second),
                "common_deliveries": common and round(common * n),
            }
            rows.append(ratio)
            groups[-1]["ratios"].append(ratio)
    print(report.table(rows, FANOUT_COLUMNS))
    return {"groups": groups}


def _best(result: dict) -> float:
    return (result["best"] or {}).get("deliveries_per_s", 0)


def _cpu(result: dict) -> float | None:
    return (result["best"] or {}).get("server_cpu_us_per_delivery")


def _ratio(a, b) -> str | None:
    return f"{a / b:.2f}x" if a and b else None


async def cluster(args, tmp: Path) -> dict:
    results = []
    for n in _ints(args.clients):
        for transport in _transports(args):
            redis_proc, redis_url = servers.start_redis(tmp)
            nodes = [servers.start_fairhall(tmp, redis_url, name=f"node{i}") for i in (1, 2)]
            try:
                name = "fairhall x2 + redis"
                target = fairhall_target(
                    name if transport == "websocket" else f"{name} ({transport})",
                    [node.port for node in nodes],
                    [node.pid for node in nodes] + [redis_proc.pid],
                    nodes[0].invites["participant"],
                    transport,
                )
                results.append(
                    await run_fanout(target, n, args.senders, _rates(args, n), args.step_seconds)
                )
            finally:
                for node in nodes:
                    node.stop()
                redis_proc.terminate()
                redis_proc.wait()
    print(report.table([_row(r) for r in results], SINGLE_COLUMNS))
    return {"results": results}


async def run(args: argparse.Namespace, tmp: Path) -> int:
    if args.scenario == "mission":
        from loadtests.mission import mission

        data = await mission(args, tmp)
    elif args.scenario == "churn":
        from loadtests.churn import churn

        data = await churn(args, tmp)
    elif args.scenario == "viewers":
        from loadtests.viewers import viewers  # imports aiortc: only for this scenario

        data = await viewers(args, tmp)
    else:
        data = await {"fanout": fanout, "baseline": baseline, "cluster": cluster}[args.scenario](
            args, tmp
        )
    path = report.save(args.scenario, {"args": vars(args), **data}, args.out)
    print(f"results: {path}")
    return 0
