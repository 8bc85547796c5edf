"""Deleting messages, muting and removing people."""

import pytest
import socketio
from harness import Client, eventually


async def test_delete_by_moderator_author_or_booth_staff_and_nobody_else(any_node):
    mod = await any_node.client("moderator")
    author = await any_node.client(name="Author")
    bystander = await any_node.client(name="Bystander")
    staff = await any_node.client("exhibitor")
    m1 = await author.ok("chat:send", {"channel": "lobby", "text": "spam spam"})
    await bystander.refused("chat:delete", {"channel": "lobby", "id": m1["id"]}, "forbidden")
    await mod.ok("chat:delete", {"channel": "lobby", "id": m1["id"]})
    gone = await bystander.wait_for("chat:deleted")
    assert gone == {"channel": "lobby", "id": m1["id"]}
    history = await bystander.ok("chat:history", {"channel": "lobby"})
    assert m1["id"] not in [m["id"] for m in history["messages"]]
    await mod.refused("chat:delete", {"channel": "lobby", "id": m1["id"]}, "message_not_found")

    m2 = await author.ok("chat:send", {"channel": "lobby", "text": "oops"})
    await author.ok("chat:delete", {"channel": "lobby", "id": m2["id"]})

    await author.ok("booth:enter", {"booth_id": "demo-b3"})
    m3 = await author.ok("chat:send", {"channel": "booth:demo-b3", "text": "rude"})
    await staff.ok("chat:delete", {"channel": "booth:demo-b3", "id": m3["id"]})  # their booth
    m4 = await author.ok("chat:send", {"channel": "lobby", "text": "lobby is not theirs"})
    await staff.refused("chat:delete", {"channel": "lobby", "id": m4["id"]}, "forbidden")


async def test_mute_blocks_sending_until_unmuted(any_node):
    mod = await any_node.client("moderator")
    p = await any_node.client()
    await mod.ok("mod:mute", {"person_id": p.person["id"], "minutes": 10, "reason": "flooding"})
    note = await p.wait_for("mod:muted")
    assert note["reason"] == "flooding"
    await p.refused("chat:send", {"channel": "lobby", "text": "let me talk"}, "muted")
    assert (await mod.ok("mod:unmute", {"person_id": p.person["id"]}))["was_muted"] is True
    await p.ok("chat:send", {"channel": "lobby", "text": "thanks"})


async def test_a_muted_moderator_cannot_announce_and_expired_mutes_are_not_reported(node):
    org = await node.client("organizer")
    mod = await node.client("moderator")
    mute = await org.ok("mod:mute", {"person_id": mod.person["id"], "minutes": 1})
    await mod.refused("lobby:announce", {"text": "hear me"}, "muted")
    node.fair.services.clock = lambda: mute["until"] + 1
    assert (await org.ok("mod:unmute", {"person_id": mod.person["id"]}))["was_muted"] is False
    assert not mod.received("mod:unmuted")


async def test_mute_expires_by_itself(node):
    mod = await node.client("moderator")
    p = await node.client()
    mute = await mod.ok("mod:mute", {"person_id": p.person["id"], "minutes": 1})
    await p.refused("chat:send", {"channel": "lobby", "text": "x"}, "muted")
    node.fair.services.clock = lambda: mute["until"] + 1
    await p.ok("chat:send", {"channel": "lobby", "text": "free again"})


async def test_remove_closes_every_tab_and_refuses_the_token_until_reinstated(any_node):
    org = await any_node.client("organizer")
    mod = await any_node.client("moderator")
    p = await any_node.client(name="Troll")
    tab2 = Client(any_node.base_url, p.token)
    any_node.clients.append(tab2)
    await tab2.connect()
    await mod.ok("mod:remove", {"person_id": p.person["id"], "reason": "harassment"})
    for client in (p, tab2):
        assert (await client.wait_for("mod:removed"))["reason"] == "harassment"
        await eventually(lambda c=client: not c.sio.connected)
    await eventually(lambda: mod.left(lambda s, pid: pid == p.person["id"]))
    again = Client(any_node.base_url, p.token)
    any_node.clients.append(again)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect()
    assert again.connect_error["data"]["code"] == "removed"
    status, reply = await any_node.request("GET", "/api/me", p.token)
    assert status == 403 and reply["error"]["code"] == "removed"
    await org.ok("mod:reinstate", {"person_id": p.person["id"]})
    await again.connect()
    assert (await again.ok("lobby:state"))["me"]["id"] == p.person["id"]
