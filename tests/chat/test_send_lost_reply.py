"""The failure client_id exists for: Redis stores a message and its answer never
reaches the node (the connection breaks in between), so the sender is told
``unavailable`` and sends again. A real node on a real Redis, with a TCP proxy between
them that lets one request through, swallows Redis's answer to it and then refuses
connections for a moment, as a Redis dying right after a write does."""

from __future__ import annotations

from losing_proxy import node_behind_proxy


async def test_a_message_whose_answer_was_lost_is_stored_and_pushed_once(redis_url):
    async with node_behind_proxy(redis_url) as (node, proxy):
        alice = await node.client(name="Alice")
        bob = await node.client(name="Bob")
        # the script is loaded now, so the request that loses its answer runs it
        await alice.ok("chat:send", {"channel": "lobby", "text": "warm", "client_id": "warm-up-1"})

        send = {"channel": "lobby", "text": "lost answer 1", "client_id": "lost-answer-1"}
        proxy.lose_answer_to("lost answer 1")
        reply = await alice.call("chat:send", send)
        assert proxy.lost.is_set(), "the proxy did not lose Redis's answer"
        assert reply["error"]["code"] == "unavailable", reply
        proxy.heal()
        again = await alice.ok("chat:send", send)  # the retry
        assert again["text"] == "lost answer 1"

        await alice.ok("chat:send", {"channel": "lobby", "text": "marker"})
        for client in (alice, bob):
            await client.wait_for("chat:message", lambda m: m["text"] == "marker")
            # nobody had it (the try that stored it died before pushing): the retry did
            pushes = client.received("chat:message", lambda m: m["text"] == "lost answer 1")
            assert [m["id"] for m in pushes] == [again["id"]]
        history = await bob.ok("chat:history", {"channel": "lobby"})
        assert [m["text"] for m in history["messages"]] == ["warm", "lost answer 1", "marker"]
        assert history["messages"][1] == again


async def test_without_client_id_the_same_retry_stores_the_message_twice(redis_url):
    """Why the client_id is needed (and that the proxy loses an answer that took
    effect): the plain send cannot know, and stores again."""
    async with node_behind_proxy(redis_url) as (node, proxy):
        alice = await node.client(name="Alice")
        send = {"channel": "lobby", "text": "lost answer 2"}
        proxy.lose_answer_to("lost answer 2")
        reply = await alice.call("chat:send", send)
        assert proxy.lost.is_set() and reply["error"]["code"] == "unavailable", reply
        proxy.heal()
        await alice.ok("chat:send", send)
        history = await alice.ok("chat:history", {"channel": "lobby"})
        assert [m["text"] for m in history["messages"]] == ["lost answer 2"] * 2
