"""Reminders: ``webinar_reminder_lead`` seconds before a webinar starts, each registered
person's tabs get ``webinar:reminder`` (with what the client needs to offer "join now").

Every node looks at the programme every ``webinar_reminder_interval`` seconds (the
schedule only, never the people); the node that claims a due webinar's reminder with
``put_new`` sends it, so it goes out once for the cluster. Only then are that
webinar's registrations read. A webinar moved to a new start time is reminded again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from msgspec import Struct

from rooms import names
from rooms.area import Part
from rooms.context import Services
from rooms.models import ScheduleItem

if TYPE_CHECKING:
    from rooms.webinars.sessions import Webinars

log = logging.getLogger(__name__)
CLAIMS = "webinar-reminders"


class Reminder(Struct, kw_only=True):
    session_id: str
    event_id: str
    title: str
    starts_at: datetime
    server_now: float


class Reminders(Part):
    def __init__(self, services: Services, webinars: Webinars) -> None:
        super().__init__(services)
        self.webinars = webinars
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        # stopped by an event, not cancel(): redis-py can swallow a cancellation
        # mid-command on Python 3.11 (server/app.py's reaper does the same)
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.scan()
            except Exception:
                log.exception("looking for webinars to remind of failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.limits.webinar_reminder_interval)

    async def scan(self) -> int:
        """Send the reminders that are due and not sent yet; returns how many webinars."""
        now = self.now()
        lead = self.limits.webinar_reminder_lead
        sent = 0
        for event in await self.webinars.catalog.events.all():
            for item in await self.webinars.catalog.schedule(event.id).all():
                starts = item.starts_at.timestamp()
                if item.kind != "webinar" or not starts - lead <= now < starts:
                    continue
                claim = f"{event.id}:{item.id}:{starts:.0f}"
                if await self.engine.docs.put_new(CLAIMS, claim, self.engine.node_id.encode()):
                    await self._remind(item)
                    sent += 1
        return sent

    async def _remind(self, item: ScheduleItem) -> None:
        webinar = await self.webinars.webinar(item.event_id, item.id)
        if webinar.state == "ended":  # cancelled
            return
        reminder = Reminder(
            session_id=item.id,
            event_id=item.event_id,
            title=item.title,
            starts_at=item.starts_at,
            server_now=self.now(),
        )
        for person_id in await self.webinars.registrations.registered_people(webinar):
            await self.outbox.emit(names.user_room(person_id), "webinar:reminder", reminder)
