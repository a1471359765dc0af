"""Shared hypothesis strategies and comparison helpers for the fast_serde test suite.

Everything here is written against the public contract of ``fast_serde``
(dumps / loads / Ext / EncodeError / DecodeError / MAX_DEPTH) and against the
reference libraries ormsgpack and msgpack-python.  Later test files (LangGraph
types, ...) import from here, so keep the names stable.

Naming:
  * ``*_values`` strategies generate Python values that ``fast_serde.dumps``
    must accept and encode byte-for-byte like ``ormsgpack.packb(v, option=ORMSGPACK_OPT)``.
  * ``msgpack_values`` generate values that ``msgpack.packb(v, use_bin_type=True)``
    accepts (ext as ``msgpack.ExtType``).
  * ``expected_loads(v)`` is what ``fast_serde.loads(fast_serde.dumps(v))`` must
    return; ``strict_equal(a, b)`` is a type-strict, nan-aware, -0.0-aware,
    order-aware deep equality.
"""

from __future__ import annotations

import datetime
import math

import msgpack
import ormsgpack
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import fast_serde

ORMSGPACK_OPT = ormsgpack.OPT_NON_STR_KEYS | ormsgpack.OPT_REPLACE_SURROGATES

# The settings of the properties in test_dumps_*.py and test_loads.py (on the conftest profile).
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

UTC = datetime.timezone.utc


def _to_ormsgpack_ext(v):
    """Replace fast_serde.Ext (unknown to ormsgpack) by ormsgpack.Ext; everything
    else is returned as the very same object when it contains no fast_serde.Ext."""
    if isinstance(v, fast_serde.Ext):
        return ormsgpack.Ext(v[0], bytes(v[1]))
    if type(v) in (list, tuple):
        new = [_to_ormsgpack_ext(x) for x in v]
        if all(a is b for a, b in zip(new, v)):
            return v
        return type(v)(new)
    if type(v) is dict:
        new = {k: _to_ormsgpack_ext(x) for k, x in v.items()}
        if all(new[k] is x for k, x in v.items()):
            return v
        return new
    return v


def reference_packb(value):
    """The reference encoding fast_serde.dumps must reproduce byte for byte:
    ormsgpack.packb with fast_serde.Ext written as ormsgpack.Ext."""
    return ormsgpack.packb(_to_ormsgpack_ext(value), option=ORMSGPACK_OPT)


# ---------------------------------------------------------------------------
# Scalars
# ---------------------------------------------------------------------------

#: Every MessagePack integer format boundary (and its neighbours).
INT_BOUNDARIES = sorted(
    {
        0, 1, 126, 127, 128, 129, 254, 255, 256, 257,
        65534, 65535, 65536, 65537,
        2**31 - 1, 2**31, 2**32 - 2, 2**32 - 1, 2**32, 2**32 + 1,
        2**63 - 2, 2**63 - 1, 2**63, 2**63 + 1, 2**64 - 2, 2**64 - 1,
        -1, -2, -31, -32, -33, -34, -127, -128, -129, -130,
        -32767, -32768, -32769, -32770,
        -(2**31) + 1, -(2**31), -(2**31) - 1,
        -(2**63) + 1, -(2**63),
    }
)
INT_MIN = -(2**63)
INT_MAX = 2**64 - 1

ints = st.one_of(
    st.sampled_from(INT_BOUNDARIES),
    st.integers(min_value=0, max_value=127),
    st.integers(min_value=-40, max_value=40),
    st.integers(min_value=INT_MIN, max_value=INT_MAX),
)

out_of_range_ints = st.one_of(
    st.sampled_from([2**64, 2**64 + 1, 2**65, 2**100, -(2**63) - 1, -(2**64), -(2**100)]),
    st.integers(min_value=2**64, max_value=2**200),
    st.integers(min_value=-(2**200), max_value=-(2**63) - 1),
)

SPECIAL_FLOATS = [
    0.0, -0.0, 1.0, -1.0, 1.5, 0.1, float("nan"), float("inf"), float("-inf"),
    5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
    -1.7976931348623157e308, 3.4028234663852886e38, 1e-45, 2.0**53, 2.0**64,
]
floats = st.one_of(st.sampled_from(SPECIAL_FLOATS), st.floats(allow_nan=True, allow_infinity=True))

#: String / binary / ext payload length boundaries (in bytes).
STR_LENGTHS = [0, 1, 2, 30, 31, 32, 33, 254, 255, 256, 257, 65534, 65535, 65536, 65537]
BIN_LENGTHS = [0, 1, 2, 254, 255, 256, 257, 65534, 65535, 65536, 65537]
EXT_LENGTHS = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 254, 255, 256, 257, 65534, 65535, 65536, 65537]

surrogate_chars = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
any_chars = st.one_of(st.characters(), surrogate_chars)

#: Unicode text without lone surrogates (valid for dict keys and msgpack-python).
plain_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=40),
)
#: Unicode text that may contain lone surrogates (st.text() drops surrogates
#: even from an explicit alphabet, so join a list of characters instead).
surrogate_text = st.lists(any_chars, max_size=40).map("".join)


def _pad_to_utf8_length(prefix: str, n: int) -> str:
    """``prefix`` followed by ASCII filler so the UTF-8 length (with surrogates
    counted as the single '?' they are replaced with) is exactly ``n`` if possible."""
    used = len(prefix.encode("utf-8", "replace"))
    if used >= n:
        return prefix
    return prefix + ("abcdefghij" * (n // 10 + 1))[: n - used]


def boundary_text(alphabet_text=plain_text):
    return st.builds(
        _pad_to_utf8_length,
        st.one_of(st.just(""), alphabet_text.map(lambda s: s[:8])),
        st.sampled_from(STR_LENGTHS),
    )


texts = st.one_of(plain_text, boundary_text(plain_text))
texts_with_surrogates = st.one_of(surrogate_text, boundary_text(surrogate_text), plain_text)


def _pad_bytes(prefix: bytes, n: int) -> bytes:
    if len(prefix) >= n:
        return prefix[:n]
    return prefix + bytes(range(256)) * (n // 256) + bytes(n % 256)


def sized_bytes(lengths):
    return st.builds(
        lambda p, n: _pad_bytes(p, n)[:n],
        st.binary(max_size=8),
        st.sampled_from(lengths),
    )


binaries = st.one_of(st.binary(max_size=40), sized_bytes(BIN_LENGTHS))
bytes_like = st.one_of(
    binaries,
    binaries.map(bytearray),
    binaries.map(memoryview),
    # a memoryview slice that does not start at the beginning of its buffer
    binaries.map(lambda b: memoryview(b"\xff\xfe" + b + b"\xfd")[2:-1]),
)

ext_codes = st.integers(min_value=0, max_value=127)
ext_payloads = st.one_of(st.binary(max_size=20), sized_bytes(EXT_LENGTHS))
fs_exts = st.builds(fast_serde.Ext, ext_codes, ext_payloads)
ormsgpack_exts = st.builds(ormsgpack.Ext, ext_codes, ext_payloads)
# fast_serde.dumps writes fast_serde.Ext only: ormsgpack.Ext is opaque (no attributes to read).
exts = fs_exts

#: Scalars for values (strings may contain lone surrogates).
scalars = st.one_of(
    st.none(),
    st.booleans(),
    ints,
    floats,
    texts_with_surrogates,
    bytes_like,
    exts,
)

#: Scalars that are valid dict keys for ormsgpack with OPT_NON_STR_KEYS
#: (no lone surrogates in direct str keys: those raise).
key_scalars = st.one_of(st.none(), st.booleans(), ints, floats, texts, binaries)
#: Keys: scalars and (nested) tuples of scalars.
keys = st.one_of(
    key_scalars,
    st.recursive(
        st.lists(key_scalars, max_size=4).map(tuple),
        lambda inner: st.lists(st.one_of(key_scalars, inner), max_size=4).map(tuple),
        max_leaves=8,
    ),
)


def containers(children, key_strategy=keys):
    return st.one_of(
        st.lists(children, max_size=6),
        st.lists(children, max_size=6).map(tuple),
        st.dictionaries(key_strategy, children, max_size=6),
    )


#: Nested values of every type dumps encodes natively.
values = st.recursive(scalars, containers, max_leaves=24)

#: Values without lone surrogates, nan keys or ormsgpack.Ext (handy for
#: comparisons with msgpack-python and for readable failures).
simple_scalars = st.one_of(
    st.none(), st.booleans(), ints, st.floats(allow_nan=False), texts, binaries, fs_exts
)
simple_values = st.recursive(simple_scalars, containers, max_leaves=24)


# ---------------------------------------------------------------------------
# msgpack-python written values
# ---------------------------------------------------------------------------

msgpack_ext_types = st.builds(msgpack.ExtType, ext_codes, ext_payloads)
msgpack_scalars = st.one_of(
    st.none(), st.booleans(), ints, floats, texts, binaries, msgpack_ext_types
)

# Timestamps representable as datetime (year 1 .. 9999).
TS_MIN_SECONDS = -62135596800
TS_MAX_SECONDS = 253402300799
timestamps_32 = st.builds(msgpack.Timestamp, st.integers(0, 2**32 - 1), st.just(0))
timestamps_64 = st.builds(
    msgpack.Timestamp, st.integers(0, 2**34 - 1), st.integers(1, 999_999_999)
)
timestamps_96 = st.builds(
    msgpack.Timestamp,
    st.one_of(st.integers(TS_MIN_SECONDS, -1), st.integers(2**34, TS_MAX_SECONDS)),
    st.integers(0, 999_999_999),
)
timestamps = st.one_of(timestamps_32, timestamps_64, timestamps_96)

msgpack_keys = st.one_of(
    st.none(), st.booleans(), ints, st.floats(allow_nan=False), texts, binaries,
    st.lists(st.one_of(st.none(), ints, texts, binaries), max_size=4).map(tuple),
)
msgpack_values = st.recursive(
    st.one_of(msgpack_scalars, timestamps),
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.lists(children, max_size=6).map(tuple),
        st.dictionaries(msgpack_keys, children, max_size=6),
    ),
    max_leaves=24,
)


# ---------------------------------------------------------------------------
# Expected decoded values and strict comparison
# ---------------------------------------------------------------------------

def ormsgpack_ext_parts(e):
    """(code, data) of an ormsgpack.Ext (it exposes no attributes)."""
    return ormsgpack.unpackb(ormsgpack.packb(e), ext_hook=lambda c, d: (c, d))


def _fix_str(s):
    return str.__str__(s).encode("utf-8", "replace").decode("utf-8")


def expected_loads(v, *, in_key=False):
    """What fast_serde.loads(fast_serde.dumps(v)) must return.

    arrays -> list (tuple inside map keys), bin -> bytes, ext -> fast_serde.Ext,
    subclasses -> base type, lone surrogates -> '?', msgpack.Timestamp -> datetime.
    """
    if v is None or v is True or v is False:
        return v
    if isinstance(v, fast_serde.Ext):
        return fast_serde.Ext(int(v[0]), bytes(v[1]))
    if isinstance(v, ormsgpack.Ext):
        return fast_serde.Ext(*ormsgpack_ext_parts(v))
    if isinstance(v, msgpack.ExtType):
        return fast_serde.Ext(v.code, bytes(v.data))
    if isinstance(v, msgpack.Timestamp):
        return v.to_datetime()
    if isinstance(v, int):
        return int.__index__(v) if type(v) is not int else v
    if isinstance(v, float):
        return float.__float__(v) if type(v) is not float else v
    if isinstance(v, str):
        return _fix_str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, (list, tuple)):
        items = [expected_loads(x, in_key=in_key) for x in v]
        return tuple(items) if in_key else items
    if isinstance(v, dict):
        out = {}
        for k, x in dict.items(v):
            out[expected_loads(k, in_key=True)] = expected_loads(x)
        return out
    raise AssertionError(f"no expectation for {type(v)!r}")


def to_msgpack_view(v):
    """Normalise an expected_loads() result to what msgpack.unpackb(...,
    use_list=False, ext_hook=fast_serde.Ext, timestamp=3) returns: every array a tuple."""
    if isinstance(v, fast_serde.Ext):
        return v
    if isinstance(v, (list, tuple)):
        return tuple(to_msgpack_view(x) for x in v)
    if isinstance(v, dict):
        return {to_msgpack_view(k): to_msgpack_view(x) for k, x in v.items()}
    return v


def strict_equal(a, b):
    """Deep equality that also checks exact types, nan == nan, the sign of
    zero, and dict item order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, (list, tuple)):  # includes fast_serde.Ext
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        return all(
            strict_equal(ka, kb) and strict_equal(va, vb)
            for (ka, va), (kb, vb) in zip(a.items(), b.items())
        )
    if isinstance(a, datetime.datetime):
        return a == b and a.utcoffset() == b.utcoffset()
    return a == b


def assert_strict_equal(actual, expected):
    assert strict_equal(actual, expected), f"\nactual:   {actual!r}\nexpected: {expected!r}"


def nested_lists(n, leaf=None):
    """n nested lists; the innermost holds ``leaf`` (an empty list if leaf is None)."""
    v = [] if leaf is None else [leaf]
    for _ in range(n - 1):
        v = [v]
    return v


def nested_dicts(n):
    """n nested dicts: {'a': {'a': ... {}}}."""
    v = {}
    for _ in range(n - 1):
        v = {"a": v}
    return v


def nested_tuples(n):
    v = ()
    for _ in range(n - 1):
        v = (v,)
    return v
