"""rooms/permissions.py: what each role grants, the scopes, and the named predicates."""

from __future__ import annotations

import pytest

from rooms.errors import DomainError
from rooms.models import ROLES, Call, Person
from rooms.permissions import (
    BOOTH_STAFF,
    CALL_HOST,
    MESSAGE_AUTHOR,
    ROLE_GRANTS,
    SCOPES,
    Perm,
    allows,
    granted,
    hosts_call,
    may_ever,
    require,
    require_outranks,
    scopes_for,
)  # fmt: skip


def who(role: str, pid: str = "p-1", booths: tuple[str, ...] = ()) -> Person:
    return Person(
        id=pid, event_id="ev", role=role, name="N", company="C", country="FR", sector="S",
        language="en", booth_ids=list(booths),
    )  # fmt: skip


def test_roles_grant_more_as_they_rise():
    p, e, m, o = (ROLE_GRANTS[r] for r in ROLES)
    assert p == e  # exhibitors differ only by the booths they staff (a scope)
    assert p < m < o


def test_every_permission_is_reachable_by_someone():
    for perm in Perm:
        assert any(may_ever(role, perm) for role in ROLES), perm


def test_call_hosting_is_never_granted_by_role_alone():
    assert not any(granted(role, Perm.CALL_HOST) for role in ROLES)
    assert all(scopes_for(role, Perm.CALL_HOST) == (CALL_HOST,) for role in ROLES)


def test_booth_staff_scope_is_for_exhibitors_of_that_booth_only():
    staff, other = who("exhibitor", booths=("b1",)), who("participant")
    assert allows(staff, Perm.BOOTH_EDIT, (BOOTH_STAFF, "b1"))
    assert not allows(staff, Perm.BOOTH_EDIT, (BOOTH_STAFF, "b2"))
    assert not allows(staff, Perm.BOOTH_EDIT)  # no resource, no scope
    assert not allows(who("participant", booths=("b1",)), Perm.BOOTH_EDIT, (BOOTH_STAFF, "b1"))
    assert not allows(other, Perm.BOOTH_EDIT, (BOOTH_STAFF, None))
    assert allows(who("organizer"), Perm.BOOTH_EDIT)  # by role, anywhere


def test_a_scope_grants_only_its_permissions():
    staff = who("exhibitor", booths=("b1",))
    assert not allows(staff, Perm.PEOPLE_MUTE, (BOOTH_STAFF, "b1"))
    assert allows(staff, Perm.CHAT_DELETE, (MESSAGE_AUTHOR, "p-9"), (BOOTH_STAFF, "b1"))
    assert allows(who("participant", pid="p-9"), Perm.CHAT_DELETE, (MESSAGE_AUTHOR, "p-9"))
    assert not allows(who("participant", pid="p-8"), Perm.CHAT_DELETE, (MESSAGE_AUTHOR, "p-9"))


@pytest.mark.parametrize(
    ("kind", "role", "pid", "booths", "hosts"),
    [
        ("booth", "exhibitor", "p-1", ("b1",), True),
        ("booth", "exhibitor", "p-1", ("b2",), False),
        ("booth", "organizer", "p-1", (), False),  # booth calls belong to their staff
        ("group", "moderator", "p-1", (), True),
        ("group", "organizer", "p-1", (), True),
        ("group", "participant", "p-1", (), False),
        ("meeting", "participant", "p-creator", (), True),
        ("meeting", "organizer", "p-1", (), False),  # meetings belong to their creator
    ],
)
def test_who_hosts_a_call(kind, role, pid, booths, hosts):
    call = Call(
        id="c", event_id="ev", kind=kind, capacity=4, created_by="p-creator",
        booth_id="b1" if kind == "booth" else None,
    )  # fmt: skip
    assert hosts_call(who(role, pid, booths), call) is hosts


def test_require_names_the_permission_or_the_given_reason():
    with pytest.raises(DomainError) as refused:
        require(who("participant"), Perm.LOBBY_ANNOUNCE)
    assert refused.value.code == "forbidden" and "lobby.announce" in refused.value.message
    with pytest.raises(DomainError) as refused:
        require(who("participant"), Perm.BOOTH_EDIT, (BOOTH_STAFF, "b1"), message="not yours")
    assert refused.value.message == "not yours"
    require(who("moderator"), Perm.LOBBY_ANNOUNCE)


def test_moderation_acts_downwards_only():
    mod, org = who("moderator", "m"), who("organizer", "o")
    require_outranks(mod, who("participant", "p"))
    require_outranks(mod, who("exhibitor", "e"))
    require_outranks(org, mod)
    for actor, target, code in [
        (mod, who("moderator", "m2"), "forbidden"),
        (mod, org, "forbidden"),
        (org, who("organizer", "o2"), "forbidden"),
        (mod, mod, "forbidden_self"),
    ]:
        with pytest.raises(DomainError) as refused:
            require_outranks(actor, target)
        assert refused.value.code == code


def test_scopes_are_listed_with_their_meaning():
    assert {s.name for s in SCOPES} == {
        "booth_staff",
        "call_host",
        "message_author",
        "session_moderator",
        "session_speaker",
    }
    assert all(s.meaning and s.grants for s in SCOPES)
