"""Site visits in real browsers (headless Chromium, fake camera): a guide goes live
and two viewers decode its video through the server's aiortc hub; a file feed on the
server streamed to a viewer; a viewer on a second node (shared Redis) watching a hub
that runs on the first; a guide whose connection drops and comes back (the viewer sees
"reconnecting", then the picture again on the same connection); a hub node that is
killed (the viewer sees "interrupted", then the picture of the visit restarted on the
other node).

Media is proven as in test_calls_browser.py: the viewer's RTCPeerConnection is
``connected``, its inbound video ``framesDecoded`` keeps growing, and the <video> has a
size.
"""

from __future__ import annotations

import asyncio
import re
import secrets

import aiohttp
from browser_fixture import FairhallServer, _stop, start_fairhall_server
from browser_media import media_flows, person
from browser_pages import SCREENSHOTS, Cable, strings, unique
from harness import Client
from media_clients import make_ts_file

try:
    from playwright.async_api import Page, expect
except ImportError:  # the fixtures skip (or fail on CI) before these are needed
    Page = expect = None


async def api_client(server: FairhallServer, role: str, name: str) -> Client:
    """A Socket.IO client signed in with the server's invite for ``role``."""
    code = server.invites[role].rsplit("/join/", 1)[1]
    body = {"code": code, "name": name, "company": "Test SA", "country": "FR", "sector": "ICT"}
    async with aiohttp.ClientSession() as http:
        for attempt in range(50):  # the invite links are printed just before it listens
            try:
                async with http.post(server.base_url + "/api/join", json=body) as resp:
                    assert resp.status == 201, await resp.text()
                    token = (await resp.json())["token"]
                    break
            except aiohttp.ClientConnectorError:
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)
    client = Client(server.base_url, token)
    await client.connect()
    return client


async def schedule(guide: Page, title: str) -> None:
    """The booth's staff schedule a visit from the lobby and land on its page."""
    await guide.get_by_test_id("visit-title").fill(title)
    await guide.get_by_test_id("visit-create").click()
    await expect(guide.get_by_test_id("view-visit")).to_be_visible()
    await expect(guide.get_by_test_id("visit-heading")).to_have_text(title)
    await expect(guide.get_by_test_id("visit-guide")).to_be_visible()


async def open_visit(page: Page, title: str) -> None:
    visit = page.get_by_test_id("visits-list").get_by_test_id("visit").filter(has_text=title)
    await visit.get_by_test_id("visit-open").click()
    await expect(page.get_by_test_id("view-visit")).to_be_visible()
    await expect(page.get_by_test_id("visit-heading")).to_have_text(title)


async def video_width(page: Page) -> int:
    return await page.get_by_test_id("visit-video").evaluate("v => v.videoWidth")


AUDIO_PACKETS = """
async () => {
  let packets = 0;
  for (const pc of window.__pcs.filter((pc) => pc.signalingState !== "closed")) {
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "audio") packets += r.packetsReceived || 0;
    });
  }
  return packets;
}
"""


async def watching(page: Page) -> None:
    await media_flows(page)
    assert await video_width(page) > 0


async def hearing(page: Page) -> None:
    """The guide's voice arrives too (Opus packets keep coming)."""
    first = await page.evaluate(AUDIO_PACKETS)
    for _ in range(40):
        await asyncio.sleep(0.25)
        if first > 0 and await page.evaluate(AUDIO_PACKETS) > first + 10:
            return
        first = first or await page.evaluate(AUDIO_PACKETS)
    raise AssertionError("no audio from the guide")


async def test_a_guide_goes_live_and_two_viewers_watch(fairhall_server, new_page):
    invites, en = fairhall_server.invites, strings("en")
    title = unique("Assembly line tour")
    guide = await person(await new_page(), invites["exhibitor"], unique("Gina Guide"))
    early = await person(await new_page(), invites["participant"], unique("Ana Early"))
    await schedule(guide, title)
    await expect(guide.get_by_test_id("visit-preview")).to_have_js_property("readyState", 4)

    # one viewer waits before the visit starts, the other comes when it is live
    await open_visit(early, title)
    await expect(early.get_by_test_id("visit-message")).to_have_text(en["visits.notLive"])
    await guide.get_by_test_id("visit-go-live").click()
    await expect(guide.get_by_test_id("view-visit").get_by_test_id("visit-state")).to_have_text(
        en["visits.state.live"]
    )
    await watching(early)
    await hearing(early)
    late = await person(await new_page(), invites["participant"], unique("Ben Late"))
    await open_visit(late, title)
    await watching(late)
    await expect(late.get_by_test_id("visit-viewers")).to_have_text("3 watching")

    # the guide pins a chapter; a question is asked and marked answered
    await guide.get_by_test_id("visit-chapter-input").fill("Paint shop")
    await guide.get_by_test_id("visit-chapter-pin").click()
    for page in (early, late):
        await expect(page.get_by_test_id("visit-chapter")).to_have_text("Now showing: Paint shop")
    await late.get_by_test_id("visit-ask-input").fill("How many shifts do you run?")
    await late.get_by_test_id("visit-ask").click()
    asked = guide.get_by_test_id("visit-question").filter(has_text="How many shifts")
    await asked.get_by_test_id("visit-mark-answered").click()
    answered = early.get_by_test_id("visit-question").filter(has_text="How many shifts")
    await expect(answered.get_by_test_id("visit-answered")).to_be_visible()
    await early.screenshot(path=SCREENSHOTS / "fairhall-site-visit.png")

    guide.on("dialog", lambda dialog: dialog.accept())
    await guide.get_by_test_id("visit-end").click()
    for page in (early, late):
        await expect(page.get_by_test_id("visit-message")).to_have_text(en["visits.ended"])
        await expect(page.get_by_test_id("view-visit").get_by_test_id("visit-state")).to_have_text(
            en["visits.state.ended"]
        )


async def test_a_file_feed_streams_to_a_viewer(tmp_path, chromium_path, new_page):
    feed = make_ts_file(tmp_path / "plant.ts", seconds=2.0)
    server = await asyncio.to_thread(
        start_fairhall_server, {"FAIRHALL_VISIT_MEDIA": f"plant={feed}"}
    )
    page = None
    try:
        staff = await api_client(server, "exhibitor", "Feed Operator")
        title = unique("Plant camera")
        visit = await staff.ok(
            "visit:create",
            {"booth_id": "demo-b3", "title": title, "starts_at": "2026-11-22T14:00:00+00:00"},
        )
        await staff.ok(
            "visit:start", {"visit_id": visit["id"], "source": "media", "media": "plant"}
        )
        page = await person(await new_page(), server.invites["participant"], unique("Vic"))
        await open_visit(page, title)
        await watching(page)
        await staff.close()
    finally:
        if page is not None:
            await page.context.close()
        _stop(server.process)


async def test_a_viewer_on_another_node_watches_the_hub_of_the_first(redis_url, new_page):
    env = {"FAIRHALL_REDIS": redis_url, "FAIRHALL_SECRET": secrets.token_urlsafe(16)}
    servers = await asyncio.gather(
        asyncio.to_thread(start_fairhall_server, env), asyncio.to_thread(start_fairhall_server, env)
    )
    pages: list[Page] = []
    try:
        node_a, node_b = servers
        title = unique("Cross-node visit")
        pages += [await new_page(), await new_page()]
        guide = await person(pages[0], node_a.invites["exhibitor"], unique("Gus Guide"))
        viewer = await person(pages[1], node_b.invites["participant"], unique("Nina Node"))
        await schedule(guide, title)
        await guide.get_by_test_id("visit-go-live").click()  # the hub runs on node A
        await open_visit(viewer, title)
        await watching(viewer)  # signalled through Redis to node A
    finally:
        for page in pages:
            await page.context.close()
        for server in servers:
            _stop(server.process)


PEER_CONNECTIONS = "() => window.__pcs.length"  # every one the page ever made


async def test_a_guide_who_drops_comes_back_and_viewers_see_the_picture_again(
    fairhall_server, new_page
):
    invites = fairhall_server.invites
    en, de = strings("en"), strings("de")
    title = unique("Reconnecting tour")
    guide_page = await new_page()
    cable = Cable()
    await guide_page.route_web_socket(re.compile(r"/socket\.io/"), cable.handle)
    guide = await person(guide_page, invites["exhibitor"], unique("Gina Guide"))
    viewer = await person(await new_page(), invites["participant"], unique("Vera Viewer"))
    await schedule(guide, title)
    await expect(guide.get_by_test_id("visit-preview")).to_have_js_property("readyState", 4)
    await guide.get_by_test_id("visit-go-live").click()
    await open_visit(viewer, title)
    await watching(viewer)
    await viewer.get_by_test_id("lang-de").click()  # the states in the viewer's language

    # the guide's network goes: the viewer is told, in German, over the last picture
    await cable.unplug()
    state = viewer.get_by_test_id("view-visit").get_by_test_id("visit-state")
    message = viewer.get_by_test_id("visit-message")
    await expect(message).to_have_text(de["visits.guideReconnecting"])
    await expect(state).to_have_text(de["visits.state.reconnecting"])
    await viewer.screenshot(path=SCREENSHOTS / "fairhall-visit-reconnecting.png")
    await viewer.get_by_test_id("lang-en").click()
    await expect(message).to_have_text(en["visits.guideReconnecting"])

    # it comes back: the guide's page sends its camera again by itself, and the
    # viewer's picture resumes on the connection it has (no new one)
    cable.plugged = True
    await expect(state).to_have_text(en["visits.state.live"], timeout=30_000)
    await expect(message).not_to_have_text(en["visits.guideReconnecting"])
    await watching(viewer)
    assert await viewer.evaluate(PEER_CONNECTIONS) == 1
    await expect(guide.get_by_test_id("visit-guide")).to_have_attribute("data-state", "connected")
    await expect(guide.get_by_test_id("visit-guide-message")).to_be_hidden()


async def test_a_killed_hub_node_shows_interrupted_until_a_host_restarts_it(redis_url, new_page):
    env = {
        "FAIRHALL_REDIS": redis_url,
        "FAIRHALL_SECRET": secrets.token_urlsafe(16),
        "FAIRHALL_HEARTBEAT_INTERVAL": "0.5",
        "FAIRHALL_NODE_TIMEOUT": "2",
    }
    servers = await asyncio.gather(
        asyncio.to_thread(start_fairhall_server, env), asyncio.to_thread(start_fairhall_server, env)
    )
    en = strings("en")
    try:
        node_a, node_b = servers
        title = unique("Failover visit")
        guide = await person(await new_page(), node_a.invites["exhibitor"], unique("Gus Guide"))
        await schedule(guide, title)
        await expect(guide.get_by_test_id("visit-preview")).to_have_js_property("readyState", 4)
        await guide.get_by_test_id("visit-go-live").click()  # the hub runs on node A
        viewer = await person(await new_page(), node_b.invites["participant"], unique("Nina"))
        await open_visit(viewer, title)
        await watching(viewer)
        host = await person(await new_page(), node_b.invites["exhibitor"], unique("Hanna Host"))
        await open_visit(host, title)

        node_a.process.kill()
        state = viewer.get_by_test_id("view-visit").get_by_test_id("visit-state")
        await expect(state).to_have_text(en["visits.state.interrupted"], timeout=30_000)
        await expect(viewer.get_by_test_id("visit-message")).to_have_text(en["visits.interrupted"])
        await viewer.screenshot(path=SCREENSHOTS / "fairhall-visit-interrupted.png")
        await expect(host.get_by_test_id("visit-message")).to_have_text(
            en["visits.interruptedHost"]
        )

        # a host connected to node B restarts it there
        restart = host.get_by_test_id("visit-go-live")
        await expect(restart).to_have_text(en["visits.restart"])
        await restart.click()
        await expect(state).to_have_text(en["visits.state.live"], timeout=30_000)
        await expect(viewer.get_by_test_id("visit-message")).to_be_hidden()
        await watching(viewer)  # the page offered to the new hub by itself
    finally:
        for server in servers:
            _stop(server.process)
