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

from typing import Annotated, Any

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel, Field
from typing_extensions import NotRequired, TypedDict

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
    assert _hits_loading_like_jsonplus(_ext5(cls, {"text": "hi"}), SHARED if mutate else None) == 0
    assert memo_model(cls) is (cls in (FieldTick, FieldShared))


def _hits_loading_like_jsonplus(data: tuple[str, bytes], shared: list[int] | None) -> int:
    """Load ``data`` LOADS times with a FastSerializer and with JsonPlusSerializer, the same
    objects each time (``shared`` changed in place before the last two); the memo's hits."""
    j, f = JsonPlusSerializer(), FastSerializer()
    try:
        for i in range(LOADS):
            if shared is not None and i == LOADS - 2:
                shared.append(99)
            before = COPIES["n"]
            got = f.loads_typed(data)
            COPIES["n"] = before  # JsonPlus's load starts from the same count
            ref = j.loads_typed(data)
            assert_same(got, ref)
            assert _state(got) == _state(ref)
    finally:
        if shared is not None:
            del shared[2:]
    return f.memo_stats()["hits"]


def test_a_payload_that_sets_every_field_is_still_served() -> None:
    """The fields' defaults never reach a payload JsonPlusSerializer wrote (``model_dump()``
    sets every field): those loads are memo hits, equal to JsonPlus's."""
    j, f = JsonPlusSerializer(), FastSerializer()
    data = j.dumps_typed(FieldShared(text="hi", items=[3]))
    for _ in range(LOADS):
        assert_same(f.loads_typed(data), j.loads_typed(data))
    assert f.memo_stats()["hits"] == LOADS - 2


# --- defaults below the model's own fields ------------------------------------------------------
# `every_field_set` keeps defaults of the model's own fields out of every template, but not those
# of a TypedDict's keys inside a field: a payload that sets every field can still leave a key out,
# and pydantic then deep-copies that key's default on every validation.

NESTED_SHARED: list[int] = [1, 2]


class _TickedKeys(TypedDict):
    a: int
    n: NotRequired[Annotated[Any, Field(default=Tick())]]


class _SharedKeys(TypedDict):
    a: int
    items: NotRequired[Annotated[list, Field(default=NESTED_SHARED)]]


class NestedTick(BaseModel):
    keys: _TickedKeys


class NestedShared(BaseModel):
    keys: _SharedKeys


NESTED = [
    ("a TypedDict key's default __deepcopy__", NestedTick, False),
    ("a TypedDict key's default changed in place", NestedShared, True),
]


@pytest.mark.parametrize(("label", "cls", "mutate"), NESTED, ids=[c[0] for c in NESTED])
def test_a_nested_default_pydantic_copies_is_copied_on_every_load(
    label: str, cls: type, mutate: bool
) -> None:
    data = _ext5(cls, {"keys": {"a": 1}})  # every field set; the key with a default left out
    assert _hits_loading_like_jsonplus(data, NESTED_SHARED if mutate else None) == 0
    assert memo_model(cls) is False


class _PlainKeys(TypedDict):
    a: int
    tag: NotRequired[Annotated[str, Field(default="x")]]


class NestedImmutable(BaseModel):
    keys: _PlainKeys
    items: list = NESTED_SHARED  # the model's own field: every_field_set covers it


def test_immutable_nested_defaults_and_the_models_own_defaults_are_still_served() -> None:
    j, f = JsonPlusSerializer(), FastSerializer()
    data = _ext5(NestedImmutable, {"keys": {"a": 1}, "items": [3]})
    for _ in range(LOADS):
        assert_same(f.loads_typed(data), j.loads_typed(data))
    assert memo_model(NestedImmutable) is True
    assert f.memo_stats()["hits"] == LOADS - 2
