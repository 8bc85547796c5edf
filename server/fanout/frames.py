"""WebSocket frames built by hand, so one broadcast is encoded once for everyone.

Server-to-client frames are not masked: the same bytes suit every recipient.
"""

from __future__ import annotations

import struct

from engineio import packet as eio_packet

_TEXT, _BINARY = 0x81, 0x82  # FIN + opcode


def ws_frame(payload: bytes, first_byte: int = _TEXT) -> bytes:
    """An unmasked (server-to-client) WebSocket frame around ``payload``."""
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", first_byte, n) + payload
    if n < 65536:
        return struct.pack("!BBH", first_byte, 126, n) + payload
    return struct.pack("!BBQ", first_byte, 127, n) + payload


def eio_frame(pkt: eio_packet.Packet) -> bytes:
    """The WebSocket frame of one Engine.IO packet."""
    encoded = pkt.encode()
    if isinstance(encoded, bytes):
        return ws_frame(encoded, _BINARY)
    return ws_frame(encoded.encode())


PING_FRAME = ws_frame(b"2")  # Engine.IO v4 PING, the same 3 bytes for every socket
