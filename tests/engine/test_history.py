"""Contract of History (rooms/engine/history.py), on every engine."""

from __future__ import annotations

from rooms.engine import History, parse_history_id


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
