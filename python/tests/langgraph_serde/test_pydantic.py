"""Pydantic edge cases: model_dump() against the object's own __dict__ (Any fields and extras holding
every kind of value, model_construct, values assigned after validation, validators), and which
classes take the __dict__ fast path."""

from __future__ import annotations

import collections
import datetime
import decimal
import ipaddress
import pathlib
import re
import uuid
from typing import Any, Optional

import numpy as np
import pydantic
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.types import Send

import lg_models as M
from lg_helpers import DT_US, UTC, outcome, pair
from lg_strategies import assert_same


class _AnyFields(pydantic.BaseModel):
    a: Any = None
    f: float = 0.0
    s: str = ""
    i: int = 0
    items: list = []
    t: tuple = ()
    o: Optional[M.Address] = None


def _with_dict_entry(m: pydantic.BaseModel, key: str, value: Any) -> pydantic.BaseModel:
    m.__dict__[key] = value
    return m


def _late_extra() -> pydantic.BaseModel:
    x = M.ExtraAllow(known=1)
    assert x.__pydantic_extra__ is not None
    x.__pydantic_extra__["late"] = M.Point(1, 2)
    return x


def _assigned(value: Any) -> pydantic.BaseModel:
    m = _AnyFields()
    m.a = value
    return m


class _MyStr(str):
    pass


class _MyDict(dict):  # type: ignore[type-arg]
    pass


_ANY_VALUES = [
    M.Pair(1, 2), M.CPair(1, [2]), M.Point(1, 2), M.Address(city="x"), {1, 2}, frozenset({"a"}),
    collections.deque([1]), pathlib.Path("/a"), uuid.UUID(int=1), DT_US, datetime.date(2020, 1, 1),
    M.Color.RED, M.Level.HIGH, M.Mood.SAD, decimal.Decimal("1.5"), np.arange(3), pydantic.SecretStr("x"),
    b"x", bytearray(b"x"), memoryview(b"mv"), _MyStr("x"), _MyDict(a=1), Send("n", 1), M.V1Inner(), ValueError("x"),
    (M.Point(1, 2),), [M.Address(city="c")], {"k": M.Pair(1)}, {"a": {"b": [M.Address(city="z")]}},
    float("nan"), UTC, ipaddress.IPv4Address("1.2.3.4"), datetime.time(1), datetime.timedelta(1),
    re.compile("a"), {(1, 2): M.Point(0, 0)}, {M.Color.RED: 1}, {uuid.UUID(int=2): [1]},
]

PYDANTIC_EDGE_CASES = (
    [pytest.param(lambda v=v: _AnyFields(a=v), id=f"Any-{i}-{type(v).__name__}") for i, v in enumerate(_ANY_VALUES)]
    + [pytest.param(lambda v=v: M.ExtraAllow(known=1, extra=v), id=f"extra-{i}-{type(v).__name__}") for i, v in enumerate(_ANY_VALUES)]
    + [
        pytest.param(lambda: M.Profile.model_construct(age=3), id="model_construct-missing-required"),
        pytest.param(lambda: _AnyFields.model_construct(f=1), id="model_construct-float-field-int"),
        pytest.param(lambda: _AnyFields.model_construct(items=(1, 2)), id="model_construct-list-field-tuple"),
        pytest.param(lambda: _AnyFields.model_construct(o={"city": "x"}), id="model_construct-model-field-dict"),
        pytest.param(lambda: _AnyFields.model_construct(s=_MyStr("x")), id="model_construct-str-subclass"),
        pytest.param(lambda: _AnyFields.model_construct(s=M.Mood.SAD), id="model_construct-str-field-enum"),
        pytest.param(lambda: _AnyFields.model_construct(i=True), id="model_construct-int-field-bool"),
        pytest.param(lambda: _AnyFields.model_construct(i=M.Level.HIGH), id="model_construct-int-field-intenum"),
        pytest.param(lambda: _with_dict_entry(_AnyFields(), "not_a_field", 1), id="non-field-in-__dict__"),
        pytest.param(lambda: _late_extra(), id="extra-added-after-validation"),
        pytest.param(lambda: _assigned(M.Point(1, 2)), id="assigned-dataclass-after-validation"),
        pytest.param(lambda: _assigned({"k": M.Address(city="a")}), id="assigned-model-after-validation"),
        pytest.param(lambda: M.ExtraAllow(z=1, known=2, b=3), id="extra-order"),
        pytest.param(lambda: _AnyFields(f=1, s=_MyStr("abc"), items=[(1, 2)], t=(1, [2])), id="validated-coercions"),
        pytest.param(lambda: M.FloatField(f=1, t=[1, 2], d="2024-01-01T00:00:00+02:00"), id="validated-float-tuple-datetime"),
        pytest.param(lambda: M.Upper(s="abc"), id="non-idempotent-validator"),
        pytest.param(lambda: M.Clamped(n=50), id="clamping-validator"),
    ]
)


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic serializer warnings (parent side)
@pytest.mark.parametrize("factory", PYDANTIC_EDGE_CASES)
def test_pydantic_edge_cases_like_parent(factory: Any) -> None:
    value = factory()
    j, f = pair()
    tj, tf = outcome(j.dumps_typed, value), outcome(f.dumps_typed, value)
    if tj[0] == "raise":
        assert tf[0] == "raise" and isinstance(tf[1], TypeError), tf
        return
    assert tf == tj
    assert_same(f.loads_typed(tj[1]), j.loads_typed(tj[1]))


@pytest.mark.xfail(
    strict=True,
    reason="fast-serde difference: the model __dict__ fast path skips model_dump(), so pydantic's "
    "serializer UserWarning for a wrongly typed field value (e.g. after model_construct) is not "
    "emitted (the bytes are the same)",
)
def test_pydantic_serializer_warnings_like_parent() -> None:
    import warnings

    value = _AnyFields.model_construct(s=5)
    caught = []
    for serde in pair():
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            serde.dumps_typed(value)
        caught.append([(x.category, str(x.message)) for x in w])
    assert caught[0], "the parent warns"
    assert caught[1] == caught[0]


# ---------------------------------------------------------------------------
# The __dict__ fast path: which classes take it
# ---------------------------------------------------------------------------


def test_langchain_messages_take_the_dict_fast_path():
    """Every message class of a typical state is written from its __dict__ (a class that loses
    the fast path still writes the same bytes, through model_dump(), only 2-5x slower)."""
    from langchain_core.messages import AIMessageChunk, FunctionMessage, ToolMessageChunk

    from fast_serde.langgraph._plans import PYDANTIC_V2_DICT, encode_plan, plain_model

    for cls in (AIMessage, HumanMessage, SystemMessage, ToolMessage, AIMessageChunk, FunctionMessage, ToolMessageChunk):
        assert plain_model(cls) is not None, cls
    assert encode_plan(ToolMessage(content="x", tool_call_id="1")).kind == PYDANTIC_V2_DICT


def test_a_model_whose_dict_is_a_property_is_not_read_directly():
    from fast_serde.langgraph._plans import plain_model

    class Shadowed(pydantic.BaseModel):
        x: int = 1

        @property
        def __dict__(self):  # type: ignore[override]
            return {"x": 2}

    assert plain_model(Shadowed) is None
