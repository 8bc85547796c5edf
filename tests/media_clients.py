"""aiortc clients for site-visit tests: a guide that publishes a synthetic camera, and
viewers that count the frames they decode. Also a small H.264 MPEG-TS file made at
test time with PyAV (no media files in the repository)."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from pathlib import Path

import av
from aiortc import (
    AudioStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError
from harness import Client


def moving_frame(width: int, height: int, n: int) -> av.VideoFrame:
    """A frame with a bar that moves (so the encoder has something to encode)."""
    frame = av.VideoFrame(width=width, height=height, format="yuv420p")
    bar = (n * 8) % width
    row = bytes(235 if bar <= x < bar + 40 else 16 + (x * 200 // width) for x in range(width))
    luma = frame.planes[0]
    luma.update(row * height if luma.line_size == width else _padded(row, luma, height))
    for plane in frame.planes[1:]:
        plane.update(bytes([128 + (n % 60)]) * plane.buffer_size)
    return frame


def _padded(row: bytes, plane, height: int) -> bytes:
    return (row + bytes(plane.line_size - len(row))) * height


class Camera(VideoStreamTrack):
    """A synthetic 640x360 camera at 30 fps."""

    def __init__(self, width: int = 640, height: int = 360) -> None:
        super().__init__()
        self.size = (width, height)
        self.n = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = moving_frame(*self.size, self.n)
        self.n += 1
        frame.pts, frame.time_base = pts, time_base
        return frame


def make_ts_file(path: Path, seconds: float = 3.0, fps: int = 30, keyint: int = 15) -> Path:
    """An MPEG-TS file of H.264 baseline video, 640x360, a key frame every ``keyint``."""
    with av.open(str(path), "w", format="mpegts") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.codec_context.gop_size = keyint
        stream.codec_context.options = {
            "preset": "ultrafast", "tune": "zerolatency", "profile": "baseline",
            "keyint_min": str(keyint), "scenecut": "0",
        }  # fmt: skip
        for n in range(int(seconds * fps)):
            frame = moving_frame(640, 360, n)
            frame.pts, frame.time_base = n, fractions.Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def description(pc: RTCPeerConnection) -> dict:
    return {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}


# The hub answers an offer once it has gathered its ICE candidates, and closes a
# connection before it replies to unwatch or leave; ten of them at once on a loaded
# 2-core machine take well over the harness's 5 s reply timeout, which then fails a
# test whose hub is merely slow. Wait for the reply itself, with a deadline no healthy
# run gets near.
REPLY_DEADLINE = 60.0


async def hub_ok(client: Client, event: str, payload: dict) -> dict:
    """``client.ok`` for requests the hub serves: the reply's data (fails on a refusal
    or after REPLY_DEADLINE)."""
    reply = await client.sio.call(event, payload, timeout=REPLY_DEADLINE)
    assert reply["ok"], f"{event} refused: {reply}"
    return reply["data"]


class Publisher:
    def __init__(self, client: Client, visit_id: str) -> None:
        self.client = client
        self.visit_id = visit_id
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.camera = Camera()
        self.microphone = AudioStreamTrack()  # silence, 20 ms frames
        self.pc.addTransceiver(self.camera, direction="sendonly")
        self.pc.addTransceiver(self.microphone, direction="sendonly")

    async def publish(self) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        reply = await hub_ok(
            self.client,
            "visit:publish",
            {"visit_id": self.visit_id, "description": description(self.pc)},
        )
        answer = reply["description"]
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))

    async def close(self) -> None:
        self.camera.stop()
        self.microphone.stop()
        await self.pc.close()


class Viewer:
    """Watches a visit; ``first_frame`` is the seconds from the answer to the first
    decoded frame."""

    def __init__(self, client: Client, visit_id: str, decode: bool = True) -> None:
        self.client = client
        self.visit_id = visit_id
        self.decode = decode
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTransceiver("video", direction="recvonly")
        self.pc.addTransceiver("audio", direction="recvonly")
        self.frames = 0
        self.audio_frames = 0
        self.size: tuple[int, int] | None = None
        self.answered_at: float | None = None
        self.first_frame: float | None = None
        self.tasks: list[asyncio.Task] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track) -> None:
        if self.decode:
            consume = self._consume if track.kind == "video" else self._listen
            self.tasks.append(asyncio.get_running_loop().create_task(consume(track)))

    async def _listen(self, track) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                await track.recv()
                self.audio_frames += 1

    async def _consume(self, track) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                if self.frames == 0 and self.answered_at is not None:
                    self.first_frame = time.monotonic() - self.answered_at
                self.frames += 1
                self.size = (frame.width, frame.height)

    async def offer(self) -> dict:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return {"visit_id": self.visit_id, "description": description(self.pc)}

    async def watch(self) -> None:
        reply = await hub_ok(self.client, "visit:watch", await self.offer())
        self.answered_at = time.monotonic()
        answer = reply["description"]
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.pc.close()
