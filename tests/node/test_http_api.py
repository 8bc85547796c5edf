"""HTTP: health, readiness, metrics, read API, JSON errors."""

import os
import subprocess
import sys

from harness import running_node


async def test_health_ready_and_metrics(node):
    assert await node.request("GET", "/healthz") == (200, {"ok": True})
    status, ready = await node.request("GET", "/readyz")
    assert status == 200 and ready["node"] == node.fair.engine.node_id
    p = await node.client()
    await p.ok("chat:send", {"channel": "lobby", "text": "count me"})
    await p.call("chat:send", {"channel": "lobby"})
    status, text = await node.request("GET", "/metrics")
    text = text.decode()
    assert status == 200
    assert "fairhall_connections 1.0" in text
    assert 'fairhall_events_total{event="chat:send"} 2.0' in text
    assert 'fairhall_errors_total{code="invalid_payload"} 1.0' in text
    assert 'fairhall_connects_total{result="ok"} 1.0' in text
    fanout = [
        line for line in text.splitlines() if line.startswith("fairhall_fanout_deliveries_total")
    ]
    assert fanout and float(fanout[0].split()[1]) >= 1


async def test_readyz_reports_an_unreachable_engine(node):
    async def broken():
        raise ConnectionError("redis is down")

    node.fair.engine.ping = broken
    status, body = await node.request("GET", "/readyz")
    assert status == 503 and body["error"]["code"] == "engine_unavailable"


async def test_read_api_needs_a_session_of_that_event(node):
    p = await node.register("participant")
    status, body = await node.request("GET", "/api/events/demo/booths")
    assert status == 401 and body["error"]["code"] == "auth_required"
    status, body = await node.request("GET", "/api/events/demo/booths", "forged.token")
    assert status == 401 and body["error"]["code"] == "auth_invalid"
    t = p["token"]
    status, event = await node.request("GET", "/api/events/demo", t)
    assert status == 200 and event["name"].startswith("Digital Mission")
    status, halls = await node.request("GET", "/api/events/demo/halls", t)
    assert [h["id"] for h in halls] == ["demo-hall-a", "demo-hall-b"]
    status, booths = await node.request("GET", "/api/events/demo/booths?sector=Health", t)
    assert [b["company"] for b in booths] == ["MedAlp Diagnostics"]
    status, booth = await node.request("GET", "/api/events/demo/booths/demo-b8", t)
    assert booth["sector"] == "Space"
    status, schedule = await node.request("GET", "/api/events/demo/schedule", t)
    kinds = {item["kind"] for item in schedule}
    assert {"webinar", "site_visit"} <= kinds
    assert [s["starts_at"] for s in schedule] == sorted(s["starts_at"] for s in schedule)
    status, me = await node.request("GET", "/api/me", t)
    assert me["id"] == p["person"]["id"]


async def test_errors_are_json_with_4xx(node):
    status, body = await node.request("GET", "/api/nothing-here")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = await node.request("PUT", "/api/join")
    assert status == 405 and body["error"]["code"] == "method_not_allowed"
    status, body = await node.request(
        "POST", "/api/join", data=b"x" * 300_000, headers={"Content-Type": "application/json"}
    )
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    org = await node.register("organizer")
    status, body = await node.request("GET", "/api/events/demo/booths/nope", org["token"])
    assert status == 404 and body["error"]["code"] == "booth_not_found"
    status, body = await node.request(
        "PATCH", "/api/events/demo/booths/demo-b1", org["token"], json=["list"]
    )
    assert status == 400 and body["error"]["code"] == "invalid_payload"
    status, body = await node.request(
        "POST", "/api/events/demo/halls", org["token"], json={"name": ""}
    )
    assert status == 400 and body["error"]["code"] == "invalid_payload"


async def test_the_browser_client_can_be_served_from_another_folder(tmp_path):
    """A non-editable install carries no static/: FAIRHALL_STATIC_DIR points at it."""
    (tmp_path / "index.html").write_text("<!doctype html><title>elsewhere</title>")
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "main.js").write_text("export {};")
    async with running_node(static_dir=str(tmp_path)) as node:
        status, page = await node.request("GET", "/join/some-code")
        assert status == 200 and b"<title>elsewhere</title>" in page
        status, module = await node.request("GET", "/static/js/main.js")
        assert status == 200 and module == b"export {};"
        # socket.io-client is not there: a clear 503, not a bare 404
        status, body = await node.request("GET", "/vendor/socket.io.esm.min.js")
        assert status == 503 and body["error"]["code"] == "client_not_installed"


def test_a_missing_browser_client_stops_the_start_with_a_clear_error(tmp_path):
    env = {**os.environ, "FAIRHALL_STATIC_DIR": str(tmp_path), "FAIRHALL_PORT": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--no-demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"no browser client in {tmp_path}" in done.stderr


async def test_bodies_must_be_sent_as_json_and_deep_nesting_is_refused(node):
    org = await node.register("organizer")
    hall = {"name": "Hall Z"}
    status, body = await node.request(
        "POST",
        "/api/events/demo/halls",
        org["token"],
        data=b'{"name": "Hall Z"}',
        headers={"Content-Type": "text/plain"},
    )
    assert status == 415 and body["error"]["code"] == "unsupported_media_type"
    json_type = {"Content-Type": "application/json"}
    deep = b"[" * 100_000 + b"]" * 100_000
    for payload in (deep, b'{"name": ' + deep + b"}", b'{"zz": ' + deep + b"}"):
        status, body = await node.request(
            "POST", "/api/events/demo/halls", org["token"], data=payload, headers=json_type
        )
        assert status == 400, body
        assert body["error"]["code"] in ("invalid_payload", "nesting_too_deep"), body
    status, halls = await node.request("GET", "/api/events/demo/halls", org["token"])
    assert "Hall Z" not in [h["name"] for h in halls]  # nothing was stored
    status, _ = await node.request("POST", "/api/events/demo/halls", org["token"], json=hall)
    assert status == 201
