"""Finding 7 of issue 19: ``copy.copy``, ``copy.deepcopy`` and ``pickle`` of a FastSerializer, of
the stock savers holding one, of a config dict and of a compiled graph holding the saver: each
succeeds, or fails with the same exception, exactly where it does with a JsonPlusSerializer built
with the same arguments. A copy is an independent serializer (its own codec, an empty memo) with
the same settings."""

from __future__ import annotations

import asyncio
import copy
import gc
import pickle
import re
import sqlite3
from typing import Any, TypedDict

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import START, StateGraph

import lg_models as M
from fast_serde.langgraph import FastSerializer
from lg_helpers import outcome
from lg_strategies import assert_same

COPIES = {"copy": copy.copy, "deepcopy": copy.deepcopy, "pickle": lambda x: pickle.loads(pickle.dumps(x))}


def ext_hook(code: int, data: bytes) -> Any:
    """A module-level ``__unpack_ext_hook__``: a serializer given it pickles."""
    return ("ext", code, len(data))


SETTINGS: list[dict[str, Any]] = [
    {},
    {"pickle_fallback": True},
    {"allowed_msgpack_modules": [("lg_models", "Address")]},
    {"allowed_msgpack_modules": None},
    {"allowed_json_modules": True},
    {"__unpack_ext_hook__": ext_hook},
]


class State(TypedDict):
    x: int


def _graph(serde: Any) -> Any:
    g = StateGraph(State)
    g.add_node("a", lambda s: {"x": s["x"] + 1})
    g.add_edge(START, "a")
    return g.compile(checkpointer=InMemorySaver(serde=serde))


def _holders(serde: Any) -> dict[str, Any]:
    saver = InMemorySaver(serde=serde)
    return {
        "serializer": serde,
        "InMemorySaver": saver,
        "SqliteSaver": SqliteSaver(sqlite3.connect(":memory:", check_same_thread=False), serde=serde),
        "config": {"configurable": {"thread_id": "1", "__pregel_checkpointer": saver}},
        "compiled graph": _graph(serde),
    }


def _message(exc: BaseException) -> str:
    """The exception's text without object addresses: from CPython 3.14 on, pickle's "Can't
    pickle local object" names the object by its repr, `<function f at 0x7f...>`, and the two
    sides' objects are two objects."""
    return re.sub(r" at 0x[0-9a-f]+>", " at 0x…>", str(exc))


def _same_failure(fast: tuple[str, Any], parent: tuple[str, Any]) -> None:
    assert fast[0] == parent[0], (fast, parent)
    if parent[0] == "raise":
        assert type(fast[1]) is type(parent[1]) and _message(fast[1]) == _message(parent[1]), (fast, parent)


@pytest.mark.parametrize("how", list(COPIES))
@pytest.mark.parametrize("holder", ["serializer", "InMemorySaver", "SqliteSaver", "config", "compiled graph"])
@pytest.mark.parametrize("kw", SETTINGS, ids=lambda kw: ",".join(kw) or "default")
def test_copies_like_parent(kw: dict[str, Any], holder: str, how: str) -> None:
    parent = outcome(COPIES[how], _holders(JsonPlusSerializer(**kw))[holder])
    fast = outcome(COPIES[how], _holders(FastSerializer(**kw))[holder])
    _same_failure(fast, parent)


# deepcopy fails on the aiosqlite connection for both, leaving a half-made aiosqlite Connection
# whose __del__ complains when collected (here, not in a later test).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_async_sqlite_saver_copies_like_parent() -> None:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async def outcomes(serde: Any) -> list[tuple[str, Any]]:
        async with AsyncSqliteSaver.from_conn_string(":memory:") as saver:
            saver.serde = serde
            return [outcome(copy.copy, saver), outcome(copy.deepcopy, saver)]

    fast, parent = asyncio.run(outcomes(FastSerializer())), asyncio.run(outcomes(JsonPlusSerializer()))
    try:
        for f, j in zip(fast, parent):
            _same_failure(f, j)
    finally:
        del fast, parent, f, j  # the exceptions' tracebacks hold the half-made connections
        gc.collect()


VALUES = [
    {"m": HumanMessage("hi", id="1"), "a": M.Address(city="Oslo"), "n": [1, 2.5, None]},
    M.Address(city="Bergen"),
]


@pytest.mark.parametrize("how", ["copy", "deepcopy"])  # pickle: see test_copies_like_parent
@pytest.mark.parametrize(
    "kw",
    [
        {"pickle_fallback": True, "memo_bytes": 1 << 20},
        {"allowed_msgpack_modules": [("lg_models", "Address")], "validate_models": False},
        {"allowed_msgpack_modules": None, "memo_bytes": 0},
    ],
    ids=["pickle_fallback,memo_bytes", "allowlist,validate_models", "strict,no memo"],
)
def test_copy_is_independent_with_the_same_settings(kw: dict[str, Any], how: str) -> None:
    original = FastSerializer(**kw)
    for v in VALUES:  # fill the original's memo and class cache
        for _ in range(4):
            original.loads_typed(original.dumps_typed(v))
    clone = COPIES[how](original)
    assert type(clone) is FastSerializer and clone._codec is not original._codec
    for attr in ("pickle_fallback", "validate_models", "memo_bytes", "_allowed_msgpack_modules",
                 "_allowed_json_modules", "_custom_unpack_ext_hook"):
        assert getattr(clone, attr) == getattr(original, attr), attr
    stats = clone.memo_stats()
    assert stats["entries"] == stats["hits"] == 0 and stats["budget"] == original.memo_stats()["budget"]
    for v in VALUES:
        data = original.dumps_typed(v)
        assert clone.dumps_typed(v) == data
        assert_same(clone.loads_typed(data), original.loads_typed(data))


def test_copy_keeps_a_custom_unpack_ext_hook() -> None:
    f = FastSerializer(__unpack_ext_hook__=ext_hook)
    data = f.dumps_typed(M.Address(city="Oslo"))
    for how in COPIES.values():
        assert how(f).loads_typed(data) == JsonPlusSerializer(__unpack_ext_hook__=ext_hook).loads_typed(data)


def test_with_msgpack_allowlist_clone_has_its_own_codec() -> None:
    f = FastSerializer(allowed_msgpack_modules=None)
    data = f.dumps_typed(M.Address(city="Oslo"))
    clone = f.with_msgpack_allowlist([M.Address])
    j = JsonPlusSerializer(allowed_msgpack_modules=None)
    assert clone._codec is not f._codec
    assert_same(clone.loads_typed(data), j.with_msgpack_allowlist([M.Address]).loads_typed(data))
    assert_same(f.loads_typed(data), j.loads_typed(data))  # the original still blocks it
    deep = copy.deepcopy(clone)
    assert_same(deep.loads_typed(data), clone.loads_typed(data))
