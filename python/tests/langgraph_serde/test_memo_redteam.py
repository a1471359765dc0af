"""The memo rule (fast_serde.langgraph._purity.memo_model) tried as a hostile user would: each
class here is one the rule once admitted although validating it runs user code or reads state
the class's ``tp_version_tag`` does not follow. Every load is compared with JsonPlusSerializer
object for object, past the loads a memo hit would serve.

Defaults: pydantic returns a hashable default as is and deep-copies any other one per validation
(pydantic-core's ``default`` node with ``copy_default``; ``init_private_attributes`` through
``smart_deepcopy`` for private attributes). A ``__deepcopy__`` is user code, and a mutable
default changed in place changes what the next validation returns without touching the class.
"""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel

from fast_serde.langgraph import FastSerializer
from fast_serde.langgraph._purity import memo_model
from lg_strategies import assert_same
from test_memo_rule import _ext5  # an ext 5 that leaves fields out, as an earlier class wrote

LOADS = 6  # mark, keep a template, then four loads a memo hit would serve

COPIES = {"n": 0}


class Tick:
    """Unhashable, so pydantic deep-copies it: each copy is the next int."""

    __hash__ = None  # type: ignore[assignment]

    def __deepcopy__(self, memo: Any) -> int:
        COPIES["n"] += 1
        return COPIES["n"]


SHARED: list[int] = [1, 2]


class PrivateTick(BaseModel):
    text: str
    _n: int = Tick()  # type: ignore[assignment]


class PrivateShared(BaseModel):
    text: str
    _cache: list = SHARED


class FieldTick(BaseModel):
    text: str
    n: Any = Tick()


class FieldShared(BaseModel):
    text: str
    items: list = SHARED


def _state(obj: Any) -> tuple[Any, ...]:
    return (type(obj), obj.__dict__, obj.__pydantic_private__, obj.__pydantic_fields_set__)


CASES = [
    ("a private default's __deepcopy__", PrivateTick, False),
    ("a private default changed in place", PrivateShared, True),
    ("a field default's __deepcopy__", FieldTick, False),
    ("a field default changed in place", FieldShared, True),
]


@pytest.mark.parametrize(("label", "cls", "mutate"), CASES, ids=[c[0] for c in CASES])
def test_a_default_pydantic_copies_is_copied_on_every_load(
    label: str, cls: type, mutate: bool
) -> None:
    """Private attributes always take their defaults: the rule refuses a class whose private
    default is not immutable. A payload that leaves a field out (written by an earlier version
    of the class) gets its default: the memo keeps no template of it."""
    j, f = JsonPlusSerializer(), FastSerializer()
    data = _ext5(cls, {"text": "hi"})
    try:
        for i in range(LOADS):
            if mutate and i == LOADS - 2:
                SHARED.append(99)
            before = COPIES["n"]
            got = f.loads_typed(data)
            COPIES["n"] = before  # JsonPlus's load starts from the same count
            ref = j.loads_typed(data)
            assert_same(got, ref)
            assert _state(got) == _state(ref)
    finally:
        del SHARED[2:]
    assert f.memo_stats()["hits"] == 0
    assert memo_model(cls) is (cls in (FieldTick, FieldShared))


def test_a_payload_that_sets_every_field_is_still_served() -> None:
    """The fields' defaults never reach a payload JsonPlusSerializer wrote (``model_dump()``
    sets every field): those loads are memo hits, equal to JsonPlus's."""
    j, f = JsonPlusSerializer(), FastSerializer()
    data = j.dumps_typed(FieldShared(text="hi", items=[3]))
    for _ in range(LOADS):
        assert_same(f.loads_typed(data), j.loads_typed(data))
    assert f.memo_stats()["hits"] == LOADS - 2
