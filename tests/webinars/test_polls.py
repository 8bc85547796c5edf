"""Polls of a webinar on a live in-process node: every command, every role, bad input,
and what an anonymous poll stores."""

from __future__ import annotations

import msgspec
import pytest
from harness import eventually, running_node

WEBINAR = "demo-s1"


@pytest.fixture
async def node():
    async with running_node(engage_push_interval=0.3) as node:
        yield node


async def joined(node, role="participant", name=""):
    client = await node.client(role, name=name)
    await client.ok("webinar:join", {"session_id": WEBINAR})
    return client


def new_poll(**extra):
    return {"session_id": WEBINAR, "question": "Which?", "options": ["A", "B", "C"], **extra}


async def test_draft_open_vote_close_and_results_to_moderators_until_shown(node):
    mod = await joined(node, "organizer")
    voter = await joined(node)
    other = await joined(node)
    poll = await mod.ok("poll:create", new_poll())
    assert poll["state"] == "draft"
    ref = {"session_id": WEBINAR, "poll_id": poll["id"]}
    assert await voter.ok("poll:list", {"session_id": WEBINAR}) == []  # drafts: moderators only
    assert not voter.received("poll:updated")
    await voter.refused("poll:vote", {**ref, "options": [0]}, "poll_not_found")
    updated = await mod.ok("poll:update", {**ref, "options": ["A", "B"], "multiple": True})
    assert updated["options"] == ["A", "B"] and updated["multiple"]
    assert (await mod.ok("poll:open", ref))["state"] == "open"
    await voter.wait_for("poll:updated", lambda p: p["state"] == "open")
    await mod.refused("poll:update", {**ref, "question": "Late"}, "poll_state")
    await mod.refused("poll:delete", ref, "poll_state")
    await mod.refused("poll:open", ref, "poll_state")
    assert await voter.ok("poll:vote", {**ref, "options": [1, 0]}) == {
        "poll_id": poll["id"],
        "options": [0, 1],
        "ballot": None,
    }
    await other.ok("poll:vote", {**ref, "options": [1]})
    await other.ok("poll:vote", {**ref, "options": [0]})  # changed
    results = await mod.wait_for("poll:results", lambda r: r["voters"] == 2)
    assert results["counts"] == [2, 1] and results["shown"] is False
    assert not voter.received("poll:results")
    listed = await voter.ok("poll:list", {"session_id": WEBINAR})
    assert listed[0]["results"] is None and listed[0]["my_vote"] == [0, 1] and listed[0]["voted"]
    assert (await mod.ok("poll:list", {"session_id": WEBINAR}))[0]["results"]["counts"] == [2, 1]
    await voter.refused("poll:show_results", {**ref, "shown": True}, "forbidden")
    assert (await mod.ok("poll:show_results", {**ref, "shown": True}))["results_shown"]
    shown = await voter.wait_for("poll:results", lambda r: r["shown"])
    assert shown["counts"] == [2, 1]
    assert (await mod.ok("poll:close", ref))["state"] == "closed"
    await voter.refused("poll:vote", {**ref, "options": [1]}, "poll_state")
    await mod.refused("poll:close", ref, "poll_state")
    listed = await voter.ok("poll:list", {"session_id": WEBINAR})
    assert listed[0]["results"]["counts"] == [2, 1]


async def test_single_choice_takes_one_and_drafts_can_be_deleted(node):
    mod = await joined(node, "organizer")
    voter = await joined(node)
    poll = await mod.ok("poll:create", new_poll())
    ref = {"session_id": WEBINAR, "poll_id": poll["id"]}
    await mod.ok("poll:open", ref)
    await voter.refused("poll:vote", {**ref, "options": [0, 1]}, "poll_choice")
    await voter.refused("poll:vote", {**ref, "options": [3]}, "poll_choice")
    await voter.refused("poll:vote", {**ref, "options": [1, 1]}, "poll_choice")
    await voter.refused("poll:vote", {**ref, "options": []}, "invalid_payload")
    await voter.refused("poll:vote", {**ref, "options": [-1]}, "invalid_payload")
    await voter.refused("poll:vote", {**ref, "options": ["0"]}, "invalid_payload")
    await voter.refused("poll:vote", {**ref, "options": [0], "ballot": "x" * 20}, "invalid_payload")
    draft = await mod.ok("poll:create", new_poll())
    await mod.ok("poll:delete", {"session_id": WEBINAR, "poll_id": draft["id"]})
    await mod.wait_for("poll:deleted", lambda d: d["poll_id"] == draft["id"])
    await mod.refused(
        "poll:open", {"session_id": WEBINAR, "poll_id": draft["id"]}, "poll_not_found"
    )


async def test_create_bad_input_and_roles(node):
    mod = await joined(node, "participant", name="Listed moderator")
    webinar = await node.fair.webinars.webinar("demo", WEBINAR)
    await node.fair.webinars.save(msgspec.structs.replace(webinar, moderators=[mod.person["id"]]))
    voter = await joined(node)
    outsider = await node.client()
    assert (await mod.ok("poll:create", new_poll()))["state"] == "draft"  # a listed moderator
    await voter.refused("poll:create", new_poll(), "forbidden")
    other_webinar = {**new_poll(), "session_id": "demo-s2"}
    await mod.refused("poll:create", other_webinar, "forbidden")  # moderates demo-s1 only
    await mod.refused("poll:create", new_poll(options=["A"]), "invalid_payload")
    await mod.refused(
        "poll:create", new_poll(options=[str(i) for i in range(11)]), "invalid_payload"
    )
    await mod.refused("poll:create", new_poll(options=["A", "A"]), "invalid_payload")
    await mod.refused("poll:create", new_poll(options=["A", " "]), "invalid_payload")
    await mod.refused("poll:create", new_poll(question=" "), "invalid_payload")
    await mod.refused("poll:create", new_poll(question="x" * 301), "invalid_payload")
    await mod.refused("poll:create", new_poll(secret=True), "invalid_payload")
    await outsider.refused("poll:list", {"session_id": WEBINAR}, "not_in_webinar")
    await outsider.refused(
        "poll:vote", {"session_id": WEBINAR, "poll_id": "p-x", "options": [0]}, "not_in_webinar"
    )
    await mod.refused("poll:open", {"session_id": WEBINAR, "poll_id": "p-none"}, "poll_not_found")


async def test_anonymous_poll_stores_no_link_between_person_and_choice(node):
    mod = await joined(node, "organizer")
    voters = [await joined(node, name=f"Voter {i}") for i in range(3)]
    poll = await mod.ok("poll:create", new_poll(anonymous=True))
    ref = {"session_id": WEBINAR, "poll_id": poll["id"]}
    await mod.ok("poll:open", ref)
    ballots = [
        (await v.ok("poll:vote", {**ref, "options": [i]}))["ballot"] for i, v in enumerate(voters)
    ]
    assert all(ballots) and len(set(ballots)) == 3
    # one vote per person: a second vote without the token is refused
    await voters[0].refused("poll:vote", {**ref, "options": [1]}, "poll_ballot")
    # a change with the token; someone else's token needs them to have voted too
    changed = await voters[0].ok("poll:vote", {**ref, "options": [2], "ballot": ballots[0]})
    assert changed["ballot"] == ballots[0]
    await voters[0].refused("poll:vote", {**ref, "options": [2], "ballot": "b" * 32}, "poll_ballot")
    late = await joined(node)
    await late.refused("poll:vote", {**ref, "options": [2], "ballot": ballots[1]}, "poll_ballot")
    results = await mod.wait_for("poll:results", lambda r: r["counts"] == [0, 1, 2])
    assert results["voters"] == 3
    listed = await voters[1].ok("poll:list", {"session_id": WEBINAR})
    assert listed[0]["voted"] and listed[0]["my_vote"] is None
    # what the engine holds: no record names a person together with a choice
    engine = node.fair.engine
    person_ids = {v.person["id"] for v in voters}
    everything = {}
    for name in (f"ev:demo:poll-anon:{poll['id']}", f"ev:demo:poll-voters:{poll['id']}"):
        everything[name] = await engine.docs.all(name)
    assert set(everything[f"ev:demo:poll-voters:{poll['id']}"]) == person_ids
    assert set(everything[f"ev:demo:poll-voters:{poll['id']}"].values()) == {b""}
    anon = everything[f"ev:demo:poll-anon:{poll['id']}"]
    assert set(anon) == set(ballots)
    for token, raw in anon.items():
        assert not any(pid.encode() in raw or pid in token for pid in person_ids)
    assert await engine.docs.all(f"ev:demo:poll-ballots:{poll['id']}") == {}


async def test_results_push_at_most_once_per_window(node):
    mod = await joined(node, "organizer")
    voters = [await joined(node) for _ in range(6)]
    poll = await mod.ok("poll:create", new_poll())
    ref = {"session_id": WEBINAR, "poll_id": poll["id"]}
    await mod.ok("poll:open", ref)
    for i, v in enumerate(voters):
        await v.ok("poll:vote", {**ref, "options": [i % 3]})
    await eventually(lambda: mod.received("poll:results", lambda r: r["voters"] == 6))
    # 6 votes within a window or two: at most 3 pushes (open, and the windows)
    assert len(mod.received("poll:results")) <= 3


async def test_polls_csv_lists_voters_of_named_polls_only(node):
    import csv
    import io

    mod = await joined(node, "organizer")
    alice = await joined(node, name="Alice")
    bob = await joined(node, name="Bob")
    named = await mod.ok("poll:create", new_poll(question="+Named", multiple=True))
    anon = await mod.ok("poll:create", new_poll(question="Secret", anonymous=True))
    for poll in (named, anon):
        await mod.ok("poll:open", {"session_id": WEBINAR, "poll_id": poll["id"]})
    await alice.ok("poll:vote", {"session_id": WEBINAR, "poll_id": named["id"], "options": [0, 2]})
    await bob.ok("poll:vote", {"session_id": WEBINAR, "poll_id": named["id"], "options": [0]})
    await alice.ok("poll:vote", {"session_id": WEBINAR, "poll_id": anon["id"], "options": [1]})
    org = await node.register("organizer")
    path = f"/api/events/demo/sessions/{WEBINAR}/polls.csv"
    status, body = await node.request("GET", path, token=org["token"])
    assert status == 200 and body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:2] == ["poll_id", "question"]
    table = [(r[1], r[6], r[7], r[8]) for r in rows[1:]]
    assert table == [
        ("'+Named", "A", "2", "Alice (ACME SA); Bob (ACME SA)"),
        ("'+Named", "B", "0", ""),
        ("'+Named", "C", "1", "Alice (ACME SA)"),
        ("Secret", "A", "0", ""),
        ("Secret", "B", "1", ""),
        ("Secret", "C", "0", ""),
    ]
    status, _ = await node.request("GET", path, token=alice.token)
    assert status == 403
    status, _ = await node.request(
        "GET", "/api/events/demo/sessions/demo-b1/polls.csv", token=org["token"]
    )
    assert status in (400, 404)
