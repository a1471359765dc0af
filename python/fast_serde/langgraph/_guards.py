"""Which pydantic models the walker may write from `obj.__dict__`, and the TypedDict guards it
checks per object to be sure (plan kind PYDANTIC_V2_DICT).

`plain_model` decides it per class from the class's pydantic-core schema; `typed_dict_guards`
describes, per field, the TypedDicts below it that `model_dump()` would trim (read by
crates/fast-serde-core/src/langgraph/guard.rs `Guard::from_spec`). `_plans.encode_plan` hands
both to the walker. The source of the shapes is pydantic-core's serializers: a model's
`model_dump()` (python mode) as `JsonPlusSerializer._msgpack_default` calls it.
"""

from __future__ import annotations

import types
from typing import Any

from fast_serde.langgraph._purity import owner as _owner
from fast_serde.langgraph._purity import schema_nodes as _schema_nodes

__all__ = ["model_schema", "plain_model", "typed_dict_guards"]


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
    owner = _owner(cls, "__dict__")
    descr = None if owner is None else vars(owner)["__dict__"]
    if not isinstance(descr, types.GetSetDescriptorType):
        return None
    if cls.__pydantic_computed_fields__ or cls.model_config.get("serialize_by_alias"):
        return None
    for info in cls.model_fields.values():
        if info.exclude or getattr(info, "exclude_if", None) is not None:
            return None
    if _has_serializer(cls.__pydantic_core_schema__):
        return None
    if typed_dict_guards(cls) is None:
        return None
    return tuple(cls.model_fields)


def model_schema(cls: type) -> tuple[dict[str, Any], dict[str, Any]]:
    """A model's own core schema node and its definitions (ref -> schema). Raises KeyError or
    TypeError for a schema of another shape."""
    schema = cls.__pydantic_core_schema__  # type: ignore[attr-defined]
    defs: dict[str, Any] = {}
    if schema.get("type") == "definitions":
        defs = {d["ref"]: d for d in schema["definitions"] if "ref" in d}
        schema = schema["schema"]
    if schema.get("type") == "definition-ref":
        schema = defs[schema["schema_ref"]]
    return schema, defs


class _NotPlain(Exception):
    """A TypedDict sits where the walker cannot check what `model_dump()` would keep."""


def typed_dict_guards(cls: type) -> tuple[Any, ...] | None:
    """Per field of `cls.model_fields` (in order), the shape of the TypedDicts below it, or None.

    `model_dump()` writes a TypedDict value with only its declared keys, in declared order
    (pydantic-core's typed-dict serializer, `extra="ignore"`), so `__dict__` equals
    `model_dump()` only while every such dict holds a subsequence of its declared keys. Each
    guard is None (no TypedDict below), `("td", ((key, guard), ...))`, `("tdx", ((key, guard),
    ...))` (a TypedDict with `extra="allow"`, written with every key in the dict's order: only
    the named keys' values are checked), `("list", guard)` (an exact list's items), `("dict",
    guard)` (an exact dict's values) or `("opt", guard)` (None or guard); the walker checks it
    per object (langgraph/guard.rs `Guard`, used by langgraph/kinds/pydantic.rs) and takes
    `model_dump()` when a value does not fit.
    Returns None (the class is not plain) when a TypedDict sits anywhere else: in a union, a
    tuple, a dict key, a TypedDict with `extra="forbid"`, or a recursive definition.
    """
    try:
        schema, defs = model_schema(cls)
        inner = schema.get("schema") if schema.get("type") == "model" else None
        # Validators wrap the fields' schema; serialization does not run them.
        while isinstance(inner, dict) and inner.get("type") in _VALIDATOR_WRAPPERS:
            inner = inner.get("schema")
        fields = inner.get("fields") if isinstance(inner, dict) else None
        if not isinstance(fields, dict):
            if _contains_typed_dict(schema, defs):
                return None
            return tuple(None for _ in cls.model_fields)  # type: ignore[attr-defined]
        return tuple(
            _guard(fields[name]["schema"], defs, frozenset()) if name in fields else None
            for name in cls.model_fields  # type: ignore[attr-defined]
        )
    except _NotPlain:
        return None
    except (KeyError, TypeError):
        return None


_VALIDATOR_WRAPPERS = frozenset({"function-before", "function-after", "function-wrap"})


def _guard(schema: dict[str, Any], defs: dict[str, Any], active: frozenset[str]) -> Any:
    kind = schema.get("type")
    if kind == "definitions":
        defs = {**defs, **{d["ref"]: d for d in schema["definitions"] if "ref" in d}}
        return _guard(schema["schema"], defs, active)
    if kind == "definition-ref":
        ref = schema["schema_ref"]
        if ref in active or ref not in defs:
            raise _NotPlain
        return _guard(defs[ref], defs, active | {ref})
    if kind in ("model", "dataclass"):
        return None  # such values are models or dataclasses: the walker takes model_dump()
    if kind == "typed-dict":
        config = schema.get("config") or {}
        extra = schema.get("extra_behavior", config.get("extra_fields_behavior", "ignore"))
        fields = tuple(
            (name, _guard(f["schema"], defs, active)) for name, f in schema["fields"].items()
        )
        if extra == "allow":
            # Every key is written, in the dict's own order: only the values need a look.
            inner = tuple((name, g) for name, g in fields if g is not None)
            return ("tdx", inner) if inner else None
        if extra != "ignore":
            raise _NotPlain
        return ("td", fields)
    if kind in ("list", "dict", "nullable", "default"):
        if kind == "dict" and _contains_typed_dict(schema.get("keys_schema"), defs):
            raise _NotPlain
        inner = schema.get({"list": "items_schema", "dict": "values_schema"}.get(kind, "schema"))
        guard = _guard(inner, defs, active) if isinstance(inner, dict) else None
        if guard is None or kind == "default":
            return guard
        return ({"list": "list", "dict": "dict", "nullable": "opt"}[kind], guard)
    if _contains_typed_dict(schema, defs):
        raise _NotPlain
    return None


def _contains_typed_dict(schema: Any, defs: dict[str, Any]) -> bool:
    """True if a TypedDict is reachable from `schema` (following definition refs, not entering
    models or dataclasses)."""
    return any(
        node.get("type") == "typed-dict"
        for node in _schema_nodes(schema, defs, stop=("model", "dataclass"))
    )


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
