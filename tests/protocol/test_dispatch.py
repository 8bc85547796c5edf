"""The closed dispatch: what a hostile client sends beyond the declared commands.

Reserved names (``connect``, ``disconnect``, ``*``) are unknown events like any
other; a second CONNECT packet closes the socket; every packet that cannot be read
gets an error ack when it carries an ack id, else the socket is closed with a
``socket:closing`` push that says why, and the node logs no traceback.
"""

from __future__ import annotations

import json
import logging
import struct

import msgspec
import pytest
from harness import running_node
from raw_websocket import CLOSE, RawWebSocket


@pytest.fixture(autouse=True)
def no_tracebacks(caplog):
    """Fail a test whose node logged a traceback (or anything at ERROR)."""
    caplog.set_level(logging.INFO)
    yield
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [f"{r.name}: {r.getMessage()}" for r in bad]


def ack_of(frame: str, ack_id: int) -> dict:
    prefix = f"43{ack_id}"
    assert frame.startswith(prefix), frame
    return msgspec.json.decode(frame[len(prefix) :])[0]


async def signed_in_socket(node, role: str = "participant") -> tuple[RawWebSocket, dict]:
    joined = await node.register(role)
    ws = await RawWebSocket.open(node)
    await ws.signed_in(joined["token"])
    return ws, joined


async def closed_with_reason(ws: RawWebSocket) -> dict:
    """The reason the server gives, then the end of the stream: a socket:closing push
    (and Socket.IO's DISCONNECT), or for what is not Engine.IO at all a WebSocket close
    frame with its status and reason."""
    reason = None
    while True:
        opcode, data = await ws.frame()
        if opcode == CLOSE:
            code = struct.unpack("!H", data[:2])[0]
            reason = reason or {"code": f"websocket {code}", "message": data[2:].decode()}
            break
        text = data.decode()
        if text.startswith('42["socket:closing"'):
            reason = json.loads(text[2:])[1]
        if text == "1":  # engine.io CLOSE
            break
    assert reason is not None, "closed without saying why"
    assert await ws.reader.read() == b""
    return reason


# -- reserved names -------------------------------------------------------------------------------
async def test_a_client_sent_connect_does_not_change_who_the_socket_is(node):
    mallory = await node.client(name="Mallory")
    victim = await node.register("participant", name="Victor")
    await mallory.ok("booth:enter", {"booth_id": "demo-b1"})
    moderator = await node.client("moderator")
    room = await moderator.ok("call:create", {"kind": "group", "title": "Table", "capacity": 2})
    await mallory.ok("call:join", {"call_id": room["id"]})
    for _ in range(5):  # a stock python-socketio server would run on_connect each time
        reply = await mallory.call("connect", {"token": victim["token"]})
        assert reply["error"]["code"] == "unknown_event", reply
    state = await mallory.ok("lobby:state")
    assert state["me"]["id"] == mallory.person["id"]
    online = {p["id"] for p in await mallory.ok("lobby:online")}
    assert victim["person"]["id"] not in online  # no ghost of the victim
    booth = await mallory.ok("booth:get", {"booth_id": "demo-b1"})
    assert [p["id"] for p in booth["present"]] == [mallory.person["id"]]
    members = (await moderator.ok("call:get", {"call_id": room["id"]}))["members"]
    assert [m["person"]["id"] for m in members] == [mallory.person["id"]]  # one seat, not six
    await moderator.ok("call:join", {"call_id": room["id"]})  # the second seat is still free
    await mallory.close()
    await moderator.wait_for("call:left", lambda d: d["call_id"] == room["id"])
    members = (await moderator.ok("call:get", {"call_id": room["id"]}))["members"]
    assert [m["person"]["id"] for m in members] == [moderator.person["id"]]


async def test_a_second_connect_packet_closes_the_socket_and_leaves_no_ghost(node):
    ws, me = await signed_in_socket(node)
    other = await node.register("participant")
    watcher = await node.client("organizer")
    ws.send_text("40" + json.dumps({"token": other["token"]}))
    reason = await closed_with_reason(ws)
    assert reason["code"] == "bad_request"
    # the closed socket's person left; the other person was never signed in by it
    await watcher.wait_left(lambda scope, pid: pid == me["person"]["id"])
    online = {p["id"] for p in await watcher.ok("lobby:online")}
    assert me["person"]["id"] not in online and other["person"]["id"] not in online


async def test_star_with_a_victims_sid_leaves_the_victim_untouched():
    async with running_node(events_per_second=5) as node:
        victim = await node.client(name="Victim")
        attacker = await node.client(name="Attacker")
        victim_sid = victim.sio.get_sid()
        for _ in range(30):
            reply = await attacker.sio.call("*", (victim_sid, {}), timeout=5)
            assert reply["error"]["code"] in ("unknown_event", "too_many_requests"), reply
        # the victim's budget (burst 10) is whole: ten requests in a row pass
        replies = [await victim.call("lobby:online", {}) for _ in range(10)]
        assert all(r["ok"] for r in replies), replies


async def test_a_client_sent_disconnect_is_refused_and_the_session_stays_whole(node):
    p = await node.client()
    watcher = await node.client("organizer")
    await p.ok("booth:enter", {"booth_id": "demo-b2"})
    reply = await p.call("disconnect", {})
    assert reply["error"]["code"] == "unknown_event"
    assert p.sio.connected
    assert (await p.ok("lobby:state"))["me"]["id"] == p.person["id"]
    online = {c["id"] for c in await watcher.ok("lobby:online")}
    assert p.person["id"] in online
    booth = await watcher.ok("booth:get", {"booth_id": "demo-b2"})
    assert p.person["id"] in [c["id"] for c in booth["present"]]
    _, metrics = await node.request("GET", "/metrics")
    assert 'fairhall_errors_total{code="unknown_event"} 1.0' in metrics.decode()


# -- packets that cannot be read ------------------------------------------------------------------
DEEP = "[" * 100_000 + "]" * 100_000
WITH_ACK = [  # (what, packet, the namespace and ack id it is answered on)
    ("invalid JSON", '4211["lobby:online"', "4311"),
    ("NaN", '4212["lobby:online",NaN]', "4312"),
    ("100k-deep nesting", f'4213["lobby:online",{DEEP}]', "4313"),
    ("deep nesting of the envelope", f"4214{DEEP}", "4314"),
    ("lone surrogate", '4215["chat:send",{"channel":"lobby","text":"half \\ud83d"}]', "4315"),
    (
        "binary placeholder without attachment",
        '451-16["chat:send",{"channel":"lobby","text":{"_placeholder":true,"num":0}}]',
        "4316",
    ),
    ("other namespace", '42/admin,17["lobby:online",{}]', "43/admin,17"),
    ("not an array", "4218{}", "4318"),
    ("name not a string", "4219[17]", "4319"),
    ("no JSON at all", "4220", "4320"),
]


async def test_every_unreadable_packet_with_an_ack_id_gets_an_error_ack(node):
    p = await node.client()
    ws, _ = await signed_in_socket(node)
    for what, raw, answered_on in WITH_ACK:
        ws.send_text(raw)
        frame = await ws.text_starting("43")
        assert frame.startswith(answered_on), (what, frame)
        reply = msgspec.json.decode(frame[len(answered_on) :])[0]
        assert reply["ok"] is False, (what, reply)
        assert reply["error"]["code"] in ("bad_request", "nesting_too_deep"), (what, reply)
    ws.send_text('4250["lobby:online",{}]')
    assert ack_of(await ws.text_starting("4350"), 50)["ok"] is True  # still connected
    assert (await p.ok("chat:history", {"channel": "lobby"}))["messages"] == []


async def test_a_lone_surrogate_never_reaches_storage(node):
    p = await node.client()
    ws, _ = await signed_in_socket(node)
    ws.send_text('4230["chat:send",{"channel":"lobby","text":"half an emoji \\ud83d"}]')
    reply = ack_of(await ws.text_starting("4330"), 30)
    assert reply["error"]["code"] == "bad_request" and "surrogate" in reply["error"]["message"]
    ws.send_text('4231["chat:send",{"channel":"lobby","text":"a whole one \\ud83d\\ude00"}]')
    assert ack_of(await ws.text_starting("4331"), 31)["ok"] is True
    history = await p.ok("chat:history", {"channel": "lobby"})
    assert [m["text"] for m in history["messages"]] == ["a whole one \U0001f600"]


@pytest.mark.parametrize(
    "raw",
    [
        '42["lobby:online"',  # invalid JSON, no ack id
        "42{}",  # not an array
        '42["lobby:online",NaN]',
        "45-x",  # a binary packet without its attachment count
        '451-["chat:send",{"_placeholder":true,"num":0}]',  # waits for an attachment
        "49",  # no such Socket.IO packet type
        "44",  # CONNECT_ERROR is the server's to send
        f'42["lobby:online",{DEEP}]',
    ],
)
async def test_an_unreadable_packet_without_an_ack_id_closes_with_a_reason(node, raw):
    ws, _ = await signed_in_socket(node)
    ws.send_text(raw)
    reason = await closed_with_reason(ws)
    assert reason["code"] in ("bad_request", "nesting_too_deep") and reason["message"]


async def test_what_is_not_engine_io_closes_the_websocket_with_a_reason(node):
    ws, _ = await signed_in_socket(node)
    ws.send_text("9")  # no such Engine.IO packet type
    reason = await closed_with_reason(ws)
    assert reason == {"code": "websocket 1002", "message": "not an Engine.IO packet"}


async def test_binary_frames_close_the_socket_with_a_reason(node):
    ws, _ = await signed_in_socket(node)
    ws.send(0x2, b"\x00\x01binary")
    assert (await closed_with_reason(ws))["code"] == "bad_request"


async def test_another_namespace_cannot_be_joined(node):
    ws, _ = await signed_in_socket(node)
    ws.send_text("40/admin,{}")
    frame = await ws.text_starting("44/admin")  # CONNECT_ERROR: an answer, not silence
    assert "connect" in frame.lower()
    ws.send_text('4251["lobby:online",{}]')
    assert ack_of(await ws.text_starting("4351"), 51)["ok"] is True


async def test_refused_packets_are_counted(node):
    ws, _ = await signed_in_socket(node)
    ws.send_text('4211["lobby:online"')
    await ws.text_starting("4311")
    ws.send_text('4212["nope:nothing",{}]')
    await ws.text_starting("4312")
    _, metrics = await node.request("GET", "/metrics")
    text = metrics.decode()
    assert 'fairhall_errors_total{code="bad_request"} 1.0' in text
    assert 'fairhall_events_total{event="unknown"} 2.0' in text
