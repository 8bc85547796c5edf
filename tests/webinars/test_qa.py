"""Q&A of a webinar on a live in-process node: every command, every role, bad input."""

from __future__ import annotations

import json

import msgspec
import pytest
from harness import eventually, running_node

WEBINAR = "demo-s1"


@pytest.fixture
async def node():
    async with running_node(qa_rate_count=3, engage_push_interval=0.3) as node:
        yield node


async def joined(node, role="participant", name=""):
    client = await node.client(role, name=name)
    await client.ok("webinar:join", {"session_id": WEBINAR})
    return client


async def set_webinar(node, **fields):
    webinars = node.fair.webinars
    webinar = await webinars.webinar("demo", WEBINAR)
    await webinars.save(msgspec.structs.replace(webinar, **fields))


async def test_anonymous_question_reaches_the_audience_without_its_author(node):
    asker = await joined(node, name="Asker")
    other = await joined(node, name="Other")
    mod = await joined(node, "organizer")
    mine = await asker.ok("qa:ask", {"session_id": WEBINAR, "text": " Why? ", "anonymous": True})
    assert mine["text"] == "Why?" and mine["author"] is None and mine["mine"] is True
    assert mine["state"] == "visible" and mine["votes"] == 0
    seen = await other.wait_for("qa:question")
    assert seen["author"] is None and seen["view"] == "audience" and seen["anonymous"]
    full = await mod.wait_for("qa:question", lambda q: q["view"] == "moderators")
    assert full["author"]["id"] == asker.person["id"]
    page = await other.ok("qa:list", {"session_id": WEBINAR})
    assert page["questions"][0]["author"] is None and page["questions"][0]["mine"] is False
    assert (await mod.ok("qa:list", {"session_id": WEBINAR}))["questions"][0]["author"]["id"] == (
        asker.person["id"]
    )
    named = await asker.ok("qa:ask", {"session_id": WEBINAR, "text": "Named"})
    seen = await other.wait_for("qa:question", lambda q: q["id"] == named["id"])
    assert seen["author"]["id"] == asker.person["id"]
    # the anonymous one never named its author to the audience, in a push or a reply
    about = [p for p in other.pushes if mine["id"] in json.dumps(p)]
    assert about and not [p for p in about if asker.person["id"] in json.dumps(p)]


async def test_upvotes_toggle_once_per_person_and_are_pushed_aggregated(node):
    asker = await joined(node)
    voter = await joined(node)
    q = await asker.ok("qa:ask", {"session_id": WEBINAR, "text": "Up?"})
    ref = {"session_id": WEBINAR, "question_id": q["id"]}
    assert await voter.ok("qa:upvote", ref) == {"question_id": q["id"], "votes": 1, "voted": True}
    assert (await voter.ok("qa:upvote", ref))["votes"] == 0
    assert (await voter.ok("qa:upvote", {**ref, "up": True}))["votes"] == 1
    assert (await voter.ok("qa:upvote", {**ref, "up": True}))["votes"] == 1  # idempotent
    assert (await asker.ok("qa:upvote", {**ref, "up": True}))["votes"] == 2
    assert (await asker.ok("qa:upvote", {**ref, "up": False}))["votes"] == 1
    assert (await asker.ok("qa:upvote", {**ref, "up": False}))["votes"] == 1
    page = await voter.ok("qa:list", {"session_id": WEBINAR})
    assert page["questions"][0]["voted_by_me"] is True and page["questions"][0]["votes"] == 1
    await eventually(lambda: asker.received("qa:votes", lambda d: d["votes"] == {q["id"]: 1}))
    # six votes, far fewer pushes (one per window)
    assert len(asker.received("qa:votes")) <= 3


async def test_premoderated_questions_wait_for_approval_and_hidden_ones_go(node):
    await set_webinar(node, qa_premoderated=True)
    asker = await joined(node)
    other = await joined(node)
    mod = await joined(node, "organizer")
    q = await asker.ok("qa:ask", {"session_id": WEBINAR, "text": "Pending?"})
    assert q["state"] == "pending"
    await mod.wait_for("qa:question", lambda d: d["id"] == q["id"] and d["state"] == "pending")
    await asker.wait_for("qa:question", lambda d: d["id"] == q["id"])
    assert [x["id"] for x in (await asker.ok("qa:list", {"session_id": WEBINAR}))["questions"]] == [
        q["id"]
    ]
    assert (await other.ok("qa:list", {"session_id": WEBINAR}))["total"] == 0
    ref = {"session_id": WEBINAR, "question_id": q["id"]}
    await other.refused("qa:upvote", ref, "qa_question_not_found")
    await asker.refused("qa:approve", ref, "forbidden")
    assert (await mod.ok("qa:approve", ref))["state"] == "visible"
    await other.wait_for("qa:question", lambda d: d["id"] == q["id"] and d["state"] == "visible")
    assert not other.received("qa:question", lambda d: d["state"] == "pending")
    assert (await other.ok("qa:list", {"session_id": WEBINAR}))["total"] == 1
    assert (await mod.ok("qa:hide", ref))["state"] == "hidden"
    gone = await other.wait_for("qa:question", lambda d: d["state"] == "hidden")
    assert gone["text"] == "" and gone["author"] is None
    assert (await other.ok("qa:list", {"session_id": WEBINAR}))["total"] == 0
    assert (await mod.ok("qa:list", {"session_id": WEBINAR}))["questions"][0]["state"] == "hidden"


async def test_answer_and_one_pinned_question_at_a_time(node):
    asker = await joined(node)
    mod = await joined(node, "participant", name="Listed moderator")
    await set_webinar(node, moderators=[mod.person["id"]])
    one = await asker.ok("qa:ask", {"session_id": WEBINAR, "text": "One"})
    two = await asker.ok("qa:ask", {"session_id": WEBINAR, "text": "Two"})
    ref1 = {"session_id": WEBINAR, "question_id": one["id"]}
    ref2 = {"session_id": WEBINAR, "question_id": two["id"]}
    await asker.refused("qa:pin", ref1, "forbidden")
    await asker.refused("qa:answer", ref1, "forbidden")
    assert (await mod.ok("qa:pin", ref1))["pinned"] is True
    assert (await mod.ok("qa:pin", ref2))["pinned"] is True
    await asker.wait_for("qa:question", lambda d: d["id"] == one["id"] and not d["pinned"])
    page = await asker.ok("qa:list", {"session_id": WEBINAR, "sort": "time"})
    assert page["pinned_id"] == two["id"]
    assert [(q["id"], q["pinned"]) for q in page["questions"]] == [
        (two["id"], True),
        (one["id"], False),
    ]
    assert (await mod.ok("qa:pin", {**ref2, "pinned": False}))["pinned"] is False
    assert (await asker.ok("qa:list", {"session_id": WEBINAR}))["pinned_id"] is None
    assert (await mod.ok("qa:answer", ref1))["answered"] is True
    await asker.wait_for("qa:question", lambda d: d["id"] == one["id"] and d["answered"])
    assert (await mod.ok("qa:answer", {**ref1, "answered": False}))["answered"] is False


async def test_list_sorts_and_pages(node):
    a, b = await joined(node), await joined(node)
    ids = [(await a.ok("qa:ask", {"session_id": WEBINAR, "text": f"Q{i}"}))["id"] for i in range(3)]
    await b.ok("qa:upvote", {"session_id": WEBINAR, "question_id": ids[0]})
    by_votes = await b.ok("qa:list", {"session_id": WEBINAR, "limit": 2})
    assert [q["id"] for q in by_votes["questions"]] == [ids[0], ids[2]]
    assert by_votes["total"] == 3
    rest = await b.ok("qa:list", {"session_id": WEBINAR, "limit": 2, "offset": 2})
    assert [q["id"] for q in rest["questions"]] == [ids[1]]
    by_time = await b.ok("qa:list", {"session_id": WEBINAR, "sort": "time"})
    assert [q["id"] for q in by_time["questions"]] == ids[::-1]


async def test_bad_input_and_the_wrong_place(node):
    outsider = await node.client()
    asker = await joined(node)
    ask = {"session_id": WEBINAR, "text": "Hi"}
    await outsider.refused("qa:ask", ask, "not_in_webinar")
    await outsider.refused("qa:list", {"session_id": WEBINAR}, "not_in_webinar")
    await asker.refused("qa:ask", {**ask, "text": "   "}, "message_empty")
    await asker.refused("qa:ask", {**ask, "text": "x" * 501}, "invalid_payload")
    await asker.refused("qa:ask", {**ask, "anonymous": "yes"}, "invalid_payload")
    await asker.refused("qa:ask", {**ask, "author": "someone"}, "invalid_payload")
    await asker.refused("qa:list", {"session_id": WEBINAR, "sort": "random"}, "invalid_payload")
    await asker.refused("qa:list", {"session_id": WEBINAR, "limit": 0}, "invalid_payload")
    await asker.refused("qa:ask", {**ask, "session_id": "demo-s9"}, "not_in_webinar")
    ref = {"session_id": WEBINAR, "question_id": "q-none"}
    await asker.refused("qa:upvote", ref, "qa_question_not_found")
    await asker.refused("qa:upvote", {**ref, "question_id": "../x"}, "invalid_payload")
    org = await node.client("organizer")
    await org.refused("qa:hide", ref, "qa_question_not_found")
    for _ in range(3):
        await asker.ok("qa:ask", ask)
    await asker.refused("qa:ask", ask, "rate_limited")
    assert asker.sio.connected


async def test_questions_csv_for_moderators_with_authors_and_formulas_escaped(node):
    import csv
    import io

    asker = await joined(node, name="Zoë Müller")
    q = await asker.ok(
        "qa:ask", {"session_id": WEBINAR, "text": "=HYPERLINK(1)", "anonymous": True}
    )
    voter = await joined(node)
    await voter.ok("qa:upvote", {"session_id": WEBINAR, "question_id": q["id"]})
    path = f"/api/events/demo/sessions/{WEBINAR}/questions.csv"
    org = await node.register("organizer")
    status, body = await node.request("GET", path, token=org["token"])
    assert status == 200 and body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [
        {
            "question_id": q["id"],
            "asked_at": rows[0]["asked_at"],
            "text": "'=HYPERLINK(1)",
            "author": "Zoë Müller (ACME SA)",
            "author_id": asker.person["id"],
            "anonymous": "True",
            "state": "visible",
            "answered": "False",
            "votes": "1",
        }
    ]
    participant = await node.register("participant")
    status, body = await node.request("GET", path, token=participant["token"])
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert (await node.request("GET", path))[0] == 401
