"""Trusted restore (`validate_models=False`) of the verified classes: JsonPlusSerializer's objects
under every allowlist mode, through the allowlist, and hand-made payloads validated unless they
are unchanged.

`make test-langchain` runs the test_verified_*.py files on every release of
`_verified.RELEASES` (FAST_SERDE_LANGCHAIN_RELEASE names the one it installed).
"""

from __future__ import annotations

import copy
import sys
import uuid
import warnings
from typing import Any

import langchain_core.messages as lcm
import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st
from langgraph.checkpoint.serde import _msgpack as _lg_msgpack
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph._internal import _serde as _lg_internal_serde

from fast_serde.langgraph import FastSerializer
from lg_strategies import assert_same
from verified_helpers import fresh_verdict_cache  # noqa: F401 - autouse fixture
from verified_helpers import CLASSES, SETTINGS, message_kwargs, tampered_tool_message, validate_copy


# -- trusted restore through FastSerializer ------------------------------------------------------

MODES = ["default", "explicit", "strict", "strict-env"]


def _serializers(mode: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    kw: dict[str, Any] = {}
    if mode == "explicit":
        kw["allowed_msgpack_modules"] = [("no_such_module", "Nothing")]
    elif mode == "strict":
        kw["allowed_msgpack_modules"] = None
    elif mode == "strict-env":  # LANGGRAPH_STRICT_MSGPACK=true, read at construction
        monkeypatch.setattr(_lg_msgpack, "STRICT_MSGPACK_ENABLED", True)
        monkeypatch.setattr(_lg_internal_serde, "STRICT_MSGPACK_ENABLED", True)
    return JsonPlusSerializer(**kw), FastSerializer(validate_models=False, **kw)


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic serializer warnings
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@SETTINGS
@given(data=st.data())
def test_trusted_restore_gives_the_parent_objects(
    cls: type, mode: str, data: st.DataObject
) -> None:
    """validate_models=False loads every message (restored or validated) as JsonPlusSerializer
    does, type for type with fields set, extras and private state, under each allowlist mode."""
    with pytest.MonkeyPatch.context() as mp:
        j, f = _serializers(mode, mp)
        x = validate_copy(cls, data.draw(message_kwargs(cls)))
        if isinstance(x, type):
            return
        value = {"messages": [x, x], "last": x}
        blob = j.dumps_typed(value)
        assert f.dumps_typed(value) == blob
        assert_same(f.loads_typed(blob), j.loads_typed(blob))


class _Validations:
    """Counts the runs of pydantic's `BaseModel.__init__` (every message's validation goes
    through it, called by the class or directly, forward.rs) with a profile hook, which changes no
    member the table watches."""

    def __init__(self) -> None:
        self.count = 0
        self._code = pydantic.BaseModel.__init__.__code__

    def _hook(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code is self._code:
            self.count += 1

    def run(self, fn: Any, *args: Any) -> Any:
        sys.setprofile(self._hook)
        try:
            return fn(*args)
        finally:
            sys.setprofile(None)


@pytest.mark.parametrize("mode", MODES)
def test_table_classes_are_restored_not_validated(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """validate_models=False restores a table class's payload written by the encoder without
    validating it, in every allowlist mode (messages are among the parent's safe types); a
    payload holding a value validation would coerce (an int tool_call_id) is validated, so it
    comes back as the parent's ("7"); validate_models=True validates both."""
    j, f = _serializers(mode, monkeypatch)
    clean = j.dumps_typed(lcm.ToolMessage("r", tool_call_id="c", id="m1"))
    counter = _Validations()
    for serde, blob, validations in (
        (f, clean, 0),
        (f, tampered_tool_message(), 1),
        (FastSerializer(memo_bytes=0), clean, 1),
    ):
        counter.count = 0
        got = counter.run(serde.loads_typed, blob)
        assert counter.count == validations
        assert_same(got, j.loads_typed(blob))
    assert f.loads_typed(tampered_tool_message()).tool_call_id == "7"


def test_restore_goes_through_the_allowlist(monkeypatch: pytest.MonkeyPatch) -> None:
    """A table class the allowlist blocks is returned as the parent returns it (its payload),
    never restored."""
    safe = _lg_msgpack.SAFE_MSGPACK_TYPES - {("langchain_core.messages.tool", "ToolMessage")}
    monkeypatch.setattr(_lg_msgpack, "SAFE_MSGPACK_TYPES", safe)
    blob = tampered_tool_message()
    for kw in ({"allowed_msgpack_modules": None}, {"allowed_msgpack_modules": [("x", "Y")]}):
        j = JsonPlusSerializer(**kw)
        f = FastSerializer(validate_models=False, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = j.loads_typed(blob)
            got = f.loads_typed(blob)
        assert isinstance(expected, dict)
        assert_same(got, expected)


# -- hand-made payloads: restored only where validation is the identity --------------------------


def _ext5(cls: type, payload: dict[str, Any]) -> tuple[str, bytes]:
    """An ext 5 document of `cls` with `payload`, written as JsonPlusSerializer's encoder writes
    one (its `_msgpack_enc`), but with a payload no encoder writes."""
    import ormsgpack
    from langgraph.checkpoint.serde.jsonplus import _msgpack_enc

    inner = _msgpack_enc([cls.__module__, cls.__name__, payload, "model_validate_json"])
    return "msgpack", ormsgpack.packb(ormsgpack.Ext(5, inner))


_AI = lcm.AIMessage(
    "x", id="a", tool_calls=[{"name": "t", "args": {"a": 1}, "id": "c1"}],
    usage_metadata={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3, "input_token_details": {"cache_read": 1, "eph": 2}},
).model_dump()
_RAW = {"tool_calls": [{"function": {"name": "x", "arguments": "{}"}, "id": "q", "type": "function"}]}
_CALL = _AI["tool_calls"][0]
_TOOL = lcm.ToolMessage("r", tool_call_id="c").model_dump()
_REMOVE = lcm.RemoveMessage(id="x").model_dump()

# (class, payload, restored by validate_models=False)
HAND_MADE = {
    "ai-dump": (lcm.AIMessage, _AI, True),
    "ai-id-int": (lcm.AIMessage, {**_AI, "id": 5}, False),
    "ai-id-uuid": (lcm.AIMessage, {**_AI, "id": uuid.UUID(int=5)}, False),
    "ai-call-id-int": (lcm.AIMessage, {**_AI, "tool_calls": [{**_CALL, "id": 5}]}, False),
    "ai-call-no-type": (lcm.AIMessage, {**_AI, "tool_calls": [{k: v for k, v in _CALL.items() if k != "type"}]}, False),
    "ai-call-extras": (lcm.AIMessage, {**_AI, "tool_calls": [{**_CALL, "extras": {}}]}, False),
    "ai-call-reordered": (lcm.AIMessage, {**_AI, "tool_calls": [dict(reversed(list(_CALL.items())))]}, False),
    "ai-raw-calls-parsed": (lcm.AIMessage, {**_AI, "tool_calls": [], "additional_kwargs": _RAW}, False),
    "ai-raw-calls-kept": (lcm.AIMessage, {**_AI, "additional_kwargs": _RAW}, True),
    "ai-usage-extra-first": (lcm.AIMessage, {**_AI, "usage_metadata": {"zz": 1, **_AI["usage_metadata"]}}, False),
    "ai-usage-extra-last": (lcm.AIMessage, {**_AI, "usage_metadata": {**_AI["usage_metadata"], "zz": 1}}, True),
    "ai-usage-bool": (lcm.AIMessage, {**_AI, "usage_metadata": {**_AI["usage_metadata"], "input_tokens": True}}, False),
    "ai-missing-field": (lcm.AIMessage, {k: v for k, v in _AI.items() if k != "name"}, False),
    "ai-extra-field": (lcm.AIMessage, {**_AI, "zz": 1}, False),
    "ai-other-type": (lcm.AIMessage, {**_AI, "type": "human"}, False),
    "ai-content-int-item": (lcm.AIMessage, {**_AI, "content": ["a", 1]}, False),
    "ai-content-bytes": (lcm.AIMessage, {**_AI, "content": b"x"}, False),
    "tool-dump": (lcm.ToolMessage, _TOOL, True),
    "tool-call-id-int": (lcm.ToolMessage, {**_TOOL, "tool_call_id": 7}, False),
    "tool-call-id-float": (lcm.ToolMessage, {**_TOOL, "tool_call_id": 7.5}, False),
    "tool-call-id-uuid": (lcm.ToolMessage, {**_TOOL, "tool_call_id": uuid.UUID(int=7)}, False),
    "tool-content-tuple": (lcm.ToolMessage, {**_TOOL, "content": ("a", "b")}, True),  # written as an array
    "tool-content-int": (lcm.ToolMessage, {**_TOOL, "content": 7}, False),
    "remove-dump": (lcm.RemoveMessage, _REMOVE, True),
    "remove-content-empty-list": (lcm.RemoveMessage, {**_REMOVE, "content": []}, False),
    "remove-content-truthy": (lcm.RemoveMessage, {**_REMOVE, "content": "a"}, False),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", HAND_MADE)
def test_hand_made_payloads_are_validated_unless_unchanged(case: str) -> None:
    """A payload no encoder writes is read as JsonPlusSerializer reads it (fallbacks included),
    and validate_models=False skips validation exactly for the ones it returns unchanged."""
    cls, payload, restored = HAND_MADE[case]
    blob = _ext5(cls, copy.deepcopy(payload))
    counter = _Validations()
    expected = JsonPlusSerializer().loads_typed(blob)
    got = counter.run(FastSerializer(validate_models=False).loads_typed, blob)
    assert_same(got, expected)
    if restored:
        assert counter.count == 0
    elif cls is not lcm.RemoveMessage or payload["content"] != "a":  # that one raises before
        assert counter.count == 1
