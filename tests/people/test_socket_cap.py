"""One person's sockets are capped (max_sockets_per_person, all nodes together): a
newer one closes the oldest with `socket:closing` (too_many_sockets), and a burst of
connects with one token is admitted one at a time per node.

The flood of 500 sockets against a two-node cluster, with numbers: test_chaos.py.
"""

from __future__ import annotations

import asyncio

import pytest
import socketio
from browser_pages import join, strings, unique
from harness import Client, eventually, running_node

from rooms.errors import DomainError
from server.gateway import Admission

try:
    from playwright.async_api import expect
except ImportError:  # the browser fixtures skip (or fail on CI) before expect is needed
    expect = None


async def tab(node, token: str) -> Client:
    client = Client(node.base_url, token)
    node.clients.append(client)
    await client.connect()
    return client


def closed_for_too_many(client: Client) -> bool:
    closing = client.received("socket:closing")
    return bool(closing) and closing[0]["code"] == "too_many_sockets" and not client.sio.connected


async def test_a_new_socket_past_the_cap_closes_the_oldest():
    async with running_node(max_sockets_per_person=3) as node:
        watcher = await node.client(name="Watcher")
        first = await node.client(name="Tabby")
        token = first.token
        tabs = [first, await tab(node, token), await tab(node, token)]
        await watcher.wait_joined(lambda s, c: c["name"] == "Tabby")
        newest = await tab(node, token)
        await eventually(lambda: closed_for_too_many(first))
        assert "more than 3 connections" in first.received("socket:closing")[0]["message"]
        assert all(t.sio.connected for t in (*tabs[1:], newest))
        assert await newest.ok("lobby:online")  # the newest works
        another = await tab(node, token)
        await eventually(lambda: closed_for_too_many(tabs[1]))  # then the next oldest
        assert all(t.sio.connected for t in (tabs[2], newest, another))
        # closing tabs is nobody else's business: Tabby never looked gone
        await watcher.ok("lobby:online")
        assert not watcher.left()
        assert len(watcher.joined(lambda s, c: c["name"] == "Tabby")) == 1
        assert {p["name"] for p in await watcher.ok("lobby:online")} == {"Watcher", "Tabby"}


async def test_the_cap_holds_across_nodes(redis_url):
    fast = {"redis": redis_url, "max_sockets_per_person": 2}
    async with running_node(**fast) as a, running_node(**fast) as b:
        on_a = await a.client(name="Roaming")
        on_b = await tab(b, on_a.token)
        third = await tab(a, on_a.token)
        await eventually(lambda: closed_for_too_many(on_a))
        fourth = await tab(a, on_a.token)
        await eventually(lambda: closed_for_too_many(on_b))  # closed by node b, told by a
        assert third.sio.connected and fourth.sio.connected
        assert await fourth.ok("lobby:online")


async def test_a_burst_of_connects_with_one_token_ends_with_the_cap(any_node):
    joined = await any_node.register("participant", name="Burst")
    clients = [Client(any_node.base_url, joined["token"]) for _ in range(30)]
    any_node.clients.extend(clients)
    results = await asyncio.gather(*(c.connect() for c in clients), return_exceptions=True)
    for client, result in zip(clients, results, strict=True):
        if isinstance(result, Exception):  # refused while 10 others waited to be admitted
            assert isinstance(result, socketio.exceptions.ConnectionError)
            assert client.connect_error["data"]["code"] == "too_many_sockets"
    await eventually(lambda: sum(c.sio.connected for c in clients) == 10)
    for client, result in zip(clients, results, strict=True):
        if not isinstance(result, Exception) and not client.sio.connected:
            assert closed_for_too_many(client)
    connected = [c for c in clients if c.sio.connected]
    assert all([await c.ok("lobby:online") for c in connected])


async def test_one_persons_connects_wait_their_turn_and_a_queue_too_long_is_refused():
    admission = Admission(limit=3)
    order: list[str] = []
    release = asyncio.Event()

    async def connect(name: str, person: str = "p-1") -> None:
        async with admission.turn(person):
            order.append(name)
            await release.wait()

    first = asyncio.create_task(connect("first"))
    waiting = [asyncio.create_task(connect(f"waiting {i}")) for i in range(2)]
    other = asyncio.create_task(connect("someone else", "p-2"))  # never waits for p-1
    await eventually(lambda: order == ["first", "someone else"])
    with pytest.raises(DomainError) as refused:
        await connect("one too many")
    assert refused.value.code == "too_many_sockets"
    release.set()
    await asyncio.gather(first, *waiting, other)
    assert order == ["first", "someone else", "waiting 0", "waiting 1"]
    await connect("later")  # the queue is empty again


async def test_the_tab_that_lost_its_place_says_why_and_can_take_it_back(new_page):
    """The browser tab whose socket was closed for a newer one shows why (not
    "reconnecting" for ever) and offers to use the event there again."""
    async with running_node(max_sockets_per_person=1) as node:
        first = await new_page()
        await join(
            first, f"{node.base_url}/join/{node.invites['participant']}", unique("Tab"),
            company="Tab SA", country="FR", sector="ICT",
        )  # fmt: skip
        second = await first.context.new_page()  # the same browser: the same session
        await second.goto(node.base_url + "/")
        await expect(second.get_by_test_id("view-lobby")).to_be_visible()
        en = strings("en")
        await expect(first.get_by_test_id("message-text")).to_have_text(
            en["error.too_many_sockets"]
        )
        await expect(first.get_by_test_id("message-title")).to_have_text(en["auth.closedTitle"])
        await first.get_by_test_id("rejoin").click()  # "use the event here"
        await expect(first.get_by_test_id("view-lobby")).to_be_visible()
        await expect(second.get_by_test_id("message-text")).to_have_text(
            en["error.too_many_sockets"]
        )
