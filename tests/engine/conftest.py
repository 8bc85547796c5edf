"""Fixtures of the engine contract suites: every test that takes ``engine`` (or one
of its parts) runs once on the memory engine and once on Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rooms.engine import Counters, Documents, Engine, History, PresenceStore, PubSub
from server.engines.memory import MemoryEngine
from server.engines.redis import RedisEngine

from .helpers import FAST, MakeRedis


@pytest.fixture
async def make_redis(redis_url: str) -> AsyncIterator[MakeRedis]:
    """Start any number of RedisEngines (nodes) on one Redis; closes them at the end."""
    engines: list[RedisEngine] = []

    async def make(**options: float) -> RedisEngine:
        engine = RedisEngine(redis_url, **{**FAST, **options})
        await engine.start()
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        await engine.close()


@pytest.fixture(params=["memory", "redis"])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[Engine]:
    if request.param == "memory":
        engine: Engine = MemoryEngine()
    else:
        # Looked up lazily so the memory run needs no redis-server.
        engine = RedisEngine(request.getfixturevalue("redis_url"), **FAST)
    await engine.start()
    yield engine
    await engine.close()


@pytest.fixture
async def peer(engine: Engine, request: pytest.FixtureRequest) -> AsyncIterator[Engine]:
    """Another node sharing ``engine``'s state: a second RedisEngine on the same
    Redis; for the memory engine (one process, one node) the engine itself."""
    if not isinstance(engine, RedisEngine):
        yield engine
        return
    other = RedisEngine(request.getfixturevalue("redis_url"), **FAST)
    await other.start()
    yield other
    await other.close()


@pytest.fixture
def docs(engine: Engine) -> Documents:
    return engine.docs


@pytest.fixture
def counters(engine: Engine) -> Counters:
    return engine.counters


@pytest.fixture
def history(engine: Engine) -> History:
    return engine.history


@pytest.fixture
def presence(engine: Engine) -> PresenceStore:
    return engine.presence


@pytest.fixture
def pubsub(engine: Engine) -> PubSub:
    return engine.pubsub
