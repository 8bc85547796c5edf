"""Which addresses and UDP ports the hub's peer connections use.

aioice offers every local address but never 127.0.0.1, and binds random ports
(aiortc#487). Operators pin both; tests on a loopback-only network offer 127.0.0.1.
Behind 1:1 NAT or in a container whose UDP range is published, the address browsers
reach is not one the hub can bind: ``public_address`` is then offered beside each
bound port as a server-reflexive candidate (what a STUN server would have told us,
without asking one), the same port on the public side. :func:`configure` installs an aioice ``Connection`` subclass
into aiortc (process-wide: the hub is this process's only aiortc user).
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

import aiortc.rtcicetransport
from aioice import Candidate, Connection
from aioice.candidate import candidate_foundation, candidate_priority
from aioice.ice import StunProtocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MediaNet:
    host_addresses: tuple[str, ...] = ()  # empty: aioice's choice (every local address)
    port_min: int = 0  # 0: any port
    port_max: int = 0
    public_address: str | None = None  # reached through 1:1 NAT / published ports


_net = MediaNet()


def configure(net: MediaNet) -> None:
    global _net
    _net = net
    aiortc.rtcicetransport.Connection = HubConnection


class HubConnection(Connection):
    async def get_component_candidates(
        self,
        component: int,
        addresses: list[str],
        timeout: int = 5,  # noqa: ASYNC109
    ) -> list[Candidate]:
        net = _net
        if net.host_addresses:
            addresses = list(net.host_addresses)
        if not net.port_min:
            candidates = await super().get_component_candidates(component, addresses, timeout)
            return candidates + _advertised(net, candidates)
        loop = asyncio.get_running_loop()
        candidates = []
        for address in addresses:
            ports = list(range(net.port_min, net.port_max + 1))
            random.shuffle(ports)
            for port in ports:
                try:
                    _, protocol = await loop.create_datagram_endpoint(
                        lambda: StunProtocol(self), local_addr=(address, port)
                    )
                    break
                except OSError:
                    continue
            else:
                log.warning("no free UDP port for %s in %d-%d", address, net.port_min, net.port_max)
                continue
            protocol.local_candidate = Candidate(
                foundation=candidate_foundation("host", "udp", address),
                component=component,
                transport="udp",
                priority=candidate_priority(component, "host"),
                host=address,
                port=port,
                type="host",
            )
            self._protocols.append(protocol)
            candidates.append(protocol.local_candidate)
        # relayed candidates (TURN) need no host socket of ours
        relayed = await super().get_component_candidates(component, [], timeout)
        return candidates + _advertised(net, candidates) + relayed


def _advertised(net: MediaNet, candidates: list[Candidate]) -> list[Candidate]:
    """The public side of each host candidate. Connectivity checks that arrive there
    reach the bound socket through the NAT, so no socket of its own is needed."""
    if not net.public_address:
        return []
    return [
        Candidate(
            foundation=candidate_foundation("srflx", "udp", c.host),
            component=c.component,
            transport="udp",
            priority=candidate_priority(c.component, "srflx"),
            host=net.public_address,
            port=c.port,
            type="srflx",
            related_address=c.host,
            related_port=c.port,
        )
        for c in candidates
        if c.type == "host" and c.host != net.public_address
    ]
