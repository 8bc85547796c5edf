"""Who is asking: the client's address, for per-address limits.

The peer of the TCP connection is the client, unless it is one of the configured
``trusted_proxies``: then the client is the nearest address in ``X-Forwarded-For``
that is not a trusted proxy, read from the right (each proxy appends the address it
saw; everything left of the first untrusted entry could be written by the client
itself, so it is never believed). From anyone else the header is ignored.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPV6_PREFIX = 64  # one IPv6 subscriber gets a /64: all of it counts as one address


class ClientAddresses:
    def __init__(self, trusted_proxies: Iterable[str] = ()) -> None:
        self.trusted: list[IPNetwork] = [
            ipaddress.ip_network(p, strict=False) for p in trusted_proxies
        ]
        self._warned: set[str] = set()

    def of(self, peer: str | None, forwarded_for: str | None) -> str:
        """The client's address as a budget key: an IPv4 address, an IPv6 /64 network,
        or the peer as given when it is no IP address (a Unix socket)."""
        peer_ip = _parse(peer)
        if peer_ip is None:
            return peer or "unknown"
        client = peer_ip
        if forwarded_for and self._is_trusted(peer_ip):
            for hop in reversed(forwarded_for.split(",")):
                hop_ip = _parse(hop.strip())
                if hop_ip is None:
                    break  # garbage from here on: the last good one is the client
                client = hop_ip
                if not self._is_trusted(hop_ip):
                    break
        elif forwarded_for and str(peer_ip) not in self._warned:
            self._warned.add(str(peer_ip))
            log.warning(
                "X-Forwarded-For from %s, which is not in trusted_proxies: the header is "
                "ignored and every client behind it counts as that one address",
                peer_ip,
            )
        return key(client)

    def _is_trusted(self, ip: IPAddress) -> bool:
        return any(ip in network for network in self.trusted)


def key(ip: IPAddress) -> str:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)


def _parse(text: str | None) -> IPAddress | None:
    if not text:
        return None
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text.partition("%")[0])  # no IPv6 zone
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip
