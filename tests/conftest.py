import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# First of all, before any thread or subprocess exists: move the whole test run into a
# network namespace that holds only `lo`, so Chromium and the servers keep every
# packet on loopback (/work/shared/BROWSER-TESTS.md). Needs root; elsewhere (a laptop)
# this is skipped and the tests run on the host's network.
from browser_fixture import isolate_network

NETWORK_ISOLATED = isolate_network()

import pytest  # noqa: E402
from browser_fixture import *  # noqa: E402, F403
from harness import running_node  # noqa: E402
from redis_fixture import *  # noqa: E402, F403

IN_CI = os.environ.get("CI") == "true"


@pytest.fixture
async def node():
    """A node on the memory engine with the demo seeded."""
    async with running_node() as node:
        yield node


@pytest.fixture(params=["memory", "redis"])
async def any_node(request):
    """The same node on each engine (the redis one on the fixture's own server)."""
    overrides = {"redis": request.getfixturevalue("redis_url")} if request.param == "redis" else {}
    async with running_node(**overrides) as node:
        yield node


# Numbers that tests measure (fuzz outcome counts, latencies under a flood, messages
# lost in a chaos run) are printed in a section of the terminal summary, so CI's log
# shows them for passing tests too.
MEASURED: list[tuple[str, str]] = []


@pytest.fixture
def measured(request):
    """``measured("what was measured: the figures")`` adds a line to the summary."""

    def note(line: str) -> None:
        MEASURED.append((request.node.nodeid, line))

    return note


def pytest_terminal_summary(terminalreporter):
    if MEASURED:
        terminalreporter.section("measured by the tests")
        for nodeid, line in MEASURED:
            terminalreporter.write_line(f"{nodeid}: {line}")
