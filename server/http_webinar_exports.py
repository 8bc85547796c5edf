"""CSV exports of a webinar's polls and questions (moderators and organizers).

``GET /api/events/{event_id}/sessions/{session_id}/polls.csv`` and ``.../questions.csv``
with the session token (``Authorization: Bearer``). Moderators of the webinar and
organizers may export at any time (during the session too: they see all of it live
anyway). UTF-8 with a BOM (spreadsheets then read accents right); a cell that begins
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'`` so a
spreadsheet never runs it as a formula.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from aiohttp import web

from rooms import errors
from rooms.models import PersonCard
from rooms.webinars import moderates
from server.http_api import HttpApi

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_response(rows: list[list[object]], filename: str) -> web.Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell(v) for v in row])
    response = web.Response(
        body=("\ufeff" + out.getvalue()).encode("utf-8"), content_type="text/csv", charset="utf-8"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _when(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _who(card: PersonCard) -> str:
    return f"{card.name} ({card.company})" if card.company else card.name


class WebinarExports:
    def __init__(self, api: HttpApi) -> None:
        self.api = api
        self.fair = api.fair

    def routes(self) -> list[web.RouteDef]:
        base = "/api/events/{event_id}/sessions/{session_id}"
        return [
            web.get(base + "/polls.csv", self.polls_csv),
            web.get(base + "/questions.csv", self.questions_csv),
        ]

    async def _moderated(self, request: web.Request) -> tuple[str, str]:
        person = await self.api.member(request)
        event_id, session_id = request.match_info["event_id"], request.match_info["session_id"]
        webinar = await self.fair.webinars.webinar(event_id, session_id[:64])
        if not moderates(person, webinar):
            raise errors.FORBIDDEN("only this webinar's moderators and organizers may export")
        return event_id, webinar.id

    async def polls_csv(self, request: web.Request) -> web.Response:
        """Each poll and option with its votes; voters per option for named polls only."""
        event_id, session_id = await self._moderated(request)
        polls = self.fair.polls
        rows: list[list[object]] = [
            ["poll_id", "question", "state", "multiple", "anonymous", "option_index", "option",
             "votes", "voters"]
        ]  # fmt: skip
        for poll in await polls.all_polls(event_id, session_id):
            results = await polls.count(event_id, poll)
            by_option: list[list[str]] = [[] for _ in poll.options]
            if not poll.anonymous:
                for ballot in await polls.ballots(event_id, poll.id).all():
                    for index in ballot.options:
                        if index < len(by_option):
                            by_option[index].append(_who(ballot.person))
            for index, option in enumerate(poll.options):
                rows.append([
                    poll.id, poll.question, poll.state, poll.multiple, poll.anonymous, index,
                    option, results.counts[index], "; ".join(sorted(by_option[index])),
                ])  # fmt: skip
        return csv_response(rows, f"{session_id}-polls.csv")

    async def questions_csv(self, request: web.Request) -> web.Response:
        """Every question with its author (anonymous ones too: only towards the audience)."""
        event_id, session_id = await self._moderated(request)
        rows: list[list[object]] = [
            ["question_id", "asked_at", "text", "author", "author_id", "anonymous", "state",
             "answered", "votes"]
        ]  # fmt: skip
        for q, votes in await self.fair.qa.all_questions(event_id, session_id):
            rows.append([
                q.id, _when(q.ts), q.text, _who(q.author), q.author.id, q.anonymous, q.state,
                q.answered, votes,
            ])  # fmt: skip
        return csv_response(rows, f"{session_id}-questions.csv")
