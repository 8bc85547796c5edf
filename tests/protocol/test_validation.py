"""Hostile input: every event gets malformed payloads; errors come back as codes,
the socket stays usable and nothing stored changes."""

import json

import aiohttp
import msgspec
from harness import running_node

JUNK = ["a string", 12, 3.5, True, [1, 2], {"zzz_unknown_field": 1}]


def payload_fields(command) -> list[str]:
    return list(command.payload.__struct_fields__)


async def snapshot(node) -> tuple:
    engine = node.fair.engine
    history = await engine.history.before("chat:demo:lobby", None, 1000)
    booths = await engine.docs.all("ev:demo:booths")
    people = await engine.docs.all("ev:demo:people")
    return history, booths, people


async def test_every_event_refuses_malformed_payloads_and_the_socket_survives(any_node):
    org = await any_node.client(
        "organizer"
    )  # the most powerful role: validation, not permission, must refuse
    await org.ok("chat:send", {"channel": "lobby", "text": "keep me"})
    before = await snapshot(any_node)
    commands = any_node.fair.commands
    assert len(commands) >= 15
    for name, command in commands.items():
        cases = list(JUNK)
        for field in payload_fields(command):
            cases.append({field: {"nested": ["object"]}})  # wrong type for every field
            cases.append({field: "x" * 30_000})  # oversized for every field
        for payload in cases:
            reply = await org.call(name, payload)
            assert reply["ok"] is False, (name, payload, reply)
            assert reply["error"]["code"] == "invalid_payload", (name, payload, reply)
            assert reply["error"]["message"]
    assert org.sio.connected
    assert (await org.ok("lobby:state"))["me"]["role"] == "organizer"
    assert await snapshot(any_node) == before


async def test_missing_fields_unknown_events_and_extra_arguments(node):
    p = await node.client()
    for name in (
        "chat:send",
        "chat:history",
        "chat:delete",
        "booth:enter",
        "mod:mute",
        "booth:update",
    ):
        reply = await p.call(name, {})
        assert reply["error"]["code"] == "invalid_payload", (name, reply)
        assert "missing required field" in reply["error"]["message"]
    reply = await p.call("chat:launch_missiles", {})
    assert reply["error"]["code"] == "unknown_event"
    reply = await p.sio.call("chat:send", ({"channel": "lobby", "text": "a"}, "extra"), timeout=5)
    assert reply["error"]["code"] == "invalid_payload"
    reply = await p.call("chat:history", {"channel": "lobby", "before": "1-0", "since": "1-0"})
    assert reply["error"]["code"] == "invalid_payload"
    reply = await p.call("chat:history", {"channel": "lobby", "since": "../../etc"})
    assert reply["error"]["code"] == "invalid_payload"
    # a payload of null counts as an empty object
    assert (await p.call("lobby:online", None))["ok"] is True
    assert p.sio.connected and (await p.ok("lobby:online"))


async def test_limits_chat_length_and_rate_are_settings():
    async with running_node(chat_max_length=20, chat_rate_count=3, chat_rate_window=60) as node:
        p = await node.client()
        await p.refused("chat:send", {"channel": "lobby", "text": "x" * 21}, "message_too_long")
        await p.refused("chat:send", {"channel": "lobby", "text": "   "}, "message_empty")
        for i in range(3):
            await p.ok("chat:send", {"channel": "lobby", "text": f"ok {i}"})
        await p.refused("chat:send", {"channel": "lobby", "text": "one too many"}, "rate_limited")
        # the limit is per person: a second tab shares it, another person does not
        other = await node.client()
        await other.ok("chat:send", {"channel": "lobby", "text": "my turn"})
        history = await other.ok("chat:history", {"channel": "lobby"})
        assert [m["text"] for m in history["messages"]] == ["ok 0", "ok 1", "ok 2", "my turn"]


async def test_per_socket_event_budget_refuses_floods_without_disconnecting():
    async with running_node(events_per_second=5) as node:
        p = await node.client()
        codes = [(await p.call("lobby:online", {}))["ok"] for _ in range(30)]
        assert codes.count(False) > 0 and codes[:10] == [True] * 10  # burst of 2x rate first
        assert p.sio.connected


async def test_raw_malformed_socketio_packets_do_not_break_the_connection(node):
    """What a hostile client can put on the wire beyond python-socketio's API: every
    packet that asks for an ack gets one, and the connection stays usable.
    (Unreadable packets without an ack id close the socket with a reason:
    tests/protocol/test_dispatch.py.)"""
    joined = await node.register("participant")
    ws_url = node.base_url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        assert (await ws.receive_str()).startswith("0")  # engine.io open
        await ws.send_str("40" + json.dumps({"token": joined["token"]}))
        while not (await ws.receive_str()).startswith("40"):  # pushes may come first
            pass
        sent = {
            1: '421["lobby:online"',
            2: "422[]",
            3: "423[17]",
            4: '424[{"a":1}]',
            99: "4299",
        }
        for raw in sent.values():
            await ws.send_str(raw)
        await ws.send_str('4250["lobby:online",{}]')
        refused = {}
        while True:  # skip pushes until our ack
            frame = await ws.receive_str()
            if frame.startswith("4350"):
                break
            assert not frame.startswith("41"), f"server disconnected us: {frame}"
            if frame.startswith("43"):
                ack_id = int(frame[2 : frame.index("[")])
                refused[ack_id] = msgspec.json.decode(frame[frame.index("[") :])[0]
        reply = msgspec.json.decode(frame[4:])[0]
        assert reply["ok"] is True
        assert set(refused) == set(sent)
        assert all(r["error"]["code"] == "bad_request" for r in refused.values()), refused
