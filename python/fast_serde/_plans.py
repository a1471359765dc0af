"""Per-class plans for the native LangGraph codec, decided once per class.

The walker (crates/fast-serde-core/src/encode.rs) meets a type it does not know by pointer, calls
`encode_plan(obj)` once for that class and caches the answer; the reader calls
`trusted_model(cls, kwargs)` once per pydantic class when `validate_models=False`.

`encode_plan` follows `langgraph.checkpoint.serde.jsonplus._msgpack_default` (langgraph-checkpoint
4.3) branch by branch, in its order of precedence, so the ext code and payload shape the walker
writes are the ones that function would have produced for every instance of the class.
"""

from __future__ import annotations

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

from langgraph.checkpoint.serde.types import SendProtocol, _DeltaSnapshot
from langgraph.store.base import Item

# Plan kinds, read by the walker (`PlanKind` in encode.rs). Payload shapes are jsonplus's.
FALLBACK = 0  # _msgpack_enc(obj) in Python, spliced (numpy arrays, unknown types)
PYDANTIC_V2 = 1  # ext 5 (module, name, obj.model_dump(), "model_validate_json")
PYDANTIC_V2_DICT = 2  # the same bytes, from obj.__dict__ + __pydantic_extra__ (see plain_model)
DELTA_SNAPSHOT = 3  # ext 7 obj.value
SECRET = 4  # ext 0 (module, name, obj.get_secret_value())
PYDANTIC_V1 = 5  # ext 4 (module, name, obj.dict())
NAMEDTUPLE = 6  # ext 2 (module, name, {field: item}) == obj._asdict()
PATH = 7  # ext 1 (module, name, obj.parts)
PATTERN = 8  # ext 1 ("re", "compile", (obj.pattern, obj.flags))
STR_ARG = 9  # ext 0 (module, name, str(obj)): UUID subclasses use .hex, see HEX
HEX = 10  # ext 0 (module, name, obj.hex)
ITER_ARG = 11  # ext 0 (module, name, tuple(obj)): set, frozenset, deque
DATETIME = 12  # ext 3 (module, name, obj.isoformat(), "fromisoformat")
TIMEDELTA = 13  # ext 1 (module, name, (days, seconds, microseconds))
DATE = 14  # ext 1 (module, name, (year, month, day))
TIME = 15  # ext 2 (module, name, {hour, minute, second, microsecond, tzinfo, fold})
INITARGS = 16  # ext 1 (module, name, obj.__getinitargs__())
ATTR_ARG = 17  # ext 0 (module, name, getattr(obj, fields[0])): ZoneInfo.key, Enum.value
SEND = 18  # ext 1 (module, name, (node, arg[, timeout]))
ATTRS_KW = 19  # ext 2 (module, name, {f: getattr(obj, f) for f in fields}): dataclass, Item
REPR = 20  # repr(obj): exceptions


# Plan flags, read by the walker (`plan_for` in encode_lg.rs).
CHECK_INSTANCE = 1  # instances have their own __dict__: look there for INSTANCE_ATTRS per object
ONCE = 2  # this answer came from the instance's own attributes: do not cache it for the class

# The attributes `_msgpack_default` probes with hasattr before a class's own branch. An instance
# can carry them in its own __dict__ (`obj.model_dump = ...`), which changes the branch for that
# object alone; the walker then hands that object to the Python path.
INSTANCE_ATTRS = frozenset({"model_dump", "get_secret_value", "dict", "_asdict"})


def encode_plan(obj: Any) -> tuple[int, tuple[str, ...], int]:
    """Return `(kind, fields, flags)` for `type(obj)`: the branch `_msgpack_default` takes.

    `fields` names the attributes the walker reads (dataclass fields, slots, namedtuple fields,
    the attribute of ATTR_ARG); `flags` is CHECK_INSTANCE and/or ONCE. An object whose own
    `__dict__` holds one of INSTANCE_ATTRS gets `(FALLBACK, (), ONCE)`. Raises nothing: an
    unknown type gets FALLBACK, whose Python path raises the parent's TypeError.
    """
    if isinstance(obj, _DeltaSnapshot):
        return DELTA_SNAPSHOT, (), 0
    try:
        own = obj.__dict__
    except Exception:  # a raising __dict__ property: the Python path reports it
        own = None
    if not isinstance(own, dict):
        kind, fields = _class_plan(obj)
        return kind, fields, 0
    if not INSTANCE_ATTRS.isdisjoint(own):
        return FALLBACK, (), ONCE
    kind, fields = _class_plan(obj)
    if kind == PYDANTIC_V2_DICT and INSTANCE_ATTRS.isdisjoint(fields):
        # The walker takes this path only when __dict__ holds exactly the fields, in order.
        return kind, fields, 0
    return kind, fields, CHECK_INSTANCE


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
        return TIMEDELTA, ()
    if isinstance(obj, date):
        return DATE, ()
    if isinstance(obj, time):
        return TIME, ()
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


def _namedtuple_asdict(cls: type) -> Any:
    """The `_asdict` collections.namedtuple generates (a NamedTuple overriding it is not plain)."""
    for base in cls.__mro__:
        if "_asdict" in vars(base):
            return vars(base)["_asdict"] if "_make" in vars(base) else None
    return None


def plain_model(cls: type) -> tuple[str, ...] | None:
    """Field names when `obj.model_dump()` provably equals the object's own data, else None.

    For such a class `model_dump()` (python mode) returns `{**obj.__dict__,
    **obj.__pydantic_extra__}` with every plain value (str, int, float, bool, None, bytes, list,
    tuple, dict, datetime, UUID) unchanged. It holds when the class keeps pydantic's own
    `model_dump` and `__dict__`, is not a RootModel, has no computed fields, no excluded
    fields, does not serialize by alias, and no serializer anywhere in its core schema
    (field_serializer, model_serializer, PlainSerializer/WrapSerializer annotations). Values that
    model_dump would convert (nested models, dataclasses, anything else) are detected per object
    by the walker, which then calls model_dump() after all.
    """
    try:
        from pydantic import BaseModel
    except ImportError:  # pragma: no cover - pydantic is a langgraph dependency
        return None
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        return None
    if cls.model_dump is not BaseModel.model_dump or getattr(cls, "__pydantic_root_model__", False):
        return None
    # The walker reads the instance dict directly (PyObject_GenericGetDict): `obj.__dict__` must
    # resolve to the type's own dict slot (a getset descriptor), not a property or the like.
    descr = next((vars(b)["__dict__"] for b in cls.__mro__ if "__dict__" in vars(b)), None)
    if not isinstance(descr, types.GetSetDescriptorType):
        return None
    if cls.__pydantic_computed_fields__ or cls.model_config.get("serialize_by_alias"):
        return None
    for info in cls.model_fields.values():
        if info.exclude or getattr(info, "exclude_if", None) is not None:
            return None
    if _has_serializer(cls.__pydantic_core_schema__):
        return None
    return tuple(cls.model_fields)


def _schema_nodes(schema: Any) -> Iterator[dict[str, Any]]:
    """Every dict node of a pydantic-core schema, each once (schemas share and nest nodes)."""
    stack = [schema]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)


def _has_serializer(schema: Any) -> bool:
    """True if any node of a pydantic-core schema customises serialization."""
    return any(
        node.get("serialization") is not None
        or node.get("type") == "computed-field"
        or node.get("computed_fields")
        or node.get("serialization_exclude")
        or node.get("serialization_alias")
        for node in _schema_nodes(schema)
    )


def trusted_model(cls: type, kwargs: dict[str, Any]) -> bool:
    """Whether `validate_models=False` may restore `cls` without validation (decided once).

    Trusted restoring is what pickle does for a pydantic model: `__dict__`, fields set and extras
    are set directly (pydantic's own `__setstate__`). It is used only for classes where that yields
    what `cls(**kwargs)` yields: a BaseModel with no private attributes and no nested model or
    dataclass in its schema (validation would build those from dicts), and, checked on this first
    object, equal results (`==`, same `model_fields_set`, same value types).
    """
    try:
        from pydantic import BaseModel
    except ImportError:  # pragma: no cover
        return False
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        return False
    if cls.__private_attributes__ or getattr(cls, "__pydantic_root_model__", False):
        return False
    if cls.__pydantic_post_init__ is not None or _has_nested_model(cls.__pydantic_core_schema__, cls):
        return False
    fields = cls.model_fields
    if not all(name in kwargs for name in fields):
        return False
    try:
        validated = cls(**kwargs)
    except Exception:
        return False
    restored = restore_model(cls, kwargs)
    return (
        type(restored) is type(validated)
        and restored == validated
        and restored.model_fields_set == validated.model_fields_set
        and [type(v) for v in restored.__dict__.values()]
        == [type(v) for v in validated.__dict__.values()]
    )


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


def _has_nested_model(schema: Any, cls: type) -> bool:
    """True if a pydantic-core schema holds a model (other than `cls`) or a dataclass."""
    return any(
        node.get("type") == "dataclass"
        or (node.get("type") == "model" and node.get("cls") is not cls)
        for node in _schema_nodes(schema)
    )
