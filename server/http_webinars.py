"""HTTP routes of webinars: the attendance figures, as JSON and as CSV.

For organizers and the webinar's moderators (a session token, as for the rest of the
API); errors as JSON like every route (``errors_as_json``).
"""

from __future__ import annotations

from aiohttp import web

from rooms.webinars.attendance import report_csv
from server.http_api import HttpApi, json_response


class WebinarHttp:
    def __init__(self, api: HttpApi) -> None:
        self.api = api
        self.fair = api.fair

    def routes(self) -> list[web.RouteDef]:
        session = "/api/events/{event_id}/sessions/{session_id}"
        return [
            web.get(session + "/attendance", self.attendance),
            web.get(session + "/attendance.csv", self.attendance_csv),
        ]

    async def _report(self, request: web.Request):
        reader = await self.api.member(request)
        session_id = request.match_info["session_id"][:64]
        return await self.fair.webinars.attendance.report(reader, session_id)

    async def attendance(self, request: web.Request) -> web.Response:
        """Who was in the webinar when: per person, join and leave times."""
        return json_response(await self._report(request))

    async def attendance_csv(self, request: web.Request) -> web.Response:
        """The same, one row per interval, for spreadsheets."""
        report = await self._report(request)
        response = web.Response(
            body=report_csv(report).encode("utf-8"), content_type="text/csv", charset="utf-8"
        )
        name = f"attendance-{report.session_id}.csv"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
