"""Server processes under test, and what they cost (CPU time, resident memory)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_BASELINE = ROOT / "loadtests" / "baselines" / "node"
CLK_TCK = os.sysconf("SC_CLK_TCK")
INVITE = re.compile(r"^\s+(participant|exhibitor|moderator|organizer)\s+\S+/join/(\S+)$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class ServerProcess:
    name: str
    port: int
    proc: subprocess.Popen
    log_path: Path
    invites: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_listening(self, within: float = 30.0, path: str | None = None) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if path:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=1):
                        return
                else:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _spawn(
    name: str, cmd: list[str], log_dir: Path, env: dict | None = None
) -> tuple[subprocess.Popen, Path]:
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, cwd=ROOT
        )
    return proc, log_path


def start_fairhall(
    log_dir: Path, redis_url: str | None = None, name: str = "fairhall", **settings: str
) -> ServerProcess:
    port = free_port()
    env = {
        "FAIRHALL_PORT": str(port),
        "FAIRHALL_SECRET": "loadtest-secret",
        "FAIRHALL_LOG_LEVEL": "warning",
        "FAIRHALL_CHAT_RATE_COUNT": "0",  # the senders are the load, not abuse
        "FAIRHALL_EVENTS_PER_SECOND": "100000",
        # registering thousands of people from 127.0.0.1 is the set-up, not abuse
        "FAIRHALL_JOIN_ADDRESS_RATE_COUNT": "0",
        "FAIRHALL_JOIN_INVITE_RATE_COUNT": "0",
        **({"FAIRHALL_REDIS": redis_url} if redis_url else {}),
        **{f"FAIRHALL_{k.upper()}": str(v) for k, v in settings.items()},
    }
    proc, log_path = _spawn(name, [sys.executable, "-m", "server", "serve"], log_dir, env)
    server = ServerProcess(name, port, proc, log_path)
    server.wait_listening(path="/readyz")
    for line in log_path.read_text().splitlines():
        match = INVITE.match(line)
        if match:
            server.invites[match.group(1)] = match.group(2)
    return server


def start_bare_socketio(log_dir: Path) -> ServerProcess:
    port = free_port()
    script = str(ROOT / "loadtests" / "baselines" / "bare_socketio.py")
    proc, log_path = _spawn("python-socketio", [sys.executable, script, str(port)], log_dir)
    server = ServerProcess("python-socketio", port, proc, log_path)
    server.wait_listening()
    return server


def node_available() -> str | None:
    """Why the Node baseline can't run, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (NODE_BASELINE / "node_modules" / "socket.io").is_dir():
        return f"run: npm ci --prefix {NODE_BASELINE.relative_to(ROOT)}"
    return None


def start_node_socketio(log_dir: Path) -> ServerProcess:
    port = free_port()
    proc, log_path = _spawn(
        "node-socket.io", ["node", str(NODE_BASELINE / "server.js"), str(port)], log_dir
    )
    server = ServerProcess("node-socket.io", port, proc, log_path)
    server.wait_listening()
    return server


def start_redis(log_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc, _ = _spawn(
        "redis",
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(log_dir),
        ],
        log_dir,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")
