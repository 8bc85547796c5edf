"""Create and patch records from untrusted dicts, validated by the record type."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec

from rooms import errors

T = TypeVar("T")


def _check_fields(data: Any, editable: Iterable[str]) -> dict:
    if not isinstance(data, dict):
        raise errors.INVALID_PAYLOAD("expected a JSON object")
    unknown = sorted(set(data) - set(editable))
    if unknown:
        raise errors.INVALID_PAYLOAD(f"fields not allowed here: {', '.join(map(str, unknown))}")
    return data


def build(record_type: type[T], data: Any, editable: Iterable[str], **fixed: Any) -> T:
    """A new record from client ``data`` (only ``editable`` keys) plus server-set ``fixed``."""
    fields = _check_fields(data, editable)
    try:
        return msgspec.convert({**fields, **fixed}, record_type)
    except msgspec.ValidationError as exc:
        raise errors.INVALID_PAYLOAD(str(exc)) from None


def patch(record: T, data: Any, editable: Iterable[str]) -> T:
    """``record`` with the client's ``data`` applied; the result is re-validated whole."""
    fields = _check_fields(data, editable)
    merged = {**msgspec.to_builtins(record), **fields}
    try:
        return msgspec.convert(merged, type(record))
    except msgspec.ValidationError as exc:
        raise errors.INVALID_PAYLOAD(str(exc)) from None
