"""An Engine.IO v4 long-polling client written out by hand, so tests can send any
payload and see the server's packets as they come (``\\x1e`` between packets)."""

from __future__ import annotations

import json

import aiohttp

SEPARATOR = "\x1e"  # Engine.IO v4 joins a payload's packets with it


class RawPolling:
    def __init__(self, http: aiohttp.ClientSession, base_url: str, sid: str, open_data: dict):
        self.http, self.base_url = http, base_url
        self.sid = sid
        self.open_packet = open_data
        self.url = f"{base_url}/socket.io/?EIO=4&transport=polling&sid={sid}"

    @classmethod
    async def open(cls, node) -> RawPolling:
        """A new session: its OPEN packet comes back on the first GET."""
        url = f"{node.base_url}/socket.io/?EIO=4&transport=polling"
        async with node.http.get(url) as resp:
            body = await resp.text()
            assert resp.status == 200 and body.startswith("0"), (resp.status, body)
        data = json.loads(body[1:])
        return cls(node.http, node.base_url, data["sid"], data)

    async def get(self, within: float = 10) -> tuple[int, list[str]]:
        """One long-poll: its status and packets."""
        async with self.http.get(self.url, timeout=aiohttp.ClientTimeout(total=within)) as resp:
            body = await resp.text()
            return resp.status, (body.split(SEPARATOR) if resp.status == 200 else [body])

    async def post(self, *packets: str | bytes) -> int:
        """Send packets (joined as one payload; bytes as they are); the status."""
        if all(isinstance(p, str) for p in packets):
            body: str | bytes = SEPARATOR.join(packets)
        else:
            body = b"".join(packets)
        async with self.http.post(self.url, data=body) as resp:
            await resp.read()
            return resp.status

    async def until(self, prefix: str, answer_pings: bool = True) -> str:
        """Poll until a packet that starts with ``prefix`` comes (answering PINGs)."""
        while True:
            status, packets = await self.get()
            assert status == 200, (status, packets)
            for packet in packets:
                if packet.startswith(prefix):
                    return packet
                if packet == "2" and answer_pings:
                    await self.post("3")
