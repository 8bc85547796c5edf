"""Where a visit's video comes from.

- :class:`EncodedSource`: a guide's browser. aiortc decodes what the browser sends
  (once); this encodes it once with libx264 (baseline, zero latency) for everyone and
  forces a key frame when a viewer joins or asks for one (at most every
  ``KEYFRAME_GAP`` s, and on a ``gop`` interval anyway).
- :class:`FeedSource`: a server-side feed (RTSP camera, MPEG-TS/H.264 file) read with
  aiortc's MediaPlayer without decoding: its H.264 packets are passed through, so a
  late viewer waits for the feed's next key frame (keep its key-frame interval short,
  1 s or less). Files are replayed from the start when they end (not with
  ``MediaPlayer(loop=True)``, aiortc#869).

Both run as one task per visit that pushes :class:`~rooms.media.fanout.Unit` s into the
visit's :class:`~rooms.media.fanout.Fanout`. Blocking work (encoding, opening a
feed) runs in threads so the event loop keeps serving sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time

import av
from aiortc.codecs.opus import OpusEncoder
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from rooms.media.fanout import Clock, Fanout, Unit, packetize

log = logging.getLogger(__name__)
KEYFRAME_GAP = 0.4  # seconds between forced key frames, at least
MAX_WIDTH, MAX_HEIGHT = 1280, 720


class EncodedSource:
    """Frames in (a browser's decoded video), one H.264 encoding out."""

    def __init__(
        self, fanout: Fanout, clock: Clock, bitrate: int = 1_200_000, gop: int = 60
    ) -> None:
        self.fanout = fanout
        self.clock = clock
        self.bitrate = bitrate
        self.gop = gop
        self.codec: av.CodecContext | None = None
        self.want_keyframe = True
        self.last_keyframe = 0.0
        self.last_pts = -1
        self.frames = 0
        self.task: asyncio.Task | None = None
        self.track: MediaStreamTrack | None = None

    def request_keyframe(self) -> None:
        self.want_keyframe = True

    def attach(self, track: MediaStreamTrack) -> None:
        """Encode from ``track`` (a publisher's video), replacing the previous one."""
        self.detach()
        self.track = track
        self.want_keyframe = True
        self.task = asyncio.get_running_loop().create_task(self._run(track))

    def detach(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None
        self.track = None

    async def _run(self, track: MediaStreamTrack) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await track.recv()
                force = self.want_keyframe and time.monotonic() - self.last_keyframe >= KEYFRAME_GAP
                if force:
                    self.want_keyframe = False
                unit = await loop.run_in_executor(None, self._encode, frame, force)
                if unit is not None:
                    if unit.keyframe:
                        self.last_keyframe = time.monotonic()
                    self.fanout.push(unit)
        except (MediaStreamError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("encoding a visit's video failed")

    def _encode(self, frame: av.VideoFrame, force: bool):
        width, height = frame.width, frame.height
        if width > MAX_WIDTH or height > MAX_HEIGHT:
            scale = min(MAX_WIDTH / width, MAX_HEIGHT / height)
            width, height = int(width * scale) & ~1, int(height * scale) & ~1
        width, height = width & ~1, height & ~1
        if (width, height) != (frame.width, frame.height) or frame.format.name != "yuv420p":
            frame = frame.reformat(width=width, height=height, format="yuv420p")
        codec = self.codec
        if codec is None or (codec.width, codec.height) != (width, height):
            codec = self.codec = av.CodecContext.create("libx264", "w")
            codec.width, codec.height = width, height
            codec.pix_fmt = "yuv420p"
            codec.bit_rate = self.bitrate
            codec.framerate = fractions.Fraction(30, 1)
            codec.time_base = fractions.Fraction(1, 90_000)
            codec.gop_size = self.gop
            codec.profile = "Baseline"
            codec.options = {
                "preset": "veryfast",
                "tune": "zerolatency",
                "level": "31",
                "forced-idr": "1",
            }
            force = True
        pts = max(self.clock.now(), self.last_pts + 1)
        self.last_pts = pts
        frame.pts, frame.time_base = pts, fractions.Fraction(1, 90_000)
        frame.pict_type = av.video.frame.PictureType.I if force else av.video.frame.PictureType.NONE
        packets = codec.encode(frame)
        if not packets:
            return None
        self.frames += 1
        data = b"".join(bytes(p) for p in packets)
        return packetize(data, pts, any(p.is_keyframe for p in packets))

    def close(self) -> None:
        self.detach()
        self.codec = None


class EncodedAudio:
    """A browser's microphone: decoded by aiortc, encoded once with Opus for everyone."""

    def __init__(self, fanout: Fanout) -> None:
        self.fanout = fanout
        self.encoder = OpusEncoder()
        self.task: asyncio.Task | None = None

    def attach(self, track: MediaStreamTrack) -> None:
        self.detach()
        self.task = asyncio.get_running_loop().create_task(self._run(track))

    def detach(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None

    async def _run(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                payloads, timestamp = self.encoder.encode(frame)  # ~0.1 ms per 20 ms
                if payloads:
                    self.fanout.push(Unit(payloads, timestamp, True))
        except (MediaStreamError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("encoding a visit's audio failed")


class FeedSource:
    """A server-side feed passed through without decoding."""

    def __init__(self, url: str, fanout: Fanout, clock: Clock, loop_file: bool = True) -> None:
        self.url = url
        self.fanout = fanout
        self.clock = clock
        self.loop_file = loop_file
        self.player: MediaPlayer | None = None
        self.task: asyncio.Task | None = None
        self.drain: asyncio.Task | None = None
        self.frames = 0

    @staticmethod
    def _options(url: str) -> dict:
        return {"rtsp_transport": "tcp"} if url.startswith("rtsp") else {}

    async def open(self) -> None:
        """Open the feed (raises when it cannot be read or has no H.264 video)."""
        self.player = await self._player()
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _player(self) -> MediaPlayer:
        player = await asyncio.to_thread(
            MediaPlayer, self.url, decode=False, options=self._options(self.url), timeout=5
        )
        if player.video is None:
            raise ValueError(f"{self.url}: no H.264 or VP8 video")
        if player.audio is not None:  # not streamed (yet); drained so it never piles up
            self.drain = asyncio.get_running_loop().create_task(_discard(player.audio))
        return player

    async def _run(self) -> None:
        try:
            while self.player is not None:
                try:
                    packet = await self.player.video.recv()
                except MediaStreamError:
                    if not self.loop_file or self.url.startswith("rtsp"):
                        log.warning("visit feed %s ended", self.url)
                        return
                    await self._stop_player()
                    self.player = await self._player()
                    continue
                self.frames += 1
                self.fanout.push(packetize(bytes(packet), self.clock.now(), packet.is_keyframe))
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("reading the visit feed %s failed", self.url)

    def request_keyframe(self) -> None:
        """A pass-through feed cannot make one: viewers wait for the next."""

    async def _stop_player(self) -> None:
        player, self.player = self.player, None
        if self.drain is not None:
            self.drain.cancel()
            self.drain = None
        if player is not None:
            tracks = [t for t in (player.video, player.audio) if t is not None]
            await asyncio.to_thread(lambda: [t.stop() for t in tracks])

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
        await self._stop_player()


async def _discard(track: MediaStreamTrack) -> None:
    with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
        while True:
            await track.recv()
