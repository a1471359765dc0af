"""Per-class plans for the native LangGraph codec, decided once per class.

The walker (crates/fast-serde-core/src/langgraph/plan.rs) meets a type it does not know by
pointer, calls `encode_plan(obj)` once for that class and caches the answer, a
`_native.PlanSpec` (crates/fast-serde-core/src/langgraph/spec.rs); the reader calls
`trusted_model(cls, kwargs)` once per pydantic class when `validate_models=False`.

`encode_plan` follows `langgraph.checkpoint.serde.jsonplus._msgpack_default` (langgraph-checkpoint
4.3) branch by branch, in its order of precedence, so the ext code and payload shape the walker
writes are the ones that function would have produced for every instance of the class. A kind the
installed release writes otherwise (`REJECTED_KINDS`: `_compat`, `_probe`) is
written by that function itself.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import decimal
import pathlib
import re
import sys
import types
from collections import deque
from datetime import date, datetime, time, timedelta, timezone
from enum import Enum
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
)
from collections.abc import Iterator
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from langgraph.checkpoint.serde.types import SendProtocol
from langgraph.store.base import Item

from fast_serde import _native
from fast_serde._native import PlanSpec, generic_getattr, instance_dict
from fast_serde.langgraph import _compat, _verified
from fast_serde.langgraph._guards import model_schema as _model_schema
from fast_serde.langgraph._guards import plain_model, typed_dict_guards
from fast_serde.langgraph._purity import constructs_plainly
from fast_serde.langgraph._purity import owner as _owner

# `isinstance(obj, _DELTA)`: never true on a release without `_DeltaSnapshot`.
_DELTA: tuple[type, ...] = (_compat.DELTA_SNAPSHOT,) if _compat.DELTA_SNAPSHOT else ()

# Plan kinds, read by the walker (`PlanKind` in crates/fast-serde-core/src/langgraph/kind.rs,
# which holds their values and how each is written). Payload shapes are jsonplus's.
FALLBACK = _native.PLAN_KINDS["FALLBACK"]  # _msgpack_enc(obj) in Python, spliced (numpy arrays, unknown types)
PYDANTIC_V2 = _native.PLAN_KINDS["PYDANTIC_V2"]  # ext 5 (module, name, obj.model_dump(), "model_validate_json")
PYDANTIC_V2_DICT = _native.PLAN_KINDS["PYDANTIC_V2_DICT"]  # the same bytes, from obj.__dict__ + __pydantic_extra__ (see plain_model)
DELTA_SNAPSHOT = _native.PLAN_KINDS["DELTA_SNAPSHOT"]  # ext 7 obj.value
SECRET = _native.PLAN_KINDS["SECRET"]  # ext 0 (module, name, obj.get_secret_value())
PYDANTIC_V1 = _native.PLAN_KINDS["PYDANTIC_V1"]  # ext 4 (module, name, obj.dict())
NAMEDTUPLE = _native.PLAN_KINDS["NAMEDTUPLE"]  # ext 2 (module, name, {field: item}) == obj._asdict()
PATH = _native.PLAN_KINDS["PATH"]  # ext 1 (module, name, obj.parts)
PATTERN = _native.PLAN_KINDS["PATTERN"]  # ext 1 ("re", "compile", (obj.pattern, obj.flags))
STR_ARG = _native.PLAN_KINDS["STR_ARG"]  # ext 0 (module, name, str(obj)): UUID subclasses use .hex, see HEX
HEX = _native.PLAN_KINDS["HEX"]  # ext 0 (module, name, obj.hex)
ITER_ARG = _native.PLAN_KINDS["ITER_ARG"]  # ext 0 (module, name, tuple(obj)): set, frozenset, deque
DATETIME = _native.PLAN_KINDS["DATETIME"]  # ext 3 (module, name, obj.isoformat(), "fromisoformat")
TIMEDELTA = _native.PLAN_KINDS["TIMEDELTA"]  # ext 1 (module, name, (days, seconds, microseconds))
DATE = _native.PLAN_KINDS["DATE"]  # ext 1 (module, name, (year, month, day))
TIME = _native.PLAN_KINDS["TIME"]  # ext 2 (module, name, {hour, minute, second, microsecond, tzinfo, fold})
INITARGS = _native.PLAN_KINDS["INITARGS"]  # ext 1 (module, name, obj.__getinitargs__())
ATTR_ARG = _native.PLAN_KINDS["ATTR_ARG"]  # ext 0 (module, name, getattr(obj, fields[0])): ZoneInfo.key, Enum.value
SEND = _native.PLAN_KINDS["SEND"]  # ext 1 (module, name, (node, arg[, timeout]))
ATTRS_KW = _native.PLAN_KINDS["ATTRS_KW"]  # ext 2 (module, name, {f: getattr(obj, f) for f in fields}): dataclass, Item
REPR = _native.PLAN_KINDS["REPR"]  # repr(obj): exceptions


# Plan flags, read by the walker (`decide` in langgraph/plan.rs; values in langgraph/kind.rs).
CHECK_INSTANCE = _native.PLAN_FLAGS["CHECK_INSTANCE"]  # instances have their own __dict__: look there for INSTANCE_ATTRS per object
ONCE = _native.PLAN_FLAGS["ONCE"]  # this answer came from the instance's own attributes: do not cache it for the class

# The attributes `_msgpack_default` probes with hasattr before a class's own branch. An instance
# can carry them in its own __dict__ (`obj.model_dump = ...`), which changes the branch for that
# object alone; the walker then hands that object to the Python path.
INSTANCE_ATTRS = frozenset({"model_dump", "get_secret_value", "dict", "_asdict"})


# Kinds written by the parent's own `_msgpack_enc` on the installed release (FALLBACK): those it
# writes otherwise (`_compat`), and those _probe found different on an unverified one
# (`reject_kinds`). Read-only outside this module.
REJECTED_KINDS: frozenset[int] = frozenset() if _compat.SEND_TIMEOUT else frozenset({SEND})
# True while _probe runs (`probing()`): no plan is cached (its verdict may still reject the
# kind). Read-only outside this module.
PROBING = False


def reject_kinds(kinds: frozenset[int]) -> None:
    """Have the parent's own `_msgpack_enc` write `kinds` (plan kinds) from now on, in addition
    to those already rejected. Called with the probe's verdict; plans already cached by a codec
    are not revisited (the probe runs before the first FastSerializer is built)."""
    global REJECTED_KINDS
    REJECTED_KINDS = REJECTED_KINDS | kinds


@contextlib.contextmanager
def probing() -> Iterator[None]:
    """While inside, every plan `encode_plan` returns carries ONCE (no codec caches it); nests,
    and restores the previous state on exit, exceptions included."""
    global PROBING
    was_probing = PROBING
    PROBING = True
    try:
        yield
    finally:
        PROBING = was_probing


def encode_plan(obj: Any) -> PlanSpec:
    """`_encode_plan(obj)`, or FALLBACK for a kind in `REJECTED_KINDS`; not cached while PROBING."""
    plan = _encode_plan(obj)
    if plan.kind in REJECTED_KINDS:
        plan = _PARENT_PATH
    if PROBING:
        return plan.with_flags(plan.flags | ONCE)
    return plan


def plan_kind(obj: Any) -> int:
    """The kind `_msgpack_default`'s branch for `obj` maps to (before `REJECTED_KINDS`)."""
    return _encode_plan(obj).kind


def _encode_plan(obj: Any) -> PlanSpec:
    """Return the `PlanSpec(kind, fields=, flags=, guards=, steer_any=, steer_all=)` of
    `type(obj)`: the branch `_msgpack_default` takes.

    `fields` names the attributes the walker reads (dataclass fields, slots, namedtuple fields,
    the attribute of ATTR_ARG, a plain model's fields); `flags` is CHECK_INSTANCE and/or ONCE;
    `guards` is `typed_dict_guards` for PYDANTIC_V2_DICT (else empty). With CHECK_INSTANCE the
    walker sends an object to the Python path when its own `__dict__` holds any of `steer_any`
    (INSTANCE_ATTRS and, past the `SendProtocol` branch, that protocol's callable members, which
    an instance attribute set to None disables) or all of `steer_all` (the `SendProtocol` data
    members its class lacks: with them the object is a Send). An object whose own attributes
    decide its branch gets `PlanSpec(FALLBACK, flags=ONCE)`, as does every object of a class
    whose attribute lookup is
    custom (`__getattr__`, `__getattribute__`) or whose class answers the probes per object
    (`_class_answers_fixed`: a property, a slot, a `__class__` override...). Raises nothing: an unknown type gets FALLBACK,
    whose Python path raises the parent's TypeError.
    """
    if isinstance(obj, _DELTA):
        return _DELTA_PLAN
    try:
        own = instance_dict(obj)  # obj.__dict__, without creating an exception's lazy dict
    except Exception:  # a raising __dict__ property: the Python path reports it
        own = None
    if own is None and type(obj).__dictoffset__ > 0:
        own = {}  # a dict slot not used yet: later objects of the class may fill theirs
    if isinstance(own, dict) and not INSTANCE_ATTRS.isdisjoint(own):
        return _PER_OBJECT
    kind, fields = _class_plan(obj)
    cls = type(obj)
    if kind not in (PYDANTIC_V2, PYDANTIC_V2_DICT, PYDANTIC_V1, FALLBACK) and _custom_getattr(cls):
        return _PER_OBJECT
    kind_attrs = _kind_instance_attrs(cls, kind)
    if kind != FALLBACK and not _class_answers_fixed(cls, kind, kind_attrs):
        return _PER_OBJECT
    if isinstance(own, dict) and not kind_attrs.isdisjoint(own):
        return _PER_OBJECT
    steer_all: tuple[str, ...] = ()
    if kind in _PAST_SEND_PROTOCOL or kind == SEND:
        steer_all = tuple(sorted(_send_members_missing(cls)))
        if kind == SEND and steer_all:
            # This object is a Send through its own attributes: decide every object anew.
            return _PER_OBJECT
    guards = typed_dict_guards(cls) if kind == PYDANTIC_V2_DICT else None
    guards = guards or ()
    if not isinstance(own, dict):
        return PlanSpec(kind, fields=fields, guards=guards)
    if kind == PYDANTIC_V2_DICT and INSTANCE_ATTRS.isdisjoint(fields):
        # The walker takes this path only when __dict__ holds exactly the fields, in order.
        return PlanSpec(kind, fields=fields, guards=guards)
    steer_any = INSTANCE_ATTRS | kind_attrs
    if kind in _PAST_SEND_PROTOCOL:
        steer_any |= SEND_CALLABLE_MEMBERS
    return PlanSpec(
        kind,
        fields=fields,
        flags=CHECK_INSTANCE,
        guards=guards,
        steer_any=tuple(sorted(steer_any)),
        steer_all=steer_all,
    )


# Built at import, so that a contract that no longer fits the native PlanSpec fails there.
_PER_OBJECT = PlanSpec(FALLBACK, flags=ONCE)  # decided per object, in Python
_PARENT_PATH = PlanSpec(FALLBACK)  # every object of the class, by the parent's own code
_DELTA_PLAN = PlanSpec(DELTA_SNAPSHOT)

# Kinds whose branch in `_msgpack_default` comes after `isinstance(obj, SendProtocol)`.
_PAST_SEND_PROTOCOL = frozenset({REPR, ATTRS_KW})

# `typing`'s runtime protocol check calls hasattr on these for every object.
_SEND_MEMBERS = ("node", "arg")
# The callable members of SendProtocol: an instance attribute set to None blocks the protocol.
SEND_CALLABLE_MEMBERS = frozenset({"__hash__", "__eq__", "__repr__"})


def _send_members_missing(cls: type) -> set[str]:
    """The data members of `SendProtocol` that instances of `cls` do not get from their class."""
    return {name for name in _SEND_MEMBERS if _owner(cls, name) is None}


# The names `_msgpack_default` probes with hasattr/callable, in its order: a class's branch
# depends on those up to and including its own (`_BRANCH_PROBES`).
_PROBES = ("model_dump", "get_secret_value", "dict", "_asdict")
_BRANCH_PROBES = {PYDANTIC_V2: 1, PYDANTIC_V2_DICT: 1, SECRET: 2, PYDANTIC_V1: 3, NAMEDTUPLE: 4}


def _class_answers_fixed(cls: type, kind: int, kind_attrs: frozenset[str]) -> bool:
    """True if what `_msgpack_default` asks of an instance before (and for) the branch of
    `kind` is answered by `cls` alone, the same for every instance and for as long as the class
    is unchanged (its `tp_version_tag`), apart from the instance's own `__dict__`, which the
    walker checks per object (`steer_any`). Not so when the name resolves, in the class, to a
    descriptor that runs code per object (a property, a `__slots__` member, which may be unset,
    `functools.cached_property`, a descriptor class of one's own) or to a value whose
    `callable()` can change without the class changing (an instance of a class that may gain or
    lose `__call__`); nor when the class overrides `__class__`, which `isinstance` and the
    payload's module and name read per object. Then every object is decided by the parent's path.
    """
    if _owner(cls, "__class__") is not object:
        return False
    names: tuple[str, ...] = _PROBES[: _BRANCH_PROBES.get(kind, len(_PROBES))]
    if (kind in _PAST_SEND_PROTOCOL or kind == SEND) and sys.version_info < (3, 12):
        # Before 3.12 `isinstance(obj, SendProtocol)` asks hasattr/getattr of each member (3.12
        # reads them with inspect.getattr_static, which runs no descriptor).
        names += _SEND_MEMBERS + tuple(sorted(SEND_CALLABLE_MEMBERS))
    names += tuple(kind_attrs)  # `_kind_instance_attrs(cls, kind)`
    for name in names:
        owner = _owner(cls, name)
        if owner is None:
            continue
        value = vars(owner)[name]
        if kind == SEND and name in _SEND_MEMBERS and isinstance(value, types.MemberDescriptorType):
            # A Send's own slots (langgraph.types.Send): the walker reads them per object, and
            # one left unset fails there as the parent's write does (no other branch fits).
            continue
        if not _fixed_answer(value):
            return False
    return True


# Class attributes whose `__get__` answers alike for every instance, always callable.
_FIXED_DESCRIPTORS = (
    types.FunctionType,
    types.MethodDescriptorType,
    types.WrapperDescriptorType,
    types.ClassMethodDescriptorType,
)


def _fixed_answer(value: Any) -> bool:
    """True if `hasattr`/`callable`/`is None` on `value`, found in a class's `__dict__`, answer
    the same for every instance and while that class is unchanged."""
    if value is None or isinstance(value, _FIXED_DESCRIPTORS):
        return True
    if isinstance(value, (staticmethod, classmethod)):
        inner = value.__func__
        return isinstance(inner, (types.FunctionType, types.BuiltinFunctionType))
    t = type(value)
    # Any other descriptor may answer per object; a heap type's instance may become callable
    # (or stop being) when that type gains or loses `__call__`, which leaves `cls` unchanged.
    return not hasattr(t, "__get__") and not t.__flags__ & _HEAPTYPE


_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE


def _kind_instance_attrs(cls: type, kind: int) -> frozenset[str]:
    """The attributes besides INSTANCE_ATTRS that `_msgpack_default` reads of the instance to
    write a `kind`: `dataclasses.fields(obj)` reads `obj.__dataclass_fields__`, the `Item`
    branch `obj.__slots__` (an instance's own entry would change the fields)."""
    if kind != ATTRS_KW:
        return frozenset()
    return _DATACLASS_ATTRS if dataclasses.is_dataclass(cls) else _ITEM_ATTRS


_DATACLASS_ATTRS = frozenset({"__dataclass_fields__"})
_ITEM_ATTRS = frozenset({"__slots__"})


def _custom_getattr(cls: type) -> bool:
    """True if `cls`'s attribute lookup is not CPython's generic one (a `__getattr__` or
    `__getattribute__` in Python, or a C type's own), so `hasattr` on an instance can answer
    differently per object. Read from the type's `tp_getattro` slot, which CPython updates when a
    class gains or loses either method (its `tp_version_tag` changes with it, so no plan outlives
    the change); deque, ZoneInfo and Decimal, heap types on 3.12/3.13 listing a generic
    `__getattribute__` wrapper, are not custom."""
    return not generic_getattr(cls)


def _class_plan(obj: Any) -> tuple[int, tuple[str, ...]]:
    """`(kind, fields)` for an object whose own attributes do not steer `_msgpack_default`."""
    cls = type(obj)
    if hasattr(obj, "model_dump") and callable(obj.model_dump):
        fields = plain_model(cls)
        if fields is not None:
            return PYDANTIC_V2_DICT, fields
        return PYDANTIC_V2, ()
    if hasattr(obj, "get_secret_value") and callable(obj.get_secret_value):
        return SECRET, ()
    if hasattr(obj, "dict") and callable(obj.dict):
        return PYDANTIC_V1, ()
    if hasattr(obj, "_asdict") and callable(obj._asdict):
        fields = getattr(cls, "_fields", None)
        if (
            isinstance(obj, tuple)
            and isinstance(fields, tuple)
            and cls._asdict is _namedtuple_asdict(cls)
            and cls.__iter__ is tuple.__iter__  # `_asdict()` zips `_fields` with iter(self)
        ):
            return NAMEDTUPLE, fields
        return FALLBACK, ()
    if isinstance(obj, pathlib.Path):
        return PATH, ()
    if isinstance(obj, re.Pattern):
        return PATTERN, ()
    if isinstance(obj, UUID):
        return HEX, ()
    if isinstance(obj, decimal.Decimal):
        return STR_ARG, ()
    if isinstance(obj, (set, frozenset, deque)):
        return ITER_ARG, ()
    if isinstance(
        obj, (IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network)
    ):
        return STR_ARG, ()
    if isinstance(obj, datetime):
        return DATETIME, ()
    if isinstance(obj, timedelta):
        return (TIMEDELTA, ()) if _c_fields(cls, timedelta, _TIMEDELTA_ATTRS) else (FALLBACK, ())
    if isinstance(obj, date):
        return (DATE, ()) if _c_fields(cls, date, _DATE_ATTRS) else (FALLBACK, ())
    if isinstance(obj, time):
        return (TIME, ()) if _c_fields(cls, time, _TIME_ATTRS) else (FALLBACK, ())
    if isinstance(obj, timezone):
        return INITARGS, ()
    if isinstance(obj, ZoneInfo):
        return ATTR_ARG, ("key",)
    if isinstance(obj, Enum):
        return ATTR_ARG, ("value",)
    if isinstance(obj, SendProtocol):
        return SEND, ()
    if dataclasses.is_dataclass(obj):
        return ATTRS_KW, tuple(f.name for f in dataclasses.fields(obj))
    if isinstance(obj, Item):
        return ATTRS_KW, tuple(obj.__slots__)
    if (np := sys.modules.get("numpy")) is not None and isinstance(obj, np.ndarray):
        return FALLBACK, ()
    if isinstance(obj, BaseException):
        return REPR, ()
    return FALLBACK, ()


# The attributes `_msgpack_default` reads of a timedelta, date or time; the walker reads the same
# values from the C struct, which is what they return unless a subclass redefines one.
_TIMEDELTA_ATTRS = ("days", "seconds", "microseconds")
_DATE_ATTRS = ("year", "month", "day")
_TIME_ATTRS = ("hour", "minute", "second", "microsecond", "tzinfo", "fold")


def _c_fields(cls: type, base: type, attrs: tuple[str, ...]) -> bool:
    """True if every class between `cls` and the built-in `base` leaves `attrs` alone."""
    for b in cls.__mro__:
        if b is base:
            return True
        if any(a in vars(b) for a in attrs):
            return False
    return True


# Every class collections.namedtuple makes gets its own `_asdict` function, all of one code.
_NAMEDTUPLE_ASDICT_CODE = collections.namedtuple("_Probe", "a")._asdict.__code__


def _namedtuple_asdict(cls: type) -> Any:
    """The `_asdict` collections.namedtuple generates for `cls`, or None when `cls` (or a class
    between it and the generated one) defines or patches its own: then it is not plain."""
    base = _owner(cls, "_asdict")
    if base is None:
        return None
    f = vars(base)["_asdict"]
    generated = "_make" in vars(base) and getattr(f, "__code__", None) is _NAMEDTUPLE_ASDICT_CODE
    return f if generated else None


def trusted_model(cls: type) -> tuple[tuple[str, ...], bool, tuple[Any, ...], tuple[Any, ...]] | None:
    """How `validate_models=False` may restore `cls` without validation, read from its schema.

    Trusted restoring is what pickle does for a pydantic model: `__dict__`, fields set and extras
    are set directly (pydantic's own `__setstate__`). That yields what `cls(**kwargs)` yields
    exactly when validation would hand every value back unchanged, type for type, which the schema
    decides: a BaseModel without private attributes, `model_post_init`, a custom `__init__`,
    RootModel, model or field validators, and whose every field is one of `any`, an unconstrained
    `str`/`int`/`float`/`bool`/`bytes`/`none`, a `Literal` of str/int/bool/None, `Optional`, an
    unconstrained `list`/`dict` of those, a TypedDict, a union whose members take disjoint exact
    types, or a nested model (never revalidated) of its exact class.

    LangChain's message classes whose verdict in the verified table (`_verified.verified`) has
    `restore` get the same per-field rules, read from the fields' schema under the reviewed
    validator, narrowed by what the table records their `__init__` and validators need
    (`_verified.restore_rules`): then validation provably returns every admitted payload
    unchanged, so those payloads are restored and every other one is validated.

    Returns None (validate every object) or `(fields, extra_allow, rules, either)`: the field
    names in order, whether extras are kept (`extra="allow"`), per field the rule the reader
    checks on each value before restoring (trusted.rs `Rule`), and groups of `(field index,
    rule)` of which at least one per group must hold. A rule is None (any value),
    `("types", (type, ...))` (exactly one of these types), `("literal", (value, ...))` (equal to
    one, of the same exact type), `("opt", rule)`, `("list", rule)`, `("dict", key_rule,
    value_rule)`, `("union", (rule, ...))`, `("td", ((key, rule, required), ...), extra_allow)`
    (an exact dict whose exact str keys are declared ones in declared order, the required ones
    present, then, with extra_allow, undeclared ones), `("nonempty", None)` (a non-empty exact
    list or dict) or `("without", key)` (an exact dict whose keys are exact str/int/float/bool/
    None/bytes, none equal to `key`). A payload that fails a rule is validated as usual. The
    payload must hold exactly the fields, in order (what the writer writes), else it is validated.
    """
    try:
        from pydantic import BaseModel
    except ImportError:  # pragma: no cover
        return None
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        return None
    table = _verified.verified(cls)
    if table is not None and table.restore:
        return _table_trust(cls)
    # No private attributes, no custom __init__/__new__/metaclass __call__/model_post_init
    # (also one assigned after the class was made): the memo's rule (_purity), stricter.
    if getattr(cls, "__pydantic_root_model__", False) or not constructs_plainly(cls):
        return None
    try:
        schema, defs = _model_schema(cls)
        if schema.get("type") != "model" or schema.get("cls") is not cls:
            return None
        if not _inert_config(schema.get("config") or {}) or schema.get("custom_init"):
            return None
        inner = schema["schema"]
        if inner.get("type") != "model-fields" or inner.get("computed_fields"):
            return None
        fields = inner["fields"]
        if tuple(fields) != tuple(cls.model_fields):
            return None
        rules = tuple(_rule(f, defs, frozenset()) for f in fields.values())
    except _Untrusted:
        return None
    except (KeyError, TypeError):
        return None
    extra = cls.model_config.get("extra")
    return tuple(fields), extra == "allow", rules, ()


def _table_trust(cls: type) -> tuple[tuple[str, ...], bool, tuple[Any, ...], tuple[Any, ...]] | None:
    """`trusted_model` for a class of the verified table whose verdict has `restore`.

    Its `__init__` and model validator are the reviewed ones (`_verified.verified` checked every
    member), so the fields' schema is read under the validator's `function-before` node; a field
    the table lists is ruled as `_verified.restore_rules` says (a fixed rule, or a list of
    TypedDicts a validator rebuilds through a factory: each item must hold exactly the keys the
    factory writes, in the schema's order), every other one by `_rule`. None when the schema has
    another shape (then every object is validated)."""
    spec = _verified.restore_rules(cls)
    try:
        schema, defs = _model_schema(cls)
        if schema.get("type") != "model" or schema.get("cls") is not cls:
            return None
        if not _inert_config(schema.get("config") or {}):
            return None
        inner = schema["schema"]
        if inner.get("type") == "function-before":
            inner = inner["schema"]
        if inner.get("type") != "model-fields" or inner.get("computed_fields"):
            return None
        fields = inner["fields"]
        names = tuple(fields)
        if names != tuple(cls.model_fields):  # type: ignore[attr-defined]
            return None
        rules = []
        for name, field in fields.items():
            if name in spec.fields:
                rules.append(spec.fields[name])
            elif name in spec.rebuilt:
                rules.append(_rebuilt_rule(field, spec.rebuilt[name], defs))
            else:
                rules.append(_rule(field, defs, frozenset()))
        either = tuple(
            tuple((names.index(name), rule) for name, rule in group) for group in spec.either
        )
    except _Untrusted:
        return None
    except (KeyError, TypeError, ValueError):
        return None
    extra = cls.model_config.get("extra")  # type: ignore[attr-defined]
    return names, extra == "allow", tuple(rules), either


def _rebuilt_rule(field: dict[str, Any], keys: tuple[str, ...], defs: dict[str, Any]) -> Any:
    """The rule of a `list[SomeTypedDict]` field whose items a validator rebuilds through a
    factory writing exactly `keys`: each item an exact dict holding exactly those keys, in the
    TypedDict's declared order (the order validation writes), each value meeting its schema's
    rule."""
    if field.get("type") != "model-field" or field.get("validation_alias") is not None:
        raise _Untrusted
    schema = field["schema"]
    if schema.get("type") == "default":
        schema = schema["schema"]
    if schema.get("type") != "list":
        raise _Untrusted
    td = schema["items_schema"]
    if td.get("type") == "definition-ref":
        td = defs[td["schema_ref"]]
    rule = _value_rule(td, defs, frozenset())
    declared = {key for key, _, _ in rule[1]}
    if rule[0] != "td" or not set(keys) <= declared:
        raise _Untrusted
    return ("list", ("td", tuple((k, r, True) for k, r, _ in rule[1] if k in keys), False))


# Core-schema config keys that leave what validation returns for an exact-type value unchanged;
# any other (str_strip_whitespace, str_to_lower, str_max_length, ...) makes the class validated.
_INERT_CONFIG = frozenset(
    {
        "title",
        "strict",
        "extra_fields_behavior",
        "validate_by_alias",
        "validate_by_name",
        "populate_by_name",
        "loc_by_alias",
        "from_attributes",
        "revalidate_instances",
        "validate_default",
        "serialize_by_alias",
        "ser_json_timedelta",
        "ser_json_temporal",
        "ser_json_bytes",
        "ser_json_inf_nan",
        "val_json_bytes",
        "val_temporal_unit",
        "hide_input_in_errors",
        "validation_error_cause",
        "coerce_numbers_to_str",
        "cache_strings",
        "regex_engine",
        "polymorphic_serialization",
        "url_preserve_empty_path",
    }
)


def _inert_config(config: dict[str, Any]) -> bool:
    return set(config) <= _INERT_CONFIG | {"allow_inf_nan"} and config.get("allow_inf_nan", True)


class _Untrusted(Exception):
    """Validation may change a value of this schema: the class is always validated."""


_ANY = object()  # the rule of an `any` schema, before it is written as None
_SCALARS = {"str": str, "int": int, "float": float, "bool": bool, "bytes": bytes, "none": type(None)}
# Keys a schema may carry without affecting what validation returns for an exact-type input.
_INERT_KEYS = frozenset({"type", "ref", "metadata", "strict", "serialization"})


def _inert(schema: dict[str, Any], *allowed: str) -> None:
    if not set(schema) <= _INERT_KEYS | set(allowed):
        raise _Untrusted


def _rule(field: dict[str, Any], defs: dict[str, Any], active: frozenset[str]) -> Any:
    """The per-value rule of one model field (a `model-field` schema)."""
    if field.get("type") != "model-field" or field.get("validation_alias") is not None:
        raise _Untrusted
    rule = _value_rule(field["schema"], defs, active)
    return None if rule is _ANY else rule


def _value_rule(schema: dict[str, Any], defs: dict[str, Any], active: frozenset[str]) -> Any:
    kind = schema.get("type")
    if kind == "any":
        _inert(schema)
        return _ANY
    if kind in _SCALARS:
        # coerce_numbers_to_str changes only an int/float/Decimal input: the rule admits an
        # exact str alone.
        _inert(schema, *(("coerce_numbers_to_str",) if kind == "str" else ()))
        return ("types", (_SCALARS[kind],))
    if kind == "default":
        # The value is present (the payload holds every field): the default is not used.
        _inert(schema, "schema", "default", "default_factory", "default_factory_takes_data")
        if schema.get("validate_default"):
            raise _Untrusted
        return _value_rule(schema["schema"], defs, active)
    if kind == "nullable":
        _inert(schema, "schema")
        inner = _value_rule(schema["schema"], defs, active)
        return _ANY if inner is _ANY else ("opt", _written(inner))
    if kind == "literal":
        _inert(schema, "expected")
        expected = tuple(schema["expected"])
        if not all(type(v) in (str, int, bool, type(None)) for v in expected):
            raise _Untrusted
        return ("literal", expected)
    if kind == "list":
        _inert(schema, "items_schema")
        items = schema.get("items_schema")
        inner = _value_rule(items, defs, active) if items is not None else _ANY
        return ("list", _written(inner))
    if kind == "dict":
        _inert(schema, "keys_schema", "values_schema")
        keys, values = schema.get("keys_schema"), schema.get("values_schema")
        k = _value_rule(keys, defs, active) if keys is not None else _ANY
        v = _value_rule(values, defs, active) if values is not None else _ANY
        return ("dict", _written(k), _written(v))
    if kind == "union":
        _inert(schema, "choices", "mode", "custom_error_type", "custom_error_message")
        if schema.get("mode", "smart") != "smart":
            raise _Untrusted
        choices = [c[0] if isinstance(c, tuple) else c for c in schema["choices"]]
        rules = [_value_rule(c, defs, active) for c in choices]
        # Smart mode returns the member an exact-type input matches strictly; with members
        # that take disjoint exact types that member is the one whose rule admits the value.
        taken: set[type] = set()
        for r in rules:
            types_ = _top_types(r)
            if types_ is None or taken & types_:
                raise _Untrusted
            taken |= types_
        return ("union", tuple(_written(r) for r in rules))
    if kind == "typed-dict":
        return _typed_dict_rule(schema, defs, active)
    if kind == "model":
        model = schema.get("cls")
        config = schema.get("config") or {}
        if config.get("revalidate_instances", "never") != "never" or not isinstance(model, type):
            raise _Untrusted
        return ("types", (model,))
    if kind == "definition-ref":
        ref = schema["schema_ref"]
        if ref in active or ref not in defs:
            raise _Untrusted
        return _value_rule(defs[ref], defs, active | {ref})
    if kind == "definitions":
        defs = {**defs, **{d["ref"]: d for d in schema["definitions"] if "ref" in d}}
        return _value_rule(schema["schema"], defs, active)
    raise _Untrusted


def _typed_dict_rule(schema: dict[str, Any], defs: dict[str, Any], active: frozenset[str]) -> Any:
    """A TypedDict: validation builds a new dict holding the declared keys present, in declared
    order, each value validated, then (`extra="allow"`) the undeclared keys in the input's order
    with their values unchanged; with `extra="ignore"` it drops them. So it returns the input
    unchanged exactly for an exact dict of declared keys in declared order (the required ones
    present), each meeting its rule, followed (allow only) by undeclared exact str keys."""
    _inert(schema, "cls", "fields", "computed_fields", "config", "extra_behavior", "total")
    if schema.get("computed_fields") or not _inert_config(schema.get("config") or {}):
        raise _Untrusted
    config = schema.get("config") or {}
    extra = schema.get("extra_behavior", config.get("extra_fields_behavior", "ignore"))
    if extra not in ("allow", "ignore", "forbid"):
        raise _Untrusted
    fields = []
    for key, f in schema["fields"].items():
        if f.get("type") != "typed-dict-field" or f.get("validation_alias") is not None:
            raise _Untrusted
        _inert(f, "schema", "required", "serialization_alias", "serialization_exclude")
        required = f.get("required", schema.get("total", True))
        fields.append((key, _written(_value_rule(f["schema"], defs, active)), bool(required)))
    return ("td", tuple(fields), extra == "allow")


def _written(rule: Any) -> Any:
    return None if rule is _ANY else rule


def _top_types(rule: Any) -> set[type] | None:
    """The exact types a rule admits at its top level; None when it admits any."""
    if rule is _ANY or rule is None:
        return None
    tag = rule[0]
    if tag == "types":
        return set(rule[1])
    if tag == "literal":
        return {type(v) for v in rule[1]}
    if tag == "opt":
        inner = _top_types(rule[1])
        return None if inner is None else inner | {type(None)}
    if tag == "list":
        return {list}
    if tag in ("dict", "td", "without"):
        return {dict}
    if tag == "nonempty":
        return {list, dict}
    if tag == "union":
        out: set[type] = set()
        for r in rule[1]:
            t = _top_types(r)
            if t is None:
                return None
            out |= t
        return out
    return None


def restore_model(cls: type, kwargs: dict[str, Any]) -> Any:
    """The trusted restore (pickle's path): the Python twin of the reader's native one."""
    fields = cls.model_fields  # type: ignore[attr-defined]
    data = {k: kwargs[k] for k in fields}
    extra = {k: v for k, v in kwargs.items() if k not in fields}
    allow = cls.model_config.get("extra") == "allow"  # type: ignore[attr-defined]
    obj = cls.__new__(cls)
    obj.__setstate__(
        {
            "__dict__": data,
            "__pydantic_fields_set__": set(data) | (set(extra) if allow else set()),
            "__pydantic_extra__": extra if allow else None,
            "__pydantic_private__": None,
        }
    )
    return obj
