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
from lg_helpers import assert_same_outcome, pair, run_logged
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
