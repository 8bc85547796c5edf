"""Append-only chat history per channel, paged by entry id."""

from __future__ import annotations

from typing import NamedTuple, Protocol

HistoryEntry = tuple[str, bytes]
"""(id, payload). Ids look like Redis stream ids, ``"<ms>-<seq>"``, and grow strictly."""


class Appended(NamedTuple):
    """What ``History.append_once`` did.

    ``created``: this call appended the entry ``id``. Otherwise it is a replay: an
    earlier call with the same key appended ``id`` and nothing was appended now;
    ``payload`` is then that entry's stored payload (None when it was deleted or
    trimmed since), and ``settled`` whether the earlier caller called ``settle``.
    A new entry has ``payload`` the one given and ``settled`` False.
    """

    id: str
    created: bool
    payload: bytes | None
    settled: bool


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

    async def append_once(
        self, channel: str, payload: bytes, max_len: int, key: str, ttl: float
    ) -> Appended:
        """Append as ``append`` does, unless an ``append_once`` with the same ``key`` in
        the same channel appended within the last ``ttl`` seconds: then append nothing
        and answer with that entry (``created`` False). Checking the key and appending
        are one atomic step, across nodes too: of any number of concurrent calls with
        one key exactly one appends. A call that raised EngineUnavailable may have
        appended; calling again with the same key tells."""
        ...

    async def settle(self, channel: str, key: str, entry_id: str) -> None:
        """Note that what had to follow the append of ``entry_id`` with ``key`` is done
        (e.g. it was pushed): replays answer ``settled`` True from now on. Nothing
        happens when the key has expired or names another entry."""
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
