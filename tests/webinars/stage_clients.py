"""aiortc clients of a webinar's stage: a publisher (synthetic camera, a tone or silence
as microphone, optionally a screen) and a viewer with the stage's fixed receive-only
tracks that counts decoded frames per slot and measures the sound it hears."""

from __future__ import annotations

import asyncio
import contextlib
import math
import warnings

import av
from aiortc import AudioStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from harness import Client
from media_clients import Camera, description, hub_ok

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

SLOTS = 4


class Tone(AudioStreamTrack):
    """A 400 Hz tone (``amplitude`` of 32767; 0 is silence), 20 ms frames."""

    def __init__(self, amplitude: int = 8000) -> None:
        super().__init__()
        self.amplitude = amplitude
        self.blocks: dict[tuple[int, int], bytes] = {}

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()  # paced silence with the right timestamps
        key = (frame.sample_rate, frame.samples)
        if key not in self.blocks:  # 20 ms hold a whole number of 400 Hz periods
            rate, count = key
            self.blocks[key] = b"".join(
                int(self.amplitude * math.sin(2 * math.pi * 400 * n / rate)).to_bytes(
                    2, "little", signed=True
                )
                for n in range(count)
            )
        frame.planes[0].update(self.blocks[key])
        return frame


class StagePublisher:
    def __init__(self, client: Client, session_id: str, tone: int = 8000, screen: bool = False):
        self.client = client
        self.session_id = session_id
        self.screen = screen
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.tracks = [Camera(), Tone(tone)]
        if screen:
            self.tracks.append(Camera(1280, 720))
        self.pc.addTransceiver(self.tracks[0], direction="sendonly")
        self.pc.addTransceiver(self.tracks[1], direction="sendonly")
        if screen:
            self.pc.addTransceiver(self.tracks[2], direction="sendonly")

    async def publish(self) -> dict:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        reply = await hub_ok(
            self.client,
            "webinar:publish",
            {
                "session_id": self.session_id,
                "description": description(self.pc),
                "screen": self.screen,
            },
        )
        answer = reply["description"]
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        return reply

    async def close(self) -> None:
        for track in self.tracks:
            track.stop()
        await self.pc.close()


class StageViewer:
    """SLOTS camera slots, the screen slot, the mixed sound."""

    def __init__(self, client: Client, session_id: str, program: str | None = None) -> None:
        self.client = client
        self.session_id = session_id
        self.program = program
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        for _ in range(SLOTS + 1):
            self.pc.addTransceiver("video", direction="recvonly")
        self.pc.addTransceiver("audio", direction="recvonly")
        self.frames = [0] * (SLOTS + 1)
        self.audio_frames = 0
        self.levels: list[int] = []  # RMS of each audio frame heard
        self.tasks: list[asyncio.Task] = []
        self.reply: dict = {}
        self.pc.on("track", self._on_track)

    def _on_track(self, track) -> None:
        if track.kind == "audio":
            self.tasks.append(asyncio.get_running_loop().create_task(self._listen(track)))
            return
        videos = [t for t in self.pc.getTransceivers() if t.kind == "video"]
        index = next(i for i, t in enumerate(videos) if t.receiver.track is track)
        self.tasks.append(asyncio.get_running_loop().create_task(self._consume(track, index)))

    async def _listen(self, track) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                self.audio_frames += 1
                self.levels.append(audioop.rms(bytes(frame.planes[0]), 2))

    async def _consume(self, track, index: int) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                await track.recv()
                self.frames[index] += 1

    def level(self, last: int = 10) -> float:
        """The mean RMS of the last frames heard."""
        tail = self.levels[-last:]
        return sum(tail) / len(tail) if tail else 0.0

    async def offer(self) -> dict:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        payload = {"session_id": self.session_id, "description": description(self.pc)}
        if self.program:
            payload["program"] = self.program
        return payload

    async def watch(self) -> dict:
        self.reply = await hub_ok(self.client, "webinar:watch", await self.offer())
        answer = self.reply["description"]
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        return self.reply

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.pc.close()
