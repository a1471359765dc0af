"""The verified table of LangChain's message classes: which of them validation provably treats as a
function of the payload alone, and which come back unchanged from validating their own
`model_dump()`.

LangChain's messages (`langchain_core.messages`) are the bulk of every LangGraph state, and every
one of them has a custom `__init__` and most have model validators, so no rule read from a class
can admit them. This table was written by reading, in each langchain-core release listed in
`RELEASES`, every member that runs when a message is validated (`cls(**payload)`, which is what
JsonPlusSerializer's ext 5 hook calls): each class body of the MRO up to pydantic's `BaseModel`
(fields, config), each `__init__` of that chain, each pydantic decorator
(`cls.__pydantic_decorators__`), and every langchain-core function those call through their module
globals. `_WHY` holds one line per member saying why its output depends on the payload alone;
`_RESTORE_WHY` says per class why `model_dump()` then validation is, or is not, the identity.

`verified(cls)` answers only for the exact class reviewed: the class must be the module attribute
it claims, its members must be those objects (provenance: module, qualified name, module globals)
with the source recorded here (content: a sha256 of `inspect.getsource` and of the global names
each function reads), and the installed langchain-core must be one of `RELEASES`. Anything else
(another release, a subclass, a monkeypatched validator, `__init__` or helper, a validator the
table does not know, a source that cannot be read) answers None: validate every object. On an
unverified release it warns once per process.

A verdict also rests on objects outside the class, which its `tp_version_tag` (the key of the
codec's caches) does not follow: the module globals each reviewed function reads, each one's
code, defaults and closure cells, the metaclass's `__call__` (`Dep`). `verified` records them
while reviewing and registers them with the codec's watched set (`watch`, watch.rs), which
compares them once per document and makes every codec decide again when one changed. Those
records, their registration and the identity comparison of a cached verdict's objects (`_Seen`)
are `_verified_deps`'s.

`scripts/langchain_table.py` prints the members and hashes of the installed release (to extend
the table after reading a new release); `make test-langchain` proves the table on every release of
`RELEASES` (python/tests/langgraph_serde/test_verified_*.py).
"""

from __future__ import annotations

import abc
import sys
import types
import warnings
import weakref
from dataclasses import dataclass
from typing import Any

from fast_serde.langgraph._review import (
    _code_names,
    _describe,
    _digest,
    _function,
    _own_member,
    _reached_deps,
    _source,
    _Unverified,
    same_defaults,
)
from fast_serde.langgraph._verified_deps import (
    _DECORATOR_KINDS,
    _WATCHED,
    Dep,
    _call_dep,
    _function_deps,
    _lookup,
    _Seen,
    watch,
)

# The langchain-core releases whose members were read and whose hashes are below: the last of each
# line langgraph 1.2.22 accepts (langchain-core >= 1.4.7) and the pinned 1.7.2. 1.8.4 requires a
# langchain-protocol (>= 0.0.22) the registry does not serve, so pip installs 1.8.3 as the newest;
# 1.8.4's reviewed members are 1.8.3's, byte for byte, but no lane can install it yet.
RELEASES = ("1.4.9", "1.5.6", "1.6.13", "1.7.2", "1.7.7", "1.8.3")


@dataclass(frozen=True)
class Verified:
    """The table's verdict for one class.

    `memo`: `cls(**payload)`'s result depends on the payload alone (the memo may serve it).
    `restore`: validating the class's own `model_dump()` returns an equal object, type for type,
    fields set included (trusted restore may set `__dict__` from the payload without validating).
    """

    memo: bool
    restore: bool


# Per class: (memo, restore). Every class here has memo=True: none of its members reads anything
# but its arguments (see _WHY); restore is False where _RESTORE_WHY shows a counterexample.
_CLASSES: dict[tuple[str, str], Verified] = {
    ("langchain_core.messages.human", "HumanMessage"): Verified(True, True),
    ("langchain_core.messages.human", "HumanMessageChunk"): Verified(True, True),
    ("langchain_core.messages.ai", "AIMessage"): Verified(True, True),
    ("langchain_core.messages.ai", "AIMessageChunk"): Verified(True, False),
    ("langchain_core.messages.system", "SystemMessage"): Verified(True, True),
    ("langchain_core.messages.system", "SystemMessageChunk"): Verified(True, True),
    ("langchain_core.messages.tool", "ToolMessage"): Verified(True, True),
    ("langchain_core.messages.tool", "ToolMessageChunk"): Verified(True, True),
    ("langchain_core.messages.function", "FunctionMessage"): Verified(True, True),
    ("langchain_core.messages.function", "FunctionMessageChunk"): Verified(True, True),
    ("langchain_core.messages.chat", "ChatMessage"): Verified(True, True),
    ("langchain_core.messages.chat", "ChatMessageChunk"): Verified(True, True),
    ("langchain_core.messages.modifier", "RemoveMessage"): Verified(True, True),
}

# Why validating `model_dump()` of a validated object gives it back (or not), per class. Every
# field's schema is an unconstrained `str`/`dict`/`Literal`/TypedDict/`Any` (validation returns an
# equal value of the same exact type; TypedDicts drop unknown keys, which a dump never has), and
# a dump holds every field, so fields set are all fields on both sides.
_RESTORE_WHY: dict[str, str] = {
    "HumanMessage": "no validator; __init__ passes content through",
    "HumanMessageChunk": "as HumanMessage",
    "SystemMessage": "no validator; __init__ passes content through",
    "SystemMessageChunk": "as SystemMessage",
    "ChatMessage": "no validator, no __init__ of its own (BaseMessage's passes content through)",
    "ChatMessageChunk": "as ChatMessage",
    "FunctionMessage": "no validator, no __init__ of its own (BaseMessage's passes content through)",
    "FunctionMessageChunk": "as FunctionMessage",
    "RemoveMessage": "__init__ pops content, which a dump holds as '' (falsy: no error), and passes '' "
    "(any other falsy content comes back as '': restore_rules admits '' alone)",
    "ToolMessage": "coerce_args changes only content that is not str/list of str|dict and a "
    "tool_call_id that is UUID/int/float: a dump has neither",
    "ToolMessageChunk": "as ToolMessage",
    "AIMessage": "_backwards_compat_tool_calls parses additional_kwargs['tool_calls'] only when "
    "tool_calls and invalid_tool_calls are empty (then it finds what it found before: a function "
    "of additional_kwargs, which a dump keeps) and rebuilds each tool call through tool_call / "
    "invalid_tool_call, whose output it is already (restore_rules: for any other payload, each "
    "tool call must hold exactly those factories' keys, and with no tool call fields set "
    "additional_kwargs no 'tool_calls' key)",
    "AIMessageChunk": "NOT the identity: init_tool_calls turns tool_calls into tool_call_chunks "
    "(args json.dumps'ed) and invalid_tool_calls into chunks; validating the dump parses every "
    "chunk back, so an invalid call whose args are a JSON object becomes a valid one (its error "
    "dropped) and args keys that are not str come back as str",
}

@dataclass(frozen=True)
class RestoreRules:
    """What a restored class's reviewed `__init__` and validators need of a payload, beyond its
    fields' schema rules, for validating it to return it unchanged (`_trusted.trusted_model`).

    `fields`: field -> the rule replacing the schema's. `rebuilt`: a `list[TypedDict]` field whose
    items a validator rebuilds through a factory -> the keys that factory writes (an item must
    hold exactly those). `either`: groups of `(field, rule)`, at least one of each group must hold.
    Rules are `_trusted.trusted_model`'s."""

    fields: dict[str, Any]
    rebuilt: dict[str, tuple[str, ...]]
    either: tuple[tuple[tuple[str, Any], ...], ...]


_NO_RULES = RestoreRules({}, {}, ())

# Per restored class, from reading its members (see _RESTORE_WHY); a class not listed needs
# nothing beyond its fields' schema rules.
_RESTORE_RULES: dict[tuple[str, str], RestoreRules] = {
    # RemoveMessage.__init__ pops `content` (a truthy one raises) and passes '': only a payload
    # whose content is '' comes back unchanged.
    ("langchain_core.messages.modifier", "RemoveMessage"): RestoreRules({"content": ("literal", ("",))}, {}, ()),
    # AIMessage._backwards_compat_tool_calls rebuilds each tool call through tool_call(name, args,
    # id) and each invalid one through invalid_tool_call(name, args, id, error) (the keys they
    # write, plus type), and, when tool_calls and invalid_tool_calls are both empty, parses
    # additional_kwargs['tool_calls'] into them: restored only when one of the two is non-empty
    # or additional_kwargs holds no 'tool_calls' key (keys of plain types only, so the lookup
    # runs no Python code).
    ("langchain_core.messages.ai", "AIMessage"): RestoreRules(
        {},
        {
            "tool_calls": ("name", "args", "id", "type"),
            "invalid_tool_calls": ("name", "args", "id", "error", "type"),
        },
        (
            (
                ("tool_calls", ("nonempty", None)),
                ("invalid_tool_calls", ("nonempty", None)),
                ("additional_kwargs", ("without", "tool_calls")),
            ),
        ),
    ),
    # ToolMessage.coerce_args changes only content that is not an exact str or a list of str /
    # dict, and a tool_call_id that is a UUID, int or float: the schema's rules (exact str, a
    # list of exact str / dict) already admit none of those.
}


def restore_rules(cls: type) -> RestoreRules:
    """The table's `RestoreRules` for `cls` (a class whose verdict has `restore`)."""
    return _RESTORE_RULES.get((cls.__module__, cls.__qualname__), _NO_RULES)


# One line per reviewed member: why its output depends on its arguments alone. Keys are
# `class:<module>.<qualname>` (the class body: fields and config) or `<module>.<qualname>`.
_WHY: dict[str, str] = {
    "class:langchain_core.load.serializable.Serializable": "config extra='ignore' (overridden by "
    "BaseMessage); no fields; lc_* classmethods run only on dumpd/load, not on validation",
    "langchain_core.load.serializable.Serializable.__init__": "calls super().__init__(*args, **kwargs)",
    "class:langchain_core.messages.base.BaseMessage": "fields content: str | list[str | dict], "
    "additional_kwargs/response_metadata: dict (default_factory=dict), type: str, name: str | "
    "None, id: str | None with coerce_numbers_to_str (a function of the value); extra='allow'",
    "langchain_core.messages.base.BaseMessage.__init__": "passes content_blocks (if not None) "
    "else content as content=, and kwargs, to super().__init__",
    "class:langchain_core.messages.base.BaseMessageChunk": "no fields, no validators: methods "
    "for `+` only",
    "class:langchain_core.messages.human.HumanMessage": "type: Literal['human'] = 'human'",
    "langchain_core.messages.human.HumanMessage.__init__": "as BaseMessage.__init__",
    "class:langchain_core.messages.human.HumanMessageChunk": "type: Literal['HumanMessageChunk']",
    "class:langchain_core.messages.system.SystemMessage": "type: Literal['system'] = 'system'",
    "langchain_core.messages.system.SystemMessage.__init__": "as BaseMessage.__init__",
    "class:langchain_core.messages.system.SystemMessageChunk": "type: Literal['SystemMessageChunk']",
    "class:langchain_core.messages.chat.ChatMessage": "role: str; type: Literal['chat']",
    "class:langchain_core.messages.chat.ChatMessageChunk": "type: Literal['ChatMessageChunk']",
    "class:langchain_core.messages.function.FunctionMessage": "name: str; type: Literal['function']",
    "class:langchain_core.messages.function.FunctionMessageChunk": "type: "
    "Literal['FunctionMessageChunk']",
    "class:langchain_core.messages.modifier.RemoveMessage": "type: Literal['remove']",
    "langchain_core.messages.modifier.RemoveMessage.__init__": "pops content (raises ValueError "
    "if truthy), calls super().__init__('', id=id, **kwargs)",
    "class:langchain_core.messages.tool.ToolMessage": "tool_call_id: str, artifact: Any, status: "
    "Literal['success', 'error'] = 'success'; type: Literal['tool']",
    "langchain_core.messages.tool.ToolMessage.__init__": "as BaseMessage.__init__",
    "langchain_core.messages.tool.ToolMessage.coerce_args": "before-validator: tuple content to "
    "list, other non-str/list content and list items that are not str/dict through str() (of the "
    "payload's own value), UUID/int/float tool_call_id to str; reads only `values`",
    "class:langchain_core.messages.tool.ToolMessageChunk": "type: Literal['ToolMessageChunk']",
    "class:langchain_core.messages.tool.ToolOutputMixin": "a plain marker class: no members",
    "class:langchain_core.messages.ai.AIMessage": "tool_calls: list[ToolCall], "
    "invalid_tool_calls: list[InvalidToolCall] (TypedDicts, default_factory=list), "
    "usage_metadata: UsageMetadata | None (TypedDicts of ints); type: Literal['ai']",
    "langchain_core.messages.ai.AIMessage.__init__": "with content_blocks: copies its "
    "type='tool_call' blocks to tool_calls when absent; then as BaseMessage.__init__",
    "langchain_core.messages.ai.AIMessage._backwards_compat_tool_calls": "before-validator: "
    "parses additional_kwargs['tool_calls'] (default_tool_parser / default_tool_chunk_parser) "
    "when no tool call field is set, rebuilds each tool call dict through the tool.py "
    "factories; reads only `values` and `cls` (issubclass); logs at debug on a parse failure",
    "class:langchain_core.messages.ai.AIMessageChunk": "tool_call_chunks: list[ToolCallChunk], "
    "chunk_position: Literal['last'] | None; type: Literal['AIMessageChunk']",
    "langchain_core.messages.ai.AIMessageChunk.init_tool_calls": "after-validator: builds "
    "tool_call_chunks from tool_calls (json.dumps) or tool_calls/invalid_tool_calls from "
    "tool_call_chunks (parse_partial_json); rewrites the validated content's tool_call_chunk "
    "blocks; reads only self",
    "langchain_core.messages.ai.AIMessageChunk.init_server_tool_calls": "after-validator: for a "
    "last chunk of output_version v1, json.loads the args of server tool call blocks in the "
    "validated content; reads only self",
    "langchain_core.messages.tool.default_tool_parser": "json.loads of each call's "
    "function.arguments; builds dicts through tool_call / invalid_tool_call",
    "langchain_core.messages.tool.default_tool_chunk_parser": "copies name/arguments/id/index of "
    "each raw call into tool_call_chunk",
    "langchain_core.messages.tool.tool_call": "returns ToolCall(name, args, id, type='tool_call') (a dict)",
    "langchain_core.messages.tool.tool_call_chunk": "returns a ToolCallChunk dict of its arguments",
    "langchain_core.messages.tool.invalid_tool_call": "returns an InvalidToolCall dict of its arguments",
    "langchain_core.utils.json.parse_partial_json": "json.loads of the string, else of the "
    "string closed and cut back character by character (a function of the string)",
}

# Accepted sha256 (first 16 hex digits) of each member per release (scripts/langchain_table.py):
# the source of the class body or function, and, for a function, the module globals it reads.
_HASHES: dict[str, frozenset[str]] = {
    "class:langchain_core.load.serializable.Serializable": frozenset({"e403b6c206fd82ff"}),
    "class:langchain_core.messages.ai.AIMessage": frozenset({"9c04e54327183b32"}),
    "class:langchain_core.messages.ai.AIMessageChunk": frozenset(
        {
            "b0385864e710abce",  # 1.4.9, 1.5.6
            "b07305d114d456b4",  # 1.6.13+
        }
    ),
    "class:langchain_core.messages.base.BaseMessage": frozenset({"d4abbe775a62a361"}),
    "class:langchain_core.messages.base.BaseMessageChunk": frozenset({"ca64e3e7e617c09b"}),
    "class:langchain_core.messages.chat.ChatMessage": frozenset({"02535f4916d74768"}),
    "class:langchain_core.messages.chat.ChatMessageChunk": frozenset({"ea643ea68b7211da"}),
    "class:langchain_core.messages.function.FunctionMessage": frozenset({"99d87feb554532b6"}),
    "class:langchain_core.messages.function.FunctionMessageChunk": frozenset({"bc115e9286c22278"}),
    "class:langchain_core.messages.human.HumanMessage": frozenset({"3a3de84a57e87b87"}),
    "class:langchain_core.messages.human.HumanMessageChunk": frozenset({"b7da864b11544fcb"}),
    "class:langchain_core.messages.modifier.RemoveMessage": frozenset({"4ba3c4aa0537b4af"}),
    "class:langchain_core.messages.system.SystemMessage": frozenset({"018e9605c194d0a3"}),
    "class:langchain_core.messages.system.SystemMessageChunk": frozenset({"2e10a3912c825ba4"}),
    "class:langchain_core.messages.tool.ToolMessage": frozenset({"6cc58951d8ddd156"}),
    "class:langchain_core.messages.tool.ToolMessageChunk": frozenset({"ad18a5d596fe16fa"}),
    "class:langchain_core.messages.tool.ToolOutputMixin": frozenset({"41cf41808ba7f862"}),
    "langchain_core.load.serializable.Serializable.__init__": frozenset({"652f147af87d2652"}),
    "langchain_core.messages.ai.AIMessage.__init__": frozenset({"af0dd80659354c92"}),
    "langchain_core.messages.ai.AIMessage._backwards_compat_tool_calls": frozenset({"6126dd56cf0118a0"}),
    "langchain_core.messages.ai.AIMessageChunk.init_server_tool_calls": frozenset(
        {
            "c7b3bdb3dda67cec",  # 1.4.9, 1.5.6
            "56a9536a6d0007f7",  # 1.6.13+
        }
    ),
    "langchain_core.messages.ai.AIMessageChunk.init_tool_calls": frozenset({"9370ca38dee0fba2"}),
    "langchain_core.messages.base.BaseMessage.__init__": frozenset({"e7511a18dfb61c70"}),
    "langchain_core.messages.human.HumanMessage.__init__": frozenset({"fe320c1a6ffa7a0e"}),
    "langchain_core.messages.modifier.RemoveMessage.__init__": frozenset({"a9e4cc06ce3e96b5"}),
    "langchain_core.messages.system.SystemMessage.__init__": frozenset({"fe320c1a6ffa7a0e"}),
    "langchain_core.messages.tool.ToolMessage.__init__": frozenset({"06e4330ffbe267e2"}),
    "langchain_core.messages.tool.ToolMessage.coerce_args": frozenset({"8963fd6a68443646"}),
    "langchain_core.messages.tool.default_tool_chunk_parser": frozenset({"c419ae9edef2cfc1"}),
    "langchain_core.messages.tool.default_tool_parser": frozenset({"b5bf6f7949c7ec70"}),
    "langchain_core.messages.tool.invalid_tool_call": frozenset({"5c6d1787aee26a75"}),
    "langchain_core.messages.tool.tool_call": frozenset({"2e0247cf5906865d"}),
    "langchain_core.messages.tool.tool_call_chunk": frozenset({"36293ed7d1ef1e6c"}),
    "langchain_core.utils.json.parse_partial_json": frozenset(
        {
            "b069eeed6d106e02",  # to 1.7.2
            "3cd00d61fd8f8a0e",  # 1.7.7+
        }
    ),
}

# The names of a class's chain the review reads (`_WATCHED`) and the pydantic decorator
# categories (`_DECORATOR_KINDS`) are `_verified_deps`'s, which watches the same objects.
_DEFAULT_FACTORIES = (dict, list)
_CONFIG = {"extra": "allow"}


def _function_member(
    func: types.FunctionType,
    members: dict[str, tuple[str, Any]],
    pending: list[Any],
    deps: list[Dep],
) -> None:
    """Record `func` (hash of its source and of the globals it reads) and queue the langchain-core
    functions it calls through its module globals. What the verdict rests on goes to `deps`
    first, before anything that may find `func` unverified: its code, defaults and closure cells,
    then each module global its code reads."""
    key = f"{func.__module__}.{func.__qualname__}"
    if key in members:
        return
    _function_deps(func, deps)
    home = sys.modules.get(func.__module__)
    if home is None or func.__globals__ is not home.__dict__:
        raise _Unverified(f"{key} does not run in its module's globals")
    if func.__closure__ and any(
        name != "__class__" for name in func.__code__.co_freevars
    ):  # zero-argument super() is the only closure a reviewed member has
        raise _Unverified(f"{key} has a closure")
    try:
        source = _source(func)
    except (OSError, TypeError, SyntaxError) as exc:
        raise _Unverified(f"no source for {key}") from exc
    if not same_defaults(func, _source.defaults(func)):
        raise _Unverified(f"{key}'s defaults are not its source's")
    described = []
    for name in sorted(_code_names(func.__code__)):
        if name not in func.__globals__:
            continue  # a builtin or an attribute name (builtins are not watched)
        value = func.__globals__[name]
        deps.append(("item", func.__globals__, name, value))
        described.append(f"{name}={_describe(value)}")
        if isinstance(value, types.FunctionType) and value.__module__.startswith("langchain_core"):
            pending.append(value)
        else:
            _reached_deps(func, value, deps)
    members[key] = (_digest(source, *described), func)


def _members(cls: type, deps: list[Dep]) -> dict[str, tuple[str, Any]]:
    """Every reviewed member of `cls` as `key -> (hash, object)`; raises _Unverified when `cls`
    is not shaped as the table's classes are. Adds to `deps` what the answer rests on outside the
    class's own attributes (which its `tp_version_tag` follows): the metaclass's `__call__`, each
    reviewed function's code, defaults and closure cells, each module global they read."""
    from pydantic import BaseModel
    from pydantic._internal._model_construction import ModelMetaclass

    deps.append(_call_dep(type(cls)))
    if type(cls) is not ModelMetaclass or type(cls).__call__ is not type.__call__:
        raise _Unverified("not pydantic's metaclass")
    mro = cls.__mro__
    if BaseModel not in mro:
        raise _Unverified("not a BaseModel")
    # The reviewed chain: every class of the MRO but pydantic's BaseModel, abc.ABC and object
    # (ToolMessage also has the plain ToolOutputMixin), each from langchain-core.
    chain = tuple(k for k in mro if k not in (BaseModel, abc.ABC, object))
    if mro[-1] is not object or abc.ABC not in mro:
        raise _Unverified(f"unexpected bases {mro}")
    if any(not k.__module__.startswith("langchain_core.") for k in chain):
        raise _Unverified(f"a base outside langchain-core in {mro}")
    members: dict[str, tuple[str, Any]] = {}
    pending: list[Any] = []
    for k in chain:
        home = sys.modules.get(k.__module__)
        if home is None or _lookup(home, k.__qualname__) is not k:
            raise _Unverified(f"{k.__module__}.{k.__qualname__} is not its module's attribute")
        own = [name for name in _WATCHED if name in vars(k)]
        if own not in ([], ["__init__"]):
            raise _Unverified(f"{k.__qualname__} defines {own}")
        if own:
            init = _function(vars(k)["__init__"])
            if init.__qualname__ != f"{k.__qualname__}.__init__":
                raise _Unverified(f"{k.__qualname__}.__init__ is {init.__qualname__}")
            pending.append(init)
        try:
            source = _source(k)
        except (OSError, TypeError) as exc:
            raise _Unverified(f"no source for {k.__qualname__}") from exc
        members[f"class:{k.__module__}.{k.__qualname__}"] = (_digest(source), k)
    # Past the chain, BaseModel's members run too (its __init__ validates) and abc.ABC's would
    # (a __new__ set on it): each watched one they hold must be their library's own.
    for k in (BaseModel, abc.ABC):
        for name in _WATCHED:
            if name not in vars(k):
                continue
            func = vars(k)[name]
            if name == "__init__" and isinstance(func, types.FunctionType):
                _function_deps(func, deps)  # BaseModel.__init__ validates: its code, in place
            if not _own_member(k, name):
                raise _Unverified(f"{k.__qualname__}.{name} is not {k.__module__}'s")
    if cls.__pydantic_post_init__ is not None or getattr(cls, "__pydantic_root_model__", False):
        raise _Unverified("model_post_init or RootModel")
    if dict(cls.model_config) != _CONFIG:
        raise _Unverified(f"config {cls.model_config}")
    decorators = cls.__pydantic_decorators__
    validators = set()
    for kind in _DECORATOR_KINDS:
        for var, dec in getattr(decorators, kind).items():
            if kind != "model_validators":
                raise _Unverified(f"{kind} {var}")
            func = _function(dec.func)
            owner = next((k for k in chain if var in vars(k)), None)
            if owner is None or _function(vars(owner)[var]) is not func:
                raise _Unverified(f"validator {var} is not its class's attribute")
            if func.__qualname__ != f"{owner.__qualname__}.{var}":
                raise _Unverified(f"validator {var} is {func.__qualname__}")
            validators.add(func)
            pending.append(func)
            members[f"mode:{func.__module__}.{func.__qualname__}"] = (dec.info.mode, None)
    schema = cls.__pydantic_core_schema__
    if schema.get("cls", cls) is not cls and schema.get("schema", {}).get("cls") is not cls:
        raise _Unverified("core schema of another class")
    # What validates is the validator pydantic built from that schema (not one set on the class).
    from pydantic_core import SchemaValidator

    validator = cls.__pydantic_validator__
    if type(validator) is not SchemaValidator or validator.__reduce__()[1][0] is not schema:
        raise _Unverified("a validator not built from the class's core schema")
    for func in _schema_callables(schema):
        if isinstance(func, type) and func in _DEFAULT_FACTORIES:
            continue
        if _function(func) not in validators:
            raise _Unverified(f"schema runs {func!r}, which the decorators do not list")
    while pending:
        _function_member(pending.pop(), members, pending, deps)
    return members


def _schema_callables(node: Any, seen: set[int] | None = None) -> list[Any]:
    """Every callable a pydantic-core schema holds outside `cls`, `ref` and `metadata` (validators,
    serializers, default factories), each shared node read once."""
    seen = set() if seen is None else seen
    if id(node) in seen or not isinstance(node, (dict, list, tuple)):
        return [node] if callable(node) else []
    seen.add(id(node))
    values = node.values() if isinstance(node, dict) else node
    skip = {id(node.get(k)) for k in ("cls", "ref", "metadata")} if isinstance(node, dict) else set()
    return [f for v in values if id(v) not in skip for f in _schema_callables(v, seen)]


_LC = "langchain_core."
_MSG = (  # every message: the class bodies and __init__s of Serializable and BaseMessage
    f"class:{_LC}load.serializable.Serializable",
    f"{_LC}load.serializable.Serializable.__init__",
    f"class:{_LC}messages.base.BaseMessage",
    f"{_LC}messages.base.BaseMessage.__init__",
)
_CHUNK = (f"class:{_LC}messages.base.BaseMessageChunk",)
_TOOL = (  # ToolMessage's own members (ToolMessageChunk inherits them)
    f"class:{_LC}messages.tool.ToolMessage",
    f"class:{_LC}messages.tool.ToolOutputMixin",
    f"{_LC}messages.tool.ToolMessage.__init__",
    f"{_LC}messages.tool.ToolMessage.coerce_args",
)
_AI = (  # AIMessage's own members and the tool.py helpers its validator calls
    f"class:{_LC}messages.ai.AIMessage",
    f"{_LC}messages.ai.AIMessage.__init__",
    f"{_LC}messages.ai.AIMessage._backwards_compat_tool_calls",
    f"{_LC}messages.tool.default_tool_parser",
    f"{_LC}messages.tool.default_tool_chunk_parser",
    f"{_LC}messages.tool.tool_call",
    f"{_LC}messages.tool.invalid_tool_call",
    f"{_LC}messages.tool.tool_call_chunk",
)


def _plain(module: str, name: str, init: bool) -> tuple[str, ...]:
    own = (f"class:{_LC}messages.{module}.{name}",)
    return _MSG + own + ((f"{_LC}messages.{module}.{name}.__init__",) if init else ())


# The member keys each class's validation runs (`_members`): exactly these, no more.
_CHAINS: dict[str, tuple[str, ...]] = {
    f"{_LC}messages.human.HumanMessage": _plain("human", "HumanMessage", True),
    f"{_LC}messages.system.SystemMessage": _plain("system", "SystemMessage", True),
    f"{_LC}messages.chat.ChatMessage": _plain("chat", "ChatMessage", False),
    f"{_LC}messages.function.FunctionMessage": _plain("function", "FunctionMessage", False),
    f"{_LC}messages.modifier.RemoveMessage": _plain("modifier", "RemoveMessage", True),
    f"{_LC}messages.tool.ToolMessage": _MSG + _TOOL,
    f"{_LC}messages.ai.AIMessage": _MSG + _AI,
    f"{_LC}messages.ai.AIMessageChunk": _MSG
    + _CHUNK
    + _AI
    + (
        f"class:{_LC}messages.ai.AIMessageChunk",
        f"{_LC}messages.ai.AIMessageChunk.init_tool_calls",
        f"{_LC}messages.ai.AIMessageChunk.init_server_tool_calls",
        f"{_LC}utils.json.parse_partial_json",
    ),
    f"{_LC}messages.tool.ToolMessageChunk": _MSG
    + _CHUNK
    + _TOOL
    + (f"class:{_LC}messages.tool.ToolMessageChunk",),
}
for _module, _name, _init in (
    ("human", "HumanMessage", True),
    ("system", "SystemMessage", True),
    ("chat", "ChatMessage", False),
    ("function", "FunctionMessage", False),
):
    _CHAINS[f"{_LC}messages.{_module}.{_name}Chunk"] = (
        _plain(_module, _name, _init) + _CHUNK + (f"class:{_LC}messages.{_module}.{_name}Chunk",)
    )
del _module, _name, _init


def check(cls: type, deps: list[Dep] | None = None) -> dict[str, str]:
    """Compare `cls`'s members with the table; returns `{}` when all match, else what differs
    (member key -> reason); `deps` receives what the answer rests on (`_members`). For
    `verified`, tests and scripts/langchain_table.py."""
    try:
        members = _members(cls, deps if deps is not None else [])
    except _Unverified as exc:
        return {"": str(exc)}
    except Exception as exc:  # an unreadable class: not the reviewed one
        return {"": repr(exc)}
    problems = {}
    expected = set(_CHAINS.get(f"{cls.__module__}.{cls.__qualname__}", ()))
    for key, (digest, _) in members.items():
        if key.startswith("mode:"):
            continue
        if key not in expected:
            problems[key] = "not reviewed for this class"
        elif digest not in _HASHES.get(key, ()):
            problems[key] = f"hash {digest} not in the table"
    for key in expected - set(members):
        problems[key] = "reviewed member missing"
    modes = {k[5:]: d for k, (d, _) in members.items() if k.startswith("mode:")}
    for key, mode in modes.items():
        if _MODES.get(key) != mode:
            problems["mode:" + key] = f"mode {mode}"
    return problems


_MODES = {
    "langchain_core.messages.tool.ToolMessage.coerce_args": "before",
    "langchain_core.messages.ai.AIMessage._backwards_compat_tool_calls": "before",
    "langchain_core.messages.ai.AIMessageChunk.init_tool_calls": "after",
    "langchain_core.messages.ai.AIMessageChunk.init_server_tool_calls": "after",
}


class _Cache:
    """Per class (weakly): what its verdict was decided on (`_Seen`), and the verdict."""

    def __init__(self) -> None:
        self.entries: weakref.WeakKeyDictionary[type, tuple[_Seen, Verified | None]]
        self.entries = weakref.WeakKeyDictionary()
        self.release: bool | None = None
        self.warned = False


_cache = _Cache()


def clear() -> None:
    """Forget every verdict and every source read for one (`FastSerializer.clear_cache`): the
    next `verified(cls)` reads and hashes the class's members again. The release check and its
    one warning per process are kept."""
    _cache.entries.clear()
    _source.clear()


def _release_verified() -> bool:
    if _cache.release is None:
        lc = sys.modules.get("langchain_core")
        version = getattr(lc, "__version__", None)
        _cache.release = version in RELEASES
        if not _cache.release and not _cache.warned:
            _cache.warned = True
            warnings.warn(
                f"fast-serde: langchain-core {version} is not a release fast-serde's table of "
                f"message classes is verified against ({', '.join(RELEASES)}); LangChain "
                "messages are validated on every load",
                RuntimeWarning,
                stacklevel=3,
            )
    return _cache.release


def verified(cls: type) -> Verified | None:
    """The table's verdict for `cls`, or None (validate every object): for a class not in the
    table, on a langchain-core release not in `RELEASES` (one RuntimeWarning per process), or when
    `cls` is not exactly the reviewed class (a subclass, a replaced or monkeypatched member, a
    validator the table does not know, a source that cannot be read).

    Decided once per class and set of members: the members are hashed on the first call and
    whenever one of them was replaced since (compared by identity, `_Seen`). Holds no strong
    reference to `cls`. Every call registers what the verdict rests on outside the class with
    the codec's watched set (`watch`).
    """
    if not isinstance(cls, type):
        return None
    verdict = _CLASSES.get((getattr(cls, "__module__", ""), getattr(cls, "__qualname__", "")))
    if verdict is None or not _release_verified():
        return None
    known = _cache.entries.get(cls)
    if known is not None:
        deps = known[0].matches(cls)
        if deps is not None:
            watch(deps)  # again: the codec's watched set is emptied whenever one changed
            return known[1]
    deps = []
    answer = verdict if not check(cls, deps) else None
    try:
        _cache.entries[cls] = (_Seen(cls, deps), answer)
    except Exception:  # a class that cannot be weakly referenced or watched: not cached
        pass
    watch(deps)
    return answer


# The reviewed `__init__`s that, called as `cls(**payload)` with a payload that has no
# `content_blocks` key (nor a `self` key, which collides with their first parameter), call
# `super().__init__(content=payload.get("content"), **rest)` with `rest` the payload's other keys
# in order (`_WHY`; Serializable's passes everything on). Each has one reviewed source (`_HASHES`).
_FORWARDING = frozenset(
    f"{_LC}{key}.__init__"
    for key in (
        "load.serializable.Serializable",
        "messages.base.BaseMessage",
        "messages.human.HumanMessage",
        "messages.system.SystemMessage",
        "messages.tool.ToolMessage",
        "messages.ai.AIMessage",
    )
)


def forwarded_init(cls: Any) -> types.FunctionType | None:
    """Pydantic's `BaseModel.__init__` when `cls(**payload)` is, for a payload whose first key is
    `content` and that has no `content_blocks` or `self` key (every key an exact str),
    `BaseModel.__init__(object.__new__(cls), **payload)`: `cls` is a class of the verified table
    (`verified`) whose `__init__` chain holds only reviewed forwarding ones (`_FORWARDING`; not
    RemoveMessage's), `__new__` is `object.__new__`, and the `__init__` the chain's last one
    reaches through `super()` is `BaseModel`'s own. Else None (the reader calls `cls(**payload)`).

    The reader (crates/fast-serde-core/src/langgraph/forward.rs) skips the Python frames of the
    chain, which only rebuild the same keyword arguments: the object, its validation and its
    errors are `cls(**payload)`'s. Never raises; registers what the answer rests on with the
    codec's watched set (`verified`)."""
    try:
        from pydantic import BaseModel

        if verified(cls) is None:
            return None
        chain = _CHAINS.get(f"{cls.__module__}.{cls.__qualname__}", ())
        inits = [key for key in chain if key.endswith(".__init__") and not key.startswith("class:")]
        if not inits or any(key not in _FORWARDING for key in inits):
            return None
        if cls.__new__ is not object.__new__:
            return None
        mro = cls.__mro__
        # `_members` holds every class of the chain to langchain-core (BaseModel, ABC, object past it)
        last = max(i for i, k in enumerate(mro) if k.__module__.startswith(_LC) and "__init__" in vars(k))
        reached = next(k for k in mro[last + 1 :] if "__init__" in vars(k))
        init = vars(BaseModel).get("__init__")
        if reached is not BaseModel or not isinstance(init, types.FunctionType):
            return None
        return init
    except Exception:  # an unreadable class: construct it as the parent does
        return None
