"""Chat history as sorted in-memory logs with Redis-stream-like ids; the keys of
``append_once`` in a dict in the order they were made, expired lazily."""

from __future__ import annotations

import bisect
import time
from collections import defaultdict
from dataclasses import dataclass

from rooms.engine.history import Appended, HistoryEntry, parse_history_id


class _Stream:
    """An append-only log with Redis-stream-like ids (kept sorted)."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []
        self.values: dict[tuple[int, int], bytes] = {}
        self.last = (0, 0)

    def next_id(self) -> tuple[int, int]:
        ms = int(time.time() * 1000)
        last_ms, last_seq = self.last
        self.last = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        return self.last


def _fmt(key: tuple[int, int]) -> str:
    return f"{key[0]}-{key[1]}"


@dataclass
class _Once:
    entry_id: str
    expires: float  # time.monotonic()
    settled: bool = False


class MemoryHistory:
    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = defaultdict(_Stream)
        self._once: dict[tuple[str, str], _Once] = {}  # oldest first

    async def append(self, channel: str, payload: bytes, max_len: int) -> str:
        return self._append(channel, payload, max_len)

    async def append_once(
        self, channel: str, payload: bytes, max_len: int, key: str, ttl: float
    ) -> Appended:
        # no await in here: check and append are one step for every other task
        now = time.monotonic()
        self._expire(now)
        seen = self._once.get((channel, key))
        if seen is not None and seen.expires > now:
            stream = self._streams.get(channel)
            stored = None if stream is None else stream.values.get(parse_history_id(seen.entry_id))
            return Appended(seen.entry_id, False, stored, seen.settled)
        entry_id = self._append(channel, payload, max_len)
        self._once.pop((channel, key), None)  # re-inserted last: the dict stays in order
        self._once[(channel, key)] = _Once(entry_id, now + ttl)
        return Appended(entry_id, True, bytes(payload), False)

    async def settle(self, channel: str, key: str, entry_id: str) -> None:
        seen = self._once.get((channel, key))
        if seen is not None and seen.entry_id == entry_id and seen.expires > time.monotonic():
            seen.settled = True

    def _expire(self, now: float) -> None:
        """Forget expired keys from the oldest on (one with a longer ttl ahead of
        shorter ones only keeps them a little longer: lookups check the time)."""
        while self._once:
            oldest = next(iter(self._once))
            if self._once[oldest].expires > now:
                return
            del self._once[oldest]

    def _append(self, channel: str, payload: bytes, max_len: int) -> str:
        max_len = max(1, max_len)  # never trim away the entry just added
        stream = self._streams[channel]
        key = stream.next_id()
        stream.keys.append(key)
        stream.values[key] = bytes(payload)
        excess = len(stream.keys) - max_len
        if excess > 0:
            for old in stream.keys[:excess]:
                del stream.values[old]
            del stream.keys[:excess]
        return _fmt(key)

    async def before(self, channel: str, before: str | None, limit: int) -> list[HistoryEntry]:
        stream = self._streams.get(channel)
        if stream is None or limit <= 0:
            return []
        end = (
            len(stream.keys)
            if before is None
            else bisect.bisect_left(stream.keys, parse_history_id(before))
        )
        keys = stream.keys[max(0, end - limit) : end]
        return [(_fmt(k), stream.values[k]) for k in keys]

    async def after(self, channel: str, after: str, limit: int) -> list[HistoryEntry]:
        stream = self._streams.get(channel)
        if stream is None or limit <= 0:
            return []
        start = bisect.bisect_right(stream.keys, parse_history_id(after))
        keys = stream.keys[start : start + limit]
        return [(_fmt(k), stream.values[k]) for k in keys]

    async def get(self, channel: str, entry_id: str) -> bytes | None:
        stream = self._streams.get(channel)
        if stream is None:
            return None
        return stream.values.get(parse_history_id(entry_id))

    async def delete(self, channel: str, entry_id: str) -> bool:
        stream = self._streams.get(channel)
        key = parse_history_id(entry_id)
        if stream is None or key not in stream.values:
            return False
        del stream.values[key]
        stream.keys.pop(bisect.bisect_left(stream.keys, key))
        return True
