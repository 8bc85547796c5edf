"""The numbers the chaos and flood tests measure, shown in a section at the end of
the run ("fairhall numbers", no -s needed) and kept as junit properties."""

from __future__ import annotations

from collections.abc import Callable

import pytest

_LINES: list[str] = []


@pytest.fixture
def numbers(request: pytest.FixtureRequest, record_property) -> Callable[[str, str], None]:
    """``numbers(name, text)``: one measured figure of this test."""

    def note(name: str, text: str) -> None:
        record_property(name, text)
        _LINES.append(f"{request.node.name}: {name}: {text}")

    return note


def pytest_terminal_summary(terminalreporter) -> None:
    if _LINES:
        terminalreporter.section("fairhall numbers")
        for line in _LINES:
            terminalreporter.write_line(line)
