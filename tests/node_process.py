"""A fairhall node as a real OS process (for cluster and crash tests)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from harness import free_port

INVITE_LINE = re.compile(r"^\s+(participant|exhibitor|moderator|organizer)\s+(\S+)/join/(\S+)$")


class NodeProcess:
    def __init__(self, log_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"node-{self.port}.log"
        full_env = {
            **os.environ,
            "FAIRHALL_PORT": str(self.port),
            "FAIRHALL_LOG_LEVEL": "warning",
            **env,
        }
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server", "serve"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=full_env,
            )
        self.invites: dict[str, str] = {}

    def wait_ready(self, within: float = 20.0) -> NodeProcess:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited early:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(self.base_url + "/readyz", timeout=1) as resp:
                    if resp.status == 200:
                        self._read_invites()
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"node not ready:\n{self.log_path.read_text()}")

    def _read_invites(self) -> None:
        for line in self.log_path.read_text().splitlines():
            match = INVITE_LINE.match(line)
            if match:
                self.invites[match.group(1)] = match.group(3)

    def kill(self) -> None:
        """Crash: no clean shutdown, no goodbye to Redis."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
