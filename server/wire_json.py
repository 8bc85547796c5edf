"""msgspec as python-socketio's JSON module: encodes domain Structs directly."""

from __future__ import annotations

import msgspec

_encoder = msgspec.json.Encoder()


def dumps(obj, **_ignored) -> str:
    return _encoder.encode(obj).decode()


def loads(data, **_ignored):
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        # python-socketio treats ValueError as a malformed packet
        raise ValueError(str(exc)) from None
