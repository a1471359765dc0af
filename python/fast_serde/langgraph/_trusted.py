"""Trusted restore (`validate_models=False`): which pydantic classes the reader may rebuild
without validation, and under which per-field rules, read once per class from its schema.

The reader (crates/fast-serde-core/src/langgraph/trusted.rs) calls `trusted_model(cls)` once per
class and version tag when a FastSerializer does not validate, and restores a payload without
validation (pickle's path: pydantic's own `__setstate__`) only when every field value meets its
rule; any other payload is validated as usual. The rules are read from the class's
pydantic-core schema (pydantic 2.x, `cls.__pydantic_core_schema__`), or, for LangChain's
message classes, from the verified table (`_verified`).
"""

from __future__ import annotations

from typing import Any

from fast_serde.langgraph import _verified
from fast_serde.langgraph._guards import model_schema as _model_schema
from fast_serde.langgraph._purity import constructs_plainly

__all__ = ["trusted_model"]


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
