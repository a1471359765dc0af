"""FastSerializer against JsonPlusSerializer: pydantic models written from their fields
(TypedDict fields, undeclared keys, shadowed extras).

Each test compares with the installed JsonPlusSerializer and failed before its fix.
"""

from __future__ import annotations

from typing import Optional

import pytest
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import NotRequired, TypedDict

from exactness_helpers import same_as_parent


# --- 3. TypedDict fields: model_dump() keeps only declared keys, in declared order -----------


class Inner(TypedDict):
    x: int


class TD(TypedDict):
    a: int
    b: NotRequired[Inner]


class OpenTD(TypedDict):
    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    a: int
    inner: NotRequired[TD]


class HasTD(BaseModel):
    td: TD
    many: list[TD] = []
    maybe: Optional[TD] = None
    by_key: dict[str, TD] = {}
    open: Optional[OpenTD] = None


def _typed_dict_cases() -> list[HasTD]:
    out = []
    s = HasTD(td={"a": 1})
    s.td["b_undeclared"] = 2  # type: ignore[typeddict-unknown-key]
    out.append(s)
    s = HasTD(td={"a": 1, "b": {"x": 1}})
    s.td["b"]["y"] = 5  # type: ignore[typeddict-unknown-key]
    out.append(s)
    s = HasTD(td={"a": 1}, many=[{"a": 1}, {"a": 2}])
    s.many[1]["zz"] = 0  # type: ignore[typeddict-unknown-key]
    out.append(s)
    s = HasTD(td={"a": 1}, maybe={"a": 3})
    s.maybe["q"] = 1  # type: ignore[index,typeddict-unknown-key]
    out.append(s)
    s = HasTD(td={"a": 1}, by_key={"k": {"a": 3}})
    s.by_key["k"]["q"] = 1  # type: ignore[typeddict-unknown-key]
    out.append(s)
    s = HasTD(td={"a": 1})
    object.__setattr__(s, "td", {"b": {"x": 1}, "a": 2})  # declared keys out of order
    out.append(s)
    s = HasTD(td={"a": 1}, open={"a": 1, "extra": 2, "inner": {"a": 1}})
    s.open["inner"]["undeclared"] = 1  # type: ignore[index]
    out.append(s)
    s = HasTD(td={"a": 1}, open={"a": 1})
    s.open["later"] = {"k": [1]}  # type: ignore[index] - extra="allow": written as it is
    out.append(s)
    out.append(HasTD(td={"a": 1, "b": {"x": 2}}, many=[{"a": 5}], maybe=None))  # plain
    return out


@pytest.mark.parametrize("value", _typed_dict_cases(), ids=lambda v: repr(v)[:60])
def test_typed_dict_fields_like_model_dump(value: HasTD) -> None:
    same_as_parent(value)


def test_langchain_tool_calls_with_an_undeclared_key() -> None:
    from langchain_core.messages import AIMessage

    m = AIMessage(content="", tool_calls=[{"name": "f", "args": {"a": 1}, "id": "1"}])
    m.tool_calls[0]["extra"] = {"k": 1}  # type: ignore[typeddict-unknown-key]
    same_as_parent(m)
    same_as_parent({"messages": [m, AIMessage(content="x", usage_metadata={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3})]})


# --- 6. extra="allow" with a validation alias, or an edited __pydantic_extra__ ---------------


class Aliased(BaseModel):
    model_config = ConfigDict(extra="allow")
    a: int = Field(0, validation_alias="A")


def test_extra_shadowing_a_field_is_written_once() -> None:
    v = Aliased(a=1)  # "a" is not the alias: it becomes an extra, beside the field a=0
    assert v.__dict__ == {"a": 0} and v.__pydantic_extra__ == {"a": 1}
    same_as_parent(v)
    w = Aliased(A=5)
    w.__pydantic_extra__["a"] = 7  # type: ignore[index]
    same_as_parent(w)
    same_as_parent(Aliased(A=5, b=6))  # a real extra beside: still the fast path's bytes
