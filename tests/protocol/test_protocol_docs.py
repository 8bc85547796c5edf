"""docs/protocol/ stays in step with the code.

- Every declared command has one ``### `name` `` heading, on the page of its area
  (its prefix: booth:* on booths.md, ...) and nowhere else; every such heading is a
  command or a push; every push in the source is documented (pushes.md, or
  connection.md for the pushes the transport writes itself).
- Every HTTP route has a ``### METHOD /path`` heading in http.md, and no other does.
- Every JSON example parses; example requests decode into their command's payload
  struct (unless the reply shows ``invalid_payload``), replies have the ack envelope
  with a documented code, pushes are real.
- Every error code of the catalog is in the generated table of errors.md, and every
  generated section (permissions.md, errors.md) is exactly what server/protocol_docs.py
  renders now: otherwise run ``fairhall docs``.
- The rate-classes table of index.md matches the commands' rate classes.
- index.md links to every page, and every link between pages reaches a page and
  heading that exist.

No server is started: the command table and the routes come from the objects
themselves, the pushes and error codes from the source.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from rooms import errors
from rooms.fair import Fair
from server import protocol_docs
from server.auth import Tokens
from server.engines.memory import MemoryEngine
from server.http_api import HttpApi

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "protocol"
PAGES = {path.name: path.read_text(encoding="utf-8") for path in sorted(DOCS.glob("*.md"))}
DOC = "\n".join(PAGES.values())  # every page, for checks that do not care where
# where pushes are emitted and error codes raised
SOURCES = sorted((ROOT / "rooms").rglob("*.py")) + sorted((ROOT / "server").rglob("*.py"))

EVENT_HEADING = re.compile(r"^###\s+`(?P<name>[^`]*)`(?P<rest>.*)$", re.MULTILINE)
ROUTE_HEADING = re.compile(r"^###\s+(?P<method>[A-Z]+)\s+(?P<path>/\S*)\s*$", re.MULTILINE)
JSON_FENCE = re.compile(r"^```json[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"^(=>|<-|<=)[ \t]", re.MULTILINE)
TABLE_CODE = re.compile(r"^\|\s*`(?P<code>[a-z_]+)`\s*\|", re.MULTILINE)
WIRE_NAME = re.compile(r"^[a-z]+:[a-z_]+$")
HEADING = re.compile(r"^#{1,6}[ \t]+(?P<text>.+?)[ \t]*$", re.MULTILINE)
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
CODE_FENCE = re.compile(r"^```.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)


class NullOutbox:
    """rooms.context.Outbox that delivers nothing (the Fair is only inspected)."""

    async def emit(self, room: str, event: str, data: Any, skip_sid: str | None = None) -> None:
        return None

    async def join(self, sid: str, room: str) -> None:
        return None

    async def leave(self, sid: str, room: str) -> None:
        return None

    async def disconnect_person(self, person_id: str, reason: str) -> None:
        return None


FAIR = Fair(MemoryEngine(), NullOutbox())
COMMANDS = FAIR.commands


def _trees() -> list[ast.Module]:
    return [ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in SOURCES]


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _strings(nodes: list[ast.expr]) -> list[str]:
    return [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def emitted_pushes() -> set[str]:
    """Every ``area:verb`` literal handed to an ``emit(...)`` call: the pushes that go
    through the outbox and its rooms (documented on pushes.md)."""
    found = set()
    for tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _callee(node) == "emit":
                found.update(s for s in _strings(node.args) if WIRE_NAME.match(s))
    return found


def packet_pushes() -> set[str]:
    """Pushes the transport writes as a packet itself, not with ``emit``: an event
    packet's data spelled out as ``["area:verb", {...}]`` (``socket:closing``, sent by
    server/socket_server.py with ``_send_packet`` just before it closes the socket).
    Documented on connection.md."""
    found = set()
    for tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.List) and len(node.elts) == 2:
                name = _strings(node.elts[:1])
                if name and WIRE_NAME.match(name[0]) and isinstance(node.elts[1], ast.Dict):
                    found.add(name[0])
    return found


def pushes_in_source() -> set[str]:
    return emitted_pushes() | packet_pushes()


def error_codes_in_source() -> set[str]:
    """Every code of the error catalog (rooms/errors.py) the server can answer with."""
    return {code for code, e in errors.CATALOG.items() if not e.client_only}


def page(name: str) -> str:
    assert name in PAGES, f"docs/protocol/{name} is missing"
    return PAGES[name]


def documented_error_codes() -> set[str]:
    """The codes of the generated table in errors.md."""
    block = protocol_docs.blocks(page("errors.md")).get("error-catalog", "")
    return set(TABLE_CODE.findall(block))


def transcript(body: str) -> list[tuple[str, Any]]:
    """A ```json block: one JSON document, or ``=>``/``<-``/``<=`` lines each followed
    by one JSON value (which may span lines). Returns (marker, value) pairs."""
    starts = list(MARKER.finditer(body))
    if not starts:
        return [("", json.loads(body))]
    assert not body[: starts[0].start()].strip(), f"text before the first marker:\n{body}"
    messages = []
    for i, start in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(body)
        messages.append((start.group(1), json.loads(body[start.end() : end])))
    return messages


def headings(text: str) -> list[str]:
    """The text of every Markdown heading outside code blocks."""
    return [m.group("text") for m in HEADING.finditer(CODE_FENCE.sub("", text))]


def headings_of(text: str) -> set[str]:
    """The names of the ``### `name` `` headings (commands and pushes)."""
    return {m.group("name") for m in EVENT_HEADING.finditer(text)}


def json_blocks() -> list[str]:
    return [m.group("body") for m in JSON_FENCE.finditer(DOC)]


# -- events and pushes ---------------------------------------------------------------------
def test_every_command_and_push_has_exactly_one_heading_and_nothing_else_does():
    headings = [(m.group("name"), m.group("rest")) for m in EVENT_HEADING.finditer(DOC)]
    assert all(not rest.strip() for _, rest in headings), (
        "event headings must be just the name in backticks: "
        f"{[h for h in headings if h[1].strip()]}"
    )
    names = [name for name, _ in headings]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"documented twice: {duplicates}"
    pushes = pushes_in_source()
    assert {"chat:message", "presence:changed", "mod:removed"} <= pushes  # the scan works
    assert not pushes & set(COMMANDS), "a push shares its name with a client event"
    missing = sorted((set(COMMANDS) | pushes) - set(names))
    assert not missing, f"no '### `name`' heading in docs/protocol/ for: {missing}"
    unknown = sorted(set(names) - set(COMMANDS) - pushes)
    assert not unknown, f"docs/protocol/ documents events that do not exist: {unknown}"


def test_every_command_is_documented_on_the_page_of_its_area_and_nowhere_else():
    for name in COMMANDS:
        expected = protocol_docs.page_of(name)  # fails for an area without a page
        found = [n for n, text in PAGES.items() if name in headings_of(text)]
        assert found == [expected], (
            f"'### `{name}`' belongs on docs/protocol/{expected} only, found on {found}"
        )


def test_pushes_are_documented_on_the_pushes_page_and_transport_pushes_on_connection():
    assert "socket:closing" in packet_pushes()  # the scan works
    for name, expected, what in [
        ("pushes.md", emitted_pushes(), "pushes sent with emit(...)"),
        ("connection.md", packet_pushes(), "pushes the transport writes itself"),
    ]:
        documented = headings_of(page(name)) - set(COMMANDS)
        assert documented == expected, (
            f"docs/protocol/{name} documents the {what}: missing "
            f"{sorted(expected - documented)}, not its own {sorted(documented - expected)}"
        )


# -- HTTP -------------------------------------------------------------------------------------
def test_every_http_route_is_documented_and_no_other():
    api = HttpApi(FAIR, Tokens("docs-test-secret", 60), "docs-test-key", "http://fair.test")
    routes = {(route.method, route.path) for route in api.routes()}
    assert routes, "HttpApi.routes() registered nothing"
    http = page("http.md")
    headings = {(m.group("method"), m.group("path")) for m in ROUTE_HEADING.finditer(http)}
    missing = sorted(routes - headings)
    assert not missing, f"no '### METHOD /path' heading in docs/protocol/http.md for: {missing}"
    unknown = sorted(headings - routes)
    assert not unknown, f"docs/protocol/http.md documents routes that do not exist: {unknown}"
    elsewhere = [n for n, text in PAGES.items() if n != "http.md" and ROUTE_HEADING.search(text)]
    assert not elsewhere, f"route headings outside http.md: {elsewhere}"


# -- rate classes ---------------------------------------------------------------------------
def test_rate_classes_table_lists_each_command_with_a_rate_class():
    match = re.search(r"^## Rate classes\s*$(.*?)(?=^## |\Z)", page("index.md"), re.M | re.S)
    assert match, "index.md has no '## Rate classes' section"
    rows = {
        m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z_]+)` \|.*$", match.group(1), re.M)
    }
    classes = {c.rate.name for c in COMMANDS.values() if c.rate is not None}
    assert set(rows) == classes, (
        f"rate classes in index.md: {sorted(rows)}, in the code: {sorted(classes)}"
    )
    for rate, row in rows.items():
        listed = set(re.findall(r"`([a-z]+:[a-z_]+)`", row))
        declared = {n for n, c in COMMANDS.items() if c.rate is not None and c.rate.name == rate}
        assert listed == declared, (
            f"rate class {rate}: index.md lists {sorted(listed)}, the code {sorted(declared)}"
        )


# -- pages and links ------------------------------------------------------------------------------
def test_index_links_to_every_page():
    linked = {m.group("target").partition("#")[0] for m in LINK.finditer(page("index.md"))}
    missing = sorted(set(PAGES) - {"index.md"} - linked)
    assert not missing, f"docs/protocol/index.md does not link to: {missing}"


def test_every_link_between_pages_resolves():
    anchors = {n: {protocol_docs.anchor(h) for h in headings(text)} for n, text in PAGES.items()}
    broken = []
    for name, text in PAGES.items():
        for m in LINK.finditer(CODE_FENCE.sub("", text)):
            target = m.group("target")
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path, _, fragment = target.partition("#")
            resolved = (DOCS / path).resolve() if path else DOCS / name
            if resolved.parent == DOCS and resolved.name in PAGES:
                if fragment and fragment not in anchors[resolved.name]:
                    broken.append(f"{name}: {target} (no such heading)")
            elif not resolved.exists():
                broken.append(f"{name}: {target} (no such file)")
    assert not broken, "broken links in docs/protocol/:\n" + "\n".join(broken)


# -- JSON examples ----------------------------------------------------------------------------
def test_json_examples_parse():
    blocks = json_blocks()
    assert len(blocks) >= len(COMMANDS), "expected at least one JSON example per event"
    for body in blocks:
        try:
            transcript(body)
        except (ValueError, AssertionError) as exc:
            pytest.fail(f"bad ```json block ({exc}):\n{body}")


def test_example_exchanges_use_real_events_and_valid_payloads():
    pushes = pushes_in_source()
    known_codes = documented_error_codes()
    requests = 0
    for body in json_blocks():
        messages = transcript(body)
        for i, (marker, value) in enumerate(messages):
            if marker == "=>":
                requests += 1
                assert isinstance(value, list) and 1 <= len(value) <= 2, value
                name, payload = value[0], (value[1] if len(value) == 2 else None)
                reply = next((v for m, v in messages[i + 1 :] if m == "<-"), None)
                assert reply is not None, f"example request {name} has no '<-' reply"
                if name not in COMMANDS:  # only to show it refused as such
                    code = None if reply["ok"] else reply["error"]["code"]
                    assert code == "unknown_event", f"example sends an unknown event {name!r}"
                    continue
                # a payload the gateway cannot decode must be shown refused as such
                # (a decodable one may still be refused by its handler)
                refused = not reply["ok"] and reply["error"]["code"] == "invalid_payload"
                raw = {} if payload is None else payload
                try:
                    msgspec.convert(raw, COMMANDS[name].payload)
                except msgspec.ValidationError as exc:
                    assert refused, f"example {name} payload is invalid ({exc}): {payload}"
            elif marker == "<-":
                assert isinstance(value, dict) and isinstance(value.get("ok"), bool), value
                if value["ok"]:
                    assert set(value) == {"ok", "data"}, value
                else:
                    assert set(value) == {"ok", "error"}, value
                    assert set(value["error"]) == {"code", "message"}, value
                    assert value["error"]["code"] in known_codes, value
            elif marker == "<=":
                assert isinstance(value, list) and len(value) == 2, value
                assert value[0] in pushes, f"example shows an unknown push {value[0]!r}"
    assert requests >= len(COMMANDS)


# -- error codes --------------------------------------------------------------------------------
def test_every_error_code_in_the_source_is_in_the_table():
    in_source = error_codes_in_source()
    assert {"forbidden", "muted", "auth_expired", "unknown_event"} <= in_source  # scan works
    missing = sorted(in_source - documented_error_codes())
    assert not missing, (
        f"error codes missing from the table in errors.md: {missing}; run `fairhall docs`"
    )


# -- generated sections -------------------------------------------------------------------------
def test_generated_sections_are_what_the_code_renders_now():
    for name, (page_name, _) in protocol_docs.SECTIONS.items():
        found = protocol_docs.blocks(page(page_name))
        assert name in found, (
            f"docs/protocol/{page_name} lacks <!-- generated: {name} --> ... <!-- end generated -->"
        )
        assert found[name] == protocol_docs.render(name, COMMANDS), (
            f"the generated section {name!r} of docs/protocol/{page_name} is out of date "
            "with the code: run `fairhall docs` and commit the result"
        )
    for page_name, text in PAGES.items():
        for name in protocol_docs.blocks(text):
            assert protocol_docs.SECTIONS.get(name, ("",))[0] == page_name, (
                f"docs/protocol/{page_name}: no generated section {name!r} belongs here"
            )
