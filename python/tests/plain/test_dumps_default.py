"""fast_serde.dumps: the ``default`` hook, and ``EncodeError`` messages and paths."""

from __future__ import annotations

import pytest
from hypothesis import given

import fast_serde
from fast_serde import EncodeError, Ext

from dumps_helpers import MyInt, Unknown
from strategies import FEW, out_of_range_ints, reference_packb


class Other:
    pass


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
