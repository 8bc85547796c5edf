"""Attendance: join and leave intervals per person (tabs merged, a disconnect is a
leave), read as JSON and CSV by organizers and the webinar's moderators."""

from __future__ import annotations

import asyncio
import csv
import io
import time

from core_support import OTHER_WEBINAR, WEBINAR, joined, moderator_of

PATH = "/api/events/demo/sessions/{}/attendance"


async def report(node, client, session_id=WEBINAR) -> dict:
    status, data = await node.request("GET", PATH.format(session_id), client.token)
    assert status == 200, data
    return data


async def test_intervals_per_person_with_two_tabs_and_a_disconnect(node):
    organizer = await node.client("organizer")
    mod = await moderator_of(node, organizer)
    alice = await node.client(name='=HYPERLINK("http://evil")')
    tab = await node.client(connect=False)
    tab.token, tab.person = alice.token, alice.person
    await tab.connect()
    bob = await node.client(name="Bob Müller")

    await joined(alice)
    await joined(tab)  # the same person: no second interval
    await joined(bob)
    data = await report(node, mod)
    by_id = {a["person"]["id"]: a for a in data["attendees"]}
    assert len(by_id[alice.person["id"]]["intervals"]) == 1
    assert by_id[alice.person["id"]]["intervals"][0]["left_at"] is None
    await alice.ok("webinar:leave")  # the other tab is still in
    data = await report(node, mod)
    by_id = {a["person"]["id"]: a for a in data["attendees"]}
    assert by_id[alice.person["id"]]["intervals"][0]["left_at"] is None
    await tab.close()  # the last tab goes: a leave
    deadline = time.monotonic() + 5
    while True:  # the disconnect is handled after the socket closed: poll the report
        data = await report(node, mod)
        by_id = {a["person"]["id"]: a for a in data["attendees"]}
        if by_id[alice.person["id"]]["intervals"][0]["left_at"] is not None:
            break
        assert time.monotonic() < deadline, "the disconnect was not counted as a leave"
        await asyncio.sleep(0.02)
    await joined(alice)  # back: a second interval
    await bob.ok("webinar:leave")
    data = await report(node, mod)
    by_id = {a["person"]["id"]: a for a in data["attendees"]}
    first, second = by_id[alice.person["id"]]["intervals"]
    assert first["left_at"] <= second["joined_at"] and second["left_at"] is None
    assert by_id[bob.person["id"]]["intervals"][0]["left_at"] is not None
    assert by_id[bob.person["id"]]["seconds"] >= 0

    # the CSV: UTF-8 with a BOM, one row per interval, formulas defused
    status, body = await node.request("GET", PATH.format(WEBINAR) + ".csv", mod.token)
    assert status == 200
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    names = [r["name"] for r in rows]
    assert names.count('\'=HYPERLINK("http://evil")') == 2
    assert "Bob Müller" in names
    assert all(r["joined_at"].endswith("+00:00") for r in rows)
    assert sum(1 for r in rows if r["left_at"] == "") == 1  # alice is still in


async def test_who_may_read_attendance(node):
    organizer = await node.client("organizer")
    mod = await moderator_of(node, organizer)
    participant = await node.client(name="Curious")
    for path in (PATH.format(WEBINAR), PATH.format(WEBINAR) + ".csv"):
        status, data = await node.request("GET", path, participant.token)
        assert status == 403 and data["error"]["code"] == "forbidden"
        status, data = await node.request("GET", path)
        assert status == 401 and data["error"]["code"] == "auth_required"
        status, data = await node.request("GET", path, organizer.token)
        assert status == 200
    status, data = await node.request("GET", PATH.format(OTHER_WEBINAR), mod.token)
    assert status == 403 and data["error"]["code"] == "forbidden"
    status, data = await node.request("GET", PATH.format("s-none"), organizer.token)
    assert status == 404 and data["error"]["code"] == "session_not_found"
    status, data = await node.request("GET", PATH.format("demo-s3"), organizer.token)
    assert status == 400 and data["error"]["code"] == "not_a_webinar"
    status, data = await node.request(
        "GET", "/api/events/other/sessions/demo-s1/attendance", organizer.token
    )
    assert data["error"]["code"] == "wrong_event"
