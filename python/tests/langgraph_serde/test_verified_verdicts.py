"""The verdicts of fast_serde.langgraph._verified: anything not exactly the reviewed class (a
monkeypatched validator, `__init__` or helper, a subclass, a reloaded module) or an unverified
release gets None, with one warning; verdicts are cached weakly.

`make test-langchain` runs the test_verified_*.py files on every release of
`_verified.RELEASES` (FAST_SERDE_LANGCHAIN_RELEASE names the one it installed).
"""

from __future__ import annotations

import gc
import importlib
import inspect
import logging
import sys
import types
import warnings
import weakref
from typing import Any

import langchain_core
import langchain_core.messages as lcm
import pydantic
import pytest

from fast_serde.langgraph import FastSerializer, _trusted, _verified
from verified_helpers import fresh_verdict_cache  # noqa: F401 - autouse fixture
from verified_helpers import CLASSES, RESTORED, tampered_tool_message


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

    monkeypatch.setattr(inspect, "getsource", no_source)
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
    blob = tampered_tool_message()
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


def test_verdict_taken_again_reads_no_source_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """A watched global flipped between two objects takes the verdict again on every flip (the
    per-class cache keeps the last state only); each source is read once per code object or
    class, not on every flip (reading one tokenizes its file: 13-37 ms a message class)."""
    reads: list[Any] = []
    real = inspect.getsource

    def counting(obj: Any) -> str:
        reads.append(obj)
        return real(obj)

    monkeypatch.setattr(inspect, "getsource", counting)
    ai = sys.modules["langchain_core.messages.ai"]
    original, other = ai.logger, logging.getLogger("fast_serde.test.other")
    assert _verified.verified(lcm.AIMessage) is not None
    first = len(reads)
    assert first > 0
    for logger in (other, original, other, original):
        seen = _verified._cache.entries[lcm.AIMessage][0]
        monkeypatch.setattr(ai, "logger", logger)
        assert _verified.verified(lcm.AIMessage) is not None
        assert _verified._cache.entries[lcm.AIMessage][0] is not seen  # taken again
    assert len(reads) == first
    # A replaced function is a new code object: its source is read (and hashed) anew.
    func = ai.AIMessage.__init__
    monkeypatch.setattr(func, "__code__", func.__code__.replace())
    _verified.verified(lcm.AIMessage)
    assert func in reads[first:]
