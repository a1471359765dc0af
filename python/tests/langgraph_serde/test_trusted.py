"""``validate_models=False`` (trusted restore) gives the objects the parent's validation gives: for
every message and pydantic case of test_types.py, and for sequences where a first object is
trusted and later ones would be changed by validation, under each allowlist mode."""

from __future__ import annotations

from typing import Any

import ormsgpack
import pydantic
import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

import lg_models as M
from fast_serde.langgraph import FastSerializer
from lg_helpers import _PARENT
from lg_strategies import assert_same
from test_types import MESSAGE_CASES, PYDANTIC_CASES


TRUSTED_CASES = [p for p in PYDANTIC_CASES + MESSAGE_CASES] + [
    pytest.param(lambda: M.Upper(s="abc"), _PARENT, id="validator-non-idempotent"),
    pytest.param(lambda: M.Clamped(n=3), _PARENT, id="validator-clamp"),
    pytest.param(lambda: M.FloatField(f=2.5, t=(1,)), _PARENT, id="float-tuple-datetime"),
]


ALLOWLIST_MODES = ["permissive", "explicit", "strict"]


def _names_in(data: bytes) -> set[tuple[str, str]]:
    """Every (module, name) the ext payloads of a msgpack blob name, nested ones included."""
    names: set[tuple[str, str]] = set()

    def hook(code: int, payload: bytes) -> Any:
        tup = ormsgpack.unpackb(payload, ext_hook=hook, option=ormsgpack.OPT_NON_STR_KEYS)
        if isinstance(tup, list) and len(tup) >= 2 and all(isinstance(x, str) for x in tup[:2]):
            names.add((tup[0], tup[1]))
        return None

    ormsgpack.unpackb(data, ext_hook=hook, option=ormsgpack.OPT_NON_STR_KEYS)
    return names


def allowlist_kw(mode: str, *blobs: bytes) -> dict[str, Any]:
    """Constructor arguments for an allowlist mode: the permissive default, an explicit
    `allowed_msgpack_modules` naming every class the blobs hold, or strict (safe types only)."""
    if mode == "permissive":
        return {}
    if mode == "strict":
        return {"allowed_msgpack_modules": None}
    names = set().union(*(_names_in(b) for b in blobs)) or {("no_such_module", "Nothing")}
    return {"allowed_msgpack_modules": sorted(names)}


@pytest.mark.parametrize("mode", ALLOWLIST_MODES)
@pytest.mark.parametrize(("factory", "expect"), TRUSTED_CASES)
def test_validate_models_false_gives_parent_objects(factory: Any, expect: Any, mode: str) -> None:
    """validate_models=False (trusted restore) must still give what the parent's validation gives."""
    value = factory()
    data = JsonPlusSerializer().dumps_typed(value)
    kw = allowlist_kw(mode, data[1])
    j = JsonPlusSerializer(**kw)
    f = FastSerializer(validate_models=False, **kw)
    assert f.dumps_typed(value) == data
    for _ in range(2):  # the per-class decision is taken on the first object
        assert_same(f.loads_typed(data), j.loads_typed(data))


def _mutated(model: pydantic.BaseModel, **changes: Any) -> pydantic.BaseModel:
    for k, v in changes.items():  # no validate_assignment: the parent re-validates on load
        object.__setattr__(model, k, v)
    return model


def _appended(model: M.Normalized, tag: str) -> M.Normalized:
    model.tags.append(tag)
    return model


TRUST_SEQUENCES = [
    pytest.param(lambda: [M.Normalized(tags=["a"]), _appended(M.Normalized(tags=["b", "a"]), "Z")], id="normalizing-validator"),
    pytest.param(lambda: [M.Clamped(n=1), _mutated(M.Clamped(n=1), n=99)], id="clamping-validator"),
    pytest.param(lambda: [M.Totalled(a=1, b=2), _mutated(M.Totalled(a=1, b=2), a=10)], id="model_validator-after"),
    pytest.param(lambda: [M.CountsInit(a=1), M.CountsInit(a=2)], id="__init__-override"),
    pytest.param(lambda: [M.Wrapped(n=1), _mutated(M.Wrapped(n=1), n=500)], id="wrap-validator"),
    pytest.param(lambda: [M.Address(city="a"), _mutated(M.Address(city="b"), city=5)], id="invalid-value-later"),
    pytest.param(lambda: [M.FloatField(f=1.5), _mutated(M.FloatField(), f=2, t=[1])], id="coercion-later"),
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic serializer warnings (parent side)
@pytest.mark.parametrize("mode", ALLOWLIST_MODES)
@pytest.mark.parametrize("factory", TRUST_SEQUENCES)
def test_validate_models_false_after_trusting_a_class(factory: Any, mode: str) -> None:
    """A first object that round-trips unchanged, then objects the parent's validation changes:
    validate_models=False must still give the parent's objects, whatever the allowlist (the class
    lookup, and with it the trust decision, is cached under an explicit or strict allowlist)."""
    values = factory()
    kw = allowlist_kw(mode, *(JsonPlusSerializer().dumps_typed(v)[1] for v in values))
    j = JsonPlusSerializer(**kw)
    f = FastSerializer(validate_models=False, **kw)
    for value in values:
        data = j.dumps_typed(value)
        assert f.dumps_typed(value) == data
        assert_same(f.loads_typed(data), j.loads_typed(data))
