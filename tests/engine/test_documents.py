"""Contract of Documents (rooms/engine/documents.py), on every engine."""

from __future__ import annotations

from rooms.engine import Documents


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
