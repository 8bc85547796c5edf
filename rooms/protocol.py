"""Typed request payloads of every client event (decoded with msgspec).

Limits here are hard ceilings that protect the node; softer, tunable limits
(chat length, rate) live in rooms.context.Limits.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

from rooms.models import Country, Id, Link, LongText, Name, Sector

HistoryCursor = Annotated[str, Meta(pattern=r"^\d{1,15}-\d{1,15}$")]
Channel = Annotated[str, Meta(min_length=1, max_length=140)]
Text = Annotated[str, Meta(min_length=1, max_length=20_000)]
Query = Annotated[str, Meta(max_length=100)]
# chosen by the client, one per message and the same on every retry of it
ClientId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{8,64}$")]


class Request(Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every payload: unknown fields are refused, never ignored."""


class Empty(Request):
    pass


class BoothRef(Request):
    booth_id: Id


class SessionRef(Request):
    session_id: Id


class PersonRef(Request):
    person_id: Id


class OnlineQuery(Request):
    q: Query = ""
    limit: Annotated[int, Meta(ge=1, le=1000)] = 1000


class DirectoryQuery(Request):
    q: Query = ""
    sector: Annotated[str, Meta(max_length=60)] = ""
    country: Annotated[str, Meta(max_length=2)] = ""
    hall_id: Annotated[str, Meta(max_length=64)] = ""


class BoothUpdate(Request):
    booth_id: Id
    company: Name | None = None
    sector: Sector | None = None
    country: Country | None = None
    description: LongText | None = None
    links: Annotated[list[Link], Meta(max_length=10)] | None = None


class ChatSend(Request):
    channel: Channel
    text: Text
    client_id: ClientId | None = None


class ChatHistory(Request):
    channel: Channel
    before: HistoryCursor | None = None
    since: HistoryCursor | None = None
    limit: Annotated[int, Meta(ge=1, le=1000)] = 50


class ChatDelete(Request):
    channel: Channel
    id: HistoryCursor


class Announce(Request):
    text: Text


class Mute(Request):
    person_id: Id
    minutes: Annotated[int, Meta(ge=1, le=1_000_000)]
    reason: Annotated[str, Meta(max_length=300)] = ""


class Remove(Request):
    person_id: Id
    reason: Annotated[str, Meta(max_length=300)] = ""


# -- video calls ----------------------------------------------------------------------
CallId = Annotated[str, Meta(pattern=r"^(booth:)?[A-Za-z0-9_-]{1,64}$")]
"""``booth:<booth id>`` for a booth's call, the server's id for meetings and groups."""
Sid = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Reason = Annotated[str, Meta(max_length=300)]


class CallRef(Request):
    call_id: CallId


class CallCreate(Request):
    kind: Literal["meeting", "group"]
    title: Annotated[str, Meta(max_length=80)] = ""
    capacity: Annotated[int, Meta(ge=2, le=64)] | None = None  # groups only
    invitees: Annotated[list[Id], Meta(max_length=63)] = []  # meetings only


class CallPerson(Request):
    call_id: CallId
    person_id: Id


class CallMute(Request):
    call_id: CallId
    person_id: Id
    media: Literal["audio", "video"] = "audio"


class CallRemove(Request):
    call_id: CallId
    person_id: Id
    reason: Reason = ""


class SessionDescription(Struct, forbid_unknown_fields=True):
    """An RTCSessionDescriptionInit, as the browser gives it."""

    type: Literal["offer", "answer", "pranswer", "rollback"]
    sdp: Annotated[str, Meta(max_length=65_536)] = ""


class IceCandidate(
    Struct, forbid_unknown_fields=True, rename="camel", omit_defaults=True, kw_only=True
):
    """An RTCIceCandidateInit, as the browser gives it (camelCase on the wire)."""

    candidate: Annotated[str, Meta(max_length=1024)]
    sdp_mid: Annotated[str, Meta(max_length=64)] | None = None
    sdp_m_line_index: Annotated[int, Meta(ge=0, le=255)] | None = None
    username_fragment: Annotated[str, Meta(max_length=256)] | None = None


class CallSignal(Request):
    call_id: CallId
    to: Sid
    description: SessionDescription | None = None
    candidates: Annotated[list[IceCandidate], Meta(min_length=1, max_length=32)] | None = None
