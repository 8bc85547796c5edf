"""Browser checks of the deployment tests: Content-Security-Policy violations and
console errors of a page, a booth call between two people, and WebRTC forced through
TURN (iceTransportPolicy "relay") without changing the app."""

from __future__ import annotations

import asyncio
import time

try:
    from playwright.async_api import Page, expect
except ImportError:  # the fixtures skip (or fail on CI) before these are needed
    Page = expect = None

# Installed before the app loads, so violations while parsing index.html count too.
WATCH_CSP = """
(() => {
  window.__csp = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} `
      + `at ${e.sourceFile}:${e.lineNumber}`);
  });
})();
"""

# Every RTCPeerConnection the app makes gathers relayed candidates only: the test's
# own policy, the app code is unchanged. setConfiguration (an ICE restart with new
# servers) keeps it too.
FORCE_RELAY = """
(() => {
  const Native = window.RTCPeerConnection;
  const relay = (config) => ({ ...(config || {}), iceTransportPolicy: "relay" });
  window.RTCPeerConnection = class extends Native {
    constructor(config, ...rest) { super(relay(config), ...rest); }
    setConfiguration(config) { return super.setConfiguration(relay(config)); }
  };
})();
"""


class PageProblems:
    """Console errors and documents served without a CSP, for each watched page."""

    def __init__(self) -> None:
        self.console: list[str] = []
        self.documents: list[tuple[str, str | None]] = []  # url, its CSP header

    async def watch(self, page: Page) -> Page:
        await page.context.add_init_script(WATCH_CSP)
        page.on(
            "console",
            lambda msg: (
                self.console.append(f"{page.url}: {msg.text}") if msg.type == "error" else None
            ),
        )
        page.on("response", self._response)
        return page

    async def _response(self, response) -> None:
        if response.request.resource_type == "document":
            csp = await response.header_value("content-security-policy")
            self.documents.append((response.url, csp))


async def csp_violations(page: Page) -> list[str]:
    return await page.evaluate("window.__csp")


async def prove_csp_enforced(page: Page) -> None:
    """A positive control: an inline script added to the live page is refused and
    reported, so the listener works and an empty list means something."""
    before = len(await csp_violations(page))
    ran = await page.evaluate(
        """() => {
          const s = document.createElement("script");
          s.textContent = "window.__inlineRan = true";
          document.body.append(s);
          return window.__inlineRan === true;
        }"""
    )
    assert not ran, "an inline script ran: the page has no working CSP"
    deadline = time.monotonic() + 10
    while len(found := await csp_violations(page)) == before:
        assert time.monotonic() < deadline, "the blocked inline script was not reported"
        await asyncio.sleep(0.05)
    assert "script-src" in found[-1], found[-1]
    await page.evaluate("window.__csp.pop()")


def booth_call(page: Page):
    return page.get_by_test_id("booth-call")


async def knock_and_admit(visitor: Page, staff: Page, visitor_name: str) -> None:
    """Both at booth demo-b3; the visitor knocks, the staff admit: a call of two."""
    await booth_call(visitor).get_by_test_id("call-knock").click()
    await expect(booth_call(visitor).get_by_test_id("call-knock-status")).to_be_visible()
    knock = booth_call(staff).get_by_test_id("call-knock-item").filter(has_text=visitor_name)
    await knock.get_by_test_id("call-admit").click()
    for page in (visitor, staff):
        await expect(booth_call(page).get_by_test_id("call-tile")).to_have_count(1)


async def remote_video_width(page: Page) -> int:
    video = booth_call(page).get_by_test_id("call-tile").locator("video").first
    return await video.evaluate("v => v.videoWidth")


SELECTED_PAIR = """
async () => Promise.all(window.__pcs.filter((pc) => pc.connectionState === "connected")
  .map(async (pc) => {
    const stats = new Map();
    (await pc.getStats()).forEach((r) => stats.set(r.id, r));
    const transport = [...stats.values()].find((r) => r.type === "transport");
    const pair = stats.get(transport?.selectedCandidatePairId);
    const local = stats.get(pair?.localCandidateId), remote = stats.get(pair?.remoteCandidateId);
    return {
      policy: pc.getConfiguration().iceTransportPolicy,
      servers: pc.getConfiguration().iceServers.map((s) => [].concat(s.urls).join(" ")),
      local: local && [local.candidateType, local.relayProtocol, local.address].join(" "),
      remote: remote && [remote.candidateType, remote.address].join(" "),
      bytes: pair?.bytesReceived ?? 0,
    };
  }))
"""


async def selected_pairs(page: Page) -> list[dict]:
    """For each connected peer connection: its ICE policy and servers, and the types of
    the candidate pair in use (from getStats)."""
    return await page.evaluate(SELECTED_PAIR)
