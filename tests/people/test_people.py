"""rooms/people.py: invitations and registration."""

from __future__ import annotations

import pytest
from domain import demo_fair, person

from rooms.errors import DomainError
from rooms.people import InviteRequest, Registration


def form(code: str, **fields) -> Registration:
    base = {"code": code, "name": "Ana", "company": "ACME", "country": "FR", "sector": "ICT"}
    return Registration(**{**base, **fields})


async def refused(code: str, action) -> None:
    with pytest.raises(DomainError) as caught:
        await action
    assert caught.value.code == code, caught.value


async def test_only_organizers_mint_and_exhibitor_invites_name_booths():
    fair, _, _ = await demo_fair()
    org, mod = await person(fair, "organizer"), await person(fair, "moderator")
    await refused("forbidden", fair.people.mint_invite(mod, "demo", InviteRequest(role="participant")))  # fmt: skip
    await refused("invalid_payload", fair.people.mint_invite(org, "demo", InviteRequest(role="exhibitor")))  # fmt: skip
    await refused("invalid_payload", fair.people.mint_invite(
        org, "demo", InviteRequest(role="participant", booth_ids=["demo-b1"])
    ))  # fmt: skip
    await refused("booth_not_found", fair.people.mint_invite(
        org, "demo", InviteRequest(role="exhibitor", booth_ids=["demo-b99"])
    ))  # fmt: skip
    invite = await fair.people.mint_invite(
        org, "demo", InviteRequest(role="exhibitor", booth_ids=["demo-b1"], label="Rhône")
    )
    staff = await fair.people.register(form(invite.code))
    assert staff.role == "exhibitor" and staff.booth_ids == ["demo-b1"]
    assert invite.created_by == org.id
    assert invite in await fair.people.list_invites(org, "demo")


async def test_uses_expiry_and_revocation_are_enforced():
    fair, _, clock = await demo_fair()
    org = await person(fair, "organizer")
    twice = await fair.people.mint_invite(
        org, "demo", InviteRequest(role="participant", max_uses=2)
    )
    await fair.people.register(form(twice.code))
    await refused("invalid_payload", fair.people.register(form(twice.code, name="   ")))
    await fair.people.register(form(twice.code, name="Ben"))  # the blank one used nothing
    await refused("invite_used_up", fair.people.register(form(twice.code, name="Cy")))
    hour = await fair.people.mint_invite(
        org, "demo", InviteRequest(role="participant", expires_in_hours=1)
    )
    clock.now += 3601
    await refused("invite_expired", fair.people.register(form(hour.code)))
    open_one = await fair.people.mint_invite(org, "demo", InviteRequest(role="participant"))
    await fair.people.revoke_invite(org, open_one.code)
    await refused("invite_invalid", fair.people.register(form(open_one.code)))
    await refused("invite_invalid", fair.people.register(form("no-such-code-123")))


async def test_demo_invites_are_stable_and_keep_a_revocation():
    fair, _, _ = await demo_fair()
    req = InviteRequest(role="moderator", label="demo moderator")
    first = await fair.people.ensure_invite("demo", req, b"secret")
    assert (await fair.people.ensure_invite("demo", req, b"secret")).code == first.code
    assert (await fair.people.ensure_invite("demo", req, b"other")).code != first.code
    org = await person(fair, "organizer")
    await fair.people.revoke_invite(org, first.code)
    assert (await fair.people.ensure_invite("demo", req, b"secret")).revoked


async def test_an_exhibitor_invite_whose_booths_are_gone_is_invalid():
    fair, _, _ = await demo_fair()
    org = await person(fair, "organizer")
    booth = await fair.catalog.create_booth(
        org, "demo", {"hall_id": "demo-hall-a", "company": "Gone", "sector": "S", "country": "FR"}
    )
    invite = await fair.people.mint_invite(
        org, "demo", InviteRequest(role="exhibitor", booth_ids=[booth.id])
    )
    await fair.catalog.delete_booth(org, "demo", booth.id)
    await refused("invite_invalid", fair.people.register(form(invite.code)))


async def test_people_lists_are_for_organizers():
    fair, _, _ = await demo_fair()
    ana = await person(fair, "participant", name="Ana")
    await refused("forbidden", fair.people.list_for(ana))
    org = await person(fair, "organizer", name="Olga")
    assert [p.name for p in await fair.people.list_for(org)] == ["Ana", "Olga"]
