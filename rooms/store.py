"""Typed collections on top of the engine's opaque documents."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from rooms.engine import Engine

T = TypeVar("T")


class Collection(Generic[T]):
    """A named set of records of one type, stored as msgpack documents."""

    def __init__(self, engine: Engine, name: str, record_type: type[T]) -> None:
        self.engine = engine
        self.name = name
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(record_type)

    async def get(self, key: str) -> T | None:
        raw = await self.engine.docs.get(self.name, key)
        return None if raw is None else self._decoder.decode(raw)

    async def put(self, key: str, record: T) -> None:
        await self.engine.docs.put(self.name, key, self._encoder.encode(record))

    async def put_new(self, key: str, record: T) -> bool:
        return await self.engine.docs.put_new(self.name, key, self._encoder.encode(record))

    async def delete(self, key: str) -> bool:
        return await self.engine.docs.delete(self.name, key)

    async def all(self) -> list[T]:
        raw = await self.engine.docs.all(self.name)
        return [self._decoder.decode(value) for value in raw.values()]
