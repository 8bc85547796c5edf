"""One live visit's media: its source, and a peer connection per viewer.

Viewers' connections are receive-only on their side: the hub answers their offer with
one video track fed by the visit's :class:`~rooms.media.fanout.Fanout`. Every peer
connection is kept in a registry and closed on leave, on ``failed``/``closed``, and
when the visit ends (aiortc leaks what is not closed: aiortc#751, #904, #925).

The guide's connection may drop (``failed``/``closed``, or its socket went away:
:meth:`Hub.drop_publisher`): the hub says ``guide_lost`` and keeps every viewer's
connection open. When a guide publishes again, the same encoder and fanout carry on
from the new track, starting with a key frame, so viewers' pictures resume without a
new offer; the hub says ``guide_back`` once that connection is up.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcpeerconnection import filter_preferred_codecs

from rooms import errors
from rooms.errors import DomainError
from rooms.media.fanout import Clock, Fanout, ViewerTrack, prepare_sender
from rooms.media.sources import EncodedAudio, EncodedSource, FeedSource

log = logging.getLogger(__name__)
GuideNews = Literal["guide_lost", "guide_back"]


def media_failed(message: str) -> DomainError:
    return errors.MEDIA_FAILED(message)


class Hub:
    def __init__(
        self,
        visit_id: str,
        ice_servers: list[RTCIceServer],
        on_guide: Callable[[GuideNews], Awaitable[None]] | None = None,
        event_id: str = "",
    ) -> None:
        self.visit_id = visit_id
        self.event_id = event_id
        self.ice_servers = ice_servers
        self.on_guide = on_guide
        self.clock = Clock()
        self.fanout = Fanout(self._keyframe_wanted)
        self.audio_fanout = Fanout()  # the guide's voice (browser sources only)
        self.encoded: EncodedSource | None = None
        self.encoded_audio: EncodedAudio | None = None
        self.feed: FeedSource | None = None
        self.publisher: tuple[str, RTCPeerConnection] | None = None
        self.viewers: dict[str, tuple[RTCPeerConnection, list[ViewerTrack]]] = {}

    def _keyframe_wanted(self) -> None:
        if self.encoded is not None:
            self.encoded.request_keyframe()

    def _pc(self) -> RTCPeerConnection:
        # iceServers is always explicit: unset, aiortc would call a public STUN server
        return RTCPeerConnection(RTCConfiguration(iceServers=list(self.ice_servers)))

    # sources ----------------------------------------------------------------------------
    async def open_feed(self, url: str) -> None:
        self.feed = FeedSource(url, self.fanout, self.clock)
        try:
            await self.feed.open()
        except Exception as exc:
            self.feed = None
            log.warning("cannot open visit feed %s: %s", url, exc)
            raise media_failed("the media feed cannot be opened") from None

    async def publish(self, sid: str, offer: dict) -> dict:
        """The guide's browser sends video; a new offer replaces the previous one."""
        await self._close_publisher()
        if self.encoded is None:
            self.encoded = EncodedSource(self.fanout, self.clock)
            self.encoded_audio = EncodedAudio(self.audio_fanout)
        pc = self._pc()
        self.publisher = (sid, pc)
        encoded, encoded_audio = self.encoded, self.encoded_audio

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                encoded.attach(track)
            elif track.kind == "audio":
                encoded_audio.attach(track)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if self.publisher != (sid, pc):
                return  # replaced or closed by us: nothing was lost
            if pc.connectionState == "connected":
                await self._tell("guide_back")
            elif pc.connectionState in ("failed", "closed"):
                await self._close_publisher()
                await self._tell("guide_lost")

        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
            if not any(t.kind == "video" for t in pc.getTransceivers()):
                raise media_failed("the offer sends no video")
            for transceiver in pc.getTransceivers():
                transceiver.direction = "recvonly"
            await pc.setLocalDescription(await pc.createAnswer())
        except DomainError:
            await self._close_publisher()
            raise
        except Exception as exc:
            await self._close_publisher()
            log.info("publisher offer for %s refused: %s", self.visit_id, exc)
            raise media_failed("the offer cannot be answered") from None
        return {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}

    async def drop_publisher(self, sid: str) -> bool:
        """The guide's socket ``sid`` is gone: close its connection (it cannot be
        renegotiated without one) and say the guide was lost. False when ``sid`` is
        not the current publisher (a guide who already published again)."""
        if self.publisher is None or self.publisher[0] != sid:
            return False
        await self._close_publisher()
        await self._tell("guide_lost")
        return True

    async def _tell(self, news: GuideNews) -> None:
        if self.on_guide is None:
            return
        try:
            await self.on_guide(news)
        except Exception:
            log.exception("telling %s about its guide (%s) failed", self.visit_id, news)

    async def _close_publisher(self) -> None:
        if self.publisher is None:
            return
        _, pc = self.publisher
        self.publisher = None
        if self.encoded is not None:
            self.encoded.detach()
            self.encoded_audio.detach()
        await pc.close()

    # viewers --------------------------------------------------------------------------------
    async def watch(self, sid: str, offer: dict) -> dict:
        await self.unwatch(sid)
        pc = self._pc()
        tracks: list[ViewerTrack] = []
        self.viewers[sid] = (pc, tracks)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if (
                pc.connectionState in ("failed", "closed")
                and self.viewers.get(sid, (None,))[0] is pc
            ):
                await self.unwatch(sid)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
            video = next((t for t in pc.getTransceivers() if t.kind == "video"), None)
            if video is None:
                raise media_failed("the offer receives no video")
            audio = next((t for t in pc.getTransceivers() if t.kind == "audio"), None)
            wanted = [(video, "video/h264", self.fanout)]
            if audio is not None and self.feed is None:  # feeds' audio is not streamed
                wanted.append((audio, "audio/opus", self.audio_fanout))
            for transceiver in pc.getTransceivers():
                if all(transceiver is not w[0] for w in wanted):
                    transceiver.direction = "inactive"
            for transceiver, mime, fanout in wanted:
                kind = transceiver.kind
                keep = [
                    c for c in RTCRtpSender.getCapabilities(kind).codecs
                    if c.mimeType.lower() in (mime, "video/rtx")
                ]  # fmt: skip
                # the codecs were picked in setRemoteDescription: keep only ours (aiortc 1.16)
                transceiver._codecs = filter_preferred_codecs(transceiver._codecs, keep)
                if not transceiver._codecs:
                    if kind == "video":
                        raise media_failed("the offer does not accept H.264 video")
                    transceiver.direction = "inactive"
                    continue
                track = ViewerTrack(fanout, kind)
                tracks.append(track)
                prepare_sender(pc.addTrack(track), fanout.request_keyframe)
            await pc.setLocalDescription(await pc.createAnswer())
        except DomainError:
            await self.unwatch(sid)
            raise
        except Exception as exc:
            await self.unwatch(sid)
            log.info("viewer offer for %s refused: %s", self.visit_id, exc)
            raise media_failed("the offer cannot be answered") from None
        return {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}

    async def unwatch(self, sid: str) -> bool:
        entry = self.viewers.pop(sid, None)
        if entry is None:
            return False
        pc, tracks = entry
        for track in tracks:
            track.stop()
        await pc.close()
        return True

    # the end ----------------------------------------------------------------------------------
    async def close(self) -> None:
        for sid in list(self.viewers):
            await self.unwatch(sid)
        await self._close_publisher()
        if self.encoded is not None:
            self.encoded.close()
        if self.feed is not None:
            with contextlib.suppress(Exception):
                await self.feed.close()
