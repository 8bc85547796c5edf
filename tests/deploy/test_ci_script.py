""".ci/run stays what the README says: it runs the README's test command verbatim
(format check included) after installing, without recommends, every Debian package
the suite needs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Test it\n\n```sh\n(.+?)\n```", readme, flags=re.DOTALL)
    assert block, "README.md has no test command"
    return block[1]


def test_ci_runs_the_readme_command_verbatim():
    command = readme_test_command()
    assert ".venv/bin/ruff format --check ." in command
    assert "pip install -c requirements.lock" in command
    lines = (ROOT / ".ci/run").read_text().splitlines()
    assert lines[-1] == command  # the last thing CI does, its exit status is CI's


def test_ci_installs_what_the_suite_needs_without_recommends():
    script = (ROOT / ".ci/run").read_text()
    for package in (
        "redis-server",
        "chromium",
        "npm",
        "python3-venv",
        "iproute2",
        "nginx",
        "coturn",
    ):
        assert re.search(rf"missing\+=\(.*\b{package}\b", script), package
    assert "apt-get install -y -q --no-install-recommends" in script
