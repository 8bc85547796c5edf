"""Atomic counters, shared by every node (rate limits, invitation uses)."""

from __future__ import annotations

from typing import Protocol


class Counters(Protocol):
    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Atomically add ``amount`` and return the new value.

        ``ttl`` (seconds) is applied only when the counter is created, which makes
        fixed-window rate limits: the window starts at the first hit. (Exactly:
        when the counter has no expiry yet, like Redis ``PEXPIRE NX``; one created
        without ``ttl`` takes the first ``ttl`` given later.) Once expired, the
        counter starts again from 0.
        """
        ...
