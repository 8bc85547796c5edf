"""Contract of History (rooms/engine/history.py), on every engine."""

from __future__ import annotations

import asyncio

from rooms.engine import Engine, History, parse_history_id


async def _fill(history: History, channel: str, n: int, max_len: int = 1000) -> list[str]:
    return [await history.append(channel, f"m{i}".encode(), max_len) for i in range(n)]


async def test_history_ids_grow_strictly(history: History) -> None:
    ids = await _fill(history, "chat", 30)
    parsed = [parse_history_id(i) for i in ids]
    assert parsed == sorted(parsed) and len(set(parsed)) == len(parsed)


async def test_history_paging(history: History) -> None:
    ids = await _fill(history, "chat", 25)
    everything = [(i, f"m{n}".encode()) for n, i in enumerate(ids)]

    # Backwards from the newest: each page is oldest first, cursors are exclusive.
    pages, before = [], None
    while page := await history.before("chat", before, 10):
        pages.append(page)
        before = page[0][0]
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [e for p in reversed(pages) for e in p] == everything

    # Forwards from the start.
    collected, after = [], "0-0"
    while page := await history.after("chat", after, 10):
        collected += page
        after = page[-1][0]
    assert collected == everything

    assert await history.before("chat", ids[10], 1) == [everything[9]]
    assert await history.after("chat", ids[10], 1) == [everything[11]]
    assert await history.before("chat", ids[0], 10) == []
    assert await history.after("chat", ids[-1], 10) == []
    assert await history.before("chat", None, 0) == []


async def test_history_get_and_delete(history: History) -> None:
    binary = b"\x00\xff\xc3"
    first = await history.append("chat", b"a", 100)
    middle = await history.append("chat", binary, 100)
    last = await history.append("chat", b"c", 100)
    assert await history.get("chat", middle) == binary
    assert await history.delete("chat", middle) is True
    assert await history.delete("chat", middle) is False
    assert await history.get("chat", middle) is None
    assert await history.before("chat", None, 10) == [(first, b"a"), (last, b"c")]
    assert await history.get("chat", "1-0") is None


async def test_history_trims_to_about_max_len(history: History) -> None:
    ids = await _fill(history, "chat", 300, max_len=50)
    kept = await history.before("chat", None, 1000)
    # Redis trims whole stream nodes ("MAXLEN ~"): at least max_len stay, at most
    # one node (stream-node-max-entries, 100 by default) more.
    assert 50 <= len(kept) <= 150
    assert kept[-50:] == [(i, f"m{n}".encode()) for n, i in enumerate(ids)][-50:]


async def test_history_unknown_channel(history: History) -> None:
    assert await history.before("void", None, 10) == []
    assert await history.after("void", "0-0", 10) == []
    assert await history.get("void", "1-0") is None
    assert await history.delete("void", "1-0") is False


async def test_history_ids_keep_growing_after_deletes(history: History) -> None:
    # A client's resume cursor must never come to mean a different message.
    a = await history.append("chat", b"a", 100)
    b = await history.append("chat", b"b", 100)
    assert await history.delete("chat", b)
    c = await history.append("chat", b"c", 100)
    assert parse_history_id(c) > parse_history_id(b)
    assert await history.delete("chat", a) and await history.delete("chat", c)
    d = await history.append("chat", b"d", 100)  # the channel was empty
    assert parse_history_id(d) > parse_history_id(c)
    assert await history.after("chat", b, 10) == [(d, b"d")]


async def test_history_ids_are_unique_across_concurrent_appends(
    engine: Engine, peer: Engine
) -> None:
    nodes = [engine.history, peer.history]
    ids = await asyncio.gather(
        *(nodes[i % 2].append("chat", f"m{i}".encode(), 1000) for i in range(40))
    )
    assert len(set(ids)) == 40
    stored = await engine.history.before("chat", None, 100)
    assert [i for i, _ in stored] == sorted(ids, key=parse_history_id)
    assert dict(stored) == {i: f"m{n}".encode() for n, i in enumerate(ids)}


async def test_history_cursor_need_not_be_a_stored_entry(history: History) -> None:
    ids = await _fill(history, "chat", 5)
    entries = [(i, f"m{n}".encode()) for n, i in enumerate(ids)]
    assert await history.delete("chat", ids[2])  # e.g. a moderator removed it
    assert await history.before("chat", ids[2], 10) == entries[:2]
    assert await history.after("chat", ids[2], 10) == entries[3:]
    assert await history.after("chat", "0-0", 2) == entries[:2]
    assert await history.before("chat", "99999999999999-0", 1) == entries[-1:]


async def test_history_channels_are_independent(history: History) -> None:
    a = await _fill(history, "a", 3)
    b = await history.append("b", b"only in b", 100)
    assert [i for i, _ in await history.before("a", None, 10)] == a
    assert await history.after("a", "0-0", 10) == [(i, f"m{n}".encode()) for n, i in enumerate(a)]
    assert await history.before("b", None, 10) == [(b, b"only in b")]
