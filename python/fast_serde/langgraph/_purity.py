"""Which pydantic classes the memo of validated models may serve: read from the class, never
from observed runs.

The memo (crates/fast-serde-core/src/langgraph/memo.rs) rebuilds an ext 5 object from a copy of
an earlier validation of the very same payload bytes instead of calling ``cls(**kwargs)``
again. That gives what JsonPlusSerializer gives only when validation's result is a function of
the payload alone. ``memo_model(cls)`` decides it once per class (the reader caches the answer
with the class's ``tp_version_tag``, so a class modified since is decided again):

1. ``__fast_serde_memo__ = False`` on the class or any base: never.
2. The class's state must be what a template holds (``__dict__``, ``__pydantic_fields_set__``,
   ``__pydantic_extra__``, ``__pydantic_private__``): a pydantic v2 ``BaseModel``, not a
   RootModel, with no non-empty ``__slots__`` of its own or of a base other than BaseModel's.
3. ``__fast_serde_memo__ = True`` in the class's own body: the user declares that validation
   depends on the payload alone (docs/usage.md). Yes.
4. A LangChain message class the verified table reviewed on the installed langchain-core
   (``_verified.verified``): its verdict.
5. Otherwise, by rule (``pure_model``): built the plain way (``constructs_plainly``: no custom
   ``__init__``, ``__new__``, metaclass ``__call__`` or ``model_post_init``; private attributes
   only with immutable defaults), and a core schema that runs no user code while validating: no
   field, model or annotated validator (``function-*`` nodes), no ``default_factory`` but
   built-in constructors, no enum ``_missing_``, no callable discriminator, no ``PastDate`` /
   ``FutureDate`` style check against the clock, no ``isinstance`` through a custom
   metaclass, and no schema node this module does not know.

Field defaults are left to the memo: it keeps a template only of an object whose payload set
every field (memo.rs ``every_field_set``), so no field default, deep-copied or changed in place,
is ever in one. Defaults below the model's own fields (a TypedDict key's, given whenever the
payload leaves the key out) and private attributes' defaults must be immutable.

``trusted_model`` (``_trusted``) requires ``constructs_plainly`` too: one rule for both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fast_serde.langgraph import _verified, _verified_deps

__all__ = ["constructs_plainly", "immutable", "memo_model", "owner", "pure_model", "schema_nodes"]

# Core-schema node types whose validation runs no user code by itself (the keys checked below
# aside). Any other type (function-*, call, arguments, generator, ...) makes the class impure.
_PURE_TYPES = frozenset(
    {
        "any", "none", "bool", "int", "float", "decimal", "complex", "str", "bytes", "date",
        "time", "datetime", "timedelta", "literal", "enum", "list", "tuple", "set",
        "frozenset", "dict", "nullable", "union", "tagged-union", "chain", "lax-or-strict",
        "json-or-python", "typed-dict", "typed-dict-field", "model-fields", "model-field",
        "model", "dataclass-args", "dataclass-field", "dataclass", "default", "definitions",
        "definition-ref", "uuid", "url", "multi-host-url", "json", "custom-error",
        "is-instance", "is-subclass", "callable", "missing-sentinel", "invalid",
    }
)  # fmt: skip

# Factories that build a value from nothing but their (absent) arguments.
_PURE_FACTORIES = (list, dict, set, frozenset, tuple, str, bytes, int, float, bool)

# Exact types of defaults returned as is that can never change (``immutable``).
_IMMUTABLE_SCALARS = frozenset({str, int, float, bool, bytes, type(None)})

# Subtrees validation never runs.
_SKIPPED_KEYS = frozenset({"serialization", "metadata"})


def memo_model(cls: Any) -> bool:
    """Whether the memo may serve ``cls``: ``cls(**payload)`` is a function of the payload alone
    and its whole state is what a template holds (see the module docstring for the rule).

    Takes any object (False for a non-class). Never raises: a class whose schema cannot be read
    is validated every time.
    """
    try:
        from pydantic import BaseModel
    except ImportError:  # pragma: no cover - pydantic is a langgraph dependency
        return False
    try:
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            return False
        if _opted_out(cls):
            return False
        if getattr(cls, "__pydantic_root_model__", False) or _own_slots(cls, BaseModel):
            return False
        if vars(cls).get("__fast_serde_memo__") is True:
            return True
        verdict = _verified.verified(cls)
        if verdict is not None:
            return verdict.memo
        return pure_model(cls)
    except Exception:
        return False


def pure_model(cls: type) -> bool:
    """Whether validating ``cls`` runs no user code and reads nothing but its input: built the
    plain way (``constructs_plainly``) with a core schema of pure nodes only."""
    if not constructs_plainly(cls, private_defaults=True):
        return False
    return _pure_schema(cls.__pydantic_core_schema__)  # type: ignore[attr-defined]


def constructs_plainly(cls: type, *, private_defaults: bool = False) -> bool:
    """Whether ``cls(**kwargs)`` is pydantic's own construction and nothing else: the metaclass's
    ``__call__`` is ``type.__call__``, ``__new__`` is ``object.__new__``, ``__init__`` is
    ``BaseModel.__init__`` (and pydantic saw no custom one), and ``model_post_init`` is not
    overridden. Private attributes make pydantic run ``init_private_attributes``; with
    ``private_defaults`` they are allowed when each has an immutable default (``immutable``; no
    ``default_factory``: pydantic deep-copies any other default per instance), else any private
    attribute answers False. Registers the metaclass's ``__call__`` with the codec's watched
    set (``_verified_deps.watch_call``).
    """
    from pydantic import BaseModel

    # The answer rests on the metaclass's __call__, which the class's tp_version_tag does not
    # follow: the codec watches it (watch.rs) and decides again when it changes.
    _verified_deps.watch_call(type(cls))
    if owner(type(cls), "__call__") is not type or owner(cls, "__new__") is not object:
        return False
    if cls.__init__ is not BaseModel.__init__ or cls.__pydantic_custom_init__:  # type: ignore[attr-defined]
        return False
    private = cls.__private_attributes__  # type: ignore[attr-defined]
    post_init = cls.__pydantic_post_init__  # type: ignore[attr-defined]
    if not private:
        return post_init is None
    if not private_defaults:
        return False
    from pydantic._internal._model_construction import init_private_attributes

    if cls.model_post_init is not init_private_attributes:  # type: ignore[attr-defined]
        return False
    return all(
        getattr(attr, "default_factory", None) is None
        and immutable(getattr(attr, "default", None))
        for attr in private.values()
    )


def immutable(value: Any) -> bool:
    """Whether a default is returned as is and can never change: an exact ``str``, ``int``,
    ``float``, ``bool``, ``bytes`` or None, a ``tuple`` or ``frozenset`` of such, or pydantic's
    ``PydanticUndefined`` (no default). Any other default is deep-copied per validation (user
    code in ``__deepcopy__``) or shared with the class (mutable in place, unseen by the class's
    ``tp_version_tag``)."""
    from pydantic_core import PydanticUndefined

    if value is PydanticUndefined or type(value) in _IMMUTABLE_SCALARS:
        return True
    if type(value) in (tuple, frozenset):
        return all(immutable(v) for v in value)
    return False


def _pure_schema(schema: Any) -> bool:
    """Whether validation of a core schema runs no user code (every node of it, definitions
    included, serialization subtrees left out), and gives no default but an immutable one below
    a model's own fields (see ``_pure_node``)."""
    nodes = [node for node in schema_nodes(schema, skip=_SKIPPED_KEYS) if "type" in node]
    field_defaults = {
        id(node["schema"]) for node in nodes if node["type"] == "model-field" and "schema" in node
    }
    return all(_pure_node(node["type"], node, id(node) in field_defaults) for node in nodes)


def schema_nodes(
    schema: Any,
    defs: dict[str, Any] | None = None,
    stop: tuple[str, ...] = (),
    skip: frozenset[str] = frozenset(),
) -> Iterator[dict[str, Any]]:
    """Every dict node of a pydantic-core schema, each once (schemas share and nest nodes).

    With `defs` (ref -> definition) definition refs are followed, and the definitions met on the
    way are added; nodes whose type is in `stop` are yielded but not entered; the values of keys
    in `skip` are not entered.
    """
    defs = dict(defs) if defs is not None else None
    stack = [schema]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            yield node
            kind = node.get("type")
            if kind in stop:
                continue
            if defs is not None:
                if kind == "definitions":
                    defs.update({d["ref"]: d for d in node["definitions"] if "ref" in d})
                elif kind == "definition-ref" and node.get("schema_ref") in defs:
                    stack.append(defs[node["schema_ref"]])
            stack.extend(v for k, v in node.items() if k not in skip)
        elif isinstance(node, (list, tuple)):
            stack.extend(node)


def _pure_node(kind: Any, node: dict[str, Any], field_default: bool = False) -> bool:
    """Whether one schema node runs no user code; ``field_default``: the node is the schema of
    a model's own field, whose default never reaches a template (``every_field_set``). Any other
    default (a TypedDict key's, ...) is given whenever the payload leaves its key out, deep-copied
    per validation unless immutable: only an immutable one is pure."""
    if kind not in _PURE_TYPES:
        return False
    if kind == "default" and not field_default and not immutable(node.get("default")):
        return False
    if "default_factory" in node and not any(
        node["default_factory"] is f for f in _PURE_FACTORIES
    ):
        return False
    if kind in ("date", "datetime") and node.get("now_op") is not None:
        return False  # PastDate, FutureDate, ...: compared with the clock
    if kind == "enum":
        return node.get("missing") is None and _plain_enum(node.get("cls"))
    if kind == "tagged-union" and callable(node.get("discriminator")):
        return False
    if kind == "dataclass" and (node.get("custom_init") or node.get("post_init")):
        return False
    if kind == "model":
        # `post_init` is also pydantic's own init_private_attributes: constructs_plainly decides.
        model = node.get("cls")
        if node.get("custom_init") or not isinstance(model, type):
            return False
        return constructs_plainly(model, private_defaults=True)
    if kind in ("is-instance", "is-subclass"):
        return type(node.get("cls")) is type  # no metaclass __instancecheck__ / registry
    return True


def _plain_enum(cls: Any) -> bool:
    """An Enum whose lookup of a value runs no user code: Enum's own ``_missing_``."""
    import enum

    missing = getattr(cls, "_missing_", None)
    return getattr(missing, "__func__", None) is enum.Enum._missing_.__func__


def _opted_out(cls: type) -> bool:
    """``__fast_serde_memo__ = False`` in the body of the class or of any base."""
    return any(vars(base).get("__fast_serde_memo__") is False for base in cls.__mro__)


def _own_slots(cls: type, model_base: type) -> bool:
    """Whether a class in the MRO other than BaseModel declares non-empty ``__slots__``: state the
    template does not hold."""
    for base in cls.__mro__:
        if base is model_base or base is object:
            continue
        slots = vars(base).get("__slots__")
        if slots is None:
            continue
        if isinstance(slots, str):
            return True
        if any(s != "__weakref__" for s in slots):
            return True
    return False


def owner(cls: type, name: str) -> type | None:
    """The first class of `cls.__mro__` whose own `__dict__` holds `name` (where a lookup on an
    instance without that name in its own `__dict__` finds it), or None."""
    return next((b for b in cls.__mro__ if name in vars(b)), None)
