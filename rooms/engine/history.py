"""Append-only chat history per channel, paged by entry id."""

from __future__ import annotations

from typing import Protocol

HistoryEntry = tuple[str, bytes]
"""(id, payload). Ids look like Redis stream ids, ``"<ms>-<seq>"``, and grow strictly."""


def parse_history_id(value: str) -> tuple[int, int]:
    """Split a ``"<ms>-<seq>"`` cursor into integers; ValueError when malformed."""
    ms, _, seq = value.partition("-")
    if not ms.isdigit() or not seq.isdigit() or len(ms) > 15 or len(seq) > 15:
        raise ValueError(f"bad history id {value!r}")
    return int(ms), int(seq)


class History(Protocol):
    async def append(self, channel: str, payload: bytes, max_len: int) -> str:
        """Append and return the new entry's id; keep about ``max_len`` newest."""
        ...

    async def before(self, channel: str, before: str | None, limit: int) -> list[HistoryEntry]:
        """Up to ``limit`` newest entries with id < ``before`` (all when None),
        returned oldest first."""
        ...

    async def after(self, channel: str, after: str, limit: int) -> list[HistoryEntry]:
        """Up to ``limit`` oldest entries with id > ``after``, oldest first."""
        ...

    async def get(self, channel: str, entry_id: str) -> bytes | None:
        """The payload of entry ``entry_id``, or None when there is none."""
        ...

    async def delete(self, channel: str, entry_id: str) -> bool:
        """True when the entry existed and is gone now."""
        ...
