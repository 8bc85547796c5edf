"""Contract of History (rooms/engine/history.py), on every engine."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from rooms.engine import Appended, Engine, History, parse_history_id


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


# append_once ------------------------------------------------------------------------------
TTL = 600.0


async def test_append_once_appends_once_per_key(history: History) -> None:
    first = await history.append_once("chat", b"hello", 100, "alice:k1", TTL)
    assert first.created and first.payload == b"hello" and not first.settled
    again = await history.append_once("chat", b"hello", 100, "alice:k1", TTL)
    assert again == Appended(first.id, False, b"hello", False)
    # a replay answers with what was stored, whatever the caller sends now
    other = await history.append_once("chat", b"something else", 100, "alice:k1", TTL)
    assert other == Appended(first.id, False, b"hello", False)
    assert await history.before("chat", None, 10) == [(first.id, b"hello")]


async def test_append_once_keys_and_channels_are_independent(history: History) -> None:
    a = await history.append_once("chat", b"a", 100, "alice:k1", TTL)
    b = await history.append_once("chat", b"b", 100, "bob:k1", TTL)
    c = await history.append_once("other", b"c", 100, "alice:k1", TTL)
    plain = await history.append("chat", b"plain", 100)
    assert a.created and b.created and c.created
    assert parse_history_id(a.id) < parse_history_id(b.id) < parse_history_id(plain)
    assert await history.before("chat", None, 10) == [(a.id, b"a"), (b.id, b"b"), (plain, b"plain")]
    assert await history.before("other", None, 10) == [(c.id, b"c")]


async def test_append_once_settle(history: History) -> None:
    first = await history.append_once("chat", b"x", 100, "k", TTL)
    await history.settle("chat", "k", "1-0")  # another entry's id: nothing happens
    assert (await history.append_once("chat", b"x", 100, "k", TTL)).settled is False
    await history.settle("chat", "k", first.id)
    replay = await history.append_once("chat", b"x", 100, "k", TTL)
    assert replay == Appended(first.id, False, b"x", True)
    await history.settle("chat", "k", first.id)  # twice is harmless
    assert (await history.append_once("chat", b"x", 100, "k", TTL)).settled is True
    await history.settle("chat", "never-used", first.id)  # no key: nothing is made
    assert (await history.append_once("chat", b"y", 100, "never-used", TTL)).created


async def test_append_once_replay_of_a_deleted_entry(history: History) -> None:
    first = await history.append_once("chat", b"x", 100, "k", TTL)
    assert await history.delete("chat", first.id)
    replay = await history.append_once("chat", b"x", 100, "k", TTL)
    assert replay == Appended(first.id, False, None, False)
    assert await history.before("chat", None, 10) == []


async def test_append_once_key_expires_after_ttl(history: History) -> None:
    first = await history.append_once("chat", b"x", 100, "k", 0.2)
    assert not (await history.append_once("chat", b"x", 100, "k", 0.2)).created
    await asyncio.sleep(0.25)
    later = await history.append_once("chat", b"x", 100, "k", 0.2)
    assert later.created and parse_history_id(later.id) > parse_history_id(first.id)
    assert [i for i, _ in await history.before("chat", None, 10)] == [first.id, later.id]


async def test_append_once_trims_like_append(history: History) -> None:
    for i in range(300):
        await history.append_once("chat", f"m{i}".encode(), 50, f"k{i}", TTL)
    kept = await history.before("chat", None, 1000)
    assert 50 <= len(kept) <= 150 and kept[-1][1] == b"m299"


async def test_append_once_concurrent_calls_with_one_key_append_once(
    engine: Engine, peer: Engine
) -> None:
    """Two nodes, many tries of the same few keys at once: one entry per key."""
    nodes = [engine.history, peer.history]
    keys = [f"person:key{k}" for k in range(5)]
    results = await asyncio.gather(
        *(
            nodes[i % 2].append_once("chat", keys[i % 5].encode(), 1000, keys[i % 5], TTL)
            for i in range(60)
        )
    )
    created = [r for r in results if r.created]
    assert sorted(r.payload for r in created) == sorted(k.encode() for k in keys)
    by_key = {r.payload: r.id for r in created}
    for i, r in enumerate(results):
        assert r.id == by_key[keys[i % 5].encode()] and r.payload == keys[i % 5].encode()
    stored = await engine.history.before("chat", None, 100)
    assert sorted(stored) == sorted((i, p) for p, i in by_key.items())


async def test_append_once_survives_an_empty_script_cache(make_redis, redis_url: str) -> None:
    """A restarted Redis has forgotten the script: it is loaded again, no error."""
    node = await make_redis()
    first = await node.history.append_once("chat", b"x", 100, "k", TTL)
    async with aioredis.Redis.from_url(redis_url) as admin:
        await admin.script_flush()
    again = await node.history.append_once("chat", b"x", 100, "k", TTL)
    assert again == Appended(first.id, False, b"x", False)
    await node.history.settle("chat", "k", first.id)
    assert (await node.history.append_once("chat", b"x", 100, "k", TTL)).settled
