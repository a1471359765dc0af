"""4. The type tags besides msgpack: null, bytes, bytearray, json (old checkpoints), pickle, unknown
tags."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from langchain_core.load import dumpd
from langchain_core.messages import AIMessage, HumanMessage

import lg_models as M
from fast_serde.langgraph import FastSerializer
from lg_helpers import assert_same_outcome, outcome, pair, param_id, run_logged
from lg_probes import CONSTRUCTED, THIS
from lg_strategies import assert_same


def test_tag_null_bytes_bytearray() -> None:
    j, f = pair()
    for v in (None, b"", b"\x00raw", bytearray(b"ba")):
        tj, tf = j.dumps_typed(v), f.dumps_typed(v)
        assert tf == tj and type(tf[1]) is type(tj[1])
        assert_same(f.loads_typed(tj), j.loads_typed(tf))
        assert_same(f.loads_typed(tf), v)
    assert f.loads_typed(("null", b"ignored")) is None
    assert_same(f.loads_typed(("bytearray", b"x")), bytearray(b"x"))


def _old_json_payloads() -> list[str]:
    return [
        json.dumps(dumpd(HumanMessage("x", id="h"))),
        json.dumps(dumpd([HumanMessage("x"), AIMessage("y", tool_calls=[{"name": "t", "args": {}, "id": "c"}])])),
        json.dumps({"k": [1, 2, {"z": None}]}),
        json.dumps({"lc": 2, "type": "constructor", "id": ["uuid", "UUID"], "args": ["12345678123456781234567812345678"]}),
        json.dumps({"lc": 2, "type": "constructor", "id": ["lg_models", "Address"], "kwargs": {"city": "Oslo"}}),
        json.dumps({"lc": 2, "type": "constructor", "id": [THIS, "ProbePlain"], "args": ["j"]}),
        json.dumps({"lc": 2, "type": "constructor", "id": ["builtins", "ValueError"], "args": ["e"]}),
    ]


@pytest.mark.parametrize("allowed_json", [None, True, [("lg_models", "Address")]])
@pytest.mark.parametrize("index", range(7))
def test_tag_json_like_parent(caplog: pytest.LogCaptureFixture, allowed_json: Any, index: int) -> None:
    payload = _old_json_payloads()[index].encode()
    j, f = pair(allowed_json_modules=allowed_json)
    out_f, _, log_f = run_logged(caplog, f, ("json", payload), [])
    calls_f = list(CONSTRUCTED)
    CONSTRUCTED.clear()
    out_j, _, log_j = run_logged(caplog, j, ("json", payload), [])
    assert_same_outcome(out_f, out_j)
    assert log_f == log_j and calls_f == CONSTRUCTED


def test_tag_json_message_revived() -> None:
    payload = json.dumps(dumpd(HumanMessage("x", id="h"))).encode()
    assert FastSerializer().loads_typed(("json", payload)) == HumanMessage("x", id="h")


def test_tag_pickle() -> None:
    value = {"fn": len, "obj": M.CustomError(1, "x"), "big": 2**70}
    j, f = pair(pickle_fallback=True)
    tj, tf = j.dumps_typed(value), f.dumps_typed(value)
    assert tf[0] == tj[0] == "pickle" and tf[1] == tj[1]
    rf = f.loads_typed(tj)
    assert rf["fn"] is len and rf["big"] == 2**70 and rf["obj"].code == 1
    # Without pickle_fallback the "pickle" tag is unknown, like the parent.
    jn, fn = pair()
    with pytest.raises(NotImplementedError) as ej:
        jn.loads_typed(tj)
    with pytest.raises(NotImplementedError) as ef:
        fn.loads_typed(tj)
    assert str(ef.value) == str(ej.value)


@pytest.mark.parametrize("tag", ["yaml", "", "MSGPACK", "msgpack+aes", "pickle "])
def test_unknown_tag_raises_like_parent(tag: str) -> None:
    j, f = pair(pickle_fallback=True)
    with pytest.raises(NotImplementedError) as ej:
        j.loads_typed((tag, b"\x01"))
    with pytest.raises(NotImplementedError) as ef:
        f.loads_typed((tag, b"\x01"))
    assert str(ef.value) == str(ej.value)


def test_msgpack_tag_accepts_memoryview_and_bytearray() -> None:
    j, f = pair()
    _, data = j.dumps_typed({"u": uuid.UUID(int=1), "m": HumanMessage("x")})
    expected = j.loads_typed(("msgpack", data))
    for buf in (bytearray(data), memoryview(data)):
        assert_same(f.loads_typed(("msgpack", buf)), expected)


# --- Finding 8 of issue 19: what loads_typed accepts, per tag, and its errors for the rest ---


class _Bytes(bytes):
    pass


class _ByteArray(bytearray):
    pass


def _released() -> memoryview:
    view = memoryview(b"\x91\x01")
    view.release()
    return view


_DOC = b"\x92\x01\xa1x"  # [1, "x"]
# Every input is the same document, in another container (or none).
_INPUTS: dict[str, Any] = {
    "bytes": lambda: _DOC,
    "bytearray": lambda: bytearray(_DOC),
    "memoryview": lambda: memoryview(_DOC),
    "memoryview slice": lambda: memoryview(b"\x00" + _DOC)[1:],
    "memoryview of a bytearray": lambda: memoryview(bytearray(_DOC)),
    "memoryview cast to 2-D": lambda: memoryview(_DOC).cast("B", (2, 2)),
    "memoryview of int32": lambda: memoryview(__import__("array").array("i", [int.from_bytes(_DOC, "little")])),
    "strided memoryview": lambda: memoryview(bytes(b for c in _DOC for b in (c, 0)))[::2],
    "released memoryview": _released,
    "bytes subclass": lambda: _Bytes(_DOC),
    "bytearray subclass": lambda: _ByteArray(_DOC),
    "array.array": lambda: __import__("array").array("B", _DOC),
    "str": lambda: _DOC.decode("latin-1"),
    "None": lambda: None,
    "int": lambda: 1,
    "list": lambda: list(_DOC),
}
# ormsgpack 1.12 (Python 3.10) reads a released memoryview's stale pointer; 1.13 refuses it.
_OLD_ORMSGPACK = tuple(int(p) for p in __import__("ormsgpack").__version__.split(".")[:2]) < (1, 13)


@pytest.mark.parametrize("kind", list(_INPUTS))
def test_msgpack_tag_input_types_like_parent(kind: str) -> None:
    if kind == "released memoryview" and _OLD_ORMSGPACK:
        pytest.skip("ormsgpack < 1.13 reads a released memoryview (undefined); FastSerializer refuses it")
    j, f = pair()
    out_j, out_f = outcome(j.loads_typed, ("msgpack", _INPUTS[kind]())), outcome(f.loads_typed, ("msgpack", _INPUTS[kind]()))
    assert out_f[0] == out_j[0], (out_f, out_j)
    if out_j[0] == "raise":
        assert type(out_f[1]) is type(out_j[1]) and str(out_f[1]) == str(out_j[1])
    else:
        assert_same(out_f[1], out_j[1])


@pytest.mark.parametrize(
    "data",
    [
        ("null", b"x"), ("null", None), ("bytes", "a str"), ("bytes", bytearray(b"b")), ("bytes", None),
        ("bytearray", b"b"), ("bytearray", "a str"), ("bytearray", None), ("bytearray", 3),
        ("json", b'{"a": [1]}'), ("json", bytearray(b"[1]")), ("json", "[1, 2]"), ("json", b"{"), ("json", None),
        ("pickle", __import__("pickle").dumps([1])), ("pickle", b"not a pickle"), ("pickle", None),
        ("msgpack", b""), ("unknown", b""), (None, b""), (1, b""),
        ("msgpack",), ("msgpack", b"\x90", "extra"), None, "ab",
    ],
    ids=param_id,
)
@pytest.mark.parametrize("pickle_fallback", [False, True])
def test_other_tags_and_shapes_like_parent(data: Any, pickle_fallback: bool) -> None:
    j, f = pair(pickle_fallback=pickle_fallback)
    out_j, out_f = outcome(j.loads_typed, data), outcome(f.loads_typed, data)
    assert out_f[0] == out_j[0], (out_f, out_j)
    if out_j[0] == "raise":
        # An empty msgpack input is fast_serde.DecodeError (a ValueError) with the offset.
        assert isinstance(out_f[1], type(out_j[1])), (out_f, out_j)
        if data != ("msgpack", b""):
            assert type(out_f[1]) is type(out_j[1]) and str(out_f[1]) == str(out_j[1])
    else:
        assert_same(out_f[1], out_j[1])


@pytest.mark.parametrize(
    "value",
    [None, b"", b"raw", _Bytes(b"sub"), bytearray(b"ba"), _ByteArray(b"sub"), memoryview(b"mv"), "s", 0, [b"x"]],
    ids=param_id,
)
def test_dumps_typed_tags_like_parent(value: Any) -> None:
    j, f = pair()
    tj, tf = j.dumps_typed(value), f.dumps_typed(value)
    assert tf[0] == tj[0] and bytes(tf[1]) == bytes(tj[1]) and type(tf[1]) is type(tj[1])
    assert_same(f.loads_typed(tj), j.loads_typed(tj))
