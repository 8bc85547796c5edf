"""Registrations (POST /api/join) are limited per client address and per invite, so a
multi-use invite cannot mint people without end (each new person would get fresh
per-person budgets); the address is the peer's, or from X-Forwarded-For only when the
peer is a trusted proxy."""

from __future__ import annotations

import pytest
from harness import running_node

from server.client_address import ClientAddresses

PROXY = "127.0.0.1"  # the test client is the proxy when trusted


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "client"),
    [
        ([], "203.0.113.7", None, "203.0.113.7"),
        ([], "203.0.113.7", "198.51.100.1", "203.0.113.7"),  # not a proxy of ours: ignored
        (["10.0.0.0/8"], "10.0.0.2", "198.51.100.1", "198.51.100.1"),
        # what the client wrote itself is left of what our proxy appended: never believed
        (["10.0.0.0/8"], "10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),
        # two proxies of ours in a row
        (["10.0.0.0/8"], "10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.9", "198.51.100.1"),
        (["10.0.0.0/8"], "10.0.0.2", "garbage, 198.51.100.1", "198.51.100.1"),
        (["10.0.0.0/8"], "10.0.0.2", "198.51.100.1, garbage", "10.0.0.2"),
        (["10.0.0.2"], "10.0.0.2", "", "10.0.0.2"),
        (["10.0.0.2"], "10.0.0.2", "10.0.0.3", "10.0.0.3"),  # untrusted hop: the client
        # one IPv6 subscriber gets a /64: all of it counts as one address
        ([], "2001:db8:1:2:aaaa::1", None, "2001:db8:1:2::/64"),
        (["::1"], "::1", "[2001:db8:1:2::7]:443", "2001:db8:1:2::/64"),
        ([], "::ffff:203.0.113.7", None, "203.0.113.7"),
        (["10.0.0.0/8"], "10.0.0.2", "203.0.113.7:51234", "203.0.113.7"),
    ],
)
def test_the_client_address(trusted, peer, forwarded, client):
    assert ClientAddresses(trusted).of(peer, forwarded) == client


async def join(node, invite: str, name: str, forwarded: str | None = None) -> tuple[int, dict]:
    form = {"code": invite, "name": name, "company": "Flood SA", "country": "FR"}
    form["sector"] = "ICT"
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return await node.request("POST", "/api/join", json=form, headers=headers)


async def test_a_registration_flood_through_one_invite_hits_both_limits(measured):
    limits = {"join_address_rate_count": 5, "join_invite_rate_count": 12}
    async with running_node(trusted_proxies=[PROXY], **limits) as node:
        org = await node.register("organizer")  # from 127.0.0.1 itself
        status, invite = await node.request(
            "POST", "/api/events/demo/invites", org["token"], json={"role": "participant"}
        )
        code = invite["code"]
        # one address: 5 registrations, then 429; a wrong code counts too (no guessing)
        results = [await join(node, code, f"A{i}", "198.51.100.1") for i in range(4)]
        assert [s for s, _ in results] == [201] * 4
        assert (await join(node, "wrong-code-1234", "A", "198.51.100.1"))[0] == 404
        status, body = await join(node, code, "A5", "198.51.100.1")
        assert status == 429 and body["error"]["code"] == "rate_limited"
        assert "registrations from one address" in body["error"]["message"]
        # the invite: 12 accepted in all, whatever the addresses
        accepted, refused = 4, 1
        for i in range(20):
            status, body = await join(node, code, f"B{i}", f"198.51.100.{10 + i}")
            if status == 201:
                accepted += 1
            else:
                assert status == 429 and body["error"]["code"] == "rate_limited"
                assert "registrations through one invite" in body["error"]["message"]
                refused += 1
        assert accepted == 12 and refused == 13
        measured(f"registrations through one invite: {accepted} accepted, {refused} refused")
        # other invites are not held up by this one
        status, _ = await join(node, node.invites["participant"], "Other", "198.51.100.99")
        assert status == 201


async def test_x_forwarded_for_is_ignored_from_a_peer_that_is_no_trusted_proxy():
    async with running_node(join_address_rate_count=3) as node:
        code = node.invites["participant"]
        statuses = [(await join(node, code, f"S{i}", f"203.0.113.{i}"))[0] for i in range(5)]
        assert statuses == [201, 201, 201, 429, 429]  # all from 127.0.0.1, whatever they say
