"""Per-class plans for the native LangGraph codec, decided once per class.

The walker (crates/fast-serde-core/src/langgraph/plan.rs) meets a type it does not know by
pointer, calls `encode_plan(obj)` once for that class and caches the answer, a
`_native.PlanSpec` (crates/fast-serde-core/src/langgraph/spec.rs). The TypedDict guards of a
PYDANTIC_V2_DICT plan come from `_guards`; what the reader restores without validation is
`_trusted`'s.

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
from fast_serde.langgraph import _compat
from fast_serde.langgraph._guards import plain_model, typed_dict_guards
from fast_serde.langgraph._purity import owner as _owner

# `isinstance(obj, _DELTA)`: never true on a release without `_DeltaSnapshot`.
_DELTA: tuple[type, ...] = (_compat.DELTA_SNAPSHOT,) if _compat.DELTA_SNAPSHOT else ()

# Plan kinds, read by the walker (`PlanKind` in crates/fast-serde-core/src/langgraph/kinds/,
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


# Plan flags, read by the walker (`decide` in langgraph/plan.rs; values in langgraph/kinds/mod.rs).
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
