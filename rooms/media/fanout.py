"""One encoded video stream, many viewers: nothing is encoded or packetized per viewer.

The source produces :class:`Unit` s: one encoded picture, already split into RTP
payloads (H.264, packetization-mode 1) and stamped on a 90 kHz clock. Every viewer's
:class:`ViewerTrack` hands the same Unit to its RTCRtpSender, whose encoder is replaced
by :data:`PREPACKED`, which returns the payloads as they are. So per viewer and
picture the cost is what aiortc needs anyway: RTP headers, SRTP, one send per packet.

The guide's voice goes the same way: Opus, encoded once, one packet per unit (any
packet is a fine start).

A viewer starts on a key frame: until one arrives its track drops units, and the
source is asked for one (the browser source forces it on its encoder; a pass-through
feed cannot, so it needs a short key-frame interval). A viewer whose queue fills up
(a slow connection) is reset to wait for the next key frame rather than stall others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import RTCRtpSender
from aiortc.codecs.h264 import H264Encoder
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

log = logging.getLogger(__name__)
VIDEO_CLOCK = 90_000
QUEUE_UNITS = 30  # about one second at 30 fps


@dataclass(frozen=True, slots=True)
class Unit:
    payloads: list[bytes]
    timestamp: int  # 90 kHz
    keyframe: bool


def packetize(annexb: bytes, timestamp: int, keyframe: bool) -> Unit:
    """An H.264 Annex-B access unit as RTP payloads (done once per picture)."""
    nals = H264Encoder._split_bitstream(annexb)
    return Unit(H264Encoder._packetize(nals), timestamp, keyframe)


class Clock:
    """Steady 90 kHz timestamps for units, whatever the source's own clock does (a
    publisher who reconnects, a file that loops)."""

    def __init__(self) -> None:
        self.origin = time.monotonic()

    def now(self) -> int:
        return int((time.monotonic() - self.origin) * VIDEO_CLOCK)


class Prepacked:
    """Stands in for an RTCRtpSender's encoder: the payloads are already made."""

    @staticmethod
    def pack(unit: Unit) -> tuple[list[bytes], int]:
        return unit.payloads, unit.timestamp

    def encode(self, frame, force_keyframe: bool = False):
        raise TypeError("a hub sender only takes prepacked units")


PREPACKED = Prepacked()


def prepare_sender(sender: RTCRtpSender, request_keyframe: Callable[[], None]) -> None:
    """Give a viewer's sender the shared packer, and route its viewer's key-frame
    requests (PLI/FIR) to the source. Relies on aiortc 1.16 internals (pinned)."""
    sender._RTCRtpSender__encoder = PREPACKED
    sender._send_keyframe = request_keyframe


class ViewerTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self, fanout: Fanout, kind: str = "video") -> None:
        super().__init__()
        self.kind = kind
        self.fanout = fanout
        self.queue: asyncio.Queue[Unit | None] = asyncio.Queue(QUEUE_UNITS)
        self.waiting_for_key = kind == "video"  # any audio packet is a fine start
        self.frames = 0  # units handed to the sender
        fanout.add(self)

    def put(self, unit: Unit) -> None:
        if self.waiting_for_key:
            if not unit.keyframe:
                return
            self.waiting_for_key = False
        try:
            self.queue.put_nowait(unit)
        except asyncio.QueueFull:  # this viewer falls behind: restart it on a key frame
            while not self.queue.empty():
                self.queue.get_nowait()
            self.waiting_for_key = self.kind == "video"
            self.fanout.request_keyframe()

    async def recv(self) -> Unit:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        unit = await self.queue.get()
        if unit is None:
            raise MediaStreamError
        self.frames += 1
        return unit

    def stop(self) -> None:
        if self.readyState == "live":
            self.fanout.discard(self)
            if not self.queue.full():
                self.queue.put_nowait(None)  # wake a waiting recv()
        super().stop()


class Fanout:
    """The viewers of one source."""

    def __init__(self, on_keyframe_wanted: Callable[[], None] = lambda: None) -> None:
        self.tracks: set[ViewerTrack] = set()
        self.on_keyframe_wanted = on_keyframe_wanted
        self.units = 0

    def add(self, track: ViewerTrack) -> None:
        self.tracks.add(track)
        self.request_keyframe()

    def discard(self, track: ViewerTrack) -> None:
        self.tracks.discard(track)

    def request_keyframe(self) -> None:
        self.on_keyframe_wanted()

    def push(self, unit: Unit) -> None:
        self.units += 1
        for track in self.tracks:
            track.put(unit)
