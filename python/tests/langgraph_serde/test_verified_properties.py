"""The properties the verified table rests on: each class's validation depends on the payload
alone (same payload, type-exact equal results, state included), and a class whose verdict has
`restore` comes back unchanged from validating its own `model_dump()`.

`make test-langchain` runs the test_verified_*.py files on every release of
`_verified.RELEASES` (FAST_SERDE_LANGCHAIN_RELEASE names the one it installed).
"""

from __future__ import annotations

import copy

import langchain_core.messages as lcm
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fast_serde.langgraph import _trusted, _verified
from lg_strategies import assert_same
from verified_helpers import fresh_verdict_cache  # noqa: F401 - autouse fixture
from verified_helpers import CLASSES, RESTORED, SETTINGS, message_kwargs, validate_copy


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@SETTINGS
@given(data=st.data())
def test_validation_depends_on_the_payload_alone(cls: type, data: st.DataObject) -> None:
    """memo=True: the same payload validates to type-exact equal objects, fields set, extras and
    private state included, however often and after other payloads."""
    kw = data.draw(message_kwargs(cls))
    other = data.draw(message_kwargs(cls))
    first = validate_copy(cls, kw)
    validate_copy(cls, other)
    second = validate_copy(cls, kw)
    if isinstance(first, type):
        assert second is first
    else:
        assert_same(second, first)
        assert second.__pydantic_private__ is None and first.__pydantic_private__ is None


@pytest.mark.parametrize("cls", RESTORED, ids=lambda c: c.__name__)
@SETTINGS
@given(data=st.data())
def test_restore_validating_own_dump_is_identity(cls: type, data: st.DataObject) -> None:
    """restore=True: validating a validated object's own model_dump() gives back that dump as its
    __dict__, type for type, with every field set and no extras: what trusted restore builds."""
    x = validate_copy(cls, data.draw(message_kwargs(cls)))
    if isinstance(x, type):
        return
    dump = x.model_dump()
    y = cls(**copy.deepcopy(dump))
    assert_same(dict(y.__dict__), {k: v for k, v in dump.items() if k in cls.model_fields})
    assert y.model_fields_set == set(dump)
    assert y.__pydantic_extra__ == {k: v for k, v in dump.items() if k not in cls.model_fields}
    assert_same(cls(**copy.deepcopy(y.model_dump())), y)


def test_ai_message_chunk_is_not_restored() -> None:
    """restore=False for AIMessageChunk is needed: validating its own dump turns an invalid tool
    call whose args are a JSON object into a valid one."""
    x = lcm.AIMessageChunk(
        content="", invalid_tool_calls=[{"name": "f", "args": '{"a": 1}', "id": "1", "error": "bad"}]
    )
    y = lcm.AIMessageChunk(**x.model_dump())
    assert x.invalid_tool_calls and not x.tool_calls
    assert y.tool_calls and not y.invalid_tool_calls
    assert _verified.verified(lcm.AIMessageChunk) == _verified.Verified(True, False)
    assert _trusted.trusted_model(lcm.AIMessageChunk) is None
