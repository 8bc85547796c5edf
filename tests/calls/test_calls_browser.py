"""Video calls in real browsers (headless Chromium with a fake camera): knock, admit,
peer-to-peer media both ways, screen share and ICE restart, the same across two
server nodes on one Redis, and a room's capacity shown to the one who does not fit.

Media is proven the way BROWSER-TESTS.md says: every RTCPeerConnection reaches
``connectionState == "connected"``, its inbound video ``framesDecoded`` keeps growing,
and the remote <video> has a size.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time

from browser_fixture import _missing, _stop, start_fairhall_server
from browser_media import DENY_CAMERA, FAKE_SCREEN, media_flows, peer_stats, person
from browser_pages import SCREENSHOTS, strings, unique
from conftest import NETWORK_ISOLATED

try:
    from playwright.async_api import Page, expect
except ImportError:  # the fixtures skip (or fail on CI) before these are needed
    Page = expect = None


def booth_call(page: Page):
    return page.get_by_test_id("booth-call")


async def knock_and_admit(visitor: Page, staff: Page, visitor_name: str) -> None:
    for page in (staff, visitor):
        await page.get_by_test_id("booth-demo-b3").click()
        await expect(booth_call(page)).to_be_visible()
    await booth_call(visitor).get_by_test_id("call-knock").click()
    await expect(booth_call(visitor).get_by_test_id("call-knock-status")).to_be_visible()
    knock = booth_call(staff).get_by_test_id("call-knock-item").filter(has_text=visitor_name)
    await knock.get_by_test_id("call-admit").click()
    for page in (visitor, staff):
        await expect(booth_call(page).get_by_test_id("call-local")).to_be_visible()
        await expect(booth_call(page).get_by_test_id("call-tile")).to_have_count(1)
    await expect(booth_call(staff).get_by_test_id("call-tile")).to_contain_text(visitor_name)


async def remote_video_width(box, testid: str = "call-tile") -> int:
    video = box.get_by_test_id(testid).locator("video").first
    return await video.evaluate("v => v.videoWidth")


def test_browser_tests_run_on_loopback_only():
    """The whole run is inside a network namespace with nothing but `lo` (conftest.py
    does it first thing; it needs root, so a laptop skips it)."""
    if not NETWORK_ISOLATED:
        _missing(f"no loopback-only network namespace (euid {os.geteuid()}, needs root)")
    assert [name for _, name in socket.if_nameindex()] == ["lo"]


async def test_visitor_knocks_staff_admits_and_they_see_each_other(fairhall_server, new_page):
    invites = fairhall_server.invites
    visitor_name, staff_name = unique("Clara Vogel"), unique("Eva Brandt")
    visitor = await person(await new_page(), invites["participant"], visitor_name, FAKE_SCREEN)
    staff = await person(await new_page(), invites["exhibitor"], staff_name)
    await knock_and_admit(visitor, staff, visitor_name)

    await media_flows(visitor)
    await media_flows(staff)
    visitor_box, staff_box = booth_call(visitor), booth_call(staff)
    assert await remote_video_width(visitor_box) > 0 and await remote_video_width(staff_box) > 0
    await expect(visitor_box.get_by_test_id("call-tile")).to_contain_text(staff_name)

    # screen sharing adds a track: renegotiation, and the staff get a second video
    await visitor_box.get_by_test_id("call-screen").click()
    await expect(staff_box.get_by_test_id("call-screen-tile")).to_be_visible()
    await media_flows(staff, videos=2)
    assert await remote_video_width(staff_box, "call-screen-tile") > 0
    await staff.screenshot(path=SCREENSHOTS / "fairhall-booth-call.png")
    await visitor_box.get_by_test_id("call-screen").click()  # stop: renegotiated away
    await expect(staff_box.get_by_test_id("call-screen-tile")).to_have_count(0)

    # a network change: the app restarts ICE (new credentials), media keeps flowing
    (before,) = await peer_stats(visitor)
    await visitor.evaluate("window.dispatchEvent(new Event('online'))")
    deadline = time.monotonic() + 10
    while (await peer_stats(visitor))[0]["ufrag"] == before["ufrag"]:
        assert time.monotonic() < deadline, "no ICE restart"
        await asyncio.sleep(0.1)
    await media_flows(visitor)
    await media_flows(staff)

    # the staff remove the visitor, who is told so; then let them back in
    staff.on("dialog", lambda dialog: dialog.accept())
    await staff_box.get_by_test_id("call-remove-person").click()
    await expect(visitor_box.get_by_test_id("call-message")).to_have_text(
        strings("en")["error.removed_from_call"]
    )
    await expect(staff_box.get_by_test_id("call-tile")).to_have_count(0)
    await expect(visitor_box.get_by_test_id("call-knock")).to_be_hidden()  # no knocking either
    await staff_box.get_by_test_id("call-removed").get_by_test_id("call-readmit").click()
    await expect(visitor_box.get_by_test_id("call-tile")).to_have_count(1)  # back in at once
    await expect(staff_box.get_by_test_id("call-tile")).to_have_count(1)

    # leaving tells the other side
    await visitor_box.get_by_test_id("call-leave").click()
    await expect(staff_box.get_by_test_id("call-tile")).to_have_count(0)
    await expect(visitor_box.get_by_test_id("call-knock")).to_be_visible()  # knock to come back


async def test_booth_call_across_two_nodes_sharing_redis(redis_url, new_page):
    env = {"FAIRHALL_REDIS": redis_url, "FAIRHALL_SECRET": secrets.token_urlsafe(16)}
    servers = await asyncio.gather(
        asyncio.to_thread(start_fairhall_server, env), asyncio.to_thread(start_fairhall_server, env)
    )
    pages: list[Page] = []
    try:
        node_a, node_b = servers
        assert node_a.base_url != node_b.base_url
        visitor_name = unique("Luca Rossi")
        pages += [await new_page(), await new_page()]
        visitor = await person(pages[0], node_a.invites["participant"], visitor_name)
        staff = await person(pages[1], node_b.invites["exhibitor"], unique("Jonas"))
        await knock_and_admit(visitor, staff, visitor_name)
        await media_flows(visitor)
        await media_flows(staff)
        for page in (visitor, staff):
            assert await remote_video_width(booth_call(page)) > 0
    finally:
        for page in pages:  # a node with open websockets is slow to stop
            await page.context.close()
        for server in servers:
            _stop(server.process)


async def test_a_room_for_two_refuses_a_third_person_visibly(fairhall_server, new_page):
    invites, en = fairhall_server.invites, strings("en")
    title = unique("Pitch table")
    host = await person(await new_page(), invites["moderator"], unique("Mona Keller"))
    await host.get_by_test_id("room-title").fill(title)
    await host.get_by_test_id("room-capacity").select_option("2")
    await host.get_by_test_id("room-create").click()
    host_room = host.get_by_test_id("view-call")
    await expect(host_room).to_be_visible()
    await expect(host_room.get_by_test_id("call-title")).to_have_text(title)
    await expect(host_room.get_by_test_id("call-local")).to_be_visible()

    # the second person said no to the camera: told so, and still sees and hears the host
    guest = await person(
        await new_page(), invites["participant"], unique("Paul Girard"), DENY_CAMERA
    )
    room = guest.get_by_test_id("rooms-list").get_by_test_id("room").filter(has_text=title)
    await room.get_by_test_id("room-join").click()
    guest_room = guest.get_by_test_id("view-call")
    await expect(guest_room.get_by_test_id("call-message")).to_have_text(en["call.cameraDenied"])
    await expect(guest_room.get_by_test_id("call-tile")).to_have_count(1)
    await media_flows(guest)

    third = await person(await new_page(), invites["participant"], unique("Ida Novak"))
    room = third.get_by_test_id("rooms-list").get_by_test_id("room").filter(has_text=title)
    await room.get_by_test_id("room-join").click()
    third_room = third.get_by_test_id("view-call")
    await expect(third_room.get_by_test_id("call-message")).to_have_text(en["error.room_full"])
    await expect(third_room.get_by_test_id("call-local")).to_have_count(0)
    await expect(third_room.get_by_test_id("call-rejoin")).to_be_visible()
    await expect(host_room.get_by_test_id("call-tile")).to_have_count(1)  # still just the two
    await third.screenshot(path=SCREENSHOTS / "fairhall-room-full.png")
