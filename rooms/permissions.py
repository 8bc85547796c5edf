"""Who may do what. Every check the protocol relies on lives here."""

from __future__ import annotations

from rooms.errors import Forbidden
from rooms.models import Person, Role

RANK: dict[Role, int] = {"participant": 0, "exhibitor": 0, "moderator": 1, "organizer": 2}


def is_staff_of(person: Person, booth_id: str) -> bool:
    return person.role == "exhibitor" and booth_id in person.booth_ids


def can_edit_booth(person: Person, booth_id: str) -> bool:
    return person.role == "organizer" or is_staff_of(person, booth_id)


def require_organizer(person: Person) -> None:
    if person.role != "organizer":
        raise Forbidden("only organizers may do this")


def require_moderator(person: Person) -> None:
    if RANK[person.role] < RANK["moderator"]:
        raise Forbidden("only moderators and organizers may do this")


def require_booth_editor(person: Person, booth_id: str) -> None:
    if not can_edit_booth(person, booth_id):
        raise Forbidden("only this booth's staff or an organizer may edit it")


def require_outranks(actor: Person, target: Person) -> None:
    """Moderators act on participants and exhibitors; organizers on everyone else."""
    require_moderator(actor)
    if actor.id == target.id:
        raise Forbidden("you cannot do this to yourself", code="forbidden_self")
    if RANK[actor.role] <= RANK[target.role]:
        raise Forbidden("you cannot moderate someone of your own or a higher role")
