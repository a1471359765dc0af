"""fast_serde.dumps: subclasses of the built-ins, Enum members, named tuples and ``Ext``."""

from __future__ import annotations

import collections
import enum
import typing

import msgpack
import ormsgpack
import pytest
from hypothesis import given

import fast_serde
from fast_serde import EncodeError, Ext

from dumps_helpers import MyInt, Unknown
from strategies import FEW, EXT_LENGTHS, exts, reference_packb


# ---------------------------------------------------------------------------
# Subclasses
# ---------------------------------------------------------------------------

class MyStr(str):
    def __str__(self):
        return "OVERRIDDEN"


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
