"""A throwaway redis-server per test session (never the system one on 6379).

tests/conftest.py star-imports this module to get the fixtures.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

__all__ = ["redis_server_url", "redis_url", "start_redis_server"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis_server(tmp_dir: str | os.PathLike[str]) -> tuple[subprocess.Popen[bytes], str]:
    """Start redis-server on a free port; return the process and its URL once it answers."""
    tmp_dir = Path(tmp_dir)
    for _ in range(3):  # the port may be taken between probing and binding
        port = _free_port()
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
        cmd += ["--save", "", "--appendonly", "no", "--dir", str(tmp_dir)]
        with open(tmp_dir / f"redis-{port}.log", "wb") as logfile:
            proc = subprocess.Popen(cmd, stdout=logfile, stderr=subprocess.STDOUT)
        url = f"redis://127.0.0.1:{port}/0"
        if _wait_ready(proc, url, timeout=10.0):
            return proc, url
        _stop(proc)
    raise RuntimeError(f"redis-server did not start; see logs in {tmp_dir}")


def _wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if client.ping():
                    return True
            except redis.RedisError:
                time.sleep(0.05)
        return False
    finally:
        client.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed"
        # In CI a missing Redis must fail loudly, or the Redis tests silently vanish.
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    proc, url = start_redis_server(tmp_path_factory.mktemp("redis"))
    yield url
    _stop(proc)


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The session server's URL, emptied first so every test starts clean."""
    with redis.Redis.from_url(redis_server_url) as client:
        client.flushall()
    return redis_server_url
