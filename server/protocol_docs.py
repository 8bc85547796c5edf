"""The generated parts of docs/protocol/, rendered from the code.

permissions.md holds the permission matrix (which role may send which command), the
permission -> roles table and the scopes; errors.md holds the error catalog. Each sits
between ``<!-- generated: NAME -->`` and ``<!-- end generated -->``. ``fairhall docs``
rewrites them in place; tests/protocol/test_protocol_docs.py fails while they are out of date.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rooms import errors
from rooms.commands import Command
from rooms.models import ROLES, Role
from rooms.permissions import SCOPES, Perm, Scope, granted, scopes_for

DOCS = Path(__file__).resolve().parent.parent / "docs" / "protocol"

# command prefix -> the page that documents its commands, and its title; matrix order
AREAS: dict[str, tuple[str, str]] = {
    "lobby": ("lobby.md", "Lobby"),
    "people": ("people.md", "People"),
    "booth": ("booths.md", "Booths"),
    "session": ("sessions.md", "Sessions"),
    "chat": ("chat.md", "Chat"),
    "mod": ("moderation.md", "Moderation"),
    "call": ("calls.md", "Calls"),
    "visit": ("visits.md", "Site visits"),
    "webinar": ("webinars.md", "Webinars"),
    "qa": ("questions.md", "Questions"),
    "poll": ("polls.md", "Polls"),
    "reaction": ("reactions.md", "Reactions"),
    # an area documented on several pages: its commands by full name (before the prefix)
    "webinar:publish": ("stage.md", "Webinar stage"),
    "webinar:unpublish": ("stage.md", "Webinar stage"),
    "webinar:watch": ("stage.md", "Webinar stage"),
    "webinar:unwatch": ("stage.md", "Webinar stage"),
}

BLOCK = re.compile(
    r"<!-- generated: (?P<name>[a-z-]+) -->\n(?P<body>.*?)<!-- end generated -->", re.DOTALL
)


def page_of(command: str) -> str:
    if command in AREAS:
        return AREAS[command][0]
    prefix = command.partition(":")[0]
    if prefix not in AREAS:
        raise ValueError(
            f"{command}: no page for the area {prefix!r}; add it to AREAS in "
            "server/protocol_docs.py and write docs/protocol/<page>.md"
        )
    return AREAS[prefix][0]


def anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _scope(scope: Scope) -> str:
    return scope.name.replace("_", " ")


def _cell(role: Role, perm: Perm) -> str:
    if granted(role, perm):
        return "yes"
    scopes = scopes_for(role, perm)
    return "as " + " or ".join(map(_scope, scopes)) if scopes else "no"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [_row(header), "|" + "---|" * len(header)]
    return "\n".join(lines + [_row(r) for r in rows]) + "\n"


def permission_matrix(commands: Mapping[str, Command]) -> str:
    """One row per command, grouped by area; per role: yes, as <scope>, or no."""
    by_page: dict[str, list[Command]] = {page: [] for page, _ in AREAS.values()}
    for command in commands.values():
        by_page[page_of(command.name)].append(command)
    rows = []
    for page, title in dict.fromkeys(AREAS.values()):
        for i, c in enumerate(by_page[page]):
            area = f"[{title}]({page})" if i == 0 else ""
            link = f"[`{c.name}`]({page}#{anchor(c.name)})"
            roles = [_cell(role, c.permission) for role in ROLES]
            rows.append([area, link, f"`{c.permission.value}`", *roles])
    return _table(["Area", "Command", "Permission", *ROLES], rows)


def permission_table(commands: Mapping[str, Command]) -> str:
    """Per permission: the roles that have it, those that can get it through a scope,
    and the commands that need it."""
    rows = []
    for perm in Perm:
        by_role = ", ".join(r for r in ROLES if granted(r, perm)) or "—"
        scoped = []
        for scope in SCOPES:
            roles = [r for r in ROLES if not granted(r, perm) and scope in scopes_for(r, perm)]
            if roles:
                scoped.append(f"as {_scope(scope)}: {', '.join(roles)}")
        needed = ", ".join(f"`{c.name}`" for c in commands.values() if c.permission is perm)
        rows.append([f"`{perm.value}`", by_role, "; ".join(scoped) or "—", needed or "—"])
    return _table(["Permission", "Roles", "Through a scope", "Commands"], rows)


def scope_table(commands: Mapping[str, Command]) -> str:
    rows = [
        [
            f"{_scope(s)} (`{s.name}`)",
            s.meaning,
            ", ".join(r for r in ROLES if r in s.holders),
            ", ".join(f"`{p.value}`" for p in Perm if p in s.grants),
        ]
        for s in SCOPES
    ]
    return _table(["Scope", "Meaning (for one resource)", "Roles that can hold it", "Grants"], rows)


def error_table(commands: Mapping[str, Command]) -> str:
    served = [e for e in errors.CATALOG.values() if not e.client_only]
    rows = [[f"`{e.code}`", str(e.status) if e.status else "—", e.meaning] for e in served]
    client = ", ".join(
        f"`{e.code}` ({e.meaning})" for e in errors.CATALOG.values() if e.client_only
    )
    texts = (
        "HTTP: the status of an HTTP reply with this code (—: no fixed status, or not used "
        "over HTTP). What people read for each code, in "
        + ", ".join(f"`{lang}`" for lang in errors.LANGUAGES)
        + ", comes from [`GET /api/errors/{lang}`](http.md#get-apierrorslang).\n\n"
    )
    only = f"\nRaised by the bundled browser client only, never by the server: {client}.\n"
    return texts + _table(["Code", "HTTP", "Meaning"], rows) + (only if client else "")


# block name -> (page, renderer)
SECTIONS: dict[str, tuple[str, Callable[[Mapping[str, Command]], str]]] = {
    "permission-matrix": ("permissions.md", permission_matrix),
    "permissions": ("permissions.md", permission_table),
    "scopes": ("permissions.md", scope_table),
    "error-catalog": ("errors.md", error_table),
}


def render(name: str, commands: Mapping[str, Command]) -> str:
    """The body of block ``name`` as it should read now (blank lines around it)."""
    return "\n" + SECTIONS[name][1](commands) + "\n"


def blocks(text: str) -> dict[str, str]:
    """name -> body of every generated block in ``text``."""
    return {m.group("name"): m.group("body") for m in BLOCK.finditer(text)}


def fill(text: str, bodies: Mapping[str, str]) -> str:
    missing = set(bodies) - set(blocks(text))
    if missing:
        raise ValueError(f"no generated blocks for {sorted(missing)}")

    def sub(m: re.Match) -> str:
        name = m.group("name")
        body = bodies.get(name, m.group("body"))
        return f"<!-- generated: {name} -->\n{body}<!-- end generated -->"

    return BLOCK.sub(sub, text)


def declared_commands() -> dict[str, Command]:
    """The dispatch table of a Fair that is only inspected (no engine at work)."""
    from rooms.fair import Fair
    from server.engines.memory import MemoryEngine

    class NoOutbox:
        async def emit(self, *args: Any, **kwargs: Any) -> None: ...
        async def join(self, sid: str, room: str) -> None: ...
        async def leave(self, sid: str, room: str) -> None: ...
        async def disconnect_person(self, person_id: str, reason: str) -> None: ...

    return Fair(MemoryEngine(), NoOutbox()).commands


def regenerate(docs: Path = DOCS, *, write: bool = True) -> list[Path]:
    """Bring every generated block up to date; the pages that were not."""
    commands = declared_commands()
    stale = []
    for page in sorted({page for page, _ in SECTIONS.values()}):
        path = docs / page
        text = path.read_text(encoding="utf-8")
        names = [name for name, (p, _) in SECTIONS.items() if p == page]
        new = fill(text, {name: render(name, commands) for name in names})
        if new != text:
            stale.append(path)
            if write:
                path.write_text(new, encoding="utf-8")
    return stale
