"""Presence in dicts: one process, so no node can die without taking it along."""

from __future__ import annotations

from collections import defaultdict

from rooms.engine.presence import Back, CappedAdd


class MemoryPresence:
    def __init__(self) -> None:
        # scope -> sid -> member ; scope -> member -> (info, session count)
        self._sessions: dict[str, dict[str, str]] = defaultdict(dict)
        self._members: dict[str, dict[str, list]] = defaultdict(dict)

    async def add(self, scope: str, sid: str, member: str, info: bytes) -> bool:
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

    async def add_capped(
        self, scope: str, sid: str, member: str, info: bytes, cap: int
    ) -> CappedAdd:
        # No await between the check and the add: atomic on the one event loop.
        members = self._members.get(scope, {})
        known = sid in self._sessions.get(scope, {}) or member in members
        if not known and len(members) >= cap:
            return "full"
        return "joined" if await self.add(scope, sid, member, info) else "present"

    async def remove(self, scope: str, sid: str) -> str | None:
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

    async def remove_sessions(self, sid: str) -> list[tuple[str, str]]:
        left = []
        for scope in [scope for scope, sessions in self._sessions.items() if sid in sessions]:
            member = await self.remove(scope, sid)
            if member is not None:
                left.append((scope, member))
        return left

    async def members(self, scope: str) -> dict[str, bytes]:
        return {member: entry[0] for member, entry in self._members.get(scope, {}).items()}

    async def count(self, scope: str) -> int:
        return len(self._members.get(scope, ()))

    async def reap_dead_nodes(self) -> list[tuple[str, str]]:
        return []  # one process: there is no other node that could die

    async def restore_lapsed(self) -> list[Back]:
        return []  # no heartbeat to lapse
