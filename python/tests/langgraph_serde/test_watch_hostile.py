"""Hostile changes made after the first load that the watched set (watch.rs, `_verified.Dep`)
does not see, or sees but decides again on what did not change: each load must still return what
JsonPlusSerializer returns for the same bytes in the same process.

Found by a hostile pass on the watched set; each failed before `_verified._reached_deps` (one step
past a reviewed function's module globals: a module's attributes its code names, a class's
attributes and its metaclass's `__call__`, another library's function's code) or before
`_review._Sources` compared a reviewed function's code with what its file compiles to.
"""

from __future__ import annotations

import uuid
from typing import Any

import langchain_core.messages as lcm
import langchain_core.messages.tool as tool_mod
import pydantic
import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde.langgraph import FastSerializer
from lg_strategies import assert_same
from test_trusted_hostile import PATCHES, _AI, _HUMAN, _TOOL, _load, assert_parent_load, ext5

AI = lcm.AIMessage(content="x", tool_calls=[{"name": "f", "args": {"a": 1}, "id": "c1"}])
SETTINGS = [{}, {"validate_models": False}]

def _blob(obj: Any) -> bytes:
    kind, blob = JsonPlusSerializer().dumps_typed(obj)
    assert kind == "msgpack"
    return blob


@pytest.mark.parametrize("settings", SETTINGS, ids=["memo", "trusted"])
def test_typed_dict_metaclass_call_replaced_after_first_load(
    settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tool_call()` (reviewed, read by AIMessage's validator) builds its result with
    `ToolCall(...)`, which runs the TypedDict metaclass's `__call__` (`dict`). The watched set
    holds `ToolCall` by identity only: neither typing_extensions' `_TypedDictMeta.__call__` nor
    its tag is watched, so the memo and trusted restore keep serving the result of before."""
    blob = _blob(AI)
    fast = FastSerializer(**settings)
    parent = JsonPlusSerializer()
    for _ in range(2):
        assert_parent_load(blob, fast, parent)
    meta = type(tool_mod.ToolCall)
    monkeypatch.setattr(meta, "__call__", staticmethod(lambda **kw: dict(kw, args={"patched": 1})))
    assert_parent_load(blob, fast, parent)


def test_code_replaced_by_other_bytecode_at_the_same_source_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`tool_call.__code__` replaced in place by other bytecode that keeps `co_filename` and
    `co_firstlineno`: the watch sees the change, and the table, deciding again, finds that the
    code is not what the file compiles to (`_review._Sources`: the file's text alone read the
    same), so AIMessage is validated, as the parent validates it (name and id now swapped)."""
    blob = _blob(AI)
    fast = FastSerializer(validate_models=False)
    parent = JsonPlusSerializer()
    for _ in range(2):
        assert_parent_load(blob, fast, parent)
    func = tool_mod.tool_call
    code = func.__code__
    keys = ("name", "args", "id", "type")
    assert keys in code.co_consts
    swapped = ("id", "args", "name", "type")
    forged = code.replace(co_consts=tuple(swapped if c == keys else c for c in code.co_consts))
    monkeypatch.setattr(func, "__code__", forged)
    assert_parent_load(blob, fast, parent)


@pytest.mark.parametrize("settings", SETTINGS, ids=["memo", "trusted"])
def test_attribute_of_a_watched_module_global_replaced_after_first_load(
    settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AIMessageChunk's after-validator parses each tool call chunk's args with
    `parse_partial_json`, which calls `json.loads` through its module global `json`. The watched
    set holds `json` (the module) by identity, not the attributes read from it: once the memo
    kept the payload, a replaced `json.loads` is not seen (default settings)."""
    import json

    chunk = lcm.AIMessageChunk(
        content="c",
        id="x1",
        tool_call_chunks=[{"name": "f", "args": '{"a": 1}', "id": "t1", "index": 0}],
    )
    blob = _blob(chunk)
    fast = FastSerializer(**settings)
    parent = JsonPlusSerializer()
    for _ in range(3):
        assert_parent_load(blob, fast, parent)
    monkeypatch.setattr(json, "loads", lambda s, *a, **k: {"patched": 1})
    assert_parent_load(blob, fast, parent)


@pytest.mark.parametrize("settings", SETTINGS, ids=["memo", "trusted"])
def test_code_of_a_non_langchain_global_function_replaced_after_first_load(
    settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`typing.cast` is a module global of langchain_core.messages.ai that
    AIMessageChunk.init_tool_calls calls (to key the tool calls by id). The watched set holds the
    function by identity and watches the code of langchain-core's functions only: its
    `__code__` replaced in place is not seen once the memo kept the payload (default settings)."""
    import typing

    payload = {
        "content": [
            {"type": "tool_call_chunk", "id": "t9", "name": "f", "args": "{}", "index": 0}
        ],
        "chunk_position": "last",
        "response_metadata": {"output_version": "v1"},
        "tool_call_chunks": [
            {"name": "f", "args": '{"a": 1}', "id": "t1", "index": 0, "type": "tool_call_chunk"}
        ],
    }
    blob = _blob(lcm.AIMessageChunk(**payload))
    fast = FastSerializer(**settings)
    parent = JsonPlusSerializer()
    for _ in range(3):
        assert_parent_load(blob, fast, parent)

    def cast(typ: Any, val: Any) -> Any:
        return "t9" if typ == "str" else val

    monkeypatch.setattr(typing.cast, "__code__", cast.__code__)
    assert_parent_load(blob, fast, parent)


class Patcher(pydantic.BaseModel):
    """A user model whose validator applies `Patcher.patch` (set by the test): code that runs in
    the middle of a document, between payloads that use cached verdicts."""

    n: int

    @pydantic.field_validator("n")
    @classmethod
    def _apply(cls, n: int) -> int:
        patch = getattr(Patcher, "_patch", None)
        if patch is not None:
            patch()
        return n


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("patch", ["helper", "code", "metaclass-call"])
@pytest.mark.parametrize(
    "settings",
    [{"validate_models": False, "memo_bytes": 0}, {"validate_models": False}, {"validate_models": True}],
    ids=["restore", "restore-memo", "validate-memo"],
)
def test_patch_made_during_a_document_is_seen_by_its_later_payloads(
    patch: str, settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A document [messages, a model whose validator patches what the messages' verdicts rest
    on, the same messages]: the messages after the patch are the parent's, patched (the class's
    own code ran: the watched set is checked again before the next verdict is used)."""
    messages = _TOOL + _HUMAN + _AI
    doc = b"\x97" + messages + ext5(Patcher, {"n": 1}) + messages
    fast, parent = FastSerializer(**settings), JsonPlusSerializer()
    for _ in range(3):  # verdicts taken, the memo's templates kept
        assert_parent_load(b"\x93" + messages, fast, parent)

    def load(serde: Any) -> Any:
        with monkeypatch.context() as m:
            m.setattr(Patcher, "_patch", lambda: PATCHES[patch](m), raising=False)
            return _load(serde, doc)

    got, expected = load(fast), load(parent)
    assert got[0] == expected[0] == "ok", (got, expected)
    assert_same(got[1], expected[1])
    assert _load(parent, doc)[1][4:] != expected[1][4:]  # the patch shows in the parent's result


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_class_global_is_followed_by_its_tag() -> None:
    """A class that reviewed code reads as a global (`uuid.UUID` for ToolMessage's
    `coerce_args`, `AIMessageChunk` for AIMessage's validator) is watched by its own
    `tp_version_tag` (`_review._reached_deps`, the "class" kind): an attribute set on it (a
    helper class's `__str__` or `__init__` replaced) is a change, seen by the next document;
    reading it, or nothing, is not."""
    from fast_serde import _native
    from fast_serde.langgraph import _verified

    deps: list[Any] = []
    assert _verified.check(lcm.ToolMessage, deps) == {}
    assert ("class", uuid.UUID, None, uuid.UUID) in deps

    class Helper:
        def __str__(self) -> str:
            return "a"

    fast = FastSerializer()
    fast.loads_typed(("msgpack", _HUMAN))  # what earlier tests changed is seen (the set emptied)
    _native.watch([("class", Helper, None, Helper)])
    fast.loads_typed(("msgpack", _HUMAN))
    generation = _native.watch_stats()["generation"]
    str(Helper())
    fast.loads_typed(("msgpack", _HUMAN))
    assert _native.watch_stats()["generation"] == generation
    Helper.__str__ = lambda self: "b"  # type: ignore[method-assign]
    fast.loads_typed(("msgpack", _HUMAN))
    assert _native.watch_stats()["generation"] == generation + 1
