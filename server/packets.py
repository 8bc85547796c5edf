"""Reading what a client sends, before anything trusts it.

A Socket.IO v5 packet is ``<type>[<attachments>-][/<namespace>,][<ack id>][<json>]``.
The header is read by hand, so that a packet whose JSON is broken still yields the
ack id it asked to be answered on; the JSON is then decoded by msgspec in two steps:
the envelope ``[name, payload]`` with the payload left raw, and the payload straight
into the command's struct (no intermediate dicts, and a type that does not allow
deep nesting stops at the first level that does not fit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec

from rooms import errors
from rooms.errors import DomainError

CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR, BINARY_EVENT, BINARY_ACK = range(7)
MAX_ACK_ID_DIGITS = 15  # socket.io-client counts from 0; JavaScript's safe integers

_envelope = msgspec.json.Decoder(list[msgspec.Raw])
_name = msgspec.json.Decoder(str)
_any = msgspec.json.Decoder()
_NULL, _EMPTY = msgspec.Raw(b"null"), b"{}"
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


# codes that mean "the packet could not be read": without an ack id to answer on, the
# socket is closed rather than left guessing
UNREADABLE = frozenset({errors.BAD_REQUEST.code, errors.NESTING_TOO_DEEP.code})


class PacketError(Exception):
    """A packet that cannot be answered on: the connection is closed with this reason."""


@dataclass(frozen=True, slots=True)
class Header:
    type: int
    namespace: str  # "/" when none is given
    ack_id: int | None
    body: str  # the JSON part, possibly empty


def read_header(text: str) -> Header:
    if not text or text[0] not in "0123456":
        raise PacketError(f"unknown packet type {text[:1]!r}")
    kind, i, n = int(text[0]), 1, len(text)
    if kind in (BINARY_EVENT, BINARY_ACK):
        dash = text.find("-", i, i + 11)
        if dash == -1 or not text[i:dash].isdigit():
            raise PacketError("a binary packet without its attachment count")
        i = dash + 1
    namespace = "/"
    if i < n and text[i] == "/":
        comma = text.find(",", i)
        end = n if comma == -1 else comma
        namespace = text[i:end].partition("?")[0]
        i = end + 1 if comma != -1 else n
    start = i
    while i < n and text[i].isdigit():
        i += 1
    if i - start > MAX_ACK_ID_DIGITS:
        raise PacketError("the ack id is too long")
    ack_id = int(text[start:i]) if i > start else None
    return Header(kind, namespace, ack_id, text[i:])


def _json_error(exc: Exception, text: str | bytes) -> DomainError:
    if isinstance(exc, RecursionError):
        return errors.NESTING_TOO_DEEP("the JSON is nested too deeply")
    if _SURROGATE.search(text if isinstance(text, str) else text.decode(errors="replace")):
        # msgspec refuses unpaired ones (its message varies); paired ones decode fine
        return errors.BAD_REQUEST("text contains a lone UTF-16 surrogate (half an emoji?)")
    return errors.BAD_REQUEST(f"the packet is not valid JSON: {exc}")


def read_event(body: str) -> tuple[str, list[msgspec.Raw]]:
    """``[name, *args]`` -> (name, raw args); DomainError when it is not that."""
    try:
        parts = _envelope.decode(body)
        name = _name.decode(parts[0]) if parts else None
    except (msgspec.DecodeError, RecursionError) as exc:
        raise _json_error(exc, body) from None
    except msgspec.ValidationError:
        name = None
    if name is None:
        raise errors.BAD_REQUEST("an event is a JSON array [name, payload] with a string name")
    return name, parts[1:]


def read_payload(raw: msgspec.Raw | None, decoder: msgspec.json.Decoder) -> object:
    """A command's payload, decoded into its struct; ``null`` or nothing is ``{}``."""
    data = _EMPTY if raw is None or raw == _NULL else raw
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise errors.INVALID_PAYLOAD(str(exc)) from None
    except (msgspec.DecodeError, RecursionError) as exc:
        raise _json_error(exc, bytes(data)) from None


def read_json(body: str | bytes) -> object:
    """Any JSON value (connect auth data); DomainError when it is not JSON."""
    try:
        return _any.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
        raise _json_error(exc, body) from None
