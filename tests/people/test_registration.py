"""Invites, registration, session tokens and connection refusal."""

import asyncio

import pytest
import socketio
from harness import Client, running_node

from server.auth import Tokens


async def refused_code(node, auth) -> str:
    client = await node.anonymous()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(auth=auth)
    assert not client.sio.connected
    return client.connect_error["data"]["code"]


async def test_connect_without_token_is_refused(node):
    assert await refused_code(node, None) == "auth_required"
    assert await refused_code(node, {}) == "auth_required"
    assert await refused_code(node, {"token": 42}) == "auth_required"


async def test_connect_with_bad_tokens_is_refused(node):
    assert await refused_code(node, {"token": "garbage"}) == "auth_invalid"
    forged = Tokens("another-secret", 3600).mint("demo", "p-someone")
    assert await refused_code(node, {"token": forged}) == "auth_invalid"
    # signed with the right secret but for a person who does not exist
    unknown = Tokens("test-secret", 3600).mint("demo", "p-ghost")
    assert await refused_code(node, {"token": unknown}) == "auth_invalid"
    assert await refused_code(node, {"token": "x" * 5000}) == "auth_invalid"


async def test_expired_token_is_refused():
    async with running_node(token_ttl_hours=1 / 3600) as node:  # one second
        joined = await node.register("participant")
        await asyncio.sleep(2.2)
        assert await refused_code(node, {"token": joined["token"]}) == "auth_expired"


async def test_registration_validates_the_form(node):
    base = {"code": node.invites["participant"], "name": "Ana", "company": "X", "sector": "ICT"}
    status, body = await node.request("POST", "/api/join", json={**base, "country": "France"})
    assert status == 400 and body["error"]["code"] == "invalid_payload"
    status, body = await node.request(
        "POST", "/api/join", json={**base, "country": "FR", "role": "organizer"}
    )
    assert status == 400 and body["error"]["code"] == "invalid_payload"  # no self-promotion
    status, body = await node.request(
        "POST", "/api/join", json={**base, "country": "FR", "name": "   "}
    )
    assert status == 400 and body["error"]["code"] == "invalid_payload"
    status, body = await node.request(
        "POST", "/api/join", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and body["error"]["code"] == "invalid_json"
    status, body = await node.request(
        "POST", "/api/join", json={**base, "country": "FR", "code": "nonexistent-code"}
    )
    assert status == 404 and body["error"]["code"] == "invite_invalid"


async def test_invite_limits_expiry_and_revocation(node):
    organizer = await node.register("organizer")
    token = organizer["token"]
    status, invite = await node.request(
        "POST", "/api/events/demo/invites", token, json={"role": "participant", "max_uses": 1}
    )
    assert status == 201 and invite["url"].endswith(invite["code"])
    form = {
        "name": "A",
        "company": "B",
        "country": "DE",
        "sector": "Health",
        "code": invite["code"],
    }
    assert (await node.request("POST", "/api/join", json=form))[0] == 201
    status, body = await node.request("POST", "/api/join", json=form)
    assert status == 410 and body["error"]["code"] == "invite_used_up"

    status, invite = await node.request(
        "POST", "/api/events/demo/invites", token, json={"role": "moderator"}
    )
    status, info = await node.request("GET", f"/api/invites/{invite['code']}")
    assert status == 200 and info["role"] == "moderator" and info["event"]["id"] == "demo"
    assert (await node.request("DELETE", f"/api/events/demo/invites/{invite['code']}", token))[
        0
    ] == 200
    status, body = await node.request("GET", f"/api/invites/{invite['code']}")
    assert status == 404 and body["error"]["code"] == "invite_invalid"

    status, invite = await node.request(
        "POST",
        "/api/events/demo/invites",
        token,
        json={"role": "participant", "expires_in_hours": 1},
    )
    status, body = await node.request("POST", "/api/join", json={**form, "code": invite["code"]})
    assert status == 201  # still valid now
    node.fair.services.clock = lambda: invite["expires_at"] + 1  # an hour and a second later
    status, body = await node.request("POST", "/api/join", json={**form, "code": invite["code"]})
    assert status == 410 and body["error"]["code"] == "invite_expired"


async def test_exhibitor_invite_must_name_existing_booths(node):
    organizer = await node.register("organizer")
    for body, code in [
        ({"role": "exhibitor"}, "invalid_payload"),
        ({"role": "exhibitor", "booth_ids": ["nope"]}, "booth_not_found"),
        ({"role": "participant", "booth_ids": ["demo-b1"]}, "invalid_payload"),
    ]:
        status, reply = await node.request(
            "POST", "/api/events/demo/invites", organizer["token"], json=body
        )
        assert status in (400, 404) and reply["error"]["code"] == code


async def test_token_is_bound_to_a_person_and_survives_reconnects(node):
    joined = await node.register("participant", name="Zoe")
    for _ in range(2):
        client = Client(node.base_url, joined["token"])
        node.clients.append(client)
        await client.connect()
        state = await client.ok("lobby:state")
        assert state["me"]["name"] == "Zoe" and state["me"]["role"] == "participant"
        await client.close()
