"""The ``viewers`` scenario: one site-visit source, N aiortc viewers.

A fairhall node runs in its own process with a media feed (an H.264 MPEG-TS file made
here with PyAV, 640x360, 30 fps; ``--source feed``, passed through) or an aiortc
publisher that sends a synthetic camera (``--source publisher``: the hub decodes once
and encodes once). N viewers (aiortc, in this process) join the visit and watch it.
Reported per step:

- server CPU per viewer: the node's CPU time over the measuring window, minus what it
  spent with the source and no viewer, divided by the viewers (and the viewers one core
  carries at that rate);
- frames per second at the viewers (mean and the slowest viewer), counted as pictures
  received (RTP marker bits) from the first key frame on;
- time to first frame of a late joiner: from the hub's answer to the first key frame
  that viewer gets, measured once the N viewers are watching.

The viewers receive, decrypt and parse every RTP packet but do not reassemble or decode
pictures (a counter replaces aiortc's jitter buffer and decoder): decoding N 640x360
streams would cost this process far more CPU than the server spends, on the same
machine.

Run: ``python -m loadtests viewers --viewers 50,100,200`` (or call
:func:`viewers` with the parsed arguments and a temporary directory).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import time
from pathlib import Path

import aiohttp
import aiortc.rtcrtpreceiver
import av
import socketio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

from loadtests import report, servers
from rooms.media.net import MediaNet, configure

VISIT = "demo-v3"  # seeded with the demo, for booth demo-b3 (the exhibitor invite's)
WIDTH, HEIGHT, FPS = 640, 360, 30
COLUMNS = [
    ("viewers", "viewers"),
    ("connected", "connected"),
    ("watching", "watching"),
    ("server_cpu_pct", "server CPU %"),
    ("cpu_pct_per_viewer", "CPU %/viewer"),
    ("viewers_per_core", "viewers/core"),
    ("fps_mean", "fps mean"),
    ("fps_min", "fps min"),
    ("late_first_frame_ms", "late joiner 1st frame ms"),
    ("loadgen_cpu_pct", "loadgen CPU %"),
]


# -- a decoder that only counts ------------------------------------------------------------
def _starts_keyframe(payload: bytes) -> bool:
    """An H.264 RTP payload that starts a key frame (SPS or IDR; RFC 6184)."""
    if not payload:
        return False
    nal = payload[0] & 0x1F
    if nal == 28 and len(payload) > 1:  # FU-A: the first fragment of an IDR
        return bool(payload[1] & 0x80) and payload[1] & 0x1F in (5, 7)
    if nal == 24:  # STAP-A: several small NAL units
        offset = 1
        while offset + 2 < len(payload):
            size = int.from_bytes(payload[offset : offset + 2], "big")
            if payload[offset + 2] & 0x1F in (5, 7):
                return True
            offset += 2 + size
        return False
    return nal in (5, 7)


async def _count_rtp(self, packet, arrival_time_ms: int) -> None:
    """Replaces RTCRtpReceiver._handle_rtp_packet in the load generator: count pictures
    (the marker bit ends one) and note the first key frame; no jitter buffer, no decoder.
    The packets were received, decrypted and parsed as usual."""
    viewer = getattr(self, "load_viewer", None)
    if viewer is None:
        return
    if viewer.first_key is None and _starts_keyframe(packet.payload):
        viewer.first_key = time.monotonic() - viewer.answered_at
    if packet.marker and viewer.first_key is not None:
        viewer.frames += 1


# -- media -----------------------------------------------------------------------------------
def _frame(n: int) -> av.VideoFrame:
    frame = av.VideoFrame(width=WIDTH, height=HEIGHT, format="yuv420p")
    bar = (n * 8) % WIDTH
    row = bytes(235 if bar <= x < bar + 40 else 16 + x * 200 // WIDTH for x in range(WIDTH))
    luma = frame.planes[0]
    luma.update((row + bytes(luma.line_size - WIDTH)) * HEIGHT)
    for plane in frame.planes[1:]:
        plane.update(bytes([128]) * plane.buffer_size)
    return frame


def make_feed(path: Path, seconds: float, keyint: int) -> Path:
    with av.open(str(path), "w", format="mpegts") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.bit_rate = 1_000_000
        stream.codec_context.gop_size = keyint
        stream.codec_context.options = {
            "preset": "veryfast", "tune": "zerolatency", "profile": "baseline",
            "keyint_min": str(keyint), "scenecut": "0",
        }  # fmt: skip
        for n in range(int(seconds * FPS)):
            frame = _frame(n)
            frame.pts, frame.time_base = n, fractions.Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


class Camera(VideoStreamTrack):
    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = _frame(self.n)
        self.n += 1
        frame.pts, frame.time_base = pts, time_base
        return frame


# -- clients -----------------------------------------------------------------------------------
async def _register(http: aiohttp.ClientSession, base: str, code: str, name: str) -> str:
    body = {"code": code, "name": name, "company": "Load SA", "country": "FR", "sector": "ICT"}
    async with http.post(base + "/api/join", json=body) as resp:
        resp.raise_for_status()
        return (await resp.json())["token"]


async def _socket(base: str, token: str) -> socketio.AsyncClient:
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(base, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    return sio


async def _ok(sio: socketio.AsyncClient, event: str, payload: dict) -> dict:
    reply = await sio.call(event, payload, timeout=20)
    if not reply["ok"]:
        raise RuntimeError(f"{event}: {reply['error']}")
    return reply["data"]


def _description(pc: RTCPeerConnection) -> dict:
    return {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}


class LoadViewer:
    def __init__(self, sio: socketio.AsyncClient) -> None:
        self.sio = sio
        self.pc: RTCPeerConnection | None = None
        self.frames = 0
        self.answered_at = 0.0
        self.first_key: float | None = None

    async def watch(self) -> None:
        pc = self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        reply = await _ok(
            self.sio, "visit:watch", {"visit_id": VISIT, "description": _description(pc)}
        )
        self.answered_at = time.monotonic()
        answer = reply["description"]
        for receiver in pc.getReceivers():
            receiver.load_viewer = self
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))

    @property
    def connected(self) -> bool:
        return self.pc is not None and self.pc.connectionState == "connected"

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        with contextlib.suppress(Exception):
            await self.sio.disconnect()


async def _wait_for(check, within: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + within
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)


async def _step(n: int, base: str, code: str, pid: int, seconds: float, idle_cpu: float) -> dict:
    async with aiohttp.ClientSession() as http:
        tokens = await asyncio.gather(
            *(_register(http, base, code, f"Viewer {n}-{i}") for i in range(n + 1))
        )
    viewers: list[LoadViewer] = []
    try:
        for batch in range(0, n, 20):  # connect in batches: ICE checks are CPU work too
            batch_tokens = tokens[batch : min(batch + 20, n)]
            socks = await asyncio.gather(*(_socket(base, t) for t in batch_tokens))
            group = [LoadViewer(s) for s in socks]
            viewers += group
            for viewer in group:
                await _ok(viewer.sio, "visit:join", {"visit_id": VISIT})
            await asyncio.gather(*(v.watch() for v in group))
            # the next batch once this one is connected: ICE checks are bursts of work
            await _wait_for(lambda g=group: all(v.connected for v in g), 20.0, step=0.05)
        await _wait_for(lambda: sum(v.frames > 0 for v in viewers) >= n, 30.0)
        await asyncio.sleep(2.0)  # settle

        frames_before = [v.frames for v in viewers]
        cpu_before, own_before, started = (
            servers.cpu_seconds(pid),
            time.process_time(),
            time.monotonic(),
        )
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - started
        server_cpu = (servers.cpu_seconds(pid) - cpu_before) / elapsed
        own_cpu = (time.process_time() - own_before) / elapsed
        fps = [(v.frames - f0) / elapsed for v, f0 in zip(viewers, frames_before, strict=True)]

        late = LoadViewer(await _socket(base, tokens[n]))
        viewers.append(late)
        await _ok(late.sio, "visit:join", {"visit_id": VISIT})
        await late.watch()
        await _wait_for(lambda: late.first_key is not None, 10.0, step=0.005)

        per_viewer = max(server_cpu - idle_cpu, 0.0) / n
        return {
            "viewers": n,
            "connected": sum(v.connected for v in viewers[:n]),
            "watching": sum(f > 0 for f in fps),
            "server_cpu_pct": round(server_cpu * 100, 1),
            "idle_cpu_pct": round(idle_cpu * 100, 1),
            "cpu_pct_per_viewer": round(per_viewer * 100, 3),
            "viewers_per_core": round(1 / per_viewer) if per_viewer else None,
            "fps_mean": round(sum(fps) / len(fps), 1),
            "fps_min": round(min(fps), 1),
            "late_first_frame_ms": (
                round(late.first_key * 1000) if late.first_key is not None else None
            ),
            "loadgen_cpu_pct": round(own_cpu * 100, 1),
        }
    finally:
        await asyncio.gather(*(v.close() for v in viewers), return_exceptions=True)
        await asyncio.sleep(1.0)


async def viewers(args: argparse.Namespace, tmp: Path) -> dict:
    """Run the scenario; returns the JSON-ready result (and prints the table)."""
    counts = [int(x) for x in str(args.viewers).split(",") if x]
    configure(MediaNet(host_addresses=("127.0.0.1",)))  # the viewers' side of ICE
    aiortc.rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet = _count_rtp
    settings = {
        "media_host_addresses": "127.0.0.1",
        "visit_viewer_cap": str(max(counts) + 10),
        "log_level": "error",
    }
    if args.source == "feed":
        feed = make_feed(tmp / "feed.ts", 20.0, args.keyint)
        settings["visit_media"] = f"feed={feed}"
    server = servers.start_fairhall(tmp, **settings)
    base = f"http://127.0.0.1:{server.port}"
    publisher: RTCPeerConnection | None = None
    rows = []
    try:
        async with aiohttp.ClientSession() as http:
            staff_token = await _register(http, base, server.invites["exhibitor"], "Guide")
        staff = await _socket(base, staff_token)
        if args.source == "feed":
            await _ok(staff, "visit:start", {"visit_id": VISIT, "source": "media", "media": "feed"})
        else:
            await _ok(staff, "visit:start", {"visit_id": VISIT, "source": "browser"})
            publisher = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            publisher.addTransceiver(Camera(), direction="sendonly")
            await publisher.setLocalDescription(await publisher.createOffer())
            reply = await _ok(
                staff, "visit:publish", {"visit_id": VISIT, "description": _description(publisher)}
            )
            answer = reply["description"]
            await publisher.setRemoteDescription(
                RTCSessionDescription(answer["sdp"], answer["type"])
            )
        await asyncio.sleep(3.0)
        before, started = servers.cpu_seconds(server.pid), time.monotonic()
        await asyncio.sleep(5.0)
        idle_cpu = (servers.cpu_seconds(server.pid) - before) / (time.monotonic() - started)
        for n in counts:
            row = await _step(
                n, base, server.invites["participant"], server.pid, args.seconds, idle_cpu
            )
            rows.append(row)
            print(report.table([row], COLUMNS), flush=True)
        await staff.disconnect()
    finally:
        if publisher is not None:
            await publisher.close()
        server.stop()
    print(report.table(rows, COLUMNS))
    return {"source": args.source, "size": f"{WIDTH}x{HEIGHT}", "fps": FPS, "results": rows}
