"""A stage publisher's video passed through: never decoded, never encoded.

aiortc's RTCRtpReceiver reassembles each picture (depacketized H.264, Annex-B) and
hands it to a decoder thread through a queue. :func:`pass_through` swaps that queue
for a :class:`PassThroughQueue` that takes the picture on the event loop instead,
re-splits it into RTP payloads once (:func:`rooms.media.fanout.packetize`) and hands
the :class:`~rooms.media.fanout.Unit` to whatever slots show this camera. The decoder
thread still starts (aiortc starts it) but is never given a picture; it ends when the
receiver stops, as before. Relies on aiortc 1.16 internals (pinned).

A key frame is asked of the publisher with an RTCP PLI (the browser's or aiortc's
encoder answers with an IDR picture): when a slot switches to this camera, or a
viewer arrives, or a viewer fell behind; at most every ``KEYFRAME_GAP`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import time
from collections.abc import Callable

from aiortc import RTCRtpReceiver
from aiortc.codecs.h264 import H264Encoder

from rooms.media.fanout import Clock, Unit, packetize
from rooms.media.sources import KEYFRAME_GAP

log = logging.getLogger(__name__)
IDR, SPS = 5, 7


def is_keyframe(annexb: bytes) -> bool:
    return any(nal and nal[0] & 0x1F in (IDR, SPS) for nal in H264Encoder._split_bitstream(annexb))


class PassThroughQueue(queue.Queue):
    """Stands in for the receiver's decoder queue: pictures go to ``take`` on the
    loop (the receiver puts them from the loop), ``None`` (stop) to the idle decoder
    thread so that it ends."""

    def __init__(self, take: Callable[[bytes], None]) -> None:
        super().__init__()
        self.take = take

    def put(self, item, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            super().put(None)
            return
        codec, frame = item
        if codec.mimeType.lower() == "video/h264":
            self.take(frame.data)


class PublishedVideo:
    """One publisher's camera or screen: its pictures, as units, to its slots."""

    def __init__(self, person_id: str, kind: str, clock: Clock) -> None:
        self.person_id = person_id
        self.kind = kind  # "camera" or "screen"
        self.clock = clock
        self.slots: set = set()  # the Slot s that show it now (rooms/media/stage.py)
        self.receiver: RTCRtpReceiver | None = None
        self.units = 0
        self.last_pli = 0.0
        self.live = False  # a picture arrived since it was attached

    def attach(self, receiver: RTCRtpReceiver) -> None:
        self.receiver = receiver
        receiver._RTCRtpReceiver__decoder_queue = PassThroughQueue(self._take)

    def _take(self, annexb: bytes) -> None:
        self.live = True
        unit: Unit = packetize(annexb, self.clock.now(), is_keyframe(annexb))
        self.units += 1
        for slot in list(self.slots):
            slot.push(unit)

    def request_keyframe(self) -> None:
        receiver = self.receiver
        now = time.monotonic()
        if receiver is None or now - self.last_pli < KEYFRAME_GAP:
            return
        rtx = receiver._RTCRtpReceiver__rtx_ssrc
        ssrcs = [s.source for s in receiver.getSynchronizationSources() if s.source not in rtx]
        if not ssrcs:
            return  # nothing received yet: its first picture is a key frame anyway
        self.last_pli = now
        task = asyncio.get_running_loop().create_task(receiver._send_rtcp_pli(ssrcs[0]))
        task.add_done_callback(_quiet)

    def close(self) -> None:
        for slot in list(self.slots):
            slot.show(None)
        self.receiver = None


def _quiet(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("a key-frame request failed: %s", task.exception())
