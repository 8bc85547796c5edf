"""chat:send with a client_id: a retry is answered with the message stored the first
time, and nothing is stored or pushed again (docs/protocol/chat.md, "Retrying")."""

from __future__ import annotations

import asyncio

import pytest
from harness import running_node


async def _settled(*clients, marker: str) -> None:
    """Pushes reach a socket in order: once the marker is there, anything pushed
    before it is too."""
    for client in clients:
        await client.wait_for("chat:message", lambda m: m["text"] == marker)


def _pushed(client, message_id: str) -> int:
    return len(client.received("chat:message", lambda m: m["id"] == message_id))


async def test_same_client_id_gets_the_original_and_nothing_twice(any_node):
    alice = await any_node.client(name="Alice")
    bob = await any_node.client(name="Bob")
    send = {"channel": "lobby", "text": "  Bonjour  ", "client_id": "msg-0001-alice"}
    first = await alice.ok("chat:send", send)
    again = await alice.ok("chat:send", send)
    assert again == first and first["text"] == "Bonjour"
    # the text is compared trimmed, as it is stored
    assert await alice.ok("chat:send", {**send, "text": "Bonjour"}) == first
    await alice.ok("chat:send", {"channel": "lobby", "text": "marker"})
    await _settled(alice, bob, marker="marker")
    assert _pushed(bob, first["id"]) == 1 and _pushed(alice, first["id"]) == 1
    history = await bob.ok("chat:history", {"channel": "lobby"})
    assert [m["text"] for m in history["messages"]] == ["Bonjour", "marker"]
    assert history["messages"][0] == first


async def test_the_same_client_id_of_different_people_or_channels_is_independent(any_node):
    alice = await any_node.client(name="Alice")
    bob = await any_node.client(name="Bob")
    key = "shared-key-123"
    a = await alice.ok("chat:send", {"channel": "lobby", "text": "same", "client_id": key})
    b = await bob.ok("chat:send", {"channel": "lobby", "text": "same", "client_id": key})
    dm = f"dm:{bob.person['id']}"
    c = await alice.ok("chat:send", {"channel": dm, "text": "same", "client_id": key})
    d = await bob.ok("chat:send", {"channel": c["channel"], "text": "same", "client_id": key})
    assert len({a["id"], b["id"]}) == 2 and c["id"] != d["id"]
    assert (a["author"]["id"], b["author"]["id"]) == (alice.person["id"], bob.person["id"])
    lobby = await alice.ok("chat:history", {"channel": "lobby"})
    assert [m["id"] for m in lobby["messages"]] == [a["id"], b["id"]]
    pair = await alice.ok("chat:history", {"channel": dm})
    assert [m["id"] for m in pair["messages"]] == [c["id"], d["id"]]


async def test_a_client_id_reused_for_another_text_is_refused(any_node):
    alice = await any_node.client(name="Alice")
    bob = await any_node.client(name="Bob")
    first = await alice.ok(
        "chat:send", {"channel": "lobby", "text": "one", "client_id": "k-reused-1"}
    )
    reply = await alice.refused(
        "chat:send",
        {"channel": "lobby", "text": "two", "client_id": "k-reused-1"},
        "client_id_reused",
    )
    assert "k-reused-1" in reply["message"]
    await alice.ok("chat:send", {"channel": "lobby", "text": "marker"})
    await _settled(bob, marker="marker")
    assert not bob.received("chat:message", lambda m: m["text"] == "two")
    history = await alice.ok("chat:history", {"channel": "lobby"})
    assert [m["text"] for m in history["messages"]] == ["one", "marker"]
    # the original still answers its retries
    again = await alice.ok(
        "chat:send", {"channel": "lobby", "text": "one", "client_id": "k-reused-1"}
    )
    assert again == first


async def test_a_retry_of_a_deleted_message_is_not_stored_again(node):
    alice = await node.client(name="Alice")
    mod = await node.client("moderator")
    send = {"channel": "lobby", "text": "oops", "client_id": "k-deleted-1"}
    first = await alice.ok("chat:send", send)
    await mod.ok("chat:delete", {"channel": "lobby", "id": first["id"]})
    await alice.refused("chat:send", send, "message_not_found")
    assert (await alice.ok("chat:history", {"channel": "lobby"}))["messages"] == []


@pytest.mark.parametrize("engine", ["memory", "redis"])
async def test_a_client_id_is_remembered_for_the_window_only(engine, request):
    redis = {"redis": request.getfixturevalue("redis_url")} if engine == "redis" else {}
    async with running_node(chat_client_id_window=0.3, **redis) as node:
        alice = await node.client()
        send = {"channel": "lobby", "text": "hi", "client_id": "k-window-1"}
        first = await alice.ok("chat:send", send)
        assert (await alice.ok("chat:send", send))["id"] == first["id"]
        await asyncio.sleep(0.35)  # the window itself is what is tested
        later = await alice.ok("chat:send", send)
        assert later["id"] != first["id"]
        history = await alice.ok("chat:history", {"channel": "lobby"})
        assert [m["id"] for m in history["messages"]] == [first["id"], later["id"]]


@pytest.mark.parametrize(
    "client_id",
    ["", "short77", "x" * 65, "has space1", "émoji-key-1", "semi;colon", 12345678, None, ["a" * 8]],
    ids=repr,
)
async def test_bad_client_ids_are_invalid_payload(node, client_id):
    alice = await node.client()
    payload = {"channel": "lobby", "text": "hi", "client_id": client_id}
    if client_id is None:  # null is the same as leaving it out
        await alice.ok("chat:send", payload)
        return
    await alice.refused("chat:send", payload, "invalid_payload")
    assert (await alice.ok("chat:history", {"channel": "lobby"}))["messages"] == []


async def test_good_client_ids(node):
    alice = await node.client()
    for client_id in ("a" * 8, "Z" * 64, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "_-_-_-_-"):
        await alice.ok("chat:send", {"channel": "lobby", "text": client_id, "client_id": client_id})
