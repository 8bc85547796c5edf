"""What a webinar session keeps: one record per programme entry of kind ``webinar``.

The record is keyed by the schedule item's id and made on first use (every webinar
entry of the programme has one, in state ``scheduled``). Hands, questions, polls,
registrations and attendance are records of their own, never lists inside this one,
so one person's action rewrites one small record, whatever the audience.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import Struct

from rooms.models import Id, Language, PersonCard

WebinarState = Literal["scheduled", "backstage", "live", "ended"]
SpeakerState = Literal["invited", "accepted", "declined"]
# a session's part for one person; "audience" is everyone else admitted to the event
SessionRole = Literal["moderator", "speaker", "interpreter", "audience"]


class Speaker(Struct, kw_only=True):
    """A person invited to speak. Invited by a moderator (or from a raised hand), they
    accept in their browser; ``on_stage`` says whether the audience sees them now
    (backstage otherwise)."""

    person: PersonCard
    state: SpeakerState = "invited"
    invited_by: str = ""
    invited_at: float = 0.0
    answered_at: float | None = None
    on_stage: bool = False
    muted: bool = False  # by a moderator: the hub stops forwarding their microphone
    from_hand: bool = False  # promoted from the audience's hand queue


class Webinar(Struct, kw_only=True):
    id: Id  # the schedule item's id
    event_id: Id
    state: WebinarState = "scheduled"
    moderators: list[Id] = msgspec.field(
        default_factory=list
    )  # person ids (organizers always moderate)
    speakers: dict[Id, Speaker] = msgspec.field(default_factory=dict)  # by person id
    interpreters: dict[Language, list[Id]] = msgspec.field(default_factory=dict)
    capacity: int | None = None  # registrations beyond it go on the waiting list
    qa_premoderated: bool = False  # questions wait for a moderator's approval
    timer_ends_at: float | None = None  # the slot's end as the moderators set it (epoch s)
    backstage_at: float | None = None
    live_at: float | None = None
    ended_at: float | None = None
    updated_at: float = 0.0
