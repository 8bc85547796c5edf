"""Contract of Documents (rooms/engine/documents.py), on every engine."""

from __future__ import annotations

import asyncio

from rooms.engine import Documents, Engine


async def test_documents_roundtrip(docs: Documents) -> None:
    binary = b"\xff\x00\xfe\x80 not utf-8"
    assert await docs.get("booths", "b1") is None
    await docs.put("booths", "b1", b"one")
    await docs.put("booths", "b2", binary)
    await docs.put("halls", "b1", b"other collection")
    await docs.put("booths", "b1", b"one v2")
    assert await docs.get("booths", "b1") == b"one v2"
    assert await docs.get("booths", "b2") == binary
    assert await docs.all("booths") == {"b1": b"one v2", "b2": binary}
    assert await docs.all("nothing") == {}


async def test_put_new_and_delete(docs: Documents) -> None:
    assert await docs.put_new("users", "u1", b"first") is True
    assert await docs.put_new("users", "u1", b"second") is False
    assert await docs.get("users", "u1") == b"first"
    assert await docs.delete("users", "u1") is True
    assert await docs.delete("users", "u1") is False
    assert await docs.get("users", "u1") is None
    assert await docs.put_new("users", "u1", b"again") is True


async def test_put_new_has_exactly_one_winner_among_concurrent_callers(
    engine: Engine, peer: Engine
) -> None:
    # Two nodes racing to claim the same key (e.g. the first start storing the
    # shared secret): exactly one stores, and its value is the one kept.
    nodes = [engine.docs, peer.docs]
    results = await asyncio.gather(
        *(nodes[i % 2].put_new("claims", "slot", f"v{i}".encode()) for i in range(20))
    )
    assert results.count(True) == 1
    assert await engine.docs.get("claims", "slot") == f"v{results.index(True)}".encode()


async def test_empty_values_and_collections_are_independent(docs: Documents) -> None:
    await docs.put("a", "k", b"")
    assert await docs.get("a", "k") == b""  # empty, not missing
    assert await docs.put_new("a", "k", b"x") is False
    assert await docs.get("b", "k") is None
    assert await docs.delete("b", "k") is False
    assert await docs.put_new("b", "k", b"b") is True
    assert await docs.all("a") == {"k": b""}


async def test_all_returns_a_copy(docs: Documents) -> None:
    await docs.put("c", "k", b"v")
    snapshot = await docs.all("c")
    snapshot["other"] = b"x"
    del snapshot["k"]
    assert await docs.all("c") == {"k": b"v"}
