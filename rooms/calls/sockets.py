"""Which call each socket is in, and which booth's call it knocks at (this node's
sockets only; the engine holds the cluster-wide truth)."""

from __future__ import annotations


class CallSocket:
    __slots__ = ("call_id", "knock_id")

    def __init__(self) -> None:
        self.call_id: str | None = None  # the call this socket joined
        self.knock_id: str | None = None  # the booth call it knocks at


class CallSockets:
    def __init__(self) -> None:
        self._by_sid: dict[str, CallSocket] = {}

    def of(self, sid: str) -> CallSocket:
        state = self._by_sid.get(sid)
        if state is None:
            state = self._by_sid[sid] = CallSocket()
        return state

    def pop(self, sid: str) -> CallSocket | None:
        return self._by_sid.pop(sid, None)
