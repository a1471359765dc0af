"""Regressions: differences found while writing these tests (fixed in fast-serde since): payloads
constructed or evented twice, errors inside nested ext payloads, the depth limit per ext payload."""

from __future__ import annotations

import uuid
from typing import Any

import ormsgpack
import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer, _msgpack_enc
from langgraph.types import Send

import fast_serde
import lg_models as M
from fast_serde.langgraph import FastSerializer
from lg_helpers import _PARENT, RECONSTRUCTS, _DeltaSnapshot, check, ext, needs_delta, pair
from lg_probes import CONSTRUCTED, THIS, ProbeData, ProbeModel, _allowed_list, _compare_logged
from lg_strategies import assert_same


def test_send_payload_constructed_and_evented_once(caplog: pytest.LogCaptureFixture) -> None:
    data = JsonPlusSerializer().dumps_typed(Send("node", ProbeModel(x=5)))
    _compare_logged(caplog, {}, data)


def test_send_payload_constructed_once_when_allowed() -> None:
    data = JsonPlusSerializer().dumps_typed(Send("node", [ProbeModel(x=5), ProbeData(1)]))
    f = FastSerializer(allowed_msgpack_modules=_allowed_list())
    CONSTRUCTED.clear()
    f.loads_typed(data)
    assert CONSTRUCTED == [("ProbeModel", {"x": 5, "tag": ""}), ("ProbeData", 1)]


def test_failing_constructor_events_once(caplog: pytest.LogCaptureFixture) -> None:
    # ProbeEnum(99) raises ValueError: an enum member removed since the checkpoint was written.
    data = ("msgpack", ext(0, _msgpack_enc((THIS, "ProbeEnum", 99))))
    out, events, _ = _compare_logged(caplog, {}, data)
    assert out == ("ok", 99 if RECONSTRUCTS else None)


def test_blocked_method_argument_decoded_once(caplog: pytest.LogCaptureFixture) -> None:
    data = ("msgpack", ext(3, _msgpack_enc(("builtins", "print", ProbeModel(x=1), "__call__"))))
    CONSTRUCTED.clear()
    _compare_logged(caplog, {}, data)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(ext(4, _msgpack_enc(("uuid", "UUID"))), id="ext4-two-items-IndexError"),
        pytest.param(ext(5, _msgpack_enc(("uuid", "UUID"))), id="ext5-two-items-IndexError"),
        pytest.param(ext(5, ormsgpack.packb(0)), id="ext5-int-payload-TypeError"),
        pytest.param(ext(4, ormsgpack.packb(0)), id="ext4-int-payload-TypeError"),
    ],
)
def test_ext_hook_exception_is_value_error(data: bytes) -> None:
    data = ("msgpack", data)
    j, f = pair()
    with pytest.raises(ValueError):
        j.loads_typed(data)
    with pytest.raises(ValueError):
        f.loads_typed(data)


@needs_delta
def test_malformed_delta_snapshot_payload_is_decode_error() -> None:
    data = ("msgpack", ext(7, b"\xc1"))
    with pytest.raises(ValueError):
        JsonPlusSerializer().loads_typed(data)
    with pytest.raises(fast_serde.DecodeError):
        FastSerializer().loads_typed(data)


def test_ext_map_key_rejected_like_parent() -> None:
    data = ("msgpack", b"\x81" + _msgpack_enc(uuid.UUID(int=1)) + b"\x01")
    with pytest.raises(ValueError):
        JsonPlusSerializer().loads_typed(data)
    with pytest.raises(fast_serde.DecodeError):
        FastSerializer().loads_typed(data)


@pytest.mark.parametrize("code", [0, 1, 2, 3, 5])
def test_error_in_nested_delegated_ext_is_swallowed_like_parent(code: int) -> None:
    """An error from the parent's hook for an ext nested inside a natively read ext payload (a
    malformed ext 7) is caught by the enclosing ext, like the parent's hook does (-> None)."""
    items = [ormsgpack.packb("lg_models"), ormsgpack.packb("Point"), ext(7, b"\xc1")]
    if code in (3, 5):
        items.append(ormsgpack.packb("fromisoformat"))
    data = ("msgpack", ext(code, bytes([0x90 + len(items)]) + b"".join(items)))
    j, f = pair(allowed_msgpack_modules=None)
    assert j.loads_typed(data) is None
    assert f.loads_typed(data) is None


def _nest(n: int, leaf: Any) -> Any:
    for _ in range(n):
        leaf = [leaf]
    return leaf


# Types whose payload the parent packs with a fresh ormsgpack call (its own 255-level budget).
EXT_BOUNDARIES = [
    pytest.param(lambda v: M.AnyModel(value=v), id="pydantic"),
    pytest.param(lambda v: Send("n", v), id="Send"),
    pytest.param(lambda v: M.AnyBox(v), id="dataclass"),
    pytest.param(lambda v: M.Pair(v), id="namedtuple"),
    pytest.param(lambda v: _DeltaSnapshot(v), id="DeltaSnapshot", marks=needs_delta),
]


@pytest.mark.parametrize("wrap", EXT_BOUNDARIES)
def test_depth_limit_is_per_ext_payload_when_writing(wrap: Any) -> None:
    """The parent packs each ext payload with a fresh ormsgpack call: 255 levels on each side."""
    value = _nest(130, wrap(_nest(130, 1)))
    j, f = pair()
    assert f.dumps_typed(value) == j.dumps_typed(value)


@pytest.mark.parametrize("wrap", EXT_BOUNDARIES)
def test_depth_limit_is_per_ext_payload_when_reading(wrap: Any) -> None:
    """Bytes the parent writes (and reads) for 130 + ext + 130 levels are read by fast too."""
    value = _nest(130, wrap(_nest(130, 1)))
    j, f = pair()
    data = j.dumps_typed(value)
    assert_same(f.loads_typed(data), j.loads_typed(data))


def _chain(n: int, wrap: Any) -> Any:
    v: Any = 1
    for _ in range(n):
        v = wrap(v)
    return v


def _longest_chain_the_parent_writes(j: Any, wrap: Any, want: int) -> int:
    """``want``, or the longest chain under it that the installed parent writes: its writer stops
    at Python's recursion limit, ~495 levels on 3.11+, ~330 on 3.10 (where each level costs more
    of it)."""
    def writes(n: int) -> bool:
        try:
            j.dumps_typed(_chain(n, wrap))
        except TypeError:
            return False
        return True

    if writes(want):
        return want
    lo, hi = 1, want  # writes(lo), not writes(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if writes(mid) else (lo, mid)
    return lo


@pytest.mark.parametrize("wrap", EXT_BOUNDARIES[1:])
def test_long_ext_chains_the_parent_can_write(wrap: Any) -> None:
    """400 ext payloads nested in each other, or as many as the installed parent writes if fewer:
    identical bytes, same objects."""
    allowed = {"allowed_msgpack_modules": [("lg_models", "AnyBox"), ("lg_models", "Pair")]}
    j, f = pair(**allowed)
    n = _longest_chain_the_parent_writes(j, wrap, 400)
    assert n >= 300, f"the parent writes only {n} nested ext payloads"
    value = _chain(n, wrap)
    data = j.dumps_typed(value)
    assert f.dumps_typed(value) == data
    rf, rj = f.loads_typed(data), j.loads_typed(data)
    for _ in range(n):
        assert type(rf) is type(rj)
        rf = rf.value if hasattr(rf, "value") else rf.arg if hasattr(rf, "arg") else rf[0]
        rj = rj.value if hasattr(rj, "value") else rj.arg if hasattr(rj, "arg") else rj[0]
    assert rf == rj == 1


@pytest.mark.parametrize("wrap", EXT_BOUNDARIES)
def test_depth_below_limit_across_ext_like_parent(wrap: Any) -> None:
    check(_nest(120, wrap(_nest(120, 1))), _PARENT)


def test_depth_limit_plain_like_parent() -> None:
    j, f = pair()
    assert f.dumps_typed(_nest(255, 1)) == j.dumps_typed(_nest(255, 1))
    assert_same(f.loads_typed(j.dumps_typed(_nest(255, 1))), _nest(255, 1))
    with pytest.raises(TypeError):
        j.dumps_typed(_nest(256, 1))
    with pytest.raises(fast_serde.EncodeError):
        f.dumps_typed(_nest(256, 1))


def test_decode_depth_limit_documented_difference() -> None:
    """fast_serde reads at most MAX_DEPTH (255) levels in one payload (documented); ormsgpack
    reads deeper input that no JsonPlusSerializer can have written (its writer stops at 255)."""
    data = ("msgpack", b"\x91" * 300 + b"\x01")
    assert JsonPlusSerializer().loads_typed(data) == _nest(300, 1)
    with pytest.raises(fast_serde.DecodeError):
        FastSerializer().loads_typed(data)
