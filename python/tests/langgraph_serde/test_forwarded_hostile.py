"""Hostile cases of the forwarded init shortcut (`_verified.forwarded_init`,
crates/fast-serde-core/src/langgraph/forward.rs) that gave another object or another warning than
JsonPlusSerializer's `cls(**payload)`; each failed before the review compared each reviewed
function's defaults with its source's and required the class's validator to be the one pydantic
built from its core schema.

1. A reviewed `__init__`'s `__defaults__` replaced: its code is unchanged, but
   `cls(**payload)` now takes the `content_blocks is not None` branch, which the shortcut skips
   (and which trusted restore's verdict does not hold for): the class is unverified now.
2. A validator set on the class that returns another object: pydantic's `BaseModel.__init__`
   warns with `stacklevel=2`, which the parent attributes to `Serializable.__init__`; the shortcut
   has no such frame. A validator not built from the class's core schema unverifies the class.
"""

from __future__ import annotations

import warnings
from typing import Any

import langchain_core.messages as lcm
import ormsgpack
import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde.langgraph import FastSerializer
from lg_strategies import assert_same
from verified_helpers import fresh_verdict_cache  # noqa: F401 - autouse fixture

MODES: list[dict[str, Any]] = [{"memo_bytes": 0}, {}, {"validate_models": False}]


def blob(cls: type, payload: dict[str, Any]) -> tuple[str, bytes]:
    ext = ormsgpack.packb([cls.__module__, cls.__qualname__, payload, "model_validate_json"])
    return "msgpack", ormsgpack.packb({"m": ormsgpack.Ext(5, ext)})


@pytest.mark.parametrize("kw", MODES, ids=str)
@pytest.mark.parametrize("owner", [lcm.AIMessage, lcm.BaseMessage], ids=lambda c: c.__name__)
def test_replaced_init_defaults_are_the_parents(
    owner: type, kw: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    typed = blob(lcm.AIMessage, {"content": "hi", "id": "x"})
    warm = FastSerializer(**kw)
    assert_same(warm.loads_typed(typed), JsonPlusSerializer().loads_typed(typed))
    init = vars(owner)["__init__"]
    monkeypatch.setattr(init, "__defaults__", (None, [{"type": "text", "text": "default"}]))
    expected = JsonPlusSerializer().loads_typed(typed)
    assert expected["m"].content == [{"type": "text", "text": "default"}]
    assert_same(FastSerializer(**kw).loads_typed(typed), expected)
    assert_same(warm.loads_typed(typed), expected)


def test_replaced_base_init_defaults_reach_tool_message(monkeypatch: pytest.MonkeyPatch) -> None:
    typed = blob(lcm.ToolMessage, {"content": "hi", "tool_call_id": "t"})
    monkeypatch.setattr(
        vars(lcm.BaseMessage)["__init__"], "__defaults__", (None, [{"type": "text", "text": "d"}])
    )
    expected = JsonPlusSerializer().loads_typed(typed)
    assert expected["m"].content == [{"type": "text", "text": "d"}]
    assert_same(FastSerializer(memo_bytes=0).loads_typed(typed), expected)


def _recorded(loads: Any, typed: tuple[str, bytes]) -> list[tuple[str, type, str, int]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loads(typed)
    return [(str(w.message), w.category, w.filename, w.lineno) for w in caught]


@pytest.mark.parametrize("kw", MODES, ids=str)
def test_validator_warning_is_attributed_as_the_parents(
    kw: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model's validator that returns another object: `BaseModel.__init__` warns with
    `stacklevel=2`, which the parent attributes to `Serializable.__init__`."""
    real = lcm.AIMessage.__pydantic_validator__

    class Other:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def validate_python(self, data: Any, **options: Any) -> Any:
            real.validate_python(data, **options)
            return lcm.AIMessage.model_construct(content="other")

    monkeypatch.setattr(lcm.AIMessage, "__pydantic_validator__", Other())
    typed = blob(lcm.AIMessage, {"content": "hi", "id": "x"})
    expected = _recorded(JsonPlusSerializer().loads_typed, typed)
    assert len(expected) == 1 and expected[0][2].endswith("serializable.py")
    assert _recorded(FastSerializer(**kw).loads_typed, typed) == expected
