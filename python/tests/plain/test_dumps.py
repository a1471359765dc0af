"""fast_serde.dumps against the contract and against ormsgpack / msgpack-python."""

from __future__ import annotations

import collections
import ctypes
import enum
import math
import re
import subprocess
import sys
import sysconfig
import textwrap
import typing
from pathlib import Path

import msgpack
import ormsgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fast_serde
from fast_serde import EncodeError, Ext, _native

from strategies import (
    FEW,
    SETTINGS,
    BIN_LENGTHS,
    EXT_LENGTHS,
    INT_BOUNDARIES,
    ORMSGPACK_OPT,
    STR_LENGTHS,
    assert_strict_equal,
    binaries,
    bytes_like,
    expected_loads,
    exts,
    floats,
    ints,
    keys,
    nested_dicts,
    nested_lists,
    nested_tuples,
    out_of_range_ints,
    reference_packb,
    simple_values,
    surrogate_text,
    texts,
    texts_with_surrogates,
    to_msgpack_view,
    values,
)


def msgpack_read(data):
    """How msgpack-python reads bytes (arrays as tuples so array keys stay hashable)."""
    return msgpack.unpackb(
        data, strict_map_key=False, use_list=False, raw=False, ext_hook=Ext, timestamp=3
    )


class Unknown:
    """A type fast_serde does not know; module level so its __qualname__ == __name__."""

    def __init__(self, payload=None):
        self.payload = payload


class Other:
    pass


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


# ---------------------------------------------------------------------------
# Subclasses
# ---------------------------------------------------------------------------

class MyStr(str):
    def __str__(self):
        return "OVERRIDDEN"


class MyInt(int):
    def __int__(self):
        return 999

    def __index__(self):
        return 999


class MyFloat(float):
    def __float__(self):
        return 999.0


class MyList(list):
    def __iter__(self):
        return iter(["OVERRIDDEN"])

    def __len__(self):
        return 1


class MyDict(dict):
    def items(self):
        return [("OVERRIDDEN", 1)]

    def __iter__(self):
        return iter(["OVERRIDDEN"])


class MyTuple(tuple):
    def __iter__(self):
        return iter(["OVERRIDDEN"])


class Color(enum.IntEnum):
    RED = 1
    BIG = 2**40
    NEG = -200


class Point(typing.NamedTuple):
    x: int
    y: str


OldPoint = collections.namedtuple("OldPoint", "x y")


@pytest.mark.parametrize(
    "value, base",
    [
        (MyStr("hello"), "hello"),
        (MyStr(""), ""),
        (MyStr("x" * 300), "x" * 300),
        (MyInt(5), 5),
        (MyInt(-(2**63)), -(2**63)),
        (MyInt(2**64 - 1), 2**64 - 1),
        (Color.RED, 1),
        (Color.BIG, 2**40),
        (Color.NEG, -200),
        (MyList([1, 2, "a"]), [1, 2, "a"]),
        (MyList(), []),
        (MyDict({"a": 1, "b": [2]}), {"a": 1, "b": [2]}),
        (collections.OrderedDict([("x", 1), ("y", 2)]), {"x": 1, "y": 2}),
        (collections.defaultdict(list, {"k": [1]}), {"k": [1]}),
        (collections.Counter("aab"), {"a": 2, "b": 1}),
    ],
)
def test_subclasses_accepted_by_ormsgpack(value, base):
    ref = reference_packb(value)
    assert ref == reference_packb(base)
    assert fast_serde.dumps(value) == ref
    assert fast_serde.dumps([value, {"k": value}]) == reference_packb([value, {"k": value}])


@pytest.mark.parametrize(
    "value, base",
    [
        (MyFloat(1.5), 1.5),
        (MyFloat("nan"), float("nan")),
        (MyFloat(-0.0), -0.0),
        (MyTuple((1, "a")), (1, "a")),
        (MyTuple(), ()),
        (Point(1, "y"), (1, "y")),
        (OldPoint(1, [2]), (1, [2])),
    ],
)
def test_subclasses_not_accepted_by_ormsgpack(value, base):
    with pytest.raises(TypeError):
        reference_packb(value)
    assert fast_serde.dumps(value) == reference_packb(base)
    assert fast_serde.dumps({"k": [value]}) == reference_packb({"k": [base]})


def test_subclass_not_passed_to_default():
    def default(o):
        raise AssertionError(f"default called for {type(o)}")

    v = [MyStr("a"), MyInt(1), MyFloat(2.0), MyList([1]), MyDict(a=1), MyTuple((1,)), Color.RED, Point(1, "a")]
    assert fast_serde.dumps(v, default=default) == fast_serde.dumps(
        ["a", 1, 2.0, [1], {"a": 1}, (1,), 1, (1, "a")]
    )


def test_ordered_dict_after_move_to_end_matches_ormsgpack():
    # ormsgpack walks the underlying dict storage, not OrderedDict's linked list.
    od = collections.OrderedDict([("a", 1), ("b", 2)])
    od.move_to_end("a")
    assert fast_serde.dumps(od) == reference_packb(od)


def test_subclass_keys():
    d = {MyStr("k"): 1, MyInt(7): 2, Color.NEG: 3}
    assert fast_serde.dumps(d) == reference_packb(d) == reference_packb({"k": 1, 7: 2, -200: 3})
    assert fast_serde.dumps({MyFloat(2.5): 1}) == reference_packb({2.5: 1})
    assert fast_serde.dumps({Point(1, "a"): 1}) == reference_packb({(1, "a"): 1})


def test_bool_is_not_int():
    assert fast_serde.dumps([True, False, 1, 0]) == b"\x94\xc3\xc2\x01\x00"
    assert fast_serde.dumps({True: 1, 0: False}) == b"\x82\xc3\x01\x00\xc2"


# ---------------------------------------------------------------------------
# Ext
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n", EXT_LENGTHS)
@pytest.mark.parametrize("code", [0, 1, 42, 127])
def test_ext_sizes(n, code):
    data = bytes(range(256)) * (n // 256) + bytes(range(n % 256))
    expected = ormsgpack.packb(ormsgpack.Ext(code, data))
    assert fast_serde.dumps(Ext(code, data)) == expected
    got = msgpack.unpackb(fast_serde.dumps(Ext(code, data)))
    assert got == msgpack.ExtType(code, data)


@pytest.mark.parametrize(
    "n, header",
    [(1, b"\xd4"), (2, b"\xd5"), (4, b"\xd6"), (8, b"\xd7"), (16, b"\xd8"),
     (0, b"\xc7\x00"), (3, b"\xc7\x03"), (17, b"\xc7\x11"), (255, b"\xc7\xff"),
     (256, b"\xc8\x01\x00"), (65535, b"\xc8\xff\xff"), (65536, b"\xc9\x00\x01\x00\x00")],
)
def test_ext_headers(n, header):
    data = b"z" * n
    assert fast_serde.dumps(Ext(9, data)) == header + b"\x09" + data


@FEW
@given(exts)
def test_ext_values(e):
    assert fast_serde.dumps(e) == reference_packb(e)


def test_ext_nested_and_in_containers():
    v = {"a": [Ext(1, b"x"), Ext(2, b"yy")], "b": (Ext(127, b""),)}
    assert fast_serde.dumps(v) == reference_packb(v)


def test_ormsgpack_ext_is_not_written():
    # ormsgpack.Ext exposes neither code nor data: it is an unknown type like any other.
    with pytest.raises(fast_serde.EncodeError, match=r"type 'Ext' is not MessagePack serializable at \$\[0\]"):
        fast_serde.dumps([ormsgpack.Ext(2, b"yy")])


def test_ext_not_array():
    # A NamedTuple Ext is an ext, not a 2-element array.
    assert fast_serde.dumps(Ext(3, b"abcd")) == b"\xd6\x03abcd"
    assert fast_serde.dumps((3, b"abcd")) == b"\x92\x03\xc4\x04abcd"


@pytest.mark.parametrize("code", [-128, -100, -2])
def test_negative_ext_codes_round_trip_if_accepted(code):
    # ormsgpack/msgpack refuse to *write* negative codes; if fast_serde writes
    # them, it must write a valid ext that it reads back.
    try:
        out = fast_serde.dumps(Ext(code, b"abc"))
    except EncodeError:
        return
    assert out == b"\xc7\x03" + bytes([code & 0xFF]) + b"abc"
    assert fast_serde.loads(out) == Ext(code, b"abc")


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 8, 12, 16, 20])
def test_ext_code_minus_one_round_trips_if_written(n):
    # "loads round-trips everything dumps writes": code -1 is the timestamp type, so
    # a payload loads cannot read as a timestamp must either be refused by dumps
    # or be readable (as a datetime for valid timestamps, otherwise as anything).
    payload = b"\xff" * n if n == 8 else bytes(n)  # fixext8 all-ones: nanoseconds > 999999999
    try:
        out = fast_serde.dumps(Ext(-1, payload))
    except EncodeError:
        return
    fast_serde.loads(out)


@pytest.mark.parametrize("key", [Unknown(), frozenset(), complex(1, 0), (1, Unknown())])
def test_unencodable_key_raises(key):
    with pytest.raises(EncodeError):
        fast_serde.dumps({key: 1})


# ---------------------------------------------------------------------------
# default hook
# ---------------------------------------------------------------------------

def test_default_called_and_result_encoded():
    calls = []

    def default(o):
        calls.append(o)
        return {"payload": o.payload}

    u = Unknown([1, "x"])
    out = fast_serde.dumps({"a": u}, default=default)
    assert calls == [u]
    assert out == reference_packb({"a": {"payload": [1, "x"]}})


def test_default_result_types():
    for result in [None, True, 1, -5, 2**64 - 1, 1.5, "s", b"b", [1], (1,), {"k": 1}, Ext(1, b"x")]:
        assert fast_serde.dumps(Unknown(), default=lambda o, r=result: r) == reference_packb(result)


def test_default_nested_results():
    # default returns a container holding another unknown object; default is applied again.
    def default(o):
        if isinstance(o, Unknown):
            return ["unknown", Other()]
        if isinstance(o, Other):
            return {"other": True}
        raise TypeError

    out = fast_serde.dumps([Unknown(), {"k": Unknown()}], default=default)
    expected = [["unknown", {"other": True}], {"k": ["unknown", {"other": True}]}]
    assert out == reference_packb(expected)


def test_default_returning_unknown_directly_again():
    # default(Unknown) -> Other, default(Other) -> 1
    def default(o):
        return Other() if isinstance(o, Unknown) else 1

    assert fast_serde.dumps(Unknown(), default=default) == b"\x01"


def test_default_not_called_for_supported_types():
    def default(o):
        raise AssertionError("default must not be called")

    v = [None, True, 1, 1.5, "s", b"b", bytearray(b"x"), memoryview(b"m"), (1,), {"a": 1}, Ext(1, b"")]
    assert fast_serde.dumps(v, default=default) == reference_packb(v)


@pytest.mark.parametrize("obj", [Unknown(), {1, 2}, frozenset(), complex(1, 2), object()])
def test_default_called_for_unsupported_types(obj):
    seen = []
    fast_serde.dumps([obj], default=lambda o: seen.append(o))
    assert seen == [obj]
    assert fast_serde.dumps([obj], default=lambda o: None) == b"\x91\xc0"


def test_default_none_is_no_default():
    with pytest.raises(EncodeError):
        fast_serde.dumps(Unknown(), default=None)


def test_default_raising_is_chained():
    original = ValueError("boom")

    def default(o):
        raise original

    with pytest.raises(EncodeError) as info:
        fast_serde.dumps({"a": [Unknown()]}, default=default)
    assert info.value.__cause__ is original


def test_default_raising_type_error_is_chained():
    original = TypeError("nope")

    def default(o):
        raise original

    with pytest.raises(EncodeError) as info:
        fast_serde.dumps(Unknown(), default=default)
    assert info.value.__cause__ is original


def test_default_returning_unencodable():
    # default gives back something it cannot handle either
    def default(o):
        if isinstance(o, Unknown):
            return Other()
        raise TypeError("unsupported")

    with pytest.raises(EncodeError):
        fast_serde.dumps(Unknown(), default=default)


def test_default_returning_itself_terminates():
    # default(o) -> o forever must end in EncodeError, never RecursionError or a crash.
    with pytest.raises(EncodeError):
        fast_serde.dumps(Unknown(), default=lambda o: o)
    with pytest.raises(EncodeError):
        fast_serde.dumps({"a": [Unknown()]}, default=lambda o: [o])


def test_default_returning_out_of_range_int():
    with pytest.raises(EncodeError):
        fast_serde.dumps(Unknown(), default=lambda o: 2**64)


# ---------------------------------------------------------------------------
# EncodeError messages and paths
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "value, message",
    [
        (object(), "type 'object' is not MessagePack serializable at $"),
        (Unknown(), "type 'Unknown' is not MessagePack serializable at $"),
        ([object()], "type 'object' is not MessagePack serializable at $[0]"),
        ([1, 2, {3}], "type 'set' is not MessagePack serializable at $[2]"),
        ({"a": [0, {"b": object()}]}, "type 'object' is not MessagePack serializable at $['a'][1]['b']"),
        ((0, (1, 2, complex(1, 1))), "type 'complex' is not MessagePack serializable at $[1][2]"),
        ({"t": (None, [Unknown()])}, "type 'Unknown' is not MessagePack serializable at $['t'][1][0]"),
        ({1: object()}, "type 'object' is not MessagePack serializable at $[1]"),
        ({"x": {-7: [Unknown()]}}, "type 'Unknown' is not MessagePack serializable at $['x'][-7][0]"),
        ({b"k": object()}, "type 'object' is not MessagePack serializable at $[b'k']"),
        ({None: object()}, "type 'object' is not MessagePack serializable at $[None]"),
        ({(1, "a"): object()}, "type 'object' is not MessagePack serializable at $[(1, 'a')]"),
        ({1.5: object()}, "type 'object' is not MessagePack serializable at $[1.5]"),
        ({True: object()}, "type 'object' is not MessagePack serializable at $[True]"),
        ({"ok": 1, "a": 2, "bad": frozenset()}, "type 'frozenset' is not MessagePack serializable at $['bad']"),
        ([[[[Other()]]]], "type 'Other' is not MessagePack serializable at $[0][0][0][0]"),
    ],
)
def test_encode_error_messages(value, message):
    with pytest.raises(EncodeError) as info:
        fast_serde.dumps(value)
    # set and frozenset messages go on with what takes them (test_common_unsupported_types_...).
    assert str(info.value).split(" (fast_serde.dumps writes plain data")[0] == message
    assert isinstance(info.value, TypeError)


def test_encode_error_path_resets_between_calls():
    with pytest.raises(EncodeError):
        fast_serde.dumps({"a": [1, {"b": object()}]})
    with pytest.raises(EncodeError) as info:
        fast_serde.dumps([object()])
    assert str(info.value) == "type 'object' is not MessagePack serializable at $[0]"


@pytest.mark.parametrize("n", [2**64, 2**64 + 1, 2**100, -(2**63) - 1, -(2**64)])
def test_int_out_of_range(n):
    with pytest.raises(EncodeError):
        fast_serde.dumps(n)
    with pytest.raises(EncodeError):
        fast_serde.dumps({"a": [0, n]})
    with pytest.raises(EncodeError):
        fast_serde.dumps(MyInt(n))


@FEW
@given(out_of_range_ints)
def test_int_out_of_range_property(n):
    with pytest.raises(EncodeError):
        fast_serde.dumps([n])


# ---------------------------------------------------------------------------
# Depth limit and cycles
# ---------------------------------------------------------------------------

# (container count, expected bytes) for the nesting helpers; checked without
# recursive Python helpers, which would hit the interpreter recursion limit.
DEPTH_SHAPES = {
    "lists": (nested_lists, b"\x91", b"\x90"),
    "dicts": (nested_dicts, b"\x81\xa1a", b"\x80"),
    "tuples": (nested_tuples, b"\x91", b"\x90"),
}


def _check_nested_decoded(value, n, is_dict):
    for _ in range(n - 1):
        if is_dict:
            assert type(value) is dict and list(value) == ["a"]
            value = value["a"]
        else:
            assert type(value) is list and len(value) == 1
            value = value[0]
    assert value == ({} if is_dict else []) and type(value) is (dict if is_dict else list)


@pytest.mark.parametrize("shape", sorted(DEPTH_SHAPES))
def test_max_depth_ok(shape):
    make, prefix, leaf = DEPTH_SHAPES[shape]
    n = fast_serde.MAX_DEPTH
    out = fast_serde.dumps(make(n))
    assert out == prefix * (n - 1) + leaf
    _check_nested_decoded(fast_serde.loads(out), n, shape == "dicts")


@pytest.mark.parametrize("make", [nested_lists, nested_dicts, nested_tuples])
def test_max_depth_plus_one_raises(make):
    with pytest.raises(EncodeError):
        fast_serde.dumps(make(fast_serde.MAX_DEPTH + 1))


def test_depth_with_scalar_leaf():
    fast_serde.dumps(nested_lists(fast_serde.MAX_DEPTH, leaf=1))
    with pytest.raises(EncodeError):
        fast_serde.dumps(nested_lists(fast_serde.MAX_DEPTH + 1, leaf=1))


def test_depth_255_matches_ormsgpack():
    v = nested_lists(255, leaf="x")
    assert fast_serde.dumps(v) == reference_packb(v)


def test_mixed_depth_limit():
    v = []
    for i in range(fast_serde.MAX_DEPTH + 1):
        v = [v] if i % 3 == 0 else ({"k": v} if i % 3 == 1 else (v,))
    with pytest.raises(EncodeError):
        fast_serde.dumps(v)


def test_very_deep_list_raises():
    v = nested_lists(100_000)
    with pytest.raises(EncodeError):
        fast_serde.dumps(v)


def test_very_deep_dict_raises():
    v = nested_dicts(100_000)
    with pytest.raises(EncodeError):
        fast_serde.dumps(v)


def test_list_cycle():
    a = [1]
    a.append(a)
    with pytest.raises(EncodeError):
        fast_serde.dumps(a)


def test_dict_cycle():
    d = {"x": 1}
    d["self"] = d
    with pytest.raises(EncodeError):
        fast_serde.dumps(d)


def test_indirect_cycle():
    a, b = [], {}
    a.append(b)
    b["a"] = a
    with pytest.raises(EncodeError):
        fast_serde.dumps(a)
    with pytest.raises(EncodeError):
        fast_serde.dumps({"root": (b,)})


def test_cycle_through_default():
    holder = []

    def default(o):
        return holder

    holder.append(Unknown())
    with pytest.raises(EncodeError):
        fast_serde.dumps(Unknown(), default=default)


def test_shared_references_are_not_cycles():
    x = [1, {"a": "b"}]
    v = [x, x, {"k": x, "j": x}, (x, x)]
    assert fast_serde.dumps(v) == reference_packb(v)
    s = "shared" * 20
    assert fast_serde.dumps([s] * 50) == reference_packb([s] * 50)


# ---------------------------------------------------------------------------
# Internal state after errors
# ---------------------------------------------------------------------------

@FEW
@given(values)
def test_buffer_not_corrupted_after_error(v):
    first = fast_serde.dumps(v)
    big = ["x" * 1000] * 100
    for bad in ([v, big, object()], {"a": v, "b": Unknown()}, [v, 2**64], nested_lists(fast_serde.MAX_DEPTH + 5)):
        with pytest.raises(EncodeError):
            fast_serde.dumps(bad)
        assert fast_serde.dumps(v) == first
    with pytest.raises(EncodeError):
        fast_serde.dumps([v, Unknown()], default=lambda o: 1 / 0)
    assert fast_serde.dumps(v) == first


def test_reentrant_dumps_inside_default():
    def default(o):
        # calling dumps from inside default must not disturb the outer encoding
        inner = fast_serde.dumps({"inner": [1, 2, 3]})
        return inner

    v = {"a": Unknown(), "b": [Unknown(), "tail"]}
    inner = reference_packb({"inner": [1, 2, 3]})
    assert fast_serde.dumps(v, default=default) == reference_packb({"a": inner, "b": [inner, "tail"]})


def test_reentrant_failing_dumps_inside_default():
    def default(o):
        with pytest.raises(EncodeError):
            fast_serde.dumps([object()])
        return "ok"

    assert fast_serde.dumps(["pre", Unknown(), "post"], default=default) == reference_packb(["pre", "ok", "post"])


def test_large_value():
    v = {"rows": [{"id": i, "name": f"n{i}", "vals": [i * 0.5, -i, b"\x00" * (i % 7)]} for i in range(5000)]}
    assert fast_serde.dumps(v) == reference_packb(v)


# --- str storage forms (the walker reads compact-ASCII strs in place on CPython 3.11-3.15) ---


class _Text(str):
    pass


def _str_forms() -> dict[str, str]:
    """A str in each of CPython's storage forms (PEP 393): compact ASCII, compact of each
    character width, and a subclass's "legacy" form, whose characters are in a separate block
    (its state has `ascii` set without `compact`: read as compact ASCII, it writes the wrong
    bytes)."""
    return {
        "empty": "",
        "ascii": "plain ascii text",
        "ascii-long": "x" * 100_000,
        "ascii-interned": sys.intern("an interned key"),
        "latin1": "caf\u00e9 cr\u00e8me",
        "latin1-1": "\u00ff",
        "ucs2": "\u20ac and \u4e2d\u6587",
        "ucs4": "\U0001f600 emoji",
        "subclass-ascii": _Text("subclass, ascii"),
        "subclass-empty": _Text(""),
        "subclass-latin1": _Text("subclass caf\u00e9"),
        "subclass-ucs4": _Text("subclass \U0001f600"),
        "ascii-from-bytes": b"decoded ascii".decode(),
        "ascii-slice": "\u00e9abcdef"[1:],
        "ascii-join": "".join(["a", "b", "c"] * 50),
    }


@pytest.mark.parametrize("name", sorted(_str_forms()))
def test_str_storage_forms_match_ormsgpack(name):
    s = _str_forms()[name]
    value = {s: [s, {"k": s}], "n": (s, s)}
    assert fast_serde.dumps(value) == reference_packb(value)
    assert fast_serde.loads(fast_serde.dumps(value)) == {str(s): [str(s), {"k": str(s)}], "n": [str(s), str(s)]}


def test_private_layouts_read_in_place_exactly_where_built_for():
    """The compact-ASCII str read and the dict-table read are on for CPython 3.11-3.15 GIL
    builds (layouts read from each version's headers) and off elsewhere: a build that silently
    took the slow path on those would pass every byte test and lose the speed."""
    expected = (
        sys.implementation.name == "cpython"
        and (3, 11) <= sys.version_info[:2] <= (3, 15)
        and not sysconfig.get_config_var("Py_GIL_DISABLED")
    )
    assert _native.CPYTHON_LAYOUT is expected


# --- dict storage layouts (the walker reads CPython 3.11-3.15 combined tables in place) --------


class _Plain:
    pass


class _Split:
    pass


class _Wide:
    pass


def _pydict_next_items(d: dict) -> list[tuple]:
    """The (key, value) pairs of `d` as CPython's own PyDict_Next yields them (through ctypes):
    the oracle the in-place reader must match, entry for entry and in order."""
    next_ = ctypes.pythonapi.PyDict_Next
    next_.argtypes = [ctypes.py_object] + [ctypes.c_void_p] * 3
    next_.restype = ctypes.c_int
    pos, key, value = ctypes.c_ssize_t(0), ctypes.c_void_p(), ctypes.c_void_p()
    items = []
    while next_(d, ctypes.byref(pos), ctypes.byref(key), ctypes.byref(value)):
        items.append((ctypes.cast(key, ctypes.py_object).value, ctypes.cast(value, ctypes.py_object).value))
    return items


def _dict_layouts() -> dict[str, dict]:
    """Dicts whose entries CPython stores differently: holes after deletions, general (non-str)
    keys, split tables (instance __dict__ sharing their class's keys), grown and re-grown tables."""
    holes = {f"k{i}": i for i in range(50)}
    for i in range(0, 50, 3):
        del holes[f"k{i}"]
    last_only = {f"k{i}": i for i in range(9)}
    for i in range(8):
        del last_only[f"k{i}"]
    all_deleted = {"a": 1, "b": 2}
    del all_deleted["a"], all_deleted["b"]
    general = {1: "one", "two": 2, (3, "x"): [3], 4.5: None, b"k": True}
    del general[1]
    a, b = _Plain(), _Plain()
    a.x, a.y, a.z = 1, "two", [3.0]
    b.x, b.y, b.z = 4, "five", {"six": 6}
    b.extra = "split table grows"
    grown = {}
    for i in range(2000):
        grown[str(i)] = i
    for i in range(0, 2000, 2):
        del grown[str(i)]
    reinserted = dict(holes)
    reinserted["k0"] = "back"
    popped = {f"p{i}": i for i in range(10)}
    for _ in range(3):
        popped.popitem()  # the last entries go and the table's entry count shrinks
    general_holes = {i: str(i) for i in range(20)}
    for i in (0, 1, 2, 10, 18, 19):
        del general_holes[i]
    # Split tables with a deleted attribute, and with an insertion order that is not the order
    # of the class's shared keys; one turned combined (general) by a non-str key.
    c = _Split()
    c.x, c.y, c.z = 1, 2, 3
    del c.y
    c.w = 4
    r = _Split()
    r.x, r.y, r.z = 1, 2, 3
    del r.x
    r.x = "again"
    mixed = _Split()
    mixed.x, mixed.y = 1, 2
    vars(mixed)[7] = "int key"
    wide_obj = _Wide()  # more attributes than a class's shared keys hold
    for i in range(40):
        setattr(wide_obj, f"a{i}", i)
    return {
        "holes": holes,
        "last-only": last_only,
        "all-deleted": all_deleted,
        "general-keys": general,
        "split-a": vars(a),
        "split-b": vars(b),
        "grown": grown,
        "reinserted": reinserted,
        "ordered": collections.OrderedDict([("z", 1), ("a", 2)]),
        "counter": collections.Counter("mississippi"),
        "empty": {},
        "popped": popped,
        "general-holes": general_holes,
        "index-2-bytes": {f"w{i}": i for i in range(300)},
        "index-4-bytes": {i: -i for i in range(50_000)},
        "fromkeys": dict.fromkeys(["x", "y", "z"], 0),
        "split-deleted": vars(c),
        "split-reordered": vars(r),
        "split-copy": vars(r).copy(),
        "split-then-general": vars(mixed),
        "many-attributes": vars(wide_obj),
    }


@pytest.mark.parametrize("name", sorted(_dict_layouts()))
def test_dict_layouts_match_ormsgpack(name):
    d = _dict_layouts()[name]
    want = reference_packb(d)
    assert fast_serde.dumps(d) == want
    assert fast_serde.dumps({"nested": [d, d]}) == reference_packb({"nested": [d, d]})
    assert fast_serde.loads(want) == dict(d)


def _foreign_builds() -> list[str]:
    """Builds of fast_serde._native for another CPython 3.11-3.15 beside this one's (a tree
    shared by `make test-matrix` has one per Python); none in a fresh clone or a wheel."""
    here = Path(fast_serde.__file__).parent
    this = f"cpython-{sys.version_info[0]}{sys.version_info[1]}-"
    return sorted(
        str(p) for minor in range(11, 16) for p in here.glob(f"_native.cpython-3{minor}-*.so") if this not in p.name
    )


@pytest.mark.skipif(not _foreign_builds(), reason="no build for another CPython 3.11-3.15 here")
@pytest.mark.parametrize("path", _foreign_builds())
def test_a_build_for_another_minor_version_refuses_to_load(path):
    """The in-place str and dict reads are for the layouts of the build's own minor version: loaded (by
    path) into another interpreter, the module raises ImportError before reading any dict (or
    the dynamic loader refuses it first)."""
    code = textwrap.dedent(f"""
        import importlib.machinery, importlib.util
        loader = importlib.machinery.ExtensionFileLoader("fast_serde._native", {path!r})
        spec = importlib.util.spec_from_file_location("fast_serde._native", {path!r}, loader=loader)
        try:
            loader.exec_module(importlib.util.module_from_spec(spec))
        except ImportError as e:
            print(e)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    built_for = re.search(r"cpython-3(\d+)-", Path(path).name).group(1)
    want = f"built for CPython 3.{built_for} and cannot run on CPython 3.{sys.version_info[1]}"
    # A newer build may not even link against an older libpython (a symbol it lacks), nor one
    # built in the sid root of the 3.14/3.15 lane against the host's older glibc.
    refused_by_loader = "undefined symbol" in out.stdout or "GLIBC_" in out.stdout
    assert want in out.stdout or refused_by_loader, (out.returncode, out.stdout, out.stderr[-2000:])


@pytest.mark.parametrize("name", sorted(_dict_layouts()))
def test_dict_layouts_are_read_as_pydict_next_reads_them(name):
    d = _dict_layouts()[name]
    items = _pydict_next_items(d)
    assert len(items) == len(d)
    # A fresh dict of PyDict_Next's pairs, in its order, encoded by the reference.
    assert fast_serde.dumps(d) == reference_packb(dict(items))
    assert fast_serde.dumps([d, {"in": d}]) == reference_packb([dict(items), {"in": dict(items)}])


def test_outputs_of_every_size_in_sequence_are_exact():
    """The output `bytes` is sized from the previous output, grown, cut by a realloc or just
    given its length: every path must give ormsgpack's bytes, the right length and a
    working hash, whatever the previous size was."""
    sizes = [10, 300, 300, 290, 280, 5_000, 4_900, 100_000, 99_000, 80_000, 10, 2_000_000, 1_990_000, 3, 70_000]
    for n in sizes:
        v = {"k": "x" * n, "n": n}
        out = fast_serde.dumps(v)
        want = reference_packb(v)
        assert out == want and len(out) == len(want)
        assert hash(out) == hash(bytes(bytearray(want)))
        assert out + b"" == want and out[-4:] == want[-4:]


@pytest.mark.parametrize(
    "value",
    [
        __import__("datetime").datetime(2026, 1, 2, 3, 4, 5),
        __import__("datetime").date(2026, 1, 2),
        __import__("datetime").time(3, 4, 5),
        __import__("uuid").UUID(int=7),
        __import__("decimal").Decimal("1.5"),
        {1, 2},
        frozenset({3}),
    ],
    ids=["datetime", "date", "time", "UUID", "Decimal", "set", "frozenset"],
)
def test_common_unsupported_types_say_what_takes_them(value):
    with pytest.raises(EncodeError) as exc:
        fast_serde.dumps({"v": value})
    msg = str(exc.value)
    assert f"type '{type(value).__qualname__}' is not MessagePack serializable at $['v']" in msg
    assert "default=" in msg and "FastSerializer writes it natively" in msg
    assert fast_serde.dumps({"v": value}, default=str) == reference_packb({"v": str(value)})


def test_other_unsupported_types_get_no_hint():
    with pytest.raises(EncodeError) as exc:
        fast_serde.dumps(object())
    assert str(exc.value) == "type 'object' is not MessagePack serializable at $"
