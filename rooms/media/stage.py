"""A webinar's stage on the aiortc hub: several publishers, two programs, many viewers.

Publishers (moderators and accepted speakers) send camera, microphone and optionally
a screen on one peer connection. Their video is passed through, never decoded nor
encoded (rooms/media/stage_feed.py); each microphone is decoded once and mixed per
program, one Opus encoding per program (rooms/media/stage_mixer.py).

A *program* is what a viewer receives: ``stage`` (the publishers on stage: the
audience's) and ``backstage`` (every publisher: moderators', speakers' and
interpreters'). Each has ``SLOTS`` camera slots, one screen slot and one mixed audio
track. A viewer's connection is made once with those fixed receive-only tracks; who
is in which slot changes underneath (a slot switches source on a key frame asked of
the new publisher with a PLI), so a change of speaker never renegotiates. Who is
where, and who speaks, is told in a layout (``on_layout``, throttled) that the
webinar area pushes as ``webinar:stage_layout``.

Who is on stage and who is muted is the webinar record's business (rooms/webinars/):
it reaches the hub as a :class:`Roster` (with the record's ``updated_at``: an older
one than the hub has is ignored). A publisher's part (moderator or speaker) comes
with its publish.

:class:`StageHubs` is the stages' side of the node's router (kind ``stage``): it opens
a hub on the node of the first publish or watch (claimed in the engine, so two nodes
never both run one), routes every other request there, counts viewers towards the
node's cap and forgets a dead node's hubs.

Room for issue 12: an interpreter is a publisher whose microphone goes into a program
of its language instead of the floor (one more :class:`Program` whose ``hears`` picks
that language's interpreters, and a viewer's audio track taken from it), and a
recorder is a tap on a program's encoded audio and its active camera slot
(``Program.taps``, ``Slot.fanout``), not a new hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcpeerconnection import filter_preferred_codecs

from rooms import errors, names
from rooms.errors import DomainError
from rooms.media.fanout import Clock, Fanout, Unit, ViewerTrack, prepare_sender
from rooms.media.stage_feed import PublishedVideo
from rooms.media.stage_mixer import Microphone, Mixer, Program

if TYPE_CHECKING:
    from rooms.media.router import HubRouter

log = logging.getLogger(__name__)
STAGE = "stage"  # the kind of these hubs in the router (engine collection ``stage-hubs``)
SLOTS = 4  # camera slots per program; then one screen slot
LAYOUT_EVERY = 0.5  # seconds between two layout pushes of one stage, at least
ProgramName = Literal["stage", "backstage"]
Part = Literal["moderator", "speaker"]


class Seat(msgspec.Struct, array_like=True):
    on_stage: bool
    muted: bool


class Roster(msgspec.Struct, kw_only=True):
    """What the hub needs of the webinar record."""

    updated_at: float = 0.0
    state: str = "scheduled"
    speakers: dict[str, Seat] = msgspec.field(default_factory=dict)  # accepted, by person


class Layout(msgspec.Struct, kw_only=True):
    """Who is where in one program (``webinar:stage_layout``)."""

    session_id: str
    program: str
    slots: list[str | None]  # person id per camera slot (SLOTS of them)
    screen: str | None  # whose screen is in the screen slot
    active: str | None  # who speaks (the client shows that camera large)
    names: dict[str, str]  # person id -> name, for everyone in a slot


class Slot:
    """One of a program's video tracks: the viewers' fanout, and the camera or screen
    it shows. A slot that switches drops pictures until the new source's key frame."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.fanout = Fanout(self.request_keyframe)
        self.source: PublishedVideo | None = None
        self.waiting_for_key = True

    def show(self, source: PublishedVideo | None) -> bool:
        if source is self.source:
            return False
        if self.source is not None:
            self.source.slots.discard(self)
        self.source = source
        self.waiting_for_key = True
        if source is not None:
            source.slots.add(self)
            source.request_keyframe()
        return True

    def request_keyframe(self) -> None:
        if self.source is not None:
            self.source.request_keyframe()

    def push(self, unit: Unit) -> None:
        if self.waiting_for_key:
            if not unit.keyframe:
                self.request_keyframe()
                return
            self.waiting_for_key = False
        self.fanout.push(unit)


class StageProgram(Program):
    def __init__(self, name: str, hears: Callable[[Microphone], bool]) -> None:
        super().__init__(name, hears)
        self.slots = [Slot(i) for i in range(SLOTS)]
        self.screen = Slot(SLOTS)


class Publisher:
    def __init__(self, sid: str, person_id: str, name: str, part: Part, pc: RTCPeerConnection):
        self.sid, self.person_id, self.name, self.part, self.pc = sid, person_id, name, part, pc
        self.camera: PublishedVideo | None = None
        self.screen: PublishedVideo | None = None
        self.since = time.monotonic()


class StageHub:
    def __init__(
        self,
        session_id: str,
        ice_servers: list[RTCIceServer],
        on_layout: Callable[[Layout], Awaitable[None]] | None = None,
    ) -> None:
        self.session_id = session_id
        self.ice_servers = ice_servers
        self.on_layout = on_layout
        self.clock = Clock()
        self.roster = Roster()
        self.publishers: dict[str, Publisher] = {}  # by person id
        self.viewers: dict[str, tuple[RTCPeerConnection, list[ViewerTrack], str]] = {}
        self.mixer = Mixer(self._arrange)
        self.programs: dict[str, StageProgram] = {
            "stage": StageProgram("stage", lambda m: self._heard(m.person_id, True)),
            "backstage": StageProgram("backstage", lambda m: self._heard(m.person_id, False)),
        }
        for program in self.programs.values():
            self.mixer.add_program(program)
        self._layout_sent: dict[str, Layout] = {}
        self._layout_task: asyncio.Task | None = None
        self._last_layout = 0.0
        self.video_encoders = 0  # video is passed through: nothing ever raises this

    # who is in which program ----------------------------------------------------------------
    def on_stage(self, publisher: Publisher) -> bool:
        if publisher.part == "moderator":
            return True
        seat = self.roster.speakers.get(publisher.person_id)
        return seat is not None and seat.on_stage

    def _heard(self, person_id: str, stage: bool) -> bool:
        publisher = self.publishers.get(person_id)
        if publisher is None:
            return False
        seat = self.roster.speakers.get(person_id)
        if publisher.part == "speaker" and seat is not None and seat.muted:
            return False
        return not stage or self.on_stage(publisher)

    def _members(self, program: str) -> list[Publisher]:
        found = self.publishers.values()
        if program == "stage":
            found = [p for p in found if self.on_stage(p)]
        return sorted(found, key=lambda p: p.since)

    def _arrange(self) -> None:
        """Fill each program's slots: people keep their slot while they stay; a freed
        slot goes to the next in line; with more people than slots the active speaker
        takes the slot of the one who came first among the others."""
        for name, program in self.programs.items():
            members = [p for p in self._members(name) if p.camera is not None]
            by_person = {p.person_id: p for p in members}
            kept: list[Publisher | None] = []
            for slot in program.slots:
                src = slot.source
                kept.append(by_person.get(src.person_id) if src is not None else None)
            waiting = [p for p in members if p not in kept]
            active = by_person.get(program.active or "")
            if active in waiting and None not in kept:
                out = min(
                    (i for i, p in enumerate(kept) if p is not None and p is not active),
                    key=lambda i: kept[i].since,
                )
                kept[out] = None
            for i, held in enumerate(kept):
                if held is None and waiting:
                    nxt = active if active in waiting else waiting[0]
                    waiting.remove(nxt)
                    kept[i] = nxt
            for slot, held in zip(program.slots, kept, strict=True):
                slot.show(held.camera if held is not None else None)
            sharing = [p for p in members if p.screen is not None] or [
                p for p in self._members(name) if p.screen is not None
            ]
            program.screen.show(sharing[-1].screen if sharing else None)
        self._layout_changed()

    def layout(self, program: str) -> Layout:
        prog = self.programs[program]
        slots = [s.source.person_id if s.source else None for s in prog.slots]
        screen = prog.screen.source.person_id if prog.screen.source else None
        shown = {p for p in [*slots, screen, prog.active] if p}
        return Layout(
            session_id=self.session_id, program=program, slots=slots, screen=screen,
            active=prog.active,
            names={p: self.publishers[p].name for p in shown if p in self.publishers},
        )  # fmt: skip

    def _layout_changed(self) -> None:
        if self.on_layout is None or self._layout_task is not None:
            return
        self._layout_task = asyncio.get_running_loop().create_task(self._send_layouts())

    async def _send_layouts(self) -> None:
        try:
            await asyncio.sleep(max(0.0, self._last_layout + LAYOUT_EVERY - time.monotonic()))
            self._last_layout = time.monotonic()
            self._layout_task = None
            for program in self.programs:
                layout = self.layout(program)
                if self._layout_sent.get(program) != layout:
                    self._layout_sent[program] = layout
                    await self.on_layout(layout)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("pushing the layout of stage %s failed", self.session_id)
        finally:
            self._layout_task = None

    def update(self, roster: Roster) -> list[str]:
        """A newer record: re-arrange, and return the sids of publishers who may no
        longer publish (a speaker who is no longer an accepted speaker)."""
        if roster.updated_at < self.roster.updated_at:
            return []
        self.roster = roster
        gone = [
            p.sid for p in self.publishers.values()
            if p.part == "speaker" and p.person_id not in roster.speakers
        ]  # fmt: skip
        self._arrange()
        return gone

    def _pc(self) -> RTCPeerConnection:
        return RTCPeerConnection(RTCConfiguration(iceServers=list(self.ice_servers)))

    # publishers --------------------------------------------------------------------------------
    async def publish(self, sid: str, person_id: str, name: str, part: Part, offer: dict,
                      screen: bool) -> dict:  # fmt: skip
        """Camera and microphone (and the screen as a second video when ``screen``):
        a new offer of the same person replaces the previous one."""
        await self.drop(person_id=person_id)
        pc = self._pc()
        publisher = Publisher(sid, person_id, name, part, pc)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" and self.publishers.get(person_id) is publisher:
                self.mixer.add(person_id, track)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.drop(sid=sid, pc=pc)

        self.publishers[person_id] = publisher  # before its tracks arrive (on_track)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
            videos = [t for t in pc.getTransceivers() if t.kind == "video"]
            audios = [t for t in pc.getTransceivers() if t.kind == "audio"]
            if not videos and not audios:
                raise errors.MEDIA_FAILED("the offer sends neither video nor audio")
            if screen and len(videos) < 2:
                raise errors.MEDIA_FAILED("a screen share is the offer's second video")
            for transceiver in pc.getTransceivers():
                transceiver.direction = "recvonly"
            for transceiver in audios[1:] + videos[2 if screen else 1 :]:
                transceiver.direction = "inactive"
            h264 = [
                c for c in RTCRtpReceiver.getCapabilities("video").codecs
                if c.mimeType.lower() in ("video/h264", "video/rtx")
            ]  # fmt: skip
            for i, transceiver in enumerate(videos[: 2 if screen else 1]):
                transceiver._codecs = filter_preferred_codecs(transceiver._codecs, h264)
                if not any(c.mimeType.lower() == "video/h264" for c in transceiver._codecs):
                    raise errors.MEDIA_FAILED("the stage takes H.264 video only")
                feed = PublishedVideo(person_id, "screen" if i else "camera", self.clock)
                feed.attach(transceiver.receiver)
                if i:
                    publisher.screen = feed
                else:
                    publisher.camera = feed
            await pc.setLocalDescription(await pc.createAnswer())
        except DomainError:
            await self.drop(sid=sid, pc=pc)
            raise
        except Exception as exc:
            await self.drop(sid=sid, pc=pc)
            log.info("stage publisher offer for %s refused: %s", self.session_id, exc)
            raise errors.MEDIA_FAILED("the offer cannot be answered") from None
        self._arrange()
        return {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}

    async def drop(self, sid: str | None = None, person_id: str | None = None,
                   pc: RTCPeerConnection | None = None) -> bool:  # fmt: skip
        """Close a publisher's connection (by socket, person or connection)."""
        found = next(
            (
                p for p in self.publishers.values()
                if (sid is None or p.sid == sid) and (person_id is None or p.person_id == person_id)
                and (pc is None or p.pc is pc)
            ),
            None,
        )  # fmt: skip
        if found is None:
            if pc is not None:
                await pc.close()
            return False
        del self.publishers[found.person_id]
        self.mixer.remove(found.person_id)
        for feed in (found.camera, found.screen):
            if feed is not None:
                feed.close()
        await found.pc.close()
        self._arrange()
        return True

    # viewers ------------------------------------------------------------------------------------
    async def watch(self, sid: str, program_name: str, offer: dict) -> dict:
        """A receive-only offer: its video m-lines get the program's camera slots in
        order, then the screen slot; its first audio m-line the program's mix."""
        await self.unwatch(sid)
        program = self.programs[program_name]
        pc = self._pc()
        tracks: list[ViewerTrack] = []
        self.viewers[sid] = (pc, tracks, program_name)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if (
                pc.connectionState in ("failed", "closed")
                and self.viewers.get(sid, (None,))[0] is pc
            ):
                await self.unwatch(sid)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
            videos = [t for t in pc.getTransceivers() if t.kind == "video"]
            audios = [t for t in pc.getTransceivers() if t.kind == "audio"]
            sources = [*program.slots, program.screen]
            wanted = [(t, "video/h264", s.fanout) for t, s in zip(videos, sources, strict=False)]
            wanted += [(t, "audio/opus", program.fanout) for t in audios[:1]]
            if not wanted:
                raise errors.MEDIA_FAILED("the offer receives neither video nor audio")
            for transceiver in pc.getTransceivers():
                if all(transceiver is not w[0] for w in wanted):
                    transceiver.direction = "inactive"
            for transceiver, mime, fanout in wanted:
                keep = [
                    c for c in RTCRtpSender.getCapabilities(transceiver.kind).codecs
                    if c.mimeType.lower() in (mime, "video/rtx")
                ]  # fmt: skip
                transceiver._codecs = filter_preferred_codecs(transceiver._codecs, keep)
                if not transceiver._codecs:
                    raise errors.MEDIA_FAILED(f"the offer does not accept {mime}")
                transceiver.direction = "sendonly"
                track = ViewerTrack(fanout, transceiver.kind)
                tracks.append(track)
                prepare_sender(pc.addTrack(track), fanout.request_keyframe)
            await pc.setLocalDescription(await pc.createAnswer())
        except DomainError:
            await self.unwatch(sid)
            raise
        except Exception as exc:
            await self.unwatch(sid)
            log.info("stage viewer offer for %s refused: %s", self.session_id, exc)
            raise errors.MEDIA_FAILED("the offer cannot be answered") from None
        return {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}

    async def unwatch(self, sid: str) -> bool:
        entry = self.viewers.pop(sid, None)
        if entry is None:
            return False
        pc, tracks, _ = entry
        for track in tracks:
            track.stop()
        await pc.close()
        return True

    def encoders(self) -> dict[str, int]:
        """Encoders this stage ever made: one audio encoder per program listened to,
        no video encoder (pass-through)."""
        return {"audio": self.mixer.encoders(), "video": self.video_encoders}

    async def close(self) -> None:
        if self._layout_task is not None:
            self._layout_task.cancel()
            self._layout_task = None
        self.on_layout = None
        for sid in list(self.viewers):
            await self.unwatch(sid)
        for person_id in list(self.publishers):
            await self.drop(person_id=person_id)
        self.mixer.close()


class StageHubs:
    """The stages' side of the router: this node's stage hubs, and requests for the
    stages other nodes run."""

    def __init__(self, router: HubRouter, ice_servers: list[RTCIceServer]) -> None:
        self.router = router
        self.node = router.node
        self.ice_servers = ice_servers
        self.hubs: dict[str, StageHub] = {}
        self.remote: dict[str, tuple[str, str]] = {}  # sid -> (session id, node): viewers
        self._listener: Callable[[str, Layout], Awaitable[None]] | None = None
        self._events: dict[str, str] = {}  # session id -> event id (for the presence session)
        router.serve(STAGE, self._local)

    def listen(self, listener: Callable[[str, Layout], Awaitable[None]]) -> None:
        """``listener(event_id, layout)`` runs on the hub's node when a layout changes."""
        self._listener = listener

    def viewers(self) -> int:
        return sum(len(hub.viewers) for hub in self.hubs.values())

    # requests from the webinar area -----------------------------------------------------------
    async def publish(self, event_id: str, session_id: str, roster: Roster, sid: str,
                      person: dict, part: Part, offer: dict, screen: bool) -> dict:  # fmt: skip
        node = await self._open(event_id, session_id)
        data = {"roster": msgspec.to_builtins(roster), "person": person, "part": part,
                "screen": screen}  # fmt: skip
        return await self.router.call(node, STAGE, "publish", session_id, sid, offer, data)

    async def watch(self, event_id: str, session_id: str, roster: Roster, sid: str,
                    program: ProgramName, offer: dict) -> dict:  # fmt: skip
        node = await self._open(event_id, session_id)
        data = {"roster": msgspec.to_builtins(roster), "program": program}
        reply = await self.router.call(node, STAGE, "watch", session_id, sid, offer, data)
        if node != self.node:
            self.remote[sid] = (session_id, node)
        return reply

    async def unwatch(self, session_id: str, sid: str) -> None:
        hub = self.hubs.get(session_id)
        if hub is not None:
            await hub.unwatch(sid)
        remote = self.remote.pop(sid, None)
        if remote is not None:
            await self.router.send(remote[1], STAGE, "unwatch", remote[0], sid)

    async def unpublish(self, session_id: str, sid: str) -> None:
        node = await self._where(session_id)
        if node is not None:
            await self.router.send(node, STAGE, "drop", session_id, sid)

    async def update(self, session_id: str, roster: Roster) -> None:
        """The record changed (on any node): tell its hub, wherever it runs; the end
        of the webinar closes it."""
        node = await self._where(session_id)
        if node is None:
            return
        if roster.state == "ended":
            await self.close(session_id)
            return
        await self.router.send(node, STAGE, "update", session_id, data=msgspec.to_builtins(roster))

    async def close(self, session_id: str) -> None:
        node = await self._where(session_id)
        await self.router.forget(STAGE, session_id)
        if node == self.node or node is None:
            await self._close_local(session_id)
        else:
            await self.router.send(node, STAGE, "close", session_id)

    async def lost(self, session_id: str, node: str) -> None:
        """``node`` ran this stage and was reaped: forget it (the next publish or
        watch opens a new hub) unless it has moved since."""
        if await self.router.locate(STAGE, session_id) == node:
            await self.router.forget(STAGE, session_id)
        if node != self.node:  # a node reaped while alive closes what it still runs
            await self.router.send(node, STAGE, "close", session_id)

    async def shutdown(self) -> None:
        for session_id in list(self.hubs):
            with contextlib.suppress(Exception):
                await self.router.forget(STAGE, session_id)
            await self._close_local(session_id)

    # where -------------------------------------------------------------------------------------
    async def _where(self, session_id: str) -> str | None:
        if session_id in self.hubs:
            return self.node
        return await self.router.locate(STAGE, session_id)

    async def _open(self, event_id: str, session_id: str) -> str:
        node = await self._where(session_id)
        if node is not None:
            return node
        node = await self.router.claim(STAGE, session_id)
        if node == self.node and session_id not in self.hubs:
            self._start(event_id, session_id)
            await self.router.hold(names.stage_hub_scope(self.node, session_id), event_id)
        return node

    def _start(self, event_id: str, session_id: str) -> StageHub:
        async def on_layout(layout: Layout) -> None:
            if self._listener is not None:
                await self._listener(event_id, layout)

        hub = self.hubs[session_id] = StageHub(session_id, self.ice_servers, on_layout)
        self._events[session_id] = event_id
        return hub

    async def _close_local(self, session_id: str) -> None:
        hub = self.hubs.pop(session_id, None)
        self._events.pop(session_id, None)
        if hub is not None:
            await hub.close()
            await self.router.unhold(names.stage_hub_scope(self.node, session_id))

    # on the hub's node --------------------------------------------------------------------------
    async def _local(self, op: str, session_id: str, sid: str, offer: dict | None,
                     data: Any) -> Any:  # fmt: skip
        hub = self.hubs.get(session_id)
        if op == "close":
            await self._close_local(session_id)
            return None
        if hub is None:
            if op in ("unwatch", "drop", "update"):
                return None
            raise errors.HUB_UNAVAILABLE("this stage's media is not running here")
        if op == "unwatch":
            await hub.unwatch(sid)
            return None
        if op == "drop":
            await hub.drop(sid=sid)
            return None
        if op == "update":
            for gone in hub.update(msgspec.convert(data, Roster)):
                await hub.drop(sid=gone)
            return None
        roster = msgspec.convert(data["roster"], Roster)
        for gone in hub.update(roster):
            await hub.drop(sid=gone)
        if op == "publish":
            person = data["person"]
            return {
                "description": await hub.publish(
                    sid, person["id"], person["name"], data["part"], offer or {}, data["screen"]
                ),
                "slots": SLOTS,
            }
        if op == "watch":
            full = getattr(self.router, "full", lambda: False)
            if sid not in hub.viewers and full():
                raise errors.STAGE_FULL(
                    "this server streams to as many viewers as it takes; try again later"
                )
            program = data["program"]
            answer = await hub.watch(sid, program, offer or {})
            return {
                "description": answer,
                "slots": SLOTS,
                "layout": msgspec.to_builtins(hub.layout(program)),
            }
        raise errors.INVALID_PAYLOAD(f"no stage operation {op!r}")
