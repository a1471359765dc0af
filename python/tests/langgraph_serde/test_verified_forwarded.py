"""A LangChain message read without the Python frames of its `__init__` chain
(`_verified.forwarded_init`, crates/fast-serde-core/src/langgraph/forward.rs) is the object
`cls(**payload)` gives, for every payload shape: the shortcut's (first key `content`, exact str
keys) and every other (no content, content elsewhere, `content_blocks`, `self`, non-str keys,
invalid values that send JsonPlusSerializer to `model_construct`). The shortcut runs where it
claims to (no reviewed `__init__` is called) and nowhere else (a subclass, a replaced
`__init__`, RemoveMessage).

`make test-langchain` runs it on every release of `_verified.RELEASES`.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator
from typing import Any

import langchain_core.messages as lcm
import ormsgpack
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde.langgraph import FastSerializer, _verified
from lg_strategies import assert_same
from verified_helpers import fresh_verdict_cache  # noqa: F401 - autouse fixture
from verified_helpers import CLASSES, SETTINGS, message_kwargs

FORWARDED = [c for c in CLASSES if c is not lcm.RemoveMessage]


def blob(cls: type, payload: dict[Any, Any]) -> tuple[str, bytes]:
    """A "msgpack" blob of one ext 5 value, `[module, name, payload, "model_validate_json"]`, as
    JsonPlusSerializer writes a pydantic v2 model (any payload, well formed or not)."""
    ext = ormsgpack.packb([cls.__module__, cls.__qualname__, payload, "model_validate_json"],
                          option=ormsgpack.OPT_NON_STR_KEYS)
    return "msgpack", ormsgpack.packb({"m": ormsgpack.Ext(5, ext)})


def same_as_parent(typed: tuple[str, bytes], **kw: Any) -> Any:
    """Fast's object equals the parent's, type for type, fields set (and their order) included;
    read by a fresh serializer with the memo off and on (its first sight)."""
    expected = JsonPlusSerializer().loads_typed(typed)
    for memo_bytes in (0, None):
        got = FastSerializer(memo_bytes=memo_bytes, **kw).loads_typed(typed)
        assert_same(got, expected)
        if hasattr(expected["m"], "model_fields_set"):
            assert list(got["m"].model_fields_set) == list(expected["m"].model_fields_set)
    return expected["m"]


@contextlib.contextmanager
def recorded_inits() -> Iterator[list[str]]:
    """The code names of the langchain-core `__init__`s called inside the block."""
    calls: list[str] = []

    def profile(frame: types.FrameType, event: str, arg: Any) -> None:
        code = frame.f_code
        if event == "call" and code.co_name == "__init__" and "langchain_core" in code.co_filename:
            calls.append(f"{code.co_filename}:{code.co_firstlineno}")

    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(None)


@pytest.fixture
def init_calls() -> Iterator[list[str]]:
    with recorded_inits() as calls:
        yield calls


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_forwarded_init_answers_for_the_table_classes(cls: type) -> None:
    from pydantic import BaseModel

    expected = None if cls is lcm.RemoveMessage else vars(BaseModel)["__init__"]
    assert _verified.forwarded_init(cls) is expected


def test_forwarded_init_refuses_a_subclass_and_a_replaced_init(monkeypatch: pytest.MonkeyPatch) -> None:
    class Mine(lcm.HumanMessage):
        pass

    assert _verified.forwarded_init(Mine) is None
    assert _verified.forwarded_init(int) is None
    assert _verified.forwarded_init("not a class") is None
    original = lcm.BaseMessage.__init__

    def init(self: Any, content: Any = None, **kw: Any) -> None:
        original(self, content, **kw)

    monkeypatch.setattr(lcm.BaseMessage, "__init__", init)
    assert _verified.forwarded_init(lcm.HumanMessage) is None


@pytest.mark.parametrize("cls", FORWARDED, ids=lambda c: c.__name__)
@SETTINGS
@given(data=st.data())
def test_every_payload_shape_gives_the_parents_object(cls: type, data: st.DataObject) -> None:
    kw = data.draw(message_kwargs(cls))
    shape = data.draw(st.sampled_from(["dump", "content last", "no content", "content_blocks",
                                       "content_blocks None", "self", "int key", "bad content"]))
    if shape == "content last" and "content" in kw:
        kw = {**{k: v for k, v in kw.items() if k != "content"}, "content": kw["content"]}
    elif shape == "no content":
        kw.pop("content", None)
    elif shape == "content_blocks":
        kw["content_blocks"] = [{"type": "text", "text": "t"}]
    elif shape == "content_blocks None":
        kw["content_blocks"] = None
    elif shape == "self":
        kw["self"] = 1
    elif shape == "int key":
        kw[3] = "x"
    elif shape == "bad content":
        kw["content"] = data.draw(st.sampled_from([5, None, 1.5, {"a": 1}, b"x"]))
    same_as_parent(blob(cls, kw))
    same_as_parent(blob(cls, kw), validate_models=False)


@pytest.mark.parametrize("cls", FORWARDED, ids=lambda c: c.__name__)
@SETTINGS
@given(data=st.data())
def test_a_dump_skips_the_init_chain_and_gives_the_parents_object(cls: type, data: st.DataObject) -> None:
    """The canonical shape (a validated message's `model_dump()`, content first) is built with
    no langchain-core `__init__` called, and equals the parent's object."""
    try:
        msg = cls(**data.draw(message_kwargs(cls)))
    except Exception:
        msg = None
    assume(msg is not None)  # kwargs validation refuses: no message to dump
    typed = JsonPlusSerializer().dumps_typed({"m": msg})
    expected = JsonPlusSerializer().loads_typed(typed)
    fast = FastSerializer(memo_bytes=0)
    with recorded_inits() as calls:
        got = fast.loads_typed(typed)
    assert_same(got, expected)
    assert calls == []
    assert fast._codec.cache_sizes()["forwarded"] == 1


def test_other_shapes_run_the_init_chain(init_calls: list[str]) -> None:
    FastSerializer().loads_typed(blob(lcm.AIMessage, {"content": "a", "id": "1"}))
    assert init_calls == []
    for payload in ({"id": "1", "content": "a"}, {"content": "a", "content_blocks": None}, {}):
        FastSerializer().loads_typed(blob(lcm.AIMessage, payload))
        assert init_calls, payload
        init_calls.clear()
    FastSerializer().loads_typed(blob(lcm.RemoveMessage, {"content": "", "id": "1"}))
    assert init_calls


def test_a_replaced_init_code_is_seen_by_the_next_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chain's `__init__` given other code after the first load: the next document calls
    the class again (watch.rs), as the parent does, and gets what the new code builds."""
    typed = blob(lcm.HumanMessage, {"content": "hi", "id": "1"})
    fast = FastSerializer(memo_bytes=0)
    assert_same(fast.loads_typed(typed), JsonPlusSerializer().loads_typed(typed))
    class Donor:  # its __init__'s code has the `__class__` cell super() needs, as the original's
        def __init__(self, content: Any = None, **kwargs: Any) -> None:
            super().__init__(content=content + " (patched)", **kwargs)  # type: ignore[call-arg]

    monkeypatch.setattr(lcm.HumanMessage.__init__, "__code__", Donor.__init__.__code__)
    expected = JsonPlusSerializer().loads_typed(typed)
    assert expected["m"].content == "hi (patched)"
    assert_same(fast.loads_typed(typed), expected)


def test_a_validation_error_takes_the_parents_fallback() -> None:
    """Invalid content: `cls(**payload)` raises a ValidationError and the parent builds
    `model_construct(**payload)`; so does the shortcut."""
    got = same_as_parent(blob(lcm.HumanMessage, {"content": 5, "id": "1"}))
    assert type(got) is lcm.HumanMessage and got.content == 5
