"""Documents in dicts."""

from __future__ import annotations

from collections import defaultdict


class MemoryDocuments:
    def __init__(self) -> None:
        self._docs: dict[str, dict[str, bytes]] = defaultdict(dict)

    async def get(self, collection: str, key: str) -> bytes | None:
        return self._docs.get(collection, {}).get(key)

    async def put(self, collection: str, key: str, value: bytes) -> None:
        self._docs[collection][key] = bytes(value)

    async def put_new(self, collection: str, key: str, value: bytes) -> bool:
        docs = self._docs[collection]
        if key in docs:
            return False
        docs[key] = bytes(value)
        return True

    async def delete(self, collection: str, key: str) -> bool:
        return self._docs.get(collection, {}).pop(key, None) is not None

    async def all(self, collection: str) -> dict[str, bytes]:
        return dict(self._docs.get(collection, {}))
