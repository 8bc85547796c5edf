"""rooms/names.py builds and parses every room, scope, channel and stream name; no
other module writes one as an f-string."""

from __future__ import annotations

import ast
from pathlib import Path

from rooms import names

ROOT = Path(__file__).resolve().parents[2]
PREFIXES = (
    "event:", "user:", "booth:", "staff:", "session:", "visit:", "call:", "knock:", "dm:",
    "chat:", "media:", "media-reply:", "rl:", "visit-hub:",
)  # fmt: skip


def formatted_names(source: str) -> list[tuple[int, str]]:
    """f-strings that start with a room, channel or stream prefix."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and str(first.value).startswith(PREFIXES):
                found.append((node.lineno, first.value))
    return found


def test_no_room_or_channel_name_is_formatted_outside_names():
    found = {
        f"{path.relative_to(ROOT)}:{line}": prefix
        for folder in ("rooms", "server")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != ROOT / "rooms" / "names.py"
        for line, prefix in formatted_names(path.read_text(encoding="utf-8"))
    }
    assert not found, f"build these names with rooms/names.py: {found}"


def test_the_scan_finds_formatted_names():
    assert formatted_names('room = f"booth:{booth_id}"\nother = f"hello {x}"') == [(1, "booth:")]


def test_names_are_built_and_parsed_consistently():
    assert names.split(names.booth_room("b1")) == ("booth", "b1")
    assert names.split(names.call_scope("booth:b1")) == ("call", "booth:b1")
    assert names.booth_of_call(names.booth_call_id("b1")) == "b1"
    assert names.booth_of_call("c-123") is None
    assert names.dm_channel("p-b", "p-a") == names.dm_channel("p-a", "p-b") == "dm:p-a:p-b"
    assert names.history_stream("ev", names.LOBBY) == "chat:ev:lobby"
    assert names.split("lobby") == ("lobby", "")
    # a booth's chat channel, Socket.IO room and presence scope share one name
    assert names.booth_room("b1") == "booth:b1"
