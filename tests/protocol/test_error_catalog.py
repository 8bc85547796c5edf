"""One error catalog (rooms/errors.py): complete in three languages, the only place
that spells a code, and the browser client's only source of error texts."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from rooms import errors
from rooms.errors import CATALOG, DomainError

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    path
    for folder in ("rooms", "server")
    for path in sorted((ROOT / folder).rglob("*.py"))
    if path != ROOT / "rooms" / "errors.py"
]
# ordinary words that are also codes; a literal of these counts only where an error is made
ALSO_WORDS = {"removed"}


def _error_context(node: ast.Constant, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    if isinstance(parent, ast.keyword) and parent.arg == "code":
        return True
    if isinstance(parent, ast.Dict):
        keys = [k.value if isinstance(k, ast.Constant) else None for k in parent.keys]
        return "code" in [keys[i] for i, v in enumerate(parent.values) if v is node]
    if isinstance(parent, ast.Compare):
        return any(isinstance(n, ast.Attribute) and n.attr == "code" for n in ast.walk(parent))
    if isinstance(parent, ast.Call):
        func = parent.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return any(word in name.lower() for word in ("error", "refus", "fail"))
    return False


def code_literals(source: str) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if node.value in CATALOG and (
            node.value not in ALSO_WORDS or _error_context(node, parents)
        ):
            found.append((node.lineno, node.value))
    return sorted(found)


def test_no_error_code_is_spelled_outside_the_catalog():
    found = {
        f"{path.relative_to(ROOT)}:{line}": code
        for path in SOURCES
        for line, code in code_literals(path.read_text(encoding="utf-8"))
    }
    assert not found, f"use rooms.errors.<CODE> instead of these literals: {found}"


def test_the_literal_scan_finds_what_it_should():
    sample = """
raise DomainError("muted", "x")
reply = {"ok": False, "error": {"code": "removed", "message": "gone"}}
json_error("not_found", "nope", 404)
state = "removed"
"""
    assert code_literals(sample) == [(2, "muted"), (3, "removed"), (4, "not_found")]


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_every_code_has_a_meaning_a_status_and_three_texts(code):
    error = CATALOG[code]
    assert error.code == code and error.meaning.strip()
    assert error.status is None or 400 <= error.status < 600
    for language in errors.LANGUAGES:
        text = error.text(language)
        assert text.strip() and text == text.strip(), (code, language)
    assert error.fr != error.en and error.de != error.en, f"{code} is not translated"


def test_domain_errors_take_catalog_codes_only():
    with pytest.raises(TypeError):
        DomainError("muted", "a string is not a code")  # type: ignore[arg-type]
    refused = errors.MUTED("until noon")
    assert (refused.code, refused.status, refused.message) == ("muted", 400, "until noon")
    assert errors.BOOTH_NOT_FOUND().message == errors.BOOTH_NOT_FOUND.en


def test_the_client_reads_error_texts_from_the_catalog_only():
    for language in errors.LANGUAGES:
        keys = json.loads((ROOT / "static" / "i18n" / f"{language}.json").read_text())
        duplicated = sorted(k for k in keys if k.removeprefix("error.") in CATALOG)
        assert not duplicated, f"static/i18n/{language}.json repeats catalog texts: {duplicated}"


async def test_error_texts_are_served_per_language(node):
    status, texts = await node.request("GET", "/api/errors/de")
    assert status == 200
    assert texts["muted"] == errors.MUTED.de and set(texts) == set(CATALOG)
    status, body = await node.request("GET", "/api/errors/xx")
    assert status == 404 and body["error"]["code"] == "not_found"
