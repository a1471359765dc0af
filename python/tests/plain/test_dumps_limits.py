"""fast_serde.dumps: the depth limit, cycles, and the state left after an error."""

from __future__ import annotations

import pytest
from hypothesis import given

import fast_serde
from fast_serde import EncodeError

from dumps_helpers import Unknown
from strategies import FEW, nested_dicts, nested_lists, nested_tuples, reference_packb, values


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
