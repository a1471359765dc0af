"""The verified table of LangChain message classes (fast_serde.langgraph._verified).

The table must match the installed langchain-core member for member; each class's validation must
depend on the payload alone (same payload, type-exact equal results, state included); a class
whose verdict has `restore` must come back unchanged from validating its own `model_dump()`, and
trusted restore (`validate_models=False`) must then give JsonPlusSerializer's objects under every
allowlist mode; anything not exactly the reviewed class (a monkeypatched validator, `__init__` or
helper, a subclass, a reloaded module) or an unverified release must get None, with one warning.

`make test-langchain` runs this file on every release of `_verified.RELEASES`
(FAST_SERDE_LANGCHAIN_RELEASE names the one it installed).
"""

from __future__ import annotations

import copy
import gc
import importlib
import inspect
import os
import sys
import types
import uuid
import warnings
import weakref
from collections.abc import Iterator
from typing import Any

import langchain_core
import langchain_core.messages as lcm
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.checkpoint.serde import _msgpack as _lg_msgpack
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph._internal import _serde as _lg_internal_serde

from fast_serde.langgraph import FastSerializer, _trusted, _verified
from lg_strategies import assert_same

CLASSES = [getattr(importlib.import_module(m), n) for m, n in _verified._CLASSES]
RESTORED = [c for c in CLASSES if _verified._CLASSES[(c.__module__, c.__qualname__)].restore]
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts with an empty verdict cache and no warning given yet."""
    monkeypatch.setattr(_verified, "_cache", _verified._Cache())
    yield


# -- the table against the installed release ----------------------------------------------------


def test_installed_release_is_verified() -> None:
    expected = os.environ.get("FAST_SERDE_LANGCHAIN_RELEASE")
    if expected is not None:  # make test-langchain: the release it installed is the one imported
        assert langchain_core.__version__ == expected
    assert langchain_core.__version__ in _verified.RELEASES


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_table_matches_installed_members(cls: type) -> None:
    """Every member validation runs is one the table reviewed, with the recorded hash; no
    reviewed member is missing; each has its line of review."""
    assert _verified.check(cls) == {}
    members = _verified._members(cls, [])
    keys = {k for k in members if not k.startswith("mode:")}
    assert keys == set(_verified._CHAINS[f"{cls.__module__}.{cls.__qualname__}"])
    for key in keys:
        assert _verified._WHY.get(key), f"{key} has no review line"
    assert _verified.verified(cls) == _verified._CLASSES[(cls.__module__, cls.__qualname__)]


def test_table_covers_every_message_class() -> None:
    """Every concrete pydantic class langchain_core.messages exports (what ext 5 carries in a
    state) is in the table; the abstract bases are not."""
    exported = {
        getattr(lcm, name)
        for name in lcm.__all__
        if isinstance(getattr(lcm, name, None), type)
        and issubclass(getattr(lcm, name), pydantic.BaseModel)
    }
    assert exported - set(CLASSES) == {lcm.BaseMessage, lcm.BaseMessageChunk}
    assert _verified.verified(lcm.BaseMessage) is None


def test_every_hash_and_review_line_is_used() -> None:
    """No stale entries: every hashed member belongs to some class's chain and has a review line."""
    used = {k for chain in _verified._CHAINS.values() for k in chain}
    assert set(_verified._HASHES) == used
    assert set(_verified._WHY) == used
    assert {f"{m}.{n}" for m, n in _verified._CLASSES} == set(_verified._CHAINS)
    assert set(_verified._MODES) == {k for k in used if k in _verified._MODES}


def test_model_validators_are_the_reviewed_ones() -> None:
    """The validators pydantic runs, read from the decorators, are exactly those the table names,
    in the modes it records."""
    for cls in CLASSES:
        decorators = cls.__pydantic_decorators__
        found = {
            f"{_verified._function(d.func).__module__}.{_verified._function(d.func).__qualname__}":
            d.info.mode
            for d in decorators.model_validators.values()
        }
        chain = set(_verified._CHAINS[f"{cls.__module__}.{cls.__qualname__}"])
        assert found == {k: m for k, m in _verified._MODES.items() if k in chain}
        for kind in _verified._DECORATOR_KINDS:
            if kind != "model_validators":
                assert not getattr(decorators, kind), (cls, kind)


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


def _kwargs(cls: type) -> st.SearchStrategy[dict[str, Any]]:
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


def _validate(cls: type, kw: dict[str, Any]) -> Any:
    """`cls(**kw)` on a deep copy (the parent's ext hook calls `cls(**payload)`), or the
    exception's type."""
    try:
        return cls(**copy.deepcopy(kw))
    except Exception as exc:
        return type(exc)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@SETTINGS
@given(data=st.data())
def test_validation_depends_on_the_payload_alone(cls: type, data: st.DataObject) -> None:
    """memo=True: the same payload validates to type-exact equal objects, fields set, extras and
    private state included, however often and after other payloads."""
    kw = data.draw(_kwargs(cls))
    other = data.draw(_kwargs(cls))
    first = _validate(cls, kw)
    _validate(cls, other)
    second = _validate(cls, kw)
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
    x = _validate(cls, data.draw(_kwargs(cls)))
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
        x = _validate(cls, data.draw(_kwargs(cls)))
        if isinstance(x, type):
            return
        value = {"messages": [x, x], "last": x}
        blob = j.dumps_typed(value)
        assert f.dumps_typed(value) == blob
        assert_same(f.loads_typed(blob), j.loads_typed(blob))


def _tampered_tool_message() -> tuple[str, bytes]:
    """A ToolMessage blob whose tool_call_id is an int (validation would make it a str): tells a
    restore from a validation."""
    msg = lcm.ToolMessage("r", tool_call_id="c")
    object.__setattr__(msg, "tool_call_id", 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return JsonPlusSerializer().dumps_typed(msg)


class _Validations:
    """Counts the runs of `BaseMessage.__init__` (every message's validation goes through it)
    with a profile hook, which changes no member the table watches."""

    def __init__(self) -> None:
        self.count = 0
        self._code = lcm.BaseMessage.__init__.__code__

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
        (f, _tampered_tool_message(), 1),
        (FastSerializer(memo_bytes=0), clean, 1),
    ):
        counter.count = 0
        got = counter.run(serde.loads_typed, blob)
        assert counter.count == validations
        assert_same(got, j.loads_typed(blob))
    assert f.loads_typed(_tampered_tool_message()).tool_call_id == "7"


def test_restore_goes_through_the_allowlist(monkeypatch: pytest.MonkeyPatch) -> None:
    """A table class the allowlist blocks is returned as the parent returns it (its payload),
    never restored."""
    safe = _lg_msgpack.SAFE_MSGPACK_TYPES - {("langchain_core.messages.tool", "ToolMessage")}
    monkeypatch.setattr(_lg_msgpack, "SAFE_MSGPACK_TYPES", safe)
    blob = _tampered_tool_message()
    for kw in ({"allowed_msgpack_modules": None}, {"allowed_msgpack_modules": [("x", "Y")]}):
        j = JsonPlusSerializer(**kw)
        f = FastSerializer(validate_models=False, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = j.loads_typed(blob)
            got = f.loads_typed(blob)
        assert isinstance(expected, dict)
        assert_same(got, expected)


def test_trusted_model_answers_the_table() -> None:
    """Every restored class gets a rule per field, read from its schema and narrowed by
    `_verified.restore_rules`: an `id` must be an exact str or None (validation coerces a
    number), `type` its own literal, `content` an exact str or list of exact str / dict."""
    str_ = ("types", (str,))
    for cls in RESTORED:
        fields = tuple(cls.model_fields)
        trust = _trusted.trusted_model(cls)
        assert trust is not None
        names, extra_allow, rules, either = trust
        assert (names, extra_allow) == (fields, True)
        ruled = dict(zip(names, rules))
        assert ruled["id"] == ("opt", str_)
        assert ruled["type"] == ("literal", (cls.model_fields["type"].default,))
        if cls is not lcm.RemoveMessage:
            assert ruled["content"] == ("union", (str_, ("list", ("union", (str_, ("dict", None, None))))))
        assert ruled["additional_kwargs"] == ("dict", None, None)
        if issubclass(cls, lcm.ToolMessage):
            assert ruled["tool_call_id"] == str_
        if cls is lcm.RemoveMessage:  # its __init__ passes '' whatever falsy content it gets
            assert ruled["content"] == ("literal", ("",))
        if cls is not lcm.AIMessage:
            assert either == ()
    ai = _trusted.trusted_model(lcm.AIMessage)
    assert ai is not None and len(ai[3]) == 1
    assert {ai[0][i] for i, _ in ai[3][0]} == {"tool_calls", "invalid_tool_calls", "additional_kwargs"}


def test_rebuilt_keys_are_the_factories_keys() -> None:
    """`restore_rules` names the keys AIMessage's validator's factories write (tool_call,
    invalid_tool_call of the installed release), each a declared key of its TypedDict."""
    from langchain_core.messages import tool

    spec = _verified.restore_rules(lcm.AIMessage)
    assert set(spec.rebuilt["tool_calls"]) == set(tool.tool_call(name="n", args={}, id=None))
    assert set(spec.rebuilt["invalid_tool_calls"]) == set(tool.invalid_tool_call())
    for field, keys in spec.rebuilt.items():
        td = lcm.AIMessage.model_fields[field].annotation.__args__[0]
        assert set(keys) <= set(td.__annotations__)


# -- anything but the reviewed class gets None ---------------------------------------------------


def test_subclass_never_inherits_the_verdict() -> None:
    class Mine(lcm.HumanMessage):
        pass

    assert _verified.verified(Mine) is None
    assert _trusted.trusted_model(Mine) is None
    assert _verified.verified(lcm.HumanMessage) is not None


def test_same_named_replacement_class_gets_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """A subclass passed off as the module's class (same module and name): the real class is no
    longer its module's attribute, so neither is verified."""
    module = sys.modules["langchain_core.messages.human"]
    real = module.HumanMessage
    assert _verified.verified(real) is not None
    fake = types.new_class("HumanMessage", (real,))
    fake.__module__ = real.__module__
    fake.__qualname__ = real.__qualname__
    monkeypatch.setattr(module, "HumanMessage", fake)
    assert _verified.verified(fake) is None
    assert _verified.verified(real) is None
    monkeypatch.setattr(module, "HumanMessage", real)
    assert _verified.verified(real) is not None


def test_monkeypatched_init_gets_none(monkeypatch: pytest.MonkeyPatch) -> None:
    cls = lcm.SystemMessage
    assert _verified.verified(cls) is not None
    original = cls.__init__

    def __init__(self: Any, content: Any = None, **kwargs: Any) -> None:
        original(self, content, **kwargs)

    __init__.__qualname__ = original.__qualname__
    monkeypatch.setattr(cls, "__init__", __init__)
    assert _verified.verified(cls) is None
    assert _trusted.trusted_model(cls) is None
    monkeypatch.setattr(cls, "__init__", original)
    assert _verified.verified(cls) is not None


def test_monkeypatched_base_init_gets_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """A replaced `__init__` up the chain (BaseMessage's) unverifies every message."""
    original = lcm.BaseMessage.__init__
    assert _verified.verified(lcm.ChatMessage) is not None
    monkeypatch.setattr(lcm.BaseMessage, "__init__", lambda self, *a, **k: original(self, *a, **k))
    assert _verified.verified(lcm.ChatMessage) is None
    assert _verified.verified(lcm.AIMessage) is None


def test_monkeypatched_validator_gets_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """A validator replaced on the class (pydantic keeps running the old one until a rebuild),
    and one replaced and rebuilt: both None."""
    cls = lcm.ToolMessage
    assert _verified.verified(cls) is not None
    original = vars(cls)["coerce_args"]

    @classmethod  # type: ignore[misc]
    def coerce_args(klass: type, values: dict[str, Any]) -> dict[str, Any]:
        return values

    monkeypatch.setattr(cls, "coerce_args", coerce_args)
    assert _verified.verified(cls) is None
    monkeypatch.setattr(cls, "coerce_args", original)
    assert _verified.verified(cls) is not None


def test_validator_added_by_rebuild_gets_none() -> None:
    """A class built like a table class but with a validator the table does not know (a module
    that defines its own HumanMessage with an extra field validator)."""
    source = inspect.getsource(sys.modules["langchain_core.messages.human"])
    module = types.ModuleType("langchain_core.messages.human")
    # Compiled under the real module's name and file, so provenance by name and the class body's
    # source (read from that file) alone would pass.
    saved = sys.modules["langchain_core.messages.human"]
    module.__file__ = saved.__file__
    try:
        sys.modules["langchain_core.messages.human"] = module
        exec(compile(source.replace(
            '    type: Literal["human"] = "human"',
            '    type: Literal["human"] = "human"\n\n'
            '    @pydantic.field_validator("content")\n'
            '    @classmethod\n'
            '    def _v(cls, v):\n'
            '        return v\n',
        ).replace("from typing import", "import pydantic\nfrom typing import", 1),
            saved.__file__, "exec"), module.__dict__)
        assert "_v" in vars(module.HumanMessage)
        assert _verified.verified(module.HumanMessage) is None
        assert _verified.check(module.HumanMessage) == {"": "field_validators _v"}
    finally:
        sys.modules["langchain_core.messages.human"] = saved


def test_monkeypatched_helper_gets_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """A helper a validator calls through its module globals (ai.py's default_tool_parser)."""
    ai = sys.modules["langchain_core.messages.ai"]
    assert _verified.verified(lcm.AIMessage) is not None
    original = ai.default_tool_parser
    monkeypatch.setattr(ai, "default_tool_parser", lambda raw: original(raw))
    assert _verified.verified(lcm.AIMessage) is None
    assert _verified.verified(lcm.AIMessageChunk) is None
    assert _verified.verified(lcm.HumanMessage) is not None
    monkeypatch.setattr(ai, "default_tool_parser", original)
    assert _verified.verified(lcm.AIMessage) is not None


def test_monkeypatched_global_module_gets_none(monkeypatch: pytest.MonkeyPatch) -> None:
    ai = sys.modules["langchain_core.messages.ai"]
    fake = types.ModuleType("json")
    monkeypatch.setattr(ai, "json", fake)
    assert _verified.verified(lcm.AIMessageChunk) is None
    monkeypatch.setattr(ai, "json", sys.modules["json"])
    assert _verified.verified(lcm.AIMessageChunk) is not None


def test_unreadable_source_gets_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_source(obj: Any) -> str:
        raise OSError("could not get source code")

    monkeypatch.setattr(_verified.inspect, "getsource", no_source)
    assert _verified.verified(lcm.HumanMessage) is None


def test_reloaded_module_is_decided_anew_and_not_kept_alive() -> None:
    """After importlib.reload the old class is no longer its module's attribute (None) and the new
    one is verified; the cache holds neither alive."""
    module = sys.modules["langchain_core.messages.chat"]
    saved = dict(module.__dict__)
    old = module.ChatMessage
    assert _verified.verified(old) is not None
    try:
        importlib.reload(module)
        new = module.ChatMessage
        assert new is not old
        assert _verified.verified(new) == _verified.Verified(True, True)
        assert _verified.verified(old) is None
        ref = weakref.ref(new)
    finally:
        module.__dict__.clear()
        module.__dict__.update(saved)
    assert _verified.verified(old) is not None
    del new
    for _ in range(3):
        gc.collect()
    assert ref() is None


def test_cache_holds_classes_weakly() -> None:
    """A verified class dropped by everyone is collected: the cache is no reason to keep it."""
    module = sys.modules["langchain_core.messages.chat"]
    saved = dict(module.__dict__)
    try:
        importlib.reload(module)
        new = module.ChatMessageChunk
        assert _verified.verified(new) is not None
        entry = _verified._cache.entries[new]
        assert not any(o is new for o in gc.get_referents(entry))
        assert not any(o is new for r in entry[0].refs for o in _closure_objects(r))
    finally:
        module.__dict__.clear()
        module.__dict__.update(saved)


def _closure_objects(fn: Any) -> list[Any]:
    return [c.cell_contents for c in (fn.__closure__ or ())]


def test_unverified_release_gets_none_with_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(langchain_core, "__version__", "1.99.0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert all(_verified.verified(c) is None for c in CLASSES)
        assert all(_verified.verified(c) is None for c in CLASSES)
        assert _trusted.trusted_model(lcm.HumanMessage) is None
    ours = [w for w in caught if "langchain-core" in str(w.message)]
    assert len(ours) == 1
    assert "1.99.0" in str(ours[0].message) and "validated on every load" in str(ours[0].message)
    assert ours[0].category is RuntimeWarning


def test_unverified_release_validates_every_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(langchain_core, "__version__", "1.99.0")
    blob = _tampered_tool_message()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert FastSerializer(validate_models=False).loads_typed(blob).tool_call_id == "7"


def test_non_table_classes_get_none_without_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(langchain_core, "__version__", "1.99.0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _verified.verified(int) is None
        assert _verified.verified(pydantic.BaseModel) is None
        assert _verified.verified("HumanMessage") is None  # type: ignore[arg-type]
    assert not caught


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
