"""What the test_verified_*.py files share: the table's classes as installed (``CLASSES``,
``RESTORED``), the autouse fixture that gives every test an empty verdict cache (each file imports
it), and the hypothesis strategies of message keyword arguments as a state holds them."""

from __future__ import annotations

import copy
import importlib
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import langchain_core.messages as lcm
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde.langgraph import _review, _verified


CLASSES = [getattr(importlib.import_module(m), n) for m, n in _verified._CLASSES]
RESTORED = [c for c in CLASSES if _verified._CLASSES[(c.__module__, c.__qualname__)].restore]
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture(autouse=True)
def fresh_verdict_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts with an empty verdict cache, no source read yet and no warning given."""
    monkeypatch.setattr(_verified, "_cache", _verified._Cache())
    monkeypatch.setattr(_verified, "_source", _review._Sources())
    yield


# -- what the reviewed validation does -----------------------------------------------------------

short = st.text(max_size=8)
ids = st.one_of(st.none(), short, st.integers(-5, 10**6))
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), short,
                      st.floats(allow_nan=False, width=32))
json_value = st.recursive(
    json_leaf,
    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(short, c, max_size=3)),
    max_leaves=6,
)
blocks = st.one_of(
    short,
    st.builds(lambda t: {"type": "text", "text": t}, short),
    st.builds(lambda u: {"type": "image_url", "image_url": {"url": u}}, short),
    st.dictionaries(short, json_value, max_size=3),
)
content = st.one_of(short, st.lists(blocks, max_size=3))
tool_calls = st.lists(
    st.fixed_dictionaries(
        {"name": short, "args": st.dictionaries(short, json_value, max_size=3),
         "id": st.one_of(st.none(), short)},
        optional={"type": st.just("tool_call")},
    ),
    max_size=3,
)
invalid_tool_calls = st.lists(
    st.fixed_dictionaries(
        {"name": st.one_of(st.none(), short), "args": st.one_of(st.none(), short, st.just('{"a": 1}')),
         "id": st.one_of(st.none(), short), "error": st.one_of(st.none(), short)},
    ),
    max_size=2,
)
raw_openai_calls = st.lists(
    st.fixed_dictionaries(
        {"id": short, "type": st.just("function"),
         "function": st.fixed_dictionaries(
             {"name": short, "arguments": st.one_of(st.just('{"q": "x"}'), st.just("{bad"), short)})},
    ),
    min_size=1,
    max_size=2,
)
usage = st.one_of(
    st.none(),
    st.builds(
        lambda i, o, details: {"input_tokens": i, "output_tokens": o, "total_tokens": i + o, **details},
        st.integers(0, 10**6),
        st.integers(0, 10**6),
        st.one_of(
            st.just({}),
            st.builds(lambda a, c: {"input_token_details": {"audio": a, "cache_read": c}},
                      st.integers(0, 99), st.integers(0, 99)),
        ),
    ),
)
extras = st.dictionaries(st.sampled_from(["x_extra", "lc_source", "score"]), json_value, max_size=2)


def _common() -> dict[str, st.SearchStrategy[Any]]:
    return {
        "content": content,
        "additional_kwargs": st.dictionaries(short, json_value, max_size=3),
        "response_metadata": st.dictionaries(short, json_value, max_size=3),
        "name": st.one_of(st.none(), short),
        "id": ids,
    }


def message_kwargs(cls: type) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments of `cls(**kw)` as a state holds them: tool calls, usage metadata, list
    content, extras, ids (numbers too: coerce_numbers_to_str), names, artifacts."""
    fields = _common()
    optional: dict[str, st.SearchStrategy[Any]] = {}
    name = cls.__name__
    if name.startswith("AIMessage"):
        optional["tool_calls"] = tool_calls
        optional["invalid_tool_calls"] = invalid_tool_calls
        optional["usage_metadata"] = usage
        fields["additional_kwargs"] = st.one_of(
            fields["additional_kwargs"], st.builds(lambda r: {"tool_calls": r}, raw_openai_calls)
        )
    if name == "AIMessageChunk":
        optional["tool_call_chunks"] = st.lists(
            st.fixed_dictionaries(
                {"name": st.one_of(st.none(), short), "args": st.one_of(st.none(), short, st.just('{"a": [1')),
                 "id": st.one_of(st.none(), short), "index": st.one_of(st.none(), st.integers(0, 3))}),
            max_size=2,
        )
        optional["chunk_position"] = st.one_of(st.none(), st.just("last"))
        fields["response_metadata"] = st.one_of(
            fields["response_metadata"], st.just({"output_version": "v1"})
        )
        fields["content"] = st.one_of(content, st.lists(
            st.builds(lambda t, a, i: {"type": t, "args": a, "id": i},
                      st.sampled_from(["server_tool_call_chunk", "tool_call_chunk", "server_tool_call"]),
                      st.one_of(st.none(), st.just('{"k": 1}'), short), st.one_of(st.none(), short)),
            max_size=2))
    if name.startswith("ToolMessage"):
        fields["tool_call_id"] = st.one_of(short, st.integers(0, 99), st.builds(uuid.UUID, st.just("0" * 32)))
        optional["artifact"] = json_value
        optional["status"] = st.sampled_from(["success", "error"])
        fields["content"] = st.one_of(content, st.lists(st.one_of(short, st.integers(0, 9)), max_size=3))
    if name.startswith("ChatMessage"):
        fields["role"] = short
    if name.startswith("FunctionMessage"):
        fields["name"] = short
    if name == "RemoveMessage":
        fields = {"id": short, "additional_kwargs": fields["additional_kwargs"], "name": fields["name"]}
    base = st.fixed_dictionaries(fields, optional=optional)
    return st.builds(lambda kw, ex: {**ex, **kw}, base, extras)


def validate_copy(cls: type, kw: dict[str, Any]) -> Any:
    """`cls(**kw)` on a deep copy (the parent's ext hook calls `cls(**payload)`), or the
    exception's type."""
    try:
        return cls(**copy.deepcopy(kw))
    except Exception as exc:
        return type(exc)


def tampered_tool_message() -> tuple[str, bytes]:
    """A ToolMessage blob whose tool_call_id is an int (validation would make it a str): tells a
    restore from a validation."""
    msg = lcm.ToolMessage("r", tool_call_id="c")
    object.__setattr__(msg, "tool_call_id", 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return JsonPlusSerializer().dumps_typed(msg)
