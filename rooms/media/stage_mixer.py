"""A stage's sound: every microphone decoded once, one mix and one Opus encoding per
program, and the levels that pick the active speaker.

- :class:`Microphone`: a publisher's audio track, decoded by aiortc (48 kHz, 20 ms
  frames); it keeps the last few frames as signed 16-bit stereo and their level.
- :class:`Program`: a mix of some microphones (which: its ``hears`` rule), encoded
  once with Opus into a :class:`~rooms.media.fanout.Fanout` that every viewer of the
  program shares. A program is the unit of "what someone listens to": the stage
  (the audience), the backstage (moderators, speakers), and later one per
  interpretation language or a recorder's tap (issue 12) are programs too.
- :class:`Mixer`: one 20 ms clock per stage; at each tick every microphone gives up
  one frame (or silence), every program with listeners sums its own and encodes it.

Mixing is sample arithmetic on 1920-sample blocks (``audioop``, C code in CPython
3.11; on 3.13 the ``audioop-lts`` package provides the same module).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
import warnings
from collections.abc import Callable

import av
from aiortc.codecs.opus import OpusEncoder
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from rooms.media.fanout import Fanout, Unit

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

log = logging.getLogger(__name__)
RATE = 48_000
TICK = 0.020
SAMPLES = 960  # per channel and tick
BLOCK = SAMPLES * 2 * 2  # s16, stereo
SILENCE = bytes(BLOCK)
BUFFERED = 5  # frames a microphone keeps (100 ms): more is latency, dropped
SPEAKING = 500  # RMS (of 32768) above which a voice counts as speaking
SMOOTHING = 0.25  # weight of the newest tick in a microphone's level
HOLD = 1.0  # seconds the active speaker keeps the place before another takes it


class Microphone:
    def __init__(self, person_id: str, track: MediaStreamTrack) -> None:
        self.person_id = person_id
        self.frames: collections.deque[bytes] = collections.deque(maxlen=BUFFERED)
        self.level = 0.0  # smoothed RMS, updated at each mixer tick
        self.current = SILENCE  # this tick's block
        self.decoded = 0  # frames received from aiortc's decoder
        self.resampler: av.AudioResampler | None = None
        self.task = asyncio.get_running_loop().create_task(self._run(track))

    async def _run(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                for block in self._blocks(frame):
                    self.frames.append(block)
                self.decoded += 1
        except (MediaStreamError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("reading a stage microphone failed")

    def _blocks(self, frame: av.AudioFrame) -> list[bytes]:
        if (
            frame.format.name == "s16" and frame.layout.name == "stereo"
            and frame.sample_rate == RATE and frame.samples == SAMPLES
        ):  # fmt: skip
            return [bytes(frame.planes[0])[:BLOCK]]
        if self.resampler is None:  # not what aiortc's Opus decoder gives: make it so
            self.resampler = av.AudioResampler(
                format="s16", layout="stereo", rate=RATE, frame_size=SAMPLES
            )
        return [bytes(f.planes[0])[:BLOCK] for f in self.resampler.resample(frame)]

    def tick(self) -> None:
        self.current = self.frames.popleft() if self.frames else SILENCE
        rms = audioop.rms(self.current, 2) if self.current is not SILENCE else 0
        self.level += SMOOTHING * (rms - self.level)

    def close(self) -> None:
        self.task.cancel()


class Program:
    """A mix: ``hears(microphone)`` says which microphones are in it (muted ones are
    not), ``fanout`` carries its Opus packets to every listener of it."""

    def __init__(self, name: str, hears: Callable[[Microphone], bool]) -> None:
        self.name = name
        self.hears = hears
        self.fanout = Fanout()
        self.encoder: OpusEncoder | None = None  # made when it first has a listener
        self.encoders = 0  # how many encoders this program ever made (one)
        self.pts = 0
        self.active: str | None = None  # the person speaking loudest, held HOLD s
        self.active_since = 0.0
        self.taps: list[Callable[[Unit], None]] = []  # more consumers (a recorder, issue 12)

    def listened(self) -> bool:
        return bool(self.fanout.tracks or self.taps)

    def mix(self, microphones: list[Microphone]) -> bytes:
        mixed = None
        for mic in microphones:
            if mic.current is SILENCE:
                continue
            mixed = mic.current if mixed is None else audioop.add(mixed, mic.current, 2)
        return SILENCE if mixed is None else mixed

    def encode(self, block: bytes) -> None:
        if self.encoder is None:
            self.encoder = OpusEncoder()
            self.encoders += 1
        frame = av.AudioFrame(format="s16", layout="stereo", samples=SAMPLES)
        frame.planes[0].update(block)
        frame.sample_rate, frame.pts = RATE, self.pts
        self.pts += SAMPLES
        payloads, timestamp = self.encoder.encode(frame)
        if payloads:
            unit = Unit(payloads, timestamp, True)
            self.fanout.push(unit)
            for tap in self.taps:
                tap(unit)

    def pick_active(self, microphones: list[Microphone], now: float) -> bool:
        """Follow the loudest voice; True when the active speaker changed."""
        loudest = max(microphones, key=lambda m: m.level, default=None)
        current = next((m for m in microphones if m.person_id == self.active), None)
        if current is None and self.active is not None:  # left the program
            self.active = None
            return True
        if loudest is None or loudest.level < SPEAKING or loudest.person_id == self.active:
            return False
        if current is not None and (
            now - self.active_since < HOLD or current.level * 1.5 > loudest.level
        ):
            return False
        self.active, self.active_since = loudest.person_id, now
        return True


class Mixer:
    """The stage's 20 ms clock: microphones in, programs out."""

    def __init__(self, on_active: Callable[[], None] = lambda: None) -> None:
        self.microphones: dict[str, Microphone] = {}  # by person id
        self.programs: dict[str, Program] = {}
        self.on_active = on_active
        self.ticks = 0
        self.task: asyncio.Task | None = None

    def add_program(self, program: Program) -> Program:
        self.programs[program.name] = program
        return program

    def encoders(self) -> int:
        return sum(p.encoders for p in self.programs.values())

    def add(self, person_id: str, track: MediaStreamTrack) -> None:
        self.remove(person_id)
        self.microphones[person_id] = Microphone(person_id, track)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())

    def remove(self, person_id: str) -> None:
        mic = self.microphones.pop(person_id, None)
        if mic is not None:
            mic.close()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            while True:
                self.ticks += 1
                await asyncio.sleep(max(0.0, start + self.ticks * TICK - loop.time()))
                if loop.time() - (start + self.ticks * TICK) > 10 * TICK:  # fell behind
                    start, self.ticks = loop.time(), 0
                self.tick(time.monotonic())
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("the stage mixer failed")

    def tick(self, now: float) -> None:
        mics = list(self.microphones.values())
        for mic in mics:
            mic.tick()
        changed = False
        for program in self.programs.values():
            heard = [m for m in mics if program.hears(m)]
            changed |= program.pick_active(heard, now)
            if program.listened():
                program.encode(program.mix(heard))
        if changed:
            self.on_active()

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None
        for person_id in list(self.microphones):
            self.remove(person_id)
        with contextlib.suppress(Exception):
            for program in self.programs.values():
                program.encoder = None
