"""fast_serde.dumps against ormsgpack / msgpack-python: the module surface, the built-in
scalars and containers, and dict keys."""

from __future__ import annotations

import math

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fast_serde
from fast_serde import EncodeError, Ext

from dumps_helpers import Unknown
from strategies import (
    FEW,
    SETTINGS,
    BIN_LENGTHS,
    INT_BOUNDARIES,
    STR_LENGTHS,
    assert_strict_equal,
    bytes_like,
    expected_loads,
    floats,
    ints,
    keys,
    reference_packb,
    simple_values,
    surrogate_text,
    texts_with_surrogates,
    to_msgpack_view,
    values,
)


def msgpack_read(data):
    """How msgpack-python reads bytes (arrays as tuples so array keys stay hashable)."""
    return msgpack.unpackb(
        data, strict_map_key=False, use_list=False, raw=False, ext_hook=Ext, timestamp=3
    )


# ---------------------------------------------------------------------------
# Module surface
# ---------------------------------------------------------------------------

def test_public_names():
    assert callable(fast_serde.dumps)
    assert callable(fast_serde.loads)
    assert issubclass(fast_serde.EncodeError, TypeError)
    assert isinstance(fast_serde.EncodeError("x"), TypeError)
    assert issubclass(fast_serde.DecodeError, ValueError)
    assert isinstance(fast_serde.MAX_DEPTH, int)
    assert 255 <= fast_serde.MAX_DEPTH <= 1024


def test_ext_is_namedtuple():
    e = Ext(5, b"ab")
    assert isinstance(e, tuple)
    assert e.code == 5 and e.data == b"ab"
    assert Ext._fields == ("code", "data")
    assert e == (5, b"ab")
    assert Ext(code=1, data=b"") == Ext(1, b"")


def test_dumps_returns_bytes():
    out = fast_serde.dumps({"a": [1, 2.5, None]})
    assert type(out) is bytes


def test_default_is_keyword_only():
    with pytest.raises(TypeError):
        fast_serde.dumps(Unknown(), lambda o: None)  # noqa: positional default


# ---------------------------------------------------------------------------
# Byte-for-byte equality with ormsgpack
# ---------------------------------------------------------------------------

@SETTINGS
@given(values)
def test_matches_ormsgpack(v):
    assert fast_serde.dumps(v) == reference_packb(v)


@SETTINGS
@given(values)
def test_msgpack_reads_dumps_output(v):
    assert_strict_equal(msgpack_read(fast_serde.dumps(v)), to_msgpack_view(expected_loads(v)))


@FEW
@given(simple_values)
def test_msgpack_reads_dumps_output_use_list(v):
    # Only values without tuple dict keys can be read with use_list=True.
    def has_tuple_key(x):
        if isinstance(x, dict):
            return any(isinstance(k, tuple) or has_tuple_key(val) for k, val in x.items())
        if isinstance(x, (list, tuple)) and not isinstance(x, Ext):
            return any(has_tuple_key(i) for i in x)
        return False

    if has_tuple_key(v):
        return
    got = msgpack.unpackb(fast_serde.dumps(v), strict_map_key=False, use_list=True, ext_hook=Ext)
    assert_strict_equal(got, expected_loads(v))


@pytest.mark.parametrize("n", INT_BOUNDARIES)
def test_int_boundaries(n):
    assert fast_serde.dumps(n) == reference_packb(n)
    assert msgpack.unpackb(fast_serde.dumps(n)) == n
    if -n >= -(2**63):
        assert fast_serde.dumps(-n) == reference_packb(-n)


@pytest.mark.parametrize(
    "n, expected",
    [
        (0, b"\x00"), (127, b"\x7f"), (128, b"\xcc\x80"), (255, b"\xcc\xff"),
        (256, b"\xcd\x01\x00"), (65535, b"\xcd\xff\xff"), (65536, b"\xce\x00\x01\x00\x00"),
        (2**32 - 1, b"\xce\xff\xff\xff\xff"), (2**32, b"\xcf\x00\x00\x00\x01\x00\x00\x00\x00"),
        (2**64 - 1, b"\xcf" + b"\xff" * 8), (-1, b"\xff"), (-32, b"\xe0"),
        (-33, b"\xd0\xdf"), (-128, b"\xd0\x80"), (-129, b"\xd1\xff\x7f"),
        (-32768, b"\xd1\x80\x00"), (-32769, b"\xd2\xff\xff\x7f\xff"),
        (-(2**31), b"\xd2\x80\x00\x00\x00"), (-(2**31) - 1, b"\xd3\xff\xff\xff\xff\x7f\xff\xff\xff"),
        (-(2**63), b"\xd3\x80" + b"\x00" * 7),
    ],
)
def test_int_exact_bytes(n, expected):
    # also pins the reference so the table itself is checked
    assert reference_packb(n) == expected
    assert fast_serde.dumps(n) == expected


@SETTINGS
@given(ints)
def test_ints(n):
    assert fast_serde.dumps(n) == reference_packb(n)


@pytest.mark.parametrize("f", [0.0, -0.0, 1.0, 1.5, float("nan"), float("inf"), float("-inf"), 5e-324, 3.4e38, 1e300])
def test_floats_are_float64(f):
    out = fast_serde.dumps(f)
    assert out == reference_packb(f)
    assert out[0] == 0xCB and len(out) == 9


@FEW
@given(floats)
def test_float_values(f):
    out = fast_serde.dumps(f)
    assert out == reference_packb(f)
    back = msgpack.unpackb(out)
    assert (math.isnan(f) and math.isnan(back)) or (back == f and math.copysign(1, back) == math.copysign(1, f))


def test_constants():
    assert fast_serde.dumps(None) == b"\xc0"
    assert fast_serde.dumps(True) == b"\xc3"
    assert fast_serde.dumps(False) == b"\xc2"


@pytest.mark.parametrize("n", STR_LENGTHS)
@pytest.mark.parametrize("unit", ["a", "é", "€", "😀"])
def test_str_lengths(n, unit):
    s = (unit * n)[: max(n // len(unit.encode()), 0)]
    s = s + "x" * (n - len(s.encode()))
    assert len(s.encode()) == n
    out = fast_serde.dumps(s)
    assert out == reference_packb(s)
    assert msgpack.unpackb(out) == s


@FEW
@given(texts_with_surrogates)
def test_str_values(s):
    out = fast_serde.dumps(s)
    assert out == reference_packb(s)
    assert msgpack.unpackb(out) == s.encode("utf-8", "replace").decode()


@pytest.mark.parametrize(
    "s, expected",
    [
        ("\ud800", b"\xa1?"),
        ("a\udfffb", b"\xa3a?b"),
        ("\ud83d\ude00", b"\xa2??"),  # a surrogate *pair* in a Python str is two lone surrogates
        ("x" * 40 + "\udc80", b"\xd9\x29" + b"x" * 40 + b"?"),
    ],
)
def test_lone_surrogates_replaced_in_values(s, expected):
    assert reference_packb(s) == expected
    assert fast_serde.dumps(s) == expected
    assert fast_serde.dumps([s]) == b"\x91" + expected
    assert fast_serde.dumps({"k": s}) == b"\x81\xa1k" + expected


@pytest.mark.parametrize("key", ["\ud800", "a\udfff", "x" * 40 + "\udc80"])
def test_lone_surrogates_in_str_keys_raise(key):
    with pytest.raises(TypeError):
        reference_packb({key: 1})
    with pytest.raises(EncodeError):
        fast_serde.dumps({key: 1})
    with pytest.raises(EncodeError):
        fast_serde.dumps([0, {"ok": {key: 1}}])


@FEW
@given(surrogate_text.filter(lambda s: any("\ud800" <= c <= "\udfff" for c in s)))
def test_surrogate_keys_raise_property(key):
    with pytest.raises(EncodeError):
        fast_serde.dumps({key: None})


def test_surrogates_inside_tuple_keys_are_replaced_like_ormsgpack():
    v = {("\ud800", "x\udc00"): 1}
    expected = reference_packb(v)
    assert expected == b"\x81\x92\xa1?\xa2x?\x01"
    assert fast_serde.dumps(v) == expected


@pytest.mark.parametrize("n", BIN_LENGTHS)
@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_bin_lengths(n, kind):
    raw = bytes(range(256)) * (n // 256) + bytes(range(n % 256))
    v = kind(raw)
    out = fast_serde.dumps(v)
    assert out == reference_packb(v)
    assert out == reference_packb(raw)
    assert msgpack.unpackb(out) == raw


@FEW
@given(bytes_like)
def test_bytes_like(b):
    assert fast_serde.dumps(b) == reference_packb(bytes(b))


def test_memoryview_slice():
    mv = memoryview(b"0123456789")[3:7]
    assert fast_serde.dumps(mv) == b"\xc4\x043456"
    assert fast_serde.dumps([mv, mv]) == reference_packb([mv, mv])


def test_bytes_not_str():
    assert fast_serde.dumps(b"ab") == b"\xc4\x02ab"
    assert fast_serde.dumps("ab") == b"\xa2ab"


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 65535, 65536])
def test_container_lengths(n):
    lst = list(range(n))
    assert fast_serde.dumps(lst) == reference_packb(lst)
    assert fast_serde.dumps(tuple(lst)) == reference_packb(lst)
    d = {i: None for i in range(n)}
    assert fast_serde.dumps(d) == reference_packb(d)
    ds = {str(i): i for i in range(n)}
    assert fast_serde.dumps(ds) == reference_packb(ds)


def test_tuple_is_array():
    assert fast_serde.dumps((1, "a", (2,))) == b"\x93\x01\xa1a\x91\x02"
    assert fast_serde.dumps(()) == b"\x90"


# ---------------------------------------------------------------------------
# Dict keys
# ---------------------------------------------------------------------------

@SETTINGS
@given(st.dictionaries(keys, st.integers(0, 3), max_size=8))
def test_dict_keys(d):
    assert fast_serde.dumps(d) == reference_packb(d)
    assert_strict_equal(msgpack_read(fast_serde.dumps(d)), to_msgpack_view(expected_loads(d)))


@pytest.mark.parametrize(
    "key",
    ["", "k", "x" * 40, 0, 1, -1, 2**64 - 1, -(2**63), 1.5, -0.0, float("inf"), True, False, None,
     b"", b"\x00\xff", (), (1, "a"), (1, (2, (b"x", None)), 2.5), ((),)],
)
def test_each_key_type(key):
    d = {key: [key]}
    assert fast_serde.dumps(d) == reference_packb(d)


def test_dict_preserves_insertion_order():
    d = {"b": 1, "a": 2, 3: 3, None: 4}
    assert fast_serde.dumps(d) == b"\x84\xa1b\x01\xa1a\x02\x03\x03\xc0\x04"


@pytest.mark.parametrize("key", [2**64, -(2**63) - 1])
def test_out_of_range_int_key_raises(key):
    with pytest.raises(EncodeError):
        fast_serde.dumps({key: 1})
