"""The Content-Security-Policy proven in Debian's Chromium: the client loads, joins,
chats and holds a video call under it, and the browser reports no violation and no
console error (a blocked inline script shows that the watch itself works)."""

from __future__ import annotations

import secrets

from browser_media import media_flows, person
from browser_pages import unique

from .browser_checks import (
    PageProblems,
    booth_call,
    csp_violations,
    knock_and_admit,
    prove_csp_enforced,
    remote_video_width,
)

try:
    from playwright.async_api import expect
except ImportError:  # the fixtures skip (or fail on CI) before expect is needed
    expect = None


async def test_the_client_runs_under_its_csp(fairhall_server, new_page):
    problems = PageProblems()
    invites = fairhall_server.invites
    visitor_name, staff_name = unique("Ines Moreau"), unique("Jonas Weber")
    visitor = await person(
        await problems.watch(await new_page()), invites["participant"], visitor_name
    )
    staff = await person(await problems.watch(await new_page()), invites["exhibitor"], staff_name)

    for page in (visitor, staff):
        await page.get_by_test_id("booth-demo-b3").click()
        await expect(booth_call(page)).to_be_visible()
    text = f"Under the policy {secrets.token_hex(3)}"
    booth = visitor.get_by_test_id("view-booth")
    await booth.get_by_test_id("chat-input").fill(text)
    await booth.get_by_test_id("chat-send").click()
    received = staff.get_by_test_id("view-booth").get_by_test_id("chat-messages")
    await expect(received.get_by_text(text, exact=True)).to_be_visible()

    await knock_and_admit(visitor, staff, visitor_name)
    await media_flows(visitor)
    await media_flows(staff)
    assert await remote_video_width(visitor) > 0 and await remote_video_width(staff) > 0

    # every document came with the policy, and the browser enforced it
    assert problems.documents and all(csp for _, csp in problems.documents), problems.documents
    for page in (visitor, staff):
        assert await csp_violations(page) == [], await csp_violations(page)
    assert problems.console == [], problems.console
    await prove_csp_enforced(visitor)
