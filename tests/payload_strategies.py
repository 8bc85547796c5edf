"""Hypothesis strategies for command payloads, read from the payload structs themselves
(msgspec's type info: lengths, patterns, ranges, literals, nested structs), plus junk
that looks almost right."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from hypothesis import strategies as st
from msgspec import inspect as mi

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


Known = dict[str, list[str]]  # field name (or "*") -> values that exist on the node


def _text(info: mi.StrType, known: Known, field: str) -> st.SearchStrategy[str]:
    low, high = info.min_length or 0, info.max_length
    if info.pattern:
        pattern = st.from_regex(info.pattern, fullmatch=True)
        if high is not None:
            pattern = pattern.filter(lambda s: len(s) <= high)
        pool = known.get(field) or known.get("*", [])
        fitting = [k for k in pool if msgspec_fits(k, info)]
        # mostly ids that exist, so handlers get past their lookups
        return st.one_of(*[st.sampled_from(fitting)] * 3, pattern) if fitting else pattern
    size = min(high if high is not None else 200, 200)
    return st.text(min_size=low, max_size=max(low, size))


def msgspec_fits(value: str, info: mi.StrType) -> bool:
    import re

    return bool(re.fullmatch(info.pattern, value)) and (
        info.max_length is None or len(value) <= info.max_length
    )


def _number(info: mi.IntType) -> st.SearchStrategy[int]:
    low = info.ge if info.ge is not None else (info.gt + 1 if info.gt is not None else -(2**31))
    high = info.le if info.le is not None else (info.lt - 1 if info.lt is not None else 2**31)
    return st.integers(low, high)


def strategy(info: mi.Type, known: Known, field: str = "*") -> st.SearchStrategy[Any]:
    """Wire values (JSON-able) that decode into ``info``; ``known`` values that exist
    (by field name) are mixed in so handlers get past their lookups."""
    if isinstance(info, mi.StructType):
        required = {
            f.encode_name: strategy(f.type, known, f.name) for f in info.fields if f.required
        }
        optional = {
            f.encode_name: strategy(f.type, known, f.name) for f in info.fields if not f.required
        }
        return st.fixed_dictionaries(required, optional=optional)
    if isinstance(info, mi.StrType):
        return _text(info, known, field)
    if isinstance(info, mi.IntType):
        return _number(info)
    if isinstance(info, mi.FloatType):
        return st.floats(
            min_value=info.ge if info.ge is not None else info.gt,
            max_value=info.le if info.le is not None else info.lt,
            allow_nan=False,
            allow_infinity=False,
            exclude_min=info.gt is not None,
            exclude_max=info.lt is not None,
        )
    if isinstance(info, mi.BoolType):
        return st.booleans()
    if isinstance(info, mi.NoneType):
        return st.none()
    if isinstance(info, mi.LiteralType):
        return st.sampled_from(info.values)
    if isinstance(info, mi.UnionType):
        return st.one_of(*(strategy(t, known, field) for t in info.types))
    if isinstance(info, mi.ListType):
        return st.lists(
            strategy(info.item_type, known, field),
            min_size=info.min_length or 0,
            max_size=min(info.max_length if info.max_length is not None else 5, 5),
        )
    if isinstance(info, mi.DateTimeType):
        zones = st.just(dt.UTC) | st.just(dt.timezone(dt.timedelta(hours=1)))
        return st.datetimes(timezones=zones).map(lambda d: d.isoformat())
    raise NotImplementedError(f"no strategy for {info!r}: add one")


def valid_payloads(payload: type, known: Known) -> st.SearchStrategy[dict]:
    return strategy(mi.type_info(payload), known)


def almost_valid(payload: type, known: Known) -> st.SearchStrategy[Any]:
    """A valid payload with one field replaced by junk or one field too many, or junk."""
    fields = list(payload.__struct_fields__)

    def spoil(draw_payload: dict, field: str, junk: Any, extra: bool) -> Any:
        spoiled = dict(draw_payload)
        if extra:
            spoiled[f"x_{field}"] = junk
        else:
            spoiled[field] = junk
        return spoiled

    if not fields:
        return JSON
    return st.one_of(
        JSON,
        st.builds(
            spoil,
            valid_payloads(payload, known),
            st.sampled_from(fields),
            JSON,
            st.booleans(),
        ),
    )


def decodes(value: Any, payload: type) -> bool:
    try:
        msgspec.convert(value, payload)
    except msgspec.ValidationError:
        return False
    return True
