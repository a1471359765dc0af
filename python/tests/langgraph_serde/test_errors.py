"""6. Errors: unwritable values (EncodeError naming the path; pickle_fallback as the parent),
cycles, malformed MessagePack and trailing bytes (DecodeError), classes that cannot be imported or
built, odd ext payloads."""

from __future__ import annotations

import pickle
import uuid
from typing import Any

import numpy as np
import ormsgpack
import pytest
from langgraph.checkpoint.serde.jsonplus import _msgpack_enc

import fast_serde
import lg_models as M
from lg_helpers import assert_same_outcome, ext, outcome, pair, run_logged
from lg_strategies import assert_same


class Unserializable:
    pass


ERROR_CASES = [
    pytest.param(lambda: {"a": [Unserializable()]}, ["Unserializable", "$['a'][0]"], id="dict-list"),
    pytest.param(lambda: [1, {"k": {2: object()}}], ["object", "$[1]['k'][2]"], id="int-key"),
    pytest.param(lambda: {(1, "x"): [None, Unserializable()]}, ["Unserializable", "$[(1, 'x')][1]"], id="tuple-key"),
    pytest.param(lambda: M.AnyModel(value={"z": [1, Unserializable()]}), ["Unserializable", ".value['z'][1]"], id="inside-model"),
    pytest.param(lambda: {"n": 2**64}, ["$['n']"], id="int-too-big"),
    pytest.param(lambda: {"c": 1j}, ["complex", "$['c']"], id="complex"),
    pytest.param(lambda: [np.float64(1.0)], ["float64"], id="numpy-scalar"),
    pytest.param(lambda: {"f": lambda: 1}, ["function", "$['f']"], id="lambda"),
    pytest.param(lambda: [M.Point(1, Unserializable())], ["Unserializable", "$[0]"], id="inside-dataclass"),
    pytest.param(lambda: {"a": np.array(["2024-01-01"], dtype="datetime64[s]")}, ["ndarray", "$['a']"], id="numpy-datetime64"),
    pytest.param(lambda: {"\ud800": 1}, ["$"], id="surrogate-key"),
    pytest.param(lambda: {"m": M.WithSerializer.model_construct(when="not-a-datetime")}, ["WithSerializer"], id="model_dump-raises"),
]


@pytest.mark.parametrize(("factory", "needles"), ERROR_CASES)
def test_unserializable_raises_encode_error_with_path(factory: Any, needles: list[str]) -> None:
    j, f = pair()
    with pytest.raises(TypeError):
        j.dumps_typed(factory())
    with pytest.raises(fast_serde.EncodeError) as ef:
        f.dumps_typed(factory())
    assert isinstance(ef.value, TypeError)
    for needle in needles:
        assert needle in str(ef.value), (needle, str(ef.value))


@pytest.mark.parametrize(("factory", "needles"), ERROR_CASES)
def test_pickle_fallback_like_parent(factory: Any, needles: list[str]) -> None:
    value = factory()
    j, f = pair(pickle_fallback=True)
    tj, tf = outcome(j.dumps_typed, value), outcome(f.dumps_typed, value)
    if tj[0] == "raise":  # e.g. a lambda cannot be pickled either: both raise
        assert tf[0] == "raise"
        return
    assert tf == tj and tj[1][0] == "pickle"
    loaded = f.loads_typed(tf[1])
    assert type(loaded) is type(value)
    assert pickle.dumps(loaded) == pickle.dumps(j.loads_typed(tj[1]))


def test_cycle_raises() -> None:
    a: list[Any] = []
    a.append(a)
    j, f = pair()
    with pytest.raises(TypeError):
        j.dumps_typed(a)
    with pytest.raises(fast_serde.EncodeError):
        f.dumps_typed(a)


MALFORMED = [
    pytest.param(b"", id="empty"),
    pytest.param(b"\xc1", id="reserved-0xc1"),
    pytest.param(b"\x93\x01\x02", id="truncated-array"),
    pytest.param(b"\xa5abc", id="truncated-str"),
    pytest.param(b"\xdd\xff\xff\xff\xff", id="huge-array-length"),
    pytest.param(b"\xa2\xff\xfe", id="invalid-utf8"),
    pytest.param(b"\x81\x81\x01\x01\x01", id="map-as-key"),
    pytest.param(b"\xc7\x05\x05\x01", id="truncated-ext"),
]


@pytest.mark.parametrize("data", MALFORMED)
def test_malformed_msgpack_raises_decode_error(data: bytes) -> None:
    j, f = pair()
    with pytest.raises(ValueError):
        j.loads_typed(("msgpack", data))
    with pytest.raises(fast_serde.DecodeError):
        f.loads_typed(("msgpack", data))


@pytest.mark.parametrize("suffix", [b"\x00", b"\xc0", b"\x81\xa1a\x01", b"\xc1"])
def test_trailing_bytes_raise_decode_error_deliberately(suffix: bytes) -> None:
    j, f = pair()
    _, data = j.dumps_typed({"u": uuid.UUID(int=1)})
    assert j.loads_typed(("msgpack", data + suffix)) == {"u": uuid.UUID(int=1)}  # the parent ignores them
    with pytest.raises(fast_serde.DecodeError, match="trailing"):
        f.loads_typed(("msgpack", data + suffix))


def test_decode_error_is_value_error() -> None:
    assert issubclass(fast_serde.DecodeError, ValueError)
    assert issubclass(fast_serde.EncodeError, TypeError)


def test_pydantic_class_not_importable_returns_kwargs_like_parent() -> None:
    for payload in [
        ("no_such_module_xyz", "Gone", {"a": 1, "b": [uuid.UUID(int=2)]}, "model_validate_json"),
        ("lg_models", "Gone", {"a": 1}, "model_validate_json"),
        ("lg_models", "Box[int]", {"item": 1}, "model_validate_json"),
    ]:
        data = ("msgpack", ext(5, _msgpack_enc(payload)))
        for mode in ({}, {"allowed_msgpack_modules": None}, {"allowed_msgpack_modules": [tuple(payload[:2])]}):
            j, f = pair(**mode)
            rf = f.loads_typed(data)
            assert_same(rf, j.loads_typed(data))
            assert_same(rf, payload[2])


def test_pydantic_construction_fallback_like_parent() -> None:
    """cls(**kw) fails -> cls.model_construct(**kw); both fail -> the kwargs dict."""
    for payload in [
        ("lg_models", "Address", {"city": 5, "zip": ["bad"]}, "model_validate_json"),  # model_construct
        ("lg_models", "ForbidComputed", {"a": 1, "double": 2}, "model_validate_json"),
        ("lg_models", "Point", {"x": 1, "y": 2}, "model_validate_json"),  # a dataclass under ext 5
        ("lg_models", "IntList", [1, 2], "model_validate_json"),  # not a dict
        ("lg_models", "Color", {"a": 1}, "model_validate_json"),  # not a model at all
    ]:
        data = ("msgpack", ext(5, _msgpack_enc(payload)))
        j, f = pair()
        assert_same(f.loads_typed(data), j.loads_typed(data))


EXT_ODDITIES = [
    pytest.param(ext(0, ormsgpack.packb(5)), id="ext0-int-payload"),
    pytest.param(ext(0, ormsgpack.packb("abc")), id="ext0-str-payload"),
    pytest.param(ext(1, ormsgpack.packb({"a": 1})), id="ext1-map-payload"),
    pytest.param(ext(2, b""), id="ext2-empty"),
    pytest.param(ext(3, b"\xc1"), id="ext3-garbage"),
    pytest.param(ext(5, ormsgpack.packb(None)), id="ext5-nil-payload"),
    pytest.param(ext(6, b"\x01"), id="ext6-not-tuple"),
    pytest.param(ext(6, _msgpack_enc(("<i4", [2], "C", b"\x00" * 3))), id="ext6-short-buffer"),
    pytest.param(ext(0, _msgpack_enc(("uuid", "UUID"))), id="ext0-two-items"),
    pytest.param(ext(0, _msgpack_enc(("uuid", "UUID", "0" * 32, "extra"))), id="ext0-four-items"),
    pytest.param(ext(0, _msgpack_enc(("uuid", "UUID", "0" * 32)) + b"\x01"), id="ext0-trailing-in-payload"),
    pytest.param(ext(0, _msgpack_enc((1, "UUID", "x"))), id="ext0-module-int"),
    pytest.param(ext(1, _msgpack_enc(("builtins", "set", "abc"))), id="ext1-str-args"),
    pytest.param(ext(2, _msgpack_enc(("datetime", "timedelta", {1: 2}))), id="ext2-int-kwargs"),
    pytest.param(ext(2, _msgpack_enc(("datetime", "timedelta", [1]))), id="ext2-list-kwargs"),
    pytest.param(ext(5, _msgpack_enc(("langchain_core.messages.human", "HumanMessage", {"content": "x"}))), id="ext5-three-items"),
    pytest.param(ext(5, _msgpack_enc(("langchain_core.messages.human", "HumanMessage", {"content": "x"}, 5))), id="ext5-method-int"),
    pytest.param(ext(-1, b"\x00\x00\x00\x01"), id="timestamp-ext"),
    pytest.param(ext(8, b"\x01"), id="ext8-unknown"),
    pytest.param(ext(127, b""), id="ext127-empty"),
    pytest.param(b"\x92" + ext(0, b"\xc1") + ext(1, b""), id="odd-exts-in-array"),
    pytest.param(ext(7, _msgpack_enc(("uuid", "UUID"))), id="ext7-list"),
]


@pytest.mark.parametrize("data", EXT_ODDITIES)
@pytest.mark.parametrize("mode", [{}, {"allowed_msgpack_modules": None}])
def test_ext_payload_oddities_like_parent(caplog: pytest.LogCaptureFixture, data: bytes, mode: dict[str, Any]) -> None:
    keys = [("uuid", "UUID"), ("1", "UUID"), ("builtins", "set"), ("datetime", "timedelta")]
    j, f = pair(**mode)
    out_f, ev_f, log_f = run_logged(caplog, f, ("msgpack", data), keys)
    out_j, ev_j, log_j = run_logged(caplog, j, ("msgpack", data), keys)
    assert_same_outcome(out_f, out_j)
    assert ev_f == ev_j
    assert log_f == log_j
