"""Comparison helper and hypothesis strategies for the LangGraph serializer tests
(langgraph_serde/; also diff_check.py and the release matrix: ``assert_same``, test_fuzz.py:
``rich_values``).

``assert_same(actual, expected)`` is a type-strict deep equality for what JsonPlusSerializer's
``loads_typed`` returns: same types all the way down, ``model_fields_set`` for pydantic models,
``numpy.array_equal`` + dtype + shape for arrays, NaN-aware and -0.0-aware floats, ``str`` for
Decimals (so ``1.10`` differs from ``1.1`` and NaN equals NaN), dict key order.

``rich_values`` generates nested values mixing plain data with every type the parent's msgpack
path writes (models, dataclasses, namedtuples, datetimes, UUIDs, sets, numpy arrays, Send, ...).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import ipaddress
import math
import pathlib
import re
import struct
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pydantic
import pydantic.v1
from hypothesis import strategies as st
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from fast_serde.langgraph._compat import DELTA_SNAPSHOT as _DeltaSnapshot  # None before 4.1
from langgraph.store.base import Item
from langgraph.types import Send

import lg_models as M

# --- comparison --------------------------------------------------------------------------


def _float_same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return struct.pack(">d", a) == struct.pack(">d", b)


def assert_same(actual: Any, expected: Any, path: str = "$", *, fields_set: bool = True) -> None:
    """Deep, type-strict equality; raises AssertionError naming the first differing path.

    ``fields_set=False`` skips ``model_fields_set`` (for comparing a loaded value with the
    original: the parent rebuilds models with every dumped field set).
    """
    if not fields_set:
        return _assert_same(actual, expected, path, False)
    return _assert_same(actual, expected, path, True)


def _assert_same(actual: Any, expected: Any, path: str, fields_set: bool) -> None:
    def assert_same(a: Any, b: Any, p: str) -> None:  # recursion keeps the flag
        _assert_same(a, b, p, fields_set)

    ta, te = type(actual), type(expected)
    assert ta is te, f"{path}: type {ta!r} != {te!r} ({actual!r} vs {expected!r})"
    if isinstance(actual, np.ndarray):
        assert actual.dtype == expected.dtype, f"{path}: dtype {actual.dtype} != {expected.dtype}"
        assert actual.shape == expected.shape, f"{path}: shape {actual.shape} != {expected.shape}"
        equal_nan = actual.dtype.kind in "fc"
        assert np.array_equal(actual, expected, equal_nan=equal_nan), f"{path}: arrays differ"
    elif isinstance(actual, pydantic.BaseModel):
        assert not fields_set or actual.model_fields_set == expected.model_fields_set, (
            f"{path}: model_fields_set {actual.model_fields_set} != {expected.model_fields_set}"
        )
        assert_same(dict(actual.__dict__), dict(expected.__dict__), path + ".__dict__")
        assert_same(actual.__pydantic_extra__, expected.__pydantic_extra__, path + ".<extra>")
        assert_same(
            actual.__pydantic_private__, expected.__pydantic_private__, path + ".<private>"
        )
    elif isinstance(actual, pydantic.v1.BaseModel):
        assert not fields_set or actual.__fields_set__ == expected.__fields_set__, f"{path}: __fields_set__"
        assert_same(dict(actual.__dict__), dict(expected.__dict__), path + ".__dict__")
    elif dataclasses.is_dataclass(actual) and not isinstance(actual, type):
        for f in dataclasses.fields(actual):
            assert_same(getattr(actual, f.name), getattr(expected, f.name), f"{path}.{f.name}")
    elif isinstance(actual, Send):
        assert_same(actual.node, expected.node, path + ".node")
        assert_same(actual.arg, expected.arg, path + ".arg")
        # (no Send.timeout in the langgraph that langgraph-checkpoint 4.0 installs with)
        assert_same(getattr(actual, "timeout", None), getattr(expected, "timeout", None), path + ".timeout")
    elif isinstance(actual, Item):
        for k in Item.__slots__:
            assert_same(getattr(actual, k), getattr(expected, k), f"{path}.{k}")
    elif isinstance(actual, (list, tuple, collections.deque)):
        assert len(actual) == len(expected), f"{path}: len {len(actual)} != {len(expected)}"
        for i, (a, b) in enumerate(zip(actual, expected)):
            assert_same(a, b, f"{path}[{i}]")
        if isinstance(actual, collections.deque):
            assert actual.maxlen == expected.maxlen, f"{path}: maxlen"
    elif isinstance(actual, dict):
        ka, ke = list(actual), list(expected)
        assert len(ka) == len(ke), f"{path}: keys {ka!r} != {ke!r}"
        for a, b in zip(ka, ke):
            assert_same(a, b, f"{path}<key {b!r}>")
        for k in ke:
            assert_same(actual[k], expected[k], f"{path}[{k!r}]")
    elif isinstance(actual, float):
        assert _float_same(actual, expected), f"{path}: {actual!r} != {expected!r}"
    elif isinstance(actual, decimal.Decimal):
        assert str(actual) == str(expected), f"{path}: {actual!r} != {expected!r}"
    elif isinstance(actual, (datetime.datetime, datetime.time)):
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
        assert type(actual.tzinfo) is type(expected.tzinfo), f"{path}: tzinfo type"
        assert actual.utcoffset() == expected.utcoffset(), f"{path}: utcoffset"
        assert actual.fold == expected.fold, f"{path}: fold"
        assert actual.tzname() == expected.tzname(), f"{path}: tzname"
    elif isinstance(actual, (set, frozenset)):
        assert len(actual) == len(expected), f"{path}: {actual!r} != {expected!r}"
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
    elif isinstance(actual, re.Pattern):
        assert (actual.pattern, actual.flags) == (expected.pattern, expected.flags), path
    elif isinstance(actual, BaseException):  # exceptions compare by identity: compare their args
        assert_same(actual.args, expected.args, path + ".args")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


# --- strategies --------------------------------------------------------------------------

i64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
small_ints = st.integers(min_value=-1000, max_value=1000)
floats = st.floats(allow_nan=True, allow_infinity=True)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
# Keys must not be NaN (a NaN key cannot be looked up again) nor contain surrogates (the parent
# refuses surrogates in keys).
key_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
text = st.text(max_size=20)
surrogate_text = st.lists(
    st.one_of(st.characters(exclude_categories=("Cs",)), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)),
    max_size=8,
).map("".join)

fixed_offsets = st.builds(
    lambda m: datetime.timezone(datetime.timedelta(minutes=m)), st.integers(-23 * 60, 23 * 60)
)
tzinfos = st.one_of(
    st.none(),
    st.just(datetime.timezone.utc),
    fixed_offsets,
    st.sampled_from([ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York"), ZoneInfo("UTC")]),
)
datetimes = st.one_of(
    st.datetimes(timezones=tzinfos),
    st.datetimes(timezones=st.none()).map(lambda d: d.replace(microsecond=0)),
)
times = st.times(timezones=st.one_of(st.none(), st.just(datetime.timezone.utc), fixed_offsets))
decimals = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=True, places=None),
    st.sampled_from([decimal.Decimal("NaN"), decimal.Decimal("-0"), decimal.Decimal("1.10")]),
)
uuids = st.uuids()
enums = st.sampled_from([*M.Color, *M.Level, *M.Mood, M.Perm.R | M.Perm.W, M.Perm.X])
ip_values = st.one_of(
    st.ip_addresses(v=4),
    st.ip_addresses(v=6),
    st.sampled_from(
        [
            ipaddress.IPv4Interface("10.0.0.1/8"),
            ipaddress.IPv4Network("192.168.0.0/16"),
            ipaddress.IPv6Interface("fe80::1/64"),
            ipaddress.IPv6Network("2001:db8::/32"),
        ]
    ),
)
paths = st.lists(st.sampled_from(["a", "b c", "é", "..", "x.txt"]), max_size=4).map(
    lambda parts: pathlib.Path("/", *parts)
)
patterns = st.sampled_from(
    [re.compile(r"\d+"), re.compile(r"^a.*b$", re.I | re.M), re.compile(b"\\x00+")]
)
np_arrays = st.one_of(
    st.builds(
        lambda n, dt: np.arange(n, dtype=dt).reshape(-1, 1),
        st.integers(0, 6),
        st.sampled_from(["int8", "uint16", ">i4", "int64", "float32", "<f8", "complex64"]),
    ),
    st.builds(lambda r, c: np.asfortranarray(np.arange(r * c, dtype="float64").reshape(r, c)), st.integers(1, 4), st.integers(2, 4)),
    st.builds(lambda n: np.arange(n * 3, dtype="int32").reshape(n, 3)[::2, 1:], st.integers(1, 6)),
    st.builds(lambda b: np.array(b, dtype=bool), st.lists(st.booleans(), max_size=5)),
)

hashable_leaves = st.one_of(
    st.none(), st.booleans(), small_ints, key_text, st.binary(max_size=8), uuids, enums,
    st.dates(), finite,
)
plain_leaves = st.one_of(
    st.none(), st.booleans(), i64, floats, text, surrogate_text, st.binary(max_size=16),
)
rich_leaves = st.one_of(
    uuids, datetimes, st.dates(), times, st.timedeltas(), decimals, enums, ip_values, paths,
    patterns, np_arrays,
    st.sets(hashable_leaves, max_size=4),
    st.frozensets(hashable_leaves, max_size=4),
    st.builds(lambda xs: collections.deque(xs), st.lists(hashable_leaves, max_size=4)),
    st.sampled_from([datetime.timezone.utc, datetime.timezone(datetime.timedelta(hours=5), "X"), ZoneInfo("Europe/Paris")]),
    st.builds(M.Address, city=key_text, zip=st.one_of(st.none(), key_text)),
    st.builds(M.Profile, name=key_text, age=st.one_of(st.none(), small_ints), tags=st.lists(key_text, max_size=3)),
    st.builds(M.Rich, id=uuids, when=datetimes, day=st.dates(), amount=st.decimals(allow_nan=False, allow_infinity=False), tags=st.sets(key_text, max_size=3)),
    st.builds(M.WithComputed, first=key_text, last=key_text),
    st.builds(M.Secretive, user=key_text, password=st.builds(pydantic.SecretStr, key_text)),
    st.builds(M.Point, x=small_ints, y=small_ints, label=key_text),
    st.builds(M.SlotPoint, x=finite, y=finite),
    st.builds(M.V1Model, name=key_text, values=st.lists(small_ints, max_size=3)),
    st.builds(lambda c, t: HumanMessage(content=c, id=t), text, key_text),
    st.builds(
        lambda c, n: AIMessage(
            content=c,
            tool_calls=[{"name": "calc", "args": {"n": n}, "id": "call_1", "type": "tool_call"}],
            usage_metadata={"input_tokens": n % 50 + 1, "output_tokens": 1, "total_tokens": n % 50 + 2},
        ),
        text,
        st.integers(0, 10**6),
    ),
    st.builds(lambda c: SystemMessage(content=c), text),
    st.builds(lambda c: ToolMessage(content=c, tool_call_id="call_1"), text),
    st.builds(lambda c, p: Document(page_content=c, metadata={"page": p}), text, small_ints),
    st.builds(lambda e: ValueError(e), key_text),
)
leaves = st.one_of(plain_leaves, rich_leaves)
dict_keys = st.one_of(
    key_text, key_text, small_ints, st.none(), st.booleans(), finite, st.binary(max_size=6),
    st.tuples(small_ints, key_text), st.dates(), uuids, enums,
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(key_text, children, max_size=4),
        st.dictionaries(dict_keys, children, max_size=4),
        st.builds(M.Pair, children, children),
        st.builds(M.CPair, children, children),
        st.builds(M.AnyBox, children),
        st.builds(M.Segment, st.builds(M.Point, x=small_ints, y=small_ints), st.builds(M.Point, x=small_ints, y=small_ints), st.lists(children, max_size=2)),
        st.builds(lambda v: M.AnyModel(value=v, note="n"), children),
        st.builds(lambda n, v: Send(n, v), key_text, children),
        *([st.builds(lambda v: _DeltaSnapshot(v), children)] if _DeltaSnapshot else []),
        st.builds(
            lambda v, k: Item(value={"v": v}, key=k, namespace=("ns", k), created_at=datetime.datetime(2024, 1, 1), updated_at=datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc)),
            children,
            key_text,
        ),
    )


rich_values = st.recursive(leaves, _containers, max_leaves=12)
