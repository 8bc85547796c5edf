"""Single-process engine: everything in dicts, no external service."""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
import uuid
from collections import defaultdict

from rooms.engine import CappedAdd, Engine, HistoryEntry, MessageHandler, parse_history_id

log = logging.getLogger(__name__)


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


class MemoryEngine(Engine):
    def __init__(self, node_id: str | None = None) -> None:
        self.node_id = node_id or uuid.uuid4().hex[:12]
        self._docs: dict[str, dict[str, bytes]] = defaultdict(dict)
        self._counters: dict[str, tuple[int, float | None]] = {}
        self._streams: dict[str, _Stream] = defaultdict(_Stream)
        # scope -> sid -> member ; scope -> member -> (info, session count)
        self._sessions: dict[str, dict[str, str]] = defaultdict(dict)
        self._members: dict[str, dict[str, list]] = defaultdict(dict)
        self._handlers: dict[str, list[MessageHandler]] = defaultdict(list)
        self._deliveries: set[asyncio.Task] = set()
        self._next_sweep = 0.0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._handlers.clear()

    async def ping(self) -> None:
        return None

    # documents
    async def doc_get(self, collection: str, key: str) -> bytes | None:
        return self._docs.get(collection, {}).get(key)

    async def doc_put(self, collection: str, key: str, value: bytes) -> None:
        self._docs[collection][key] = bytes(value)

    async def doc_put_new(self, collection: str, key: str, value: bytes) -> bool:
        docs = self._docs[collection]
        if key in docs:
            return False
        docs[key] = bytes(value)
        return True

    async def doc_delete(self, collection: str, key: str) -> bool:
        return self._docs.get(collection, {}).pop(key, None) is not None

    async def doc_all(self, collection: str) -> dict[str, bytes]:
        return dict(self._docs.get(collection, {}))

    # counters
    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        now = time.monotonic()
        if now >= self._next_sweep:  # drop expired counters (rate-limit windows) now and then
            self._counters = {k: v for k, v in self._counters.items() if v[1] is None or v[1] > now}
            self._next_sweep = now + 60
        value, expires = self._counters.get(key, (0, None))
        if expires is not None and expires <= now:
            value, expires = 0, None
        if expires is None and ttl is not None:  # like Redis EXPIRE NX
            expires = now + ttl
        value += amount
        self._counters[key] = (value, expires)
        return value

    # history
    async def history_append(self, channel: str, payload: bytes, max_len: int) -> str:
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

    async def history_before(
        self, channel: str, before: str | None, limit: int
    ) -> list[HistoryEntry]:
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

    async def history_after(self, channel: str, after: str, limit: int) -> list[HistoryEntry]:
        stream = self._streams.get(channel)
        if stream is None or limit <= 0:
            return []
        start = bisect.bisect_right(stream.keys, parse_history_id(after))
        keys = stream.keys[start : start + limit]
        return [(_fmt(k), stream.values[k]) for k in keys]

    async def history_get(self, channel: str, entry_id: str) -> bytes | None:
        stream = self._streams.get(channel)
        if stream is None:
            return None
        return stream.values.get(parse_history_id(entry_id))

    async def history_delete(self, channel: str, entry_id: str) -> bool:
        stream = self._streams.get(channel)
        key = parse_history_id(entry_id)
        if stream is None or key not in stream.values:
            return False
        del stream.values[key]
        stream.keys.pop(bisect.bisect_left(stream.keys, key))
        return True

    # presence
    async def presence_add(self, scope: str, sid: str, member: str, info: bytes) -> bool:
        sessions = self._sessions[scope]
        if sid in sessions:
            return False
        sessions[sid] = member
        entry = self._members[scope].get(member)
        if entry is None:
            self._members[scope][member] = [bytes(info), 1]
            return True
        entry[0] = bytes(info)
        entry[1] += 1
        return False

    async def presence_add_capped(
        self, scope: str, sid: str, member: str, info: bytes, cap: int
    ) -> CappedAdd:
        # No await between the check and the add: atomic on the one event loop.
        members = self._members.get(scope, {})
        known = sid in self._sessions.get(scope, {}) or member in members
        if not known and len(members) >= cap:
            return "full"
        return "joined" if await self.presence_add(scope, sid, member, info) else "present"

    async def presence_remove(self, scope: str, sid: str) -> str | None:
        sessions = self._sessions.get(scope)
        member = sessions.pop(sid, None) if sessions else None
        if member is None:
            return None
        if not sessions:
            del self._sessions[scope]
        members = self._members[scope]
        members[member][1] -= 1
        if members[member][1] > 0:
            return None
        del members[member]
        if not members:
            del self._members[scope]
        return member

    async def presence_members(self, scope: str) -> dict[str, bytes]:
        return {member: entry[0] for member, entry in self._members.get(scope, {}).items()}

    async def presence_count(self, scope: str) -> int:
        return len(self._members.get(scope, ()))

    async def reap_dead_nodes(self) -> list[tuple[str, str]]:
        return []  # one process: there is no other node that could die

    # pub/sub
    async def publish(self, channel: str, payload: bytes) -> None:
        # Delivered later on its own task, as Redis does, so nothing comes to rely
        # on handlers having run when publish returns.
        for handler in list(self._handlers.get(channel, ())):
            task = asyncio.create_task(self._deliver(channel, handler, bytes(payload)))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    @staticmethod
    async def _deliver(channel: str, handler: MessageHandler, payload: bytes) -> None:
        try:
            await handler(payload)
        except Exception:
            log.exception("pub/sub handler failed on %s", channel)

    async def subscribe(self, channel: str, handler: MessageHandler) -> None:
        self._handlers[channel].append(handler)
        await asyncio.sleep(0)
