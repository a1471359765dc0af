"""fast_serde.loads against the contract and against msgpack-python."""

from __future__ import annotations

import datetime
import struct

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fast_serde
from fast_serde import DecodeError, Ext

from strategies import (
    FEW,
    SETTINGS,
    EXT_LENGTHS,
    assert_strict_equal,
    expected_loads,
    msgpack_values,
    nested_lists,
    simple_values,
    timestamps,
    timestamps_32,
    timestamps_64,
    timestamps_96,
    values,
)

UTC = datetime.timezone.utc


def msgpack_write(v):
    return msgpack.packb(v, use_bin_type=True)


def msgpack_reference(data):
    """msgpack-python's reading of ``data`` in fast_serde's conventions."""
    return msgpack.unpackb(data, strict_map_key=False, ext_hook=Ext, timestamp=3)


def assert_decode_error(data, offset=None, **kwargs):
    """loads(data) must raise DecodeError (exactly that family, nothing else)
    whose .offset is a plausible byte offset named in the message."""
    with pytest.raises(DecodeError) as info:
        fast_serde.loads(data, **kwargs)
    err = info.value
    assert isinstance(err, ValueError)
    assert isinstance(err.offset, int)
    assert 0 <= err.offset <= len(data), (err.offset, len(data))
    assert f"at byte {err.offset}" in str(err), str(err)
    if offset is not None:
        assert err.offset == offset, (str(err), offset)
    return err


# ---------------------------------------------------------------------------
# Module surface
# ---------------------------------------------------------------------------

def test_decode_error_is_value_error():
    assert issubclass(DecodeError, ValueError)
    with pytest.raises(ValueError):
        fast_serde.loads(b"\xc1")


def test_ext_hook_is_keyword_only():
    with pytest.raises(TypeError):
        fast_serde.loads(b"\xd4\x01\x00", lambda c, d: d)  # noqa: positional ext_hook


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------

@SETTINGS
@given(values)
def test_round_trip(v):
    assert_strict_equal(fast_serde.loads(fast_serde.dumps(v)), expected_loads(v))


@FEW
@given(simple_values)
def test_round_trip_is_stable(v):
    once = fast_serde.dumps(v)
    assert fast_serde.dumps(fast_serde.loads(once)) == once


@FEW
@given(values)
def test_round_trip_input_types(v):
    data = fast_serde.dumps(v)
    expected = expected_loads(v)
    assert_strict_equal(fast_serde.loads(bytearray(data)), expected)
    assert_strict_equal(fast_serde.loads(memoryview(data)), expected)
    # a view that does not start at offset 0 of its buffer
    assert_strict_equal(fast_serde.loads(memoryview(b"\xc1\xc1" + data + b"\xc1")[2:-1]), expected)


def test_simple_values():
    cases = [
        (b"\xc0", None), (b"\xc2", False), (b"\xc3", True), (b"\x00", 0), (b"\x7f", 127),
        (b"\xff", -1), (b"\xe0", -32), (b"\xa0", ""), (b"\x90", []), (b"\x80", {}),
        (b"\xc4\x00", b""), (b"\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00", 1.5),
    ]
    for data, expected in cases:
        assert_strict_equal(fast_serde.loads(data), expected)


def test_types_of_results():
    out = fast_serde.loads(fast_serde.dumps({"l": [1], "t": (1,), "b": bytearray(b"x"), "m": memoryview(b"y")}))
    assert type(out["l"]) is list and type(out["t"]) is list
    assert type(out["b"]) is bytes and type(out["m"]) is bytes


def test_large_round_trip():
    v = {"rows": [{"id": i, "name": f"n{i}", "vals": [i * 0.5, -i, b"\x00" * (i % 7)]} for i in range(5000)]}
    assert fast_serde.loads(fast_serde.dumps(v)) == v
    big = list(range(100_000))
    assert fast_serde.loads(fast_serde.dumps(big)) == big


# ---------------------------------------------------------------------------
# Reading what msgpack-python writes
# ---------------------------------------------------------------------------

@SETTINGS
@given(msgpack_values)
def test_reads_msgpack_python(v):
    data = msgpack_write(v)
    assert_strict_equal(fast_serde.loads(data), expected_loads(v))


@SETTINGS
@given(msgpack_values)
def test_agrees_with_msgpack_unpackb(v):
    data = msgpack_write(v)
    ref = msgpack.unpackb(data, strict_map_key=False, use_list=False, ext_hook=Ext, timestamp=3)

    def listify(x, in_key=False):
        if isinstance(x, Ext):
            return x
        if isinstance(x, tuple):
            items = [listify(i, in_key) for i in x]
            return tuple(items) if in_key else items
        if isinstance(x, dict):
            return {listify(k, True): listify(val) for k, val in x.items()}
        return x

    assert_strict_equal(fast_serde.loads(data), listify(ref))


@pytest.mark.parametrize(
    "data",
    [
        # every format, including non-minimal encodings msgpack-python never writes
        b"\xcc\x01", b"\xcc\xff", b"\xcd\x00\x01", b"\xcd\xff\xff", b"\xce\x00\x00\x00\x01",
        b"\xce\xff\xff\xff\xff", b"\xcf\x00\x00\x00\x00\x00\x00\x00\x01", b"\xcf" + b"\xff" * 8,
        b"\xd0\x01", b"\xd0\x80", b"\xd1\x00\x01", b"\xd1\x80\x00", b"\xd2\x00\x00\x00\x01",
        b"\xd2\x80\x00\x00\x00", b"\xd3\x00\x00\x00\x00\x00\x00\x00\x01", b"\xd3\x80" + b"\x00" * 7,
        b"\xd3" + b"\xff" * 8,
        b"\xca\x3f\xc0\x00\x00", b"\xca\x7f\x80\x00\x00", b"\xca\x7f\xc0\x00\x00", b"\xca\x80\x00\x00\x00",
        b"\xca\x00\x00\x00\x01",
        b"\xcb\x80\x00\x00\x00\x00\x00\x00\x00", b"\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00",
        b"\xa3abc", b"\xd9\x03abc", b"\xda\x00\x03abc", b"\xdb\x00\x00\x00\x03abc", b"\xd9\x00",
        b"\xa4\xf0\x9f\x98\x80", b"\xa2\xc3\xa9",
        b"\xc4\x02ab", b"\xc5\x00\x02ab", b"\xc6\x00\x00\x00\x02ab",
        b"\x92\x01\x02", b"\xdc\x00\x02\x01\x02", b"\xdd\x00\x00\x00\x02\x01\x02", b"\xdc\x00\x00",
        b"\x81\x01\x02", b"\xde\x00\x01\x01\x02", b"\xdf\x00\x00\x00\x01\x01\x02", b"\xde\x00\x00",
        b"\x82\xa1a\x90\xc0\x80", b"\x81\xc4\x01k\xc3", b"\x81\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\x01",
        b"\xd4\x05\x01", b"\xd5\x05\x01\x02", b"\xd6\x05abcd", b"\xd7\x05abcdefgh", b"\xd8\x05" + b"p" * 16,
        b"\xc7\x00\x05", b"\xc7\x03\x05abc", b"\xc8\x00\x03\x05abc", b"\xc9\x00\x00\x00\x03\x05abc",
        b"\xd4\x80\x00", b"\xd4\xfe\x00", b"\xc7\x01\x9c\x00",  # negative ext codes
    ],
)
def test_formats_like_msgpack(data):
    assert_strict_equal(fast_serde.loads(data), msgpack_reference(data))


def test_float32_widened():
    out = fast_serde.loads(b"\xca\x3d\xcc\xcc\xcd")  # float32 0.1
    assert type(out) is float
    assert out == struct.unpack(">f", b"\x3d\xcc\xcc\xcd")[0]


def test_uint64_and_int64_extremes():
    assert fast_serde.loads(b"\xcf" + b"\xff" * 8) == 2**64 - 1
    assert fast_serde.loads(b"\xd3\x80" + b"\x00" * 7) == -(2**63)
    assert fast_serde.loads(b"\xd3" + b"\xff" * 8) == -1


# ---------------------------------------------------------------------------
# Maps and keys
# ---------------------------------------------------------------------------

def test_array_key_becomes_tuple():
    data = b"\x81\x92\x01\x91\x02\xc0"  # {[1, [2]]: nil}
    out = fast_serde.loads(data)
    assert out == {(1, (2,)): None}
    (key,) = out
    assert type(key) is tuple and type(key[1]) is tuple


def test_array_key_with_bin_ext_and_map_value():
    v = {(b"x", Ext(3, b"e"), ("n", (1.5,))): [{"v": (1,)}]}
    out = fast_serde.loads(fast_serde.dumps(v))
    assert out == {(b"x", Ext(3, b"e"), ("n", (1.5,))): [{"v": [1]}]}
    (key,) = out
    assert type(key[1]) is Ext


def test_arrays_in_values_stay_lists():
    out = fast_serde.loads(b"\x81\x91\x01\x91\x91\x02")  # {[1]: [[2]]}
    assert out == {(1,): [[2]]}
    assert type(out[(1,)]) is list and type(out[(1,)][0]) is list


@pytest.mark.parametrize(
    "data",
    [
        b"\x82\x01\x02\x01\x03",  # {1: 2, 1: 3}
        b"\x83\xa1a\x01\xa1b\x02\xa1a\x03",  # {'a':1,'b':2,'a':3}
        b"\x82\x91\x01\xa1x\x91\x01\xa1y",  # {[1]: 'x', [1]: 'y'}
        b"\x82\x01\xa1i\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00\xa1f",  # {1: 'i', 1.0: 'f'}
        b"\x82\xc3\x01\x01\x02",  # {true: 1, 1: 2}
    ],
)
def test_repeated_keys_like_msgpack(data):
    ref = msgpack.unpackb(data, strict_map_key=False, use_list=False)
    out = fast_serde.loads(data)
    assert out == ref
    assert list(out.items()) == list(ref.items())
    assert [type(k) for k in out] == [type(k) for k in ref]


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"\x81\xc0\x01", {None: 1}),
        (b"\x81\xc4\x01k\x01", {b"k": 1}),
        (b"\x81\xd4\x07z\x01", {Ext(7, b"z"): 1}),
        (b"\x81\x90\x01", {(): 1}),
        (b"\x81\xff\x01", {-1: 1}),
    ],
)
def test_other_key_types(data, expected):
    assert_strict_equal(fast_serde.loads(data), expected)


def test_timestamp_key():
    data = b"\x81" + msgpack_write(msgpack.Timestamp(1, 0)) + b"\x01"
    assert fast_serde.loads(data) == {datetime.datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC): 1}


# ---------------------------------------------------------------------------
# Ext and ext_hook
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n", EXT_LENGTHS)
@pytest.mark.parametrize("code", [0, 1, 127, -128, -2])
def test_default_ext(n, code):
    payload = bytes(range(256)) * (n // 256) + bytes(range(n % 256))
    if n in (1, 2, 4, 8, 16):
        header = bytes([{1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}[n]])
    elif n < 256:
        header = b"\xc7" + struct.pack(">B", n)
    elif n < 65536:
        header = b"\xc8" + struct.pack(">H", n)
    else:
        header = b"\xc9" + struct.pack(">I", n)
    data = header + struct.pack(">b", code) + payload
    out = fast_serde.loads(data)
    assert type(out) is Ext
    assert out.code == code and type(out.code) is int
    assert out.data == payload and type(out.data) is bytes
    assert out == msgpack_reference(data)


def test_ext_hook_called_with_code_and_bytes():
    calls = []

    def hook(code, data):
        calls.append((code, data, type(data)))
        return ("hooked", code)

    data = fast_serde.dumps([Ext(1, b"a"), {"k": Ext(127, b"xyz" * 100)}, Ext(5, b"")])
    out = fast_serde.loads(data, ext_hook=hook)
    assert out == [("hooked", 1), {"k": ("hooked", 127)}, ("hooked", 5)]
    assert calls == [(1, b"a", bytes), (127, b"xyz" * 100, bytes), (5, b"", bytes)]


def test_ext_hook_negative_code_matches_msgpack():
    data = b"\x92\xd4\xfe\x00\xc7\x02\x80ab"
    seen_ref, seen = [], []
    msgpack.unpackb(data, ext_hook=lambda c, d: seen_ref.append((c, d)))
    fast_serde.loads(data, ext_hook=lambda c, d: seen.append((c, d)))
    assert seen == seen_ref == [(-2, b"\x00"), (-128, b"ab")]


def test_ext_hook_result_as_key():
    out = fast_serde.loads(b"\x81\xd4\x01a\x01", ext_hook=lambda c, d: (c, d))
    assert out == {(1, b"a"): 1}


def test_ext_hook_none_gives_ext():
    assert fast_serde.loads(b"\xd4\x01a", ext_hook=None) == Ext(1, b"a")


@FEW
@given(st.lists(st.tuples(st.integers(0, 127), st.binary(max_size=300)), max_size=5))
def test_ext_hook_matches_msgpack(items):
    data = msgpack_write([msgpack.ExtType(c, d) for c, d in items])
    ours, theirs = [], []
    fast_serde.loads(data, ext_hook=lambda c, d: ours.append((c, d)))
    msgpack.unpackb(data, ext_hook=lambda c, d: theirs.append((c, d)))
    assert ours == theirs == items


# ---------------------------------------------------------------------------
# Timestamps
# ---------------------------------------------------------------------------

def _check_timestamp(ts, data):
    out = fast_serde.loads(data)
    assert type(out) is datetime.datetime
    assert out.tzinfo is not None
    assert out.utcoffset() == datetime.timedelta(0)
    assert out == ts.to_datetime()
    return out


@FEW
@given(timestamps_32)
def test_timestamp32(ts):
    data = msgpack_write(ts)
    assert data[:2] == b"\xd6\xff"
    _check_timestamp(ts, data)


@FEW
@given(timestamps_64)
def test_timestamp64(ts):
    data = msgpack_write(ts)
    assert data[:2] == b"\xd7\xff"
    _check_timestamp(ts, data)


@FEW
@given(timestamps_96)
def test_timestamp96(ts):
    data = msgpack_write(ts)
    assert data[:3] == b"\xc7\x0c\xff"
    _check_timestamp(ts, data)


@FEW
@given(timestamps)
def test_timestamp_in_containers(ts):
    data = msgpack_write({"t": [ts, {"u": ts}]})
    dt = ts.to_datetime()
    assert fast_serde.loads(data) == {"t": [dt, {"u": dt}]}


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"\xd6\xff\x00\x00\x00\x00", datetime.datetime(1970, 1, 1, tzinfo=UTC)),
        (b"\xd6\xff\xff\xff\xff\xff", datetime.datetime(2106, 2, 7, 6, 28, 15, tzinfo=UTC)),
        # fixext8: nanoseconds 1999 -> 1 microsecond (truncated, not rounded)
        (b"\xd7\xff" + struct.pack(">Q", (1999 << 34) | 1), datetime.datetime(1970, 1, 1, 0, 0, 1, 1, tzinfo=UTC)),
        (b"\xd7\xff" + struct.pack(">Q", (999_999_999 << 34) | 0), datetime.datetime(1970, 1, 1, 0, 0, 0, 999999, tzinfo=UTC)),
        # ext8 with 12 bytes, including the non-canonical small/positive form
        (b"\xc7\x0c\xff" + struct.pack(">Iq", 0, 1), datetime.datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)),
        (b"\xc7\x0c\xff" + struct.pack(">Iq", 999, -1), datetime.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (b"\xc7\x0c\xff" + struct.pack(">Iq", 999_999_999, -1), datetime.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        (b"\xc7\x0c\xff" + struct.pack(">Iq", 0, -62135596800), datetime.datetime(1, 1, 1, tzinfo=UTC)),
        (b"\xc7\x0c\xff" + struct.pack(">Iq", 999_999_999, 253402300799), datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_timestamp_exact(data, expected):
    out = fast_serde.loads(data)
    assert type(out) is datetime.datetime
    assert out == expected
    assert out.utcoffset() == datetime.timedelta(0)
    assert out == msgpack.unpackb(data, timestamp=3)


def test_timestamp_from_msgpack_datetime():
    dt = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    data = msgpack.packb(dt, datetime=True)
    assert fast_serde.loads(data) == dt


# ---------------------------------------------------------------------------
# Input types
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_input_types(kind):
    data = fast_serde.dumps({"a": [1, b"x", "y", 2.5]})
    assert fast_serde.loads(kind(data)) == {"a": [1, b"x", "y", 2.5]}


def test_result_does_not_alias_input():
    buf = bytearray(b"\xc4\x03abc")
    out = fast_serde.loads(buf)
    buf[2:5] = b"zzz"
    assert out == b"abc"
    buf = bytearray(b"\xd4\x01q")
    out = fast_serde.loads(buf)
    buf[2] = ord("w")
    assert out == Ext(1, b"q")


def test_error_offsets_relative_to_view():
    assert_decode_error(memoryview(b"\x00\x00\x92\x01")[2:], offset=2)


# ---------------------------------------------------------------------------
# DecodeError
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "data, offset",
    [
        (b"", 0),
        (b"\xc1", 0),
        (b"\x92\x01", 2),
        (b"\x01\x02", 1),
        (b"\xc0\xc0", 1),
        (b"\x90\x00", 1),
        (b"\x91\xc1", 1),
        (b"\x92\x01\xc1", 2),
        (b"\x81\xa1a\xc1", 3),
        (b"\x91", 1),
        (b"\x81\x01", 2),
    ],
)
def test_decode_error_offsets(data, offset):
    assert_decode_error(data, offset=offset)


@FEW
@given(values, st.binary(min_size=1, max_size=4))
def test_trailing_bytes(v, extra):
    data = fast_serde.dumps(v)
    assert_decode_error(data + extra, offset=len(data))


@pytest.mark.parametrize(
    "v",
    [
        {"a": [1, 2.5, "hello", b"bytes", None, True], "b": {"c": (1, 2)}, 3: Ext(4, b"ext!")},
        ["x" * 300, b"y" * 70000, list(range(20)), {str(i): i for i in range(20)}, 2**64 - 1, -(2**63)],
        [Ext(1, b"a" * n) for n in (1, 2, 4, 8, 16, 3, 300, 70000)],
        {(1, (2, "k")): {"v": [1.5, float("inf")]}},
    ],
)
def test_truncation_at_every_prefix(v):
    data = fast_serde.dumps(v)
    step = 1 if len(data) < 2000 else 97
    for i in list(range(0, len(data), step)) + list(range(max(0, len(data) - 40), len(data))):
        assert_decode_error(data[:i])


def test_truncation_of_msgpack_timestamps():
    for ts in (msgpack.Timestamp(1, 0), msgpack.Timestamp(2**33, 5), msgpack.Timestamp(-5, 7)):
        data = msgpack_write([ts])
        for i in range(len(data)):
            assert_decode_error(data[:i])


@FEW
@given(simple_values)
def test_truncation_property(v):
    data = fast_serde.dumps(v)
    for i in sorted({0, len(data) // 2, len(data) - 1, len(data) // 3}):
        if i < len(data):
            assert_decode_error(data[:i])


@pytest.mark.parametrize(
    "data",
    [
        b"\xdd\xff\xff\xff\xff",
        b"\xdd\xff\xff\xff\xff" + b"\xc0" * 16,
        b"\xdf\xff\xff\xff\xff",
        b"\xdf\xff\xff\xff\xff" + b"\xc0" * 16,
        b"\xdc\xff\xff",
        b"\xde\xff\xff" + b"\x01" * 100,
        b"\xc6\xff\xff\xff\xff",
        b"\xc6\xff\xff\xff\xff" + b"x" * 16,
        b"\xc5\xff\xff" + b"x" * 100,
        b"\xdb\xff\xff\xff\xff",
        b"\xdb\xff\xff\xff\xffabc",
        b"\xda\xff\xff",
        b"\xc9\xff\xff\xff\xff\x01",
        b"\xc9\xff\xff\xff\xff\x01" + b"x" * 16,
        b"\xc8\xff\xff\x01",
        b"\xc7\xff\x01",
        b"\x91\xdd\xff\xff\xff\xff",
        b"\x81\xa1k\xdf\xff\xff\xff\xff",
        b"\x81\xdd\xff\xff\xff\xff\xc0",  # hostile array in key position
        b"\x92" + b"\xdd\xff\xff\xff\xff" * 2,
        b"\xdd\x00\x00\x00\x05\xc0\xc0\xc0\xc0",  # declared 5, only 4 present
        b"\xdf\x00\x00\x00\x02\x01\x01\x02",  # declared 2 pairs, 1.5 present
        b"\xdd\x7f\xff\xff\xff" + b"\x90" * 64,
    ],
)
def test_hostile_lengths_fail_fast(data):
    assert_decode_error(data)


def test_many_hostile_lengths():
    # Many nested hostile headers: each must be rejected without allocating.
    for marker in (b"\xdd", b"\xdf", b"\xc6", b"\xdb", b"\xc9"):
        for tail in (b"", b"\x00", b"\xc0" * 7):
            assert_decode_error(marker + b"\xff\xff\xff\xfe" + tail)
            assert_decode_error(b"\x91" * 10 + marker + b"\x80\x00\x00\x00" + tail)


@pytest.mark.parametrize(
    "data",
    [
        b"\xa1\xff",
        b"\xa2\xc3\x28",
        b"\xa3\xed\xa0\x80",  # encoded surrogate
        b"\xa4\xf4\x90\x80\x80",  # > U+10FFFF
        b"\xa2\xc0\xaf",  # overlong
        b"\xa1\x80",
        b"\xd9\x03ab\xff",
        b"\x91\xa1\xff",
        b"\x81\xa1\xff\x01",  # invalid key
        b"\x81\x91\xa1\xfe\x01",  # invalid str inside array key
    ],
)
def test_invalid_utf8(data):
    with pytest.raises(UnicodeDecodeError):
        msgpack.unpackb(data, strict_map_key=False, use_list=False)
    assert_decode_error(data)


def test_reserved_marker_everywhere():
    # (prefixes chosen so no declared length already exceeds the bytes left)
    for prefix in (b"", b"\x91", b"\x92\x01", b"\x81\x01", b"\x81\x91", b"\xdc\x00\x01"):
        assert_decode_error(prefix + b"\xc1", offset=len(prefix))


@pytest.mark.parametrize(
    "data",
    [
        b"\x81\x80\x01",  # {{}: 1}
        b"\x81\x81\x01\x02\x03",  # {{1: 2}: 3}
        b"\x81\x91\x80\x01",  # {[{}]: 1}
        b"\x82\x01\x02\x80\x03",  # second key unhashable
        b"\x81\x92\x01\x91\x81\xc0\xc0\x01",  # map deep inside an array key
    ],
)
def test_unhashable_keys(data):
    assert_decode_error(data)


def test_unhashable_ext_hook_key():
    assert_decode_error(b"\x81\xd4\x01a\x01", ext_hook=lambda c, d: [c, d])


# ---------------------------------------------------------------------------
# Depth
# ---------------------------------------------------------------------------

def test_max_depth_ok():
    n = fast_serde.MAX_DEPTH
    for data in (b"\x91" * (n - 1) + b"\x90", b"\x91" * n + b"\xc0", b"\x81\xc0" * (n - 1) + b"\x80"):
        out = fast_serde.loads(data)
        for _ in range(n - 1):
            out = out[0] if type(out) is list else out[None]
        assert out in ([], [None], {})


def test_max_depth_plus_one_raises():
    n = fast_serde.MAX_DEPTH
    assert_decode_error(b"\x91" * n + b"\x90")
    assert_decode_error(b"\x81\xc0" * n + b"\x80")
    assert_decode_error(b"\x91" * (n + 1) + b"\xc0")


@pytest.mark.parametrize(
    "data",
    [
        b"\x91" * 100_000 + b"\xc0",
        b"\x91" * 100_000,  # deep and truncated
        b"\x81\xc0" * 100_000 + b"\xc0",
        b"\xdc\x00\x01" * 100_000 + b"\xc0",
        b"\x81" * 100_000 + b"\xc0",  # deep nesting in key position
        b"\x81\x91" * 50_000 + b"\xc0",
        b"\x92\x90" * 50_000,
    ],
)
def test_very_deep_input_raises(data):
    assert_decode_error(data)


def test_deep_array_key():
    # an array key nested deeper than MAX_DEPTH
    n = fast_serde.MAX_DEPTH
    assert_decode_error(b"\x81" + b"\x91" * (n + 2) + b"\xc0" + b"\x01")


def test_depth_limit_round_trip_boundary():
    n = fast_serde.MAX_DEPTH
    ok = nested_lists(n)
    assert fast_serde.dumps(ok) == b"\x91" * (n - 1) + b"\x90"


# ---------------------------------------------------------------------------
# Robustness: arbitrary and mutated input
# ---------------------------------------------------------------------------

def _loads_or_decode_error(data):
    try:
        fast_serde.loads(data)
    except DecodeError as err:
        assert isinstance(err.offset, int) and 0 <= err.offset <= len(data)
        assert f"at byte {err.offset}" in str(err)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes(data):
    _loads_or_decode_error(data)


@SETTINGS
@given(simple_values, st.data())
def test_mutated_encodings(v, data):
    raw = bytearray(fast_serde.dumps(v))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.sampled_from([0x00, 0xFF, 0xC1, 0xDD, 0xDF, 0xC6, 0xDB, 0x91, 0x81, 0x80 | (raw[i] & 0x7F), raw[i] ^ 0x01]))
    _loads_or_decode_error(bytes(raw))


@pytest.mark.parametrize(
    "data",
    [
        b"\xc7\x0c\xff" + struct.pack(">Iq", 0, 2**62),  # seconds far outside datetime's range
        b"\xc7\x0c\xff" + struct.pack(">Iq", 0, -(2**62)),
        b"\xc7\x0c\xff" + struct.pack(">Iq", 0, 253402300800),  # year 10000
        b"\xc7\x0c\xff" + struct.pack(">Iq", 0, -62135596801),  # year 0
        b"\xc7\x0c\xff" + struct.pack(">Iq", 2**32 - 1, 0),  # nanoseconds > 999999999
        b"\xd7\xff" + b"\xff" * 8,  # fixext8 with nanoseconds > 999999999
        b"\xd4\xff\x00", b"\xd5\xff\x00\x00", b"\xd8\xff" + b"\x00" * 16, b"\xc7\x00\xff",  # other sizes
        b"\x91\xc7\x0c\xff" + struct.pack(">Iq", 0, 2**62),
        b"\x81\xc7\x0c\xff" + struct.pack(">Iq", 0, 2**62) + b"\x01",
    ],
)
def test_invalid_timestamps_never_escape_as_other_errors(data):
    # msgpack-python rejects all of these with ValueError/OverflowError; the contract
    # leaves the result open, but anything raised must be a DecodeError.
    with pytest.raises((ValueError, OverflowError)):
        msgpack.unpackb(data, timestamp=3, strict_map_key=False)
    _loads_or_decode_error(data)


@pytest.mark.parametrize("marker", list(range(0xC0, 0xE0)))
def test_every_marker_truncated_and_padded(marker):
    # each marker alone (truncated for most), and followed by a little padding
    for tail in (b"", b"\x00", b"\x01\x00", b"\x00" * 4, b"\x00" * 9, b"\x00" * 17):
        _loads_or_decode_error(bytes([marker]) + tail)
