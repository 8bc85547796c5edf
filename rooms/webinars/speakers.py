"""Speakers: invited by a moderator (or from the hand queue), they accept in their
browser, wait backstage and go on and off the stage as the moderators say.

An invitation is pushed to every tab of the invitee (``webinar:invited``). Accepting
puts them in the backstage room on every node; a speaker invited from a raised hand
goes on stage as they accept, and their hand goes down. ``muted`` and ``on_stage`` live
in the webinar's record: the stage's media follows them (``Webinars.on_changed``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msgspec import Struct

from rooms import errors, names
from rooms.area import Part
from rooms.commands import command
from rooms.context import Actor, Services
from rooms.models import Id
from rooms.permissions import Perm
from rooms.protocol import Request
from rooms.webinars.records import Speaker, Webinar

if TYPE_CHECKING:
    from rooms.webinars.sessions import WebinarNow, Webinars


class SpeakerRef(Request):
    session_id: Id
    person_id: Id


class Answer(Request):
    session_id: Id
    accept: bool


class StageMove(Request):
    session_id: Id
    person_id: Id
    on_stage: bool


class MuteSpeaker(Request):
    session_id: Id
    person_id: Id
    muted: bool


class Invitation(Struct, kw_only=True):
    """``webinar:invited``: to every tab of the person invited to speak."""

    session_id: str
    event_id: str
    title: str
    invited_by: str
    from_hand: bool
    server_now: float


class Speakers(Part):
    def __init__(self, services: Services, webinars: Webinars) -> None:
        super().__init__(services)
        self.webinars = webinars

    # public: the hand queue invites through here -----------------------------------------
    async def invite(self, webinar: Webinar, speaker: Speaker) -> WebinarNow:
        """Record the invitation and tell the invitee (all tabs)."""
        if webinar.state == "ended":
            raise errors.WEBINAR_ENDED()
        person_id = speaker.person.id
        current = webinar.speakers.get(person_id)
        if current is not None and current.state == "accepted":
            raise errors.WEBINAR_STATE("that person is a speaker already")
        webinar.speakers[person_id] = speaker
        pushed = await self.webinars.save(webinar)
        item = await self.webinars.catalog.schedule_item(webinar.event_id, webinar.id)
        invitation = Invitation(
            session_id=webinar.id,
            event_id=webinar.event_id,
            title=item.title,
            invited_by=speaker.invited_by,
            from_hand=speaker.from_hand,
            server_now=pushed.server_now,
        )
        await self.outbox.emit(names.user_room(person_id), "webinar:invited", invitation)
        return pushed

    async def _speaker(self, webinar: Webinar, person_id: str) -> Speaker:
        speaker = webinar.speakers.get(person_id)
        if speaker is None or speaker.state != "accepted":
            raise errors.SPEAKER_NOT_FOUND()
        return speaker

    # commands --------------------------------------------------------------------------------
    @command("webinar:invite_speaker", SpeakerRef, Perm.SESSION_MODERATE)
    async def invite_speaker(self, actor: Actor, req: SpeakerRef) -> WebinarNow:
        """Invite a person of the event to speak; they accept or decline."""
        webinar = await self.webinars.moderated(actor, req.session_id)
        person = await self.webinars.person(actor.event_id, req.person_id)
        speaker = Speaker(person=person.card(), invited_by=actor.person.id, invited_at=self.now())
        return await self.invite(webinar, speaker)

    @command("webinar:answer", Answer, Perm.SESSION_ATTEND)
    async def answer(self, actor: Actor, req: Answer) -> WebinarNow:
        """Accept or decline your invitation to speak."""
        webinar = await self.webinars.webinar(actor.event_id, req.session_id)
        speaker = webinar.speakers.get(actor.person.id)
        if speaker is None or speaker.state != "invited":
            raise errors.NO_INVITATION()
        if webinar.state == "ended":
            raise errors.WEBINAR_ENDED()
        speaker.state = "accepted" if req.accept else "declined"
        speaker.answered_at = self.now()
        if req.accept and speaker.from_hand and webinar.state == "live":
            speaker.on_stage = True  # promoted from the audience: straight on stage
        pushed = await self.webinars.save(webinar)
        if speaker.from_hand:
            await self.webinars.hands.lower(webinar, actor.person.id)
        if req.accept:
            await self.webinars.parts_changed(webinar, actor.person.id)
        return pushed

    @command("webinar:stage", StageMove, Perm.SESSION_SPEAK)
    async def stage(self, actor: Actor, req: StageMove) -> WebinarNow:
        """Put an accepted speaker on the stage or back to the backstage (moderators);
        a speaker may step off the stage themselves."""
        webinar = await self.webinars.webinar(actor.event_id, req.session_id)
        own_exit = req.person_id == actor.person.id and not req.on_stage
        if not own_exit:
            webinar = await self.webinars.moderated(actor, req.session_id)
        speaker = await self._speaker(webinar, req.person_id)
        if webinar.state == "ended":
            raise errors.WEBINAR_ENDED()
        if req.on_stage and webinar.state not in ("backstage", "live"):
            raise errors.WEBINAR_STATE("the stage opens with the backstage")
        speaker.on_stage = req.on_stage
        return await self.webinars.save(webinar)

    @command("webinar:mute", MuteSpeaker, Perm.SESSION_MODERATE)
    async def mute(self, actor: Actor, req: MuteSpeaker) -> WebinarNow:
        """Mute or unmute a speaker's microphone for the audience (moderators)."""
        webinar = await self.webinars.moderated(actor, req.session_id)
        speaker = await self._speaker(webinar, req.person_id)
        speaker.muted = req.muted
        return await self.webinars.save(webinar)

    @command("webinar:remove_speaker", SpeakerRef, Perm.SESSION_MODERATE)
    async def remove_speaker(self, actor: Actor, req: SpeakerRef) -> WebinarNow:
        """Take a speaker (or an invitation) away: the person is audience again."""
        webinar = await self.webinars.moderated(actor, req.session_id)
        if webinar.speakers.pop(req.person_id, None) is None:
            raise errors.SPEAKER_NOT_FOUND()
        pushed = await self.webinars.save(webinar)
        await self.webinars.parts_changed(webinar, req.person_id)
        return pushed
