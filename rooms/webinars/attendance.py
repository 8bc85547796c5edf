"""Attendance: who was in a webinar when, for the organizer's figures.

Per person, the intervals between joining and leaving. A person with several tabs (on
several nodes) counts once: each socket is a session of the presence scope
``attend:<event>:<session>`` (member = person), so the person's first socket in is a
join and their last one out a leave, wherever they are. A socket that disconnects
leaves; a crashed node's people leave when the others reap it. One record per person,
written only when that person joins or leaves.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec
from msgspec import Struct

from rooms import names
from rooms.area import Part
from rooms.context import Actor, Services
from rooms.models import Person, PersonCard
from rooms.store import Collection

if TYPE_CHECKING:
    from rooms.webinars.sessions import Webinars

log = logging.getLogger(__name__)
_encode_card = msgspec.msgpack.Encoder().encode
_decode_card = msgspec.msgpack.Decoder(PersonCard).decode
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # spreadsheets would run these


class Interval(Struct, kw_only=True):
    joined_at: float
    left_at: float | None = None  # still there


class Attendee(Struct, kw_only=True):
    person: PersonCard
    intervals: list[Interval] = msgspec.field(default_factory=list)


class AttendeeReport(Struct, kw_only=True):
    person: PersonCard
    intervals: list[Interval]
    seconds: float  # time in the webinar, all intervals (an open one up to now)


class AttendanceReport(Struct, kw_only=True):
    session_id: str
    attendees: list[AttendeeReport]  # by first arrival
    server_now: float


class Attendance(Part):
    def __init__(self, services: Services, webinars: Webinars) -> None:
        super().__init__(services)
        self.webinars = webinars
        webinars.presence.on_reaped("attend", self._reaped)
        webinars.presence.on_rejoined("attend", self._rejoined)

    def records(self, event_id: str, session_id: str) -> Collection[Attendee]:
        return Collection(self.engine, f"ev:{event_id}:webinar-attendance:{session_id}", Attendee)

    # joins and leaves (the webinar's join, leave and disconnect) -----------------------------
    async def arrived(self, actor: Actor, session_id: str) -> None:
        scope = names.attendance_scope(actor.event_id, session_id)
        card = actor.person.card()
        if await self.engine.presence.add(scope, actor.sid, card.id, _encode_card(card)):
            await self._joined(actor.event_id, session_id, card)

    async def left(self, actor: Actor, session_id: str) -> None:
        scope = names.attendance_scope(actor.event_id, session_id)
        member = await self.engine.presence.remove(scope, actor.sid)
        if member is not None:
            await self._left(actor.event_id, session_id, member)

    async def _reaped(self, scope: str, member: str) -> None:
        """A crashed node's sockets (or a socket whose removal failed) are gone."""
        event_id, session_id = names.attendance_of(scope)
        await self._left(event_id, session_id, member)

    async def _rejoined(self, scope: str, member: str, info: bytes) -> None:
        event_id, session_id = names.attendance_of(scope)
        await self._joined(event_id, session_id, _decode_card(info))

    async def _joined(self, event_id: str, session_id: str, card: PersonCard) -> None:
        records = self.records(event_id, session_id)
        record = await records.get(card.id) or Attendee(person=card)
        record.person = card
        if record.intervals and record.intervals[-1].left_at is None:
            return  # already counted in (a join racing a leave on another node)
        record.intervals.append(Interval(joined_at=self.now()))
        await records.put(card.id, record)

    async def _left(self, event_id: str, session_id: str, person_id: str) -> None:
        records = self.records(event_id, session_id)
        record = await records.get(person_id)
        if record is None or not record.intervals or record.intervals[-1].left_at is not None:
            return
        record.intervals[-1].left_at = self.now()
        await records.put(person_id, record)

    # the organizer's figures (server/http_webinars.py) -------------------------------------
    async def report(self, reader: Person, session_id: str) -> AttendanceReport:
        """Every attendee's intervals: for organizers and the webinar's moderators."""
        webinar = await self.webinars.moderated_by(reader, session_id)
        now = self.now()
        attendees = [
            AttendeeReport(
                person=a.person,
                intervals=a.intervals,
                seconds=round(sum((i.left_at or now) - i.joined_at for i in a.intervals), 3),
            )
            for a in await self.records(webinar.event_id, webinar.id).all()
            if a.intervals
        ]
        attendees.sort(key=lambda a: (a.intervals[0].joined_at, a.person.id))
        return AttendanceReport(session_id=webinar.id, attendees=attendees, server_now=now)


def _iso(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _cell(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


CSV_COLUMNS = (
    "person_id", "name", "company", "country", "role", "joined_at", "left_at", "seconds",
)  # fmt: skip


def report_csv(report: AttendanceReport) -> str:
    """One row per interval, UTF-8 with a byte order mark (spreadsheets read the accents)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for attendee in report.attendees:
        p = attendee.person
        for interval in attendee.intervals:
            end = interval.left_at if interval.left_at is not None else report.server_now
            row = (
                p.id, p.name, p.company, p.country, p.role,
                _iso(interval.joined_at), _iso(interval.left_at),
                f"{end - interval.joined_at:.0f}",
            )  # fmt: skip
            writer.writerow([_cell(v) for v in row])
    return out.getvalue()
