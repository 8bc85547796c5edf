"""A browser call forced through Debian's coturn, the whole deployment for real: two
Chromium pages on nginx (deploy/nginx) in front of two nodes on one Redis, the nodes
minting TURN credentials (FAIRHALL_TURN_URLS, FAIRHALL_TURN_SECRET) for coturn
(deploy/coturn, use-auth-secret), and every RTCPeerConnection restricted to relayed
candidates (iceTransportPolicy "relay", set by the test, the app unchanged). Video
must flow over a candidate pair of type relay on both sides, under nginx's CSP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from browser_media import media_flows, person
from browser_pages import unique

from .browser_checks import (
    FORCE_RELAY,
    PageProblems,
    booth_call,
    csp_violations,
    knock_and_admit,
    remote_video_width,
    selected_pairs,
)
from .stack import Nginx, Turn, start_nginx, start_nodes, start_turnserver, stop_all

try:
    from playwright.async_api import expect
except ImportError:  # the fixtures skip (or fail on CI) before expect is needed
    expect = None


@pytest.fixture
def deployment(redis_server_url, tmp_path, chromium_path) -> Iterator[tuple[Nginx, Turn, list]]:
    with redis.Redis.from_url(redis_server_url) as client:
        client.flushall()
    turn = start_turnserver(tmp_path / "coturn")
    started: list = [turn]
    try:
        nodes = start_nodes(
            tmp_path,
            2,
            FAIRHALL_REDIS=redis_server_url,
            FAIRHALL_TURN_URLS=turn.url,
            FAIRHALL_TURN_SECRET=turn.secret,
        )
        started += nodes
        nginx = start_nginx(tmp_path / "nginx", [f"127.0.0.1:{n.port}" for n in nodes])
        started.append(nginx)
        yield nginx, turn, nodes
    finally:
        stop_all(reversed(started))


async def test_a_call_relayed_by_coturn_through_nginx(deployment, new_page):
    nginx, turn, nodes = deployment
    invite = f"{nginx.base_url}/join/{{}}".format
    problems = PageProblems()
    visitor_name, staff_name = unique("Mira Relay"), unique("Otto Relay")
    visitor = await person(
        await problems.watch(await new_page()),
        invite(nodes[0].invites["participant"]),
        visitor_name,
        FORCE_RELAY,
    )
    staff = await person(
        await problems.watch(await new_page()),
        invite(nodes[0].invites["exhibitor"]),
        staff_name,
        FORCE_RELAY,
    )
    for page in (visitor, staff):
        await page.get_by_test_id("booth-demo-b3").click()
        await expect(booth_call(page)).to_be_visible()
    await knock_and_admit(visitor, staff, visitor_name)

    for page in (visitor, staff):
        await media_flows(page, within=30)
        assert await remote_video_width(page) > 0
        (pair,) = await selected_pairs(page)
        assert pair["policy"] == "relay", pair
        assert any(turn.url in urls for urls in pair["servers"]), pair  # minted for coturn
        # both ends of the pair in use are coturn's relayed addresses
        assert pair["local"] == "relay udp 127.0.0.1", (pair, turn.log()[-3000:])
        assert pair["remote"].startswith("relay "), pair
        assert pair["bytes"] > 0, pair

    assert problems.documents and all(csp for _, csp in problems.documents), problems.documents
    for page in (visitor, staff):
        assert await csp_violations(page) == []
    assert problems.console == [], problems.console
