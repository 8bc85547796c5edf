"""Who may do what: named permissions, what each role grants, and the scoped rules.

Every command names the one permission it needs (rooms/commands.py). A person has a
permission when their event role grants it (``ROLE_GRANTS``), or, for one resource,
when they hold a *scope* on it that grants it: staff of this booth, host of this
call, author of this message. A scope is a small named predicate; the area that owns
the resource checks it with ``require(person, perm, (SCOPE, resource))``.

``Fair.run`` refuses a command before its handler runs when neither the role nor any
scope the role can hold grants its permission; everything else is decided by the
handler with the resource in hand. docs/protocol/permissions.md is generated from this module
and the command declarations, and tests/protocol/test_permission_matrix.py drives a live node
through every role and command to hold the two to their word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rooms import errors
from rooms.models import ROLES, Call, Person, Role


class Perm(StrEnum):
    LOBBY_READ = "lobby.read"  # the lobby, who is online, the directory, person cards
    LOBBY_ANNOUNCE = "lobby.announce"  # announcements to the whole event
    BOOTH_VISIT = "booth.visit"  # look at and enter booths
    BOOTH_EDIT = "booth.edit"  # a booth's profile
    SESSION_ATTEND = "session.attend"  # enter and leave programme sessions
    CHAT_READ = "chat.read"  # history of the channels you can see
    CHAT_WRITE = "chat.write"  # post in the channels you are in
    CHAT_DELETE = "chat.delete"  # delete a message
    PEOPLE_MUTE = "people.mute"  # mute and unmute people of a lower role
    PEOPLE_REMOVE = "people.remove"  # remove people of a lower role from the event
    PEOPLE_REINSTATE = "people.reinstate"  # let a removed person back in
    PEOPLE_LIST = "people.list"  # the full list of registered people (HTTP)
    EVENT_EDIT = "event.edit"  # event, halls, booths, programme (HTTP)
    INVITES_MANAGE = "invites.manage"  # mint, list and revoke invitations (HTTP)
    CALL_JOIN = "call.join"  # list, knock at and join calls, signal in them
    CALL_CREATE = "call.create"  # create 1:1 and small meetings
    CALL_CREATE_GROUP = "call.create_group"  # create group rooms open to everyone
    CALL_HOST = "call.host"  # admit, decline, mute, remove, end
    VISIT_WATCH = "visit.watch"  # follow site visits, ask questions
    VISIT_HOST = "visit.host"  # schedule, run and end site visits
    SESSION_MODERATE = "session.moderate"  # run a webinar: states, speakers, hands, Q&A, polls
    SESSION_SPEAK = "session.speak"  # publish camera, microphone and screen on a webinar's stage


EVERYONE = frozenset(ROLES)
_ATTEND = frozenset({
    Perm.LOBBY_READ, Perm.BOOTH_VISIT, Perm.SESSION_ATTEND, Perm.CHAT_READ, Perm.CHAT_WRITE,
    Perm.CALL_JOIN, Perm.CALL_CREATE, Perm.VISIT_WATCH,
})  # fmt: skip
_MODERATE = frozenset({
    Perm.LOBBY_ANNOUNCE, Perm.CHAT_DELETE, Perm.PEOPLE_MUTE, Perm.PEOPLE_REMOVE,
    Perm.CALL_CREATE_GROUP, Perm.SESSION_MODERATE, Perm.SESSION_SPEAK,
})  # fmt: skip
_ORGANIZE = frozenset({
    Perm.BOOTH_EDIT, Perm.PEOPLE_REINSTATE, Perm.PEOPLE_LIST, Perm.EVENT_EDIT,
    Perm.INVITES_MANAGE, Perm.VISIT_HOST,
})  # fmt: skip

ROLE_GRANTS: dict[Role, frozenset[Perm]] = {
    "participant": _ATTEND,
    "exhibitor": _ATTEND,  # and, as staff of their booths, BOOTH_STAFF below
    "moderator": _ATTEND | _MODERATE,
    "organizer": _ATTEND | _MODERATE | _ORGANIZE,
}

# Moderation acts downwards only: moderators on participants and exhibitors,
# organizers on everyone but other organizers.
RANK: dict[Role, int] = {"participant": 0, "exhibitor": 0, "moderator": 1, "organizer": 2}


@dataclass(frozen=True)
class Scope:
    """A part a person plays for one resource, and what it lets them do there."""

    name: str
    meaning: str
    holders: frozenset[Role]  # the roles that can ever play it
    grants: frozenset[Perm]
    test: Callable[[Person, Any], bool]  # does ``person`` play it for this resource?

    def held(self, person: Person, resource: Any) -> bool:
        return person.role in self.holders and self.test(person, resource)


def is_staff_of(person: Person, booth_id: str | None) -> bool:
    return person.role == "exhibitor" and booth_id is not None and booth_id in person.booth_ids


def hosts_call(person: Person, call: Call) -> bool:
    if call.kind == "booth":
        return is_staff_of(person, call.booth_id)
    if call.kind == "group":
        return RANK[person.role] >= RANK["moderator"]
    return person.id == call.created_by  # a meeting: its creator


BOOTH_STAFF = Scope(
    "booth_staff",
    "staff of this booth (an exhibitor whose invite names it)",
    frozenset({"exhibitor"}),
    frozenset({Perm.BOOTH_EDIT, Perm.VISIT_HOST, Perm.CHAT_DELETE}),
    is_staff_of,  # resource: the booth id
)
CALL_HOST = Scope(
    "call_host",
    "host of this call: the staff of a booth's call, the creator of a meeting, "
    "moderators and organizers in group rooms",
    EVERYONE,
    frozenset({Perm.CALL_HOST}),
    lambda person, call: hosts_call(person, call),  # resource: the Call
)
MESSAGE_AUTHOR = Scope(
    "message_author",
    "author of this message",
    EVERYONE,
    frozenset({Perm.CHAT_DELETE}),
    lambda person, author_id: person.id == author_id,  # resource: the author's id
)
SESSION_MODERATOR = Scope(
    "session_moderator",
    "moderator of this webinar: listed among its moderators (the event's moderators and "
    "organizers moderate every webinar by their role)",
    EVERYONE,
    frozenset({Perm.SESSION_MODERATE, Perm.SESSION_SPEAK}),
    lambda person, webinar: person.id in webinar.moderators,  # resource: the Webinar
)
SESSION_SPEAKER = Scope(
    "session_speaker",
    "speaker of this webinar: invited by a moderator, and accepted",
    EVERYONE,
    frozenset({Perm.SESSION_SPEAK}),
    lambda person, webinar: (
        (s := webinar.speakers.get(person.id)) is not None and s.state == "accepted"
    ),  # resource: the Webinar
)
SCOPES: tuple[Scope, ...] = (
    BOOTH_STAFF, CALL_HOST, MESSAGE_AUTHOR, SESSION_MODERATOR, SESSION_SPEAKER,
)  # fmt: skip


def granted(role: Role, perm: Perm) -> bool:
    return perm in ROLE_GRANTS[role]


def scopes_for(role: Role, perm: Perm) -> tuple[Scope, ...]:
    """The scopes through which ``role`` can get ``perm`` for some resources."""
    return tuple(s for s in SCOPES if perm in s.grants and role in s.holders)


def may_ever(role: Role, perm: Perm) -> bool:
    """Whether ``role`` can have ``perm`` at all: by its grant or through a scope."""
    return granted(role, perm) or bool(scopes_for(role, perm))


def allows(person: Person, perm: Perm, *held: tuple[Scope, Any]) -> bool:
    """``person`` has ``perm`` by their role, or by a scope they hold on its resource."""
    if perm in ROLE_GRANTS[person.role]:
        return True
    return any(perm in scope.grants and scope.held(person, resource) for scope, resource in held)


def require(
    person: Person, perm: Perm, *held: tuple[Scope, Any], message: str | None = None
) -> None:
    """Raise ``forbidden`` unless :func:`allows`."""
    if not allows(person, perm, *held):
        raise errors.FORBIDDEN(message or f"this needs the permission {perm.value}")


def require_outranks(actor: Person, target: Person) -> None:
    """Moderation acts on people of a lower role, never on oneself."""
    if actor.id == target.id:
        raise errors.FORBIDDEN_SELF()
    if RANK[actor.role] <= RANK[target.role]:
        raise errors.FORBIDDEN("you cannot moderate someone of your own or a higher role")
