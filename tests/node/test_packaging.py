"""The lock stays current: every dependency of pyproject.toml (runtime and dev) has a
tested version in requirements.lock that its range admits, and the README and CI
install with it."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_every_dependency_is_locked_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    pins = locked()
    problems = []
    for spec in map(Requirement, wanted):
        if spec.marker is not None and not spec.marker.evaluate({"extra": "dev"}):
            continue  # not for this Python or platform (the lock is CPython 3.11 on Linux)
        pin = pins.get(canonicalize_name(spec.name))
        if pin is None:
            problems.append(f"{spec.name} is not in requirements.lock")
        elif not spec.specifier.contains(pin, prereleases=True):
            problems.append(f"{spec.name}=={pin} is outside {spec.specifier}")
    assert not problems, problems


def test_the_readme_and_ci_install_with_the_lock():
    for path in ("README.md", ".ci/run"):
        assert "pip install -c requirements.lock" in (ROOT / path).read_text(), path
