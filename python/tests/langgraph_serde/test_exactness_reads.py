"""FastSerializer against JsonPlusSerializer on read: trusted restore under an allowlist and
crafted payloads (trailing bytes, unusual shapes, out-of-range UUIDs, deep ext chains).

Each test compares with the installed JsonPlusSerializer and failed before its fix.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import uuid
from typing import Any, Optional

import ormsgpack
import pytest
from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel, ConfigDict

import fast_serde
from exactness_helpers import outcome, same_as_parent
from fast_serde.langgraph import FastSerializer
from lg_strategies import assert_same


# --- 2. validate_models=False under every allowlist mode -----------------------------------


class OptTuple(BaseModel):
    t: Optional[tuple] = None


class Plain(BaseModel):
    s: str = ""
    n: Optional[int] = None
    tags: list[str] = []
    meta: dict[str, Any] = {}
    kind: Any = None


class WithNested(BaseModel):
    p: Plain = Plain()
    q: Optional[Plain] = None


class Stripped(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    s: str = ""


ALLOW_MODES = ["permissive", "explicit", "strict"]


def allow_kw(mode: str, *classes: type) -> dict[str, Any]:
    if mode == "permissive":
        return {}
    if mode == "strict":
        return {"allowed_msgpack_modules": None}
    return {"allowed_msgpack_modules": [(c.__module__, c.__name__) for c in classes]}


TRUSTED_SEQUENCES = [
    pytest.param(lambda: [OptTuple(), OptTuple(t=(1, 2)), OptTuple(t=())], id="optional-tuple"),
    pytest.param(
        lambda: [Plain(s="a"), Plain.model_construct(s=5), Plain.model_construct(n=True), Plain.model_construct(tags=("x",))],
        id="plain-then-coerced",
    ),
    pytest.param(
        lambda: [WithNested(), WithNested.model_construct(p={"s": "dict"}), WithNested(q=Plain(n=1))],
        id="nested-model-then-dict",
    ),
    pytest.param(lambda: [Stripped(s="a"), Stripped.model_construct(s="  b ")], id="config-strip"),
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic serializer warnings on both sides
@pytest.mark.parametrize("mode", ALLOW_MODES)
@pytest.mark.parametrize("make", TRUSTED_SEQUENCES)
def test_trusted_restore_is_validation_under_every_allowlist(make: Any, mode: str) -> None:
    kw = allow_kw(mode, OptTuple, Plain, WithNested, Stripped)
    j = JsonPlusSerializer(**kw)
    f = FastSerializer(validate_models=False, **kw)
    for _ in range(2):
        for value in make():
            data = j.dumps_typed(value)
            assert_same(f.loads_typed(data), j.loads_typed(data))


def test_trusted_rule_is_read_from_the_schema() -> None:
    from fast_serde.langgraph._trusted import trusted_model

    assert trusted_model(Plain) is not None
    assert trusted_model(WithNested) is not None
    assert trusted_model(OptTuple) is None  # a tuple is built from the decoded list
    assert trusted_model(Stripped) is None  # a config that changes exact-type strs
    from langchain_core.messages import AIMessage, AIMessageChunk

    # Model validators: validated, unless the verified table of LangChain's message classes
    # proves that validating the class's own model_dump() gives it back (test_verified_properties.py).
    assert trusted_model(AIMessage) is not None
    assert trusted_model(AIMessageChunk) is None


# --- 9. crafted payloads ----------------------------------------------------------------------


class Counted:
    calls = 0

    def __init__(self, x: Any = None) -> None:
        Counted.calls += 1
        self.x = x

    def __eq__(self, other: object) -> bool:
        return type(other) is Counted and other.x == self.x


def _trailing_chain(levels: int) -> bytes:
    blob = ormsgpack.packb(None)
    head = b"\x93" + ormsgpack.packb(__name__) + ormsgpack.packb("Counted")
    for _ in range(levels):
        blob = ormsgpack.packb(ormsgpack.Ext(0, head + blob + b"\xc0"))  # one trailing byte
    return blob


def test_trailing_bytes_in_payloads_build_each_object_once() -> None:
    data = _trailing_chain(300)
    events: list[Any] = []
    unregister = register_serde_event_listener(events.append)
    counts = []
    try:
        logging.disable(logging.WARNING)
        for serde in (JsonPlusSerializer(), FastSerializer()):
            Counted.calls, events[:] = 0, []
            loaded = serde.loads_typed(("msgpack", data))
            counts.append((Counted.calls, len(events), loaded))
    finally:
        logging.disable(logging.NOTSET)
        unregister()
    (jc, je, jl), (fc, fe, fl) = counts
    assert (fc, fe) == (jc, je) == (300, 300)
    assert fl == jl


UNUSUAL_PAYLOADS = [
    pytest.param(0, [__name__, "Counted", 1, "extra"], id="four-items-code0"),
    pytest.param(0, ["abc"], id="one-item"),
    pytest.param(0, "ab" + "c", id="str-payload"),
    pytest.param(1, [__name__, "Counted", [1], None], id="four-items-code1"),
    pytest.param(2, {"a": 1}, id="dict-payload"),
    pytest.param(3, ["datetime", "datetime", "2024-01-02", 5], id="method-not-str"),
    pytest.param(3, ["datetime", "datetime", "2024-01-02"], id="method-missing"),
    pytest.param(5, None, id="v2-nil"),
    pytest.param(5, ["lg_models", "Address", {"city": "x"}], id="v2-three-items"),
    pytest.param(5, [1, 2, 3, 4], id="v2-int-names"),
    pytest.param(4, ["lg_models", "V1Model", {"name": "n"}, "x"], id="v1-four-items"),
    pytest.param(0, [["list"], "name", 1], id="unhashable-module"),
]


@pytest.mark.parametrize(("code", "payload"), UNUSUAL_PAYLOADS)
@pytest.mark.parametrize("mode", ALLOW_MODES)
def test_unusual_payloads_never_reach_ormsgpack(code: int, payload: Any, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = ormsgpack.packb([ormsgpack.Ext(code, ormsgpack.packb(payload)), 1])
    kw = allow_kw(mode, Counted)
    logging.disable(logging.WARNING)
    try:
        expected = outcome(JsonPlusSerializer(**kw).loads_typed, ("msgpack", data))
        f = FastSerializer(**kw)
        # The native reader answers alone: ormsgpack is never handed the payload.
        monkeypatch.setattr(ormsgpack, "unpackb", _forbidden)
        got = outcome(f.loads_typed, ("msgpack", data))
    finally:
        logging.disable(logging.NOTSET)
    assert got[0] == expected[0], (got, expected)
    if got[0] == "ok":
        assert_same(got[1], expected[1])


def _forbidden(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("ormsgpack.unpackb called")


@pytest.mark.parametrize("value", [1 << 128, -5, (1 << 200) + 7, (1 << 128) - 1, 0])
def test_uuid_with_an_int_out_of_range(value: int) -> None:
    u = uuid.UUID(int=1)
    object.__setattr__(u, "int", value)
    same_as_parent(u)
    same_as_parent({"u": [u]})


def test_deep_ext_chains_documented_limit() -> None:
    """JsonPlusSerializer's depth for nested ext values follows the interpreter's recursion limit
    (and ends in a crash when it is raised far enough); fast-serde writes up to MAX_TOTAL_DEPTH
    levels of containers in all and refuses deeper with EncodeError (docs/format.md)."""

    @dataclasses.dataclass
    class Node:
        child: Any = None

    sys.modules[__name__].Node = Node  # type: ignore[attr-defined]
    chain: Any = None
    for _ in range(fast_serde.MAX_TOTAL_DEPTH):
        chain = Node(chain)
    with pytest.raises(fast_serde.EncodeError):
        FastSerializer().dumps_typed(chain)
    chain = None
    for _ in range(200):
        chain = Node(chain)
    same_as_parent(chain)
