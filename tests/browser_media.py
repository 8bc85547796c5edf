"""Helpers for browser tests with media: track every RTCPeerConnection of a page, fake
a screen or a refused camera, and prove that video really flows (BROWSER-TESTS.md)."""

from __future__ import annotations

import asyncio
import time

from browser_pages import join

try:
    from playwright.async_api import Page
except ImportError:  # the fixtures skip (or fail on CI) before these are needed
    Page = None

# Installed before the app loads: remember every RTCPeerConnection so the test can
# read its state and stats (the app itself exposes nothing for tests).
TRACK_PEER_CONNECTIONS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
    }
  };
})();
"""

# A "screen" for getDisplayMedia, which headless Chromium cannot capture: a canvas
# that keeps changing.
FAKE_SCREEN = """
navigator.mediaDevices.getDisplayMedia = async () => {
  const canvas = Object.assign(document.createElement("canvas"), { width: 640, height: 360 });
  const ctx = canvas.getContext("2d");
  setInterval(() => {
    ctx.fillStyle = `hsl(${(Date.now() / 10) % 360} 70% 50%)`;
    ctx.fillRect(0, 0, 640, 360);
  }, 40);
  return canvas.captureStream(25);
};
"""

# The person says no to the camera prompt.
DENY_CAMERA = """
navigator.mediaDevices.getUserMedia = async () => {
  throw new DOMException("Permission denied", "NotAllowedError");
};
"""

STATS = """
async () => Promise.all(window.__pcs.filter((pc) => pc.signalingState !== "closed").map(async (pc) => {
  const videos = [];
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") videos.push(r.framesDecoded || 0);
  });
  const ufrag = /a=ice-ufrag:(\\S+)/.exec(pc.localDescription?.sdp ?? "")?.[1] ?? null;
  return { state: pc.connectionState, videos, ufrag };
}))
"""


async def peer_stats(page: Page) -> list[dict]:
    return await page.evaluate(STATS)


async def media_flows(page: Page, peers: int = 1, videos: int = 1, within: float = 20) -> list:
    """Wait until the page has ``peers`` connected peer connections, each decoding
    ``videos`` video streams whose frame counts keep growing."""
    deadline = time.monotonic() + within
    first = None
    while True:
        stats = await peer_stats(page)
        ready = len(stats) == peers and all(
            s["state"] == "connected" and len(s["videos"]) >= videos for s in stats
        )
        if ready:
            frames = [sorted(s["videos"])[-videos:] for s in stats]
            if first is None and all(f > 0 for fs in frames for f in fs):
                first = frames
            elif first is not None and all(
                now > then + 5
                for fs_now, fs_then in zip(frames, first, strict=True)
                for now, then in zip(fs_now, fs_then, strict=True)
            ):
                return stats
        if time.monotonic() > deadline:
            raise AssertionError(f"media is not flowing: {stats}")
        await asyncio.sleep(0.25)


async def person(page: Page, invite: str, name: str, *scripts: str) -> Page:
    """Join with ``invite`` in ``page``, with peer connections tracked (and ``scripts``)."""
    for script in (TRACK_PEER_CONNECTIONS, *scripts):
        await page.context.add_init_script(script)
    await join(page, invite, name, company=f"{name} GmbH", country="DE", sector="Industry")
    return page
