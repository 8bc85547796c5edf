"""Each role's allowed and refused actions, enforced by the server."""

BOOTH = {"name": "Hall C", "description": "new"}


async def test_participant_is_refused_staff_moderator_and_organizer_actions(node):
    p = await node.client("participant")
    other = await node.client("participant")
    await p.refused("lobby:announce", {"text": "hello all"}, "forbidden")
    await p.refused("booth:update", {"booth_id": "demo-b1", "description": "mine now"}, "forbidden")
    await p.refused("mod:mute", {"person_id": other.person["id"], "minutes": 5}, "forbidden")
    await p.refused("mod:remove", {"person_id": other.person["id"]}, "forbidden")
    await p.refused("mod:reinstate", {"person_id": other.person["id"]}, "forbidden")
    for method, path, body in [
        ("POST", "/api/events/demo/halls", BOOTH),
        ("PATCH", "/api/events/demo/booths/demo-b1", {"description": "x"}),
        ("POST", "/api/events/demo/invites", {"role": "organizer"}),
        ("GET", "/api/events/demo/people", None),
        ("PATCH", "/api/events/demo", {"name": "Mine"}),
    ]:
        status, reply = await node.request(method, path, p.token, json=body)
        assert status == 403 and reply["error"]["code"] == "forbidden", (path, reply)
    # and everything allowed to participants works
    await p.ok("lobby:state")
    await p.ok("lobby:directory", {"sector": "ICT"})
    await p.ok("booth:enter", {"booth_id": "demo-b1"})
    await p.ok("chat:send", {"channel": "booth:demo-b1", "text": "hello"})
    booth = await node.fair.catalog.booth("demo", "demo-b1")
    assert booth.description.startswith("Multimodal")  # untouched by the refused edits


async def test_exhibitor_edits_own_booth_profile_only(node):
    staff = await node.client("exhibitor")  # demo exhibitor invite: staff of demo-b3
    assert staff.person["booth_ids"] == ["demo-b3"]
    watcher = await node.client("participant")
    updated = await staff.ok(
        "booth:update", {"booth_id": "demo-b3", "description": "Now with heat pumps"}
    )
    assert updated["description"] == "Now with heat pumps"
    pushed = await watcher.wait_for("booth:updated", lambda b: b["id"] == "demo-b3")
    assert pushed["description"] == "Now with heat pumps"
    await staff.refused("booth:update", {"booth_id": "demo-b1", "description": "x"}, "forbidden")
    # staff edit the profile, not the floor plan
    status, reply = await node.request(
        "PATCH", "/api/events/demo/booths/demo-b3", staff.token, json={"hall_id": "demo-hall-b"}
    )
    assert status == 400 and reply["error"]["code"] == "invalid_payload"
    status, reply = await node.request(
        "PATCH", "/api/events/demo/booths/demo-b3", staff.token, json={"country": "DE"}
    )
    assert status == 200 and reply["country"] == "DE"
    await staff.refused("lobby:announce", {"text": "buy now"}, "forbidden")
    await staff.refused(
        "booth:update",
        {"booth_id": "demo-b3", "links": [{"label": "x", "url": "javascript:alert(1)"}]},
        "invalid_payload",
    )


async def test_moderator_moderates_participants_but_not_peers_or_organizers(node):
    mod = await node.client("moderator")
    mod2 = await node.client("moderator")
    org = await node.client("organizer")
    p = await node.client("participant")
    await mod.ok("lobby:announce", {"text": "Webinar starts in 5 minutes"})
    announced = await p.wait_for("lobby:announcement")
    assert announced["kind"] == "announcement" and announced["author"]["role"] == "moderator"
    assert (await p.ok("lobby:state"))["announcements"][-1]["id"] == announced["id"]
    await mod.ok("mod:mute", {"person_id": p.person["id"], "minutes": 5})
    await mod.refused("mod:mute", {"person_id": mod2.person["id"], "minutes": 5}, "forbidden")
    await mod.refused("mod:remove", {"person_id": org.person["id"]}, "forbidden")
    await mod.refused("mod:mute", {"person_id": mod.person["id"], "minutes": 5}, "forbidden_self")
    await mod.refused("mod:reinstate", {"person_id": p.person["id"]}, "forbidden")
    await mod.refused("booth:update", {"booth_id": "demo-b1", "description": "x"}, "forbidden")
    status, _ = await node.request("POST", "/api/events/demo/halls", mod.token, json=BOOTH)
    assert status == 403


async def test_organizer_runs_the_event(node):
    org = await node.client("organizer")
    mod = await node.client("moderator")
    await org.ok("mod:mute", {"person_id": mod.person["id"], "minutes": 1})
    await org.ok("booth:update", {"booth_id": "demo-b1", "description": "edited by organizer"})
    t = org.token
    status, hall = await node.request("POST", "/api/events/demo/halls", t, json=BOOTH)
    assert status == 201 and hall["event_id"] == "demo"
    status, booth = await node.request(
        "POST", "/api/events/demo/booths", t,
        json={"hall_id": hall["id"], "company": "Nordic Wind AS", "sector": "Eco-technologies", "country": "NO"},
    )  # fmt: skip
    assert status == 201
    status, invite = await node.request(
        "POST",
        "/api/events/demo/invites",
        t,
        json={"role": "exhibitor", "booth_ids": [booth["id"]]},
    )
    assert status == 201 and invite["booth_ids"] == [booth["id"]]
    status, item = await node.request(
        "POST", "/api/events/demo/schedule", t,
        json={"kind": "site_visit", "title": "Wind farm tour", "booth_id": booth["id"],
              "starts_at": "2026-12-01T10:00:00+01:00", "ends_at": "2026-12-01T11:00:00+01:00"},
    )  # fmt: skip
    assert status == 201
    status, reply = await node.request("DELETE", f"/api/events/demo/booths/{booth['id']}", t)
    assert status == 409 and reply["error"]["code"] == "booth_in_use"
    assert (await node.request("DELETE", f"/api/events/demo/schedule/{item['id']}", t))[0] == 200
    status, people = await node.request("GET", "/api/events/demo/people", t)
    assert status == 200 and {p["role"] for p in people} >= {"organizer", "moderator"}
    status, reply = await node.request("DELETE", f"/api/events/demo/halls/{hall['id']}", t)
    assert status == 409 and reply["error"]["code"] == "hall_not_empty"
    assert (await node.request("DELETE", f"/api/events/demo/booths/{booth['id']}", t))[0] == 200
    assert (await node.request("DELETE", f"/api/events/demo/halls/{hall['id']}", t))[0] == 200
    status, item = await node.request(
        "POST", "/api/events/demo/schedule", t,
        json={"kind": "webinar", "title": "Q&A", "starts_at": "2026-12-01T10:00:00+01:00",
              "ends_at": "2026-12-01T09:00:00+01:00"},
    )  # fmt: skip
    assert status == 400 and "ends_at" in item["error"]["message"]
    # an organizer cannot act on themselves and cannot be moderated by a moderator
    await org.refused("mod:remove", {"person_id": org.person["id"]}, "forbidden_self")
    await mod.refused("mod:mute", {"person_id": org.person["id"], "minutes": 1}, "forbidden")


async def test_a_session_of_one_event_cannot_touch_another(node):
    status, created = await node.request(
        "POST",
        "/api/events",
        json={"name": "Other mission"},
        headers={"X-Admin-Key": node.admin_key},
    )
    assert status == 201
    other_event = created["event"]["id"]
    org = await node.client("organizer")
    for method, path in [
        ("GET", f"/api/events/{other_event}"),
        ("POST", f"/api/events/{other_event}/halls"),
    ]:
        status, reply = await node.request(method, path, org.token, json=BOOTH)
        assert status == 403 and reply["error"]["code"] == "wrong_event"
    status, reply = await node.request(
        "POST", "/api/events", json={"name": "x"}, headers={"X-Admin-Key": "guess"}
    )
    assert status == 401 and reply["error"]["code"] == "admin_required"
    # the new event's first organizer joins through the returned invite, once
    form = {
        "code": created["code"],
        "name": "Eva",
        "company": "CCI",
        "country": "FR",
        "sector": "Public",
    }
    status, joined = await node.request("POST", "/api/join", json=form)
    assert (
        status == 201
        and joined["person"]["role"] == "organizer"
        and joined["person"]["event_id"] == other_event
    )
