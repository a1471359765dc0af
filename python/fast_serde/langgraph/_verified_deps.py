"""What a verdict of the verified table (`_verified`) rests on, and its watching.

A verdict on a class is decided once and kept, per class (`_verified._cache`). It rests on two
kinds of objects. The class's own: the module attribute it claims to be, every watched attribute
of its chain (`_WATCHED`), the pydantic decorators' functions, the core schema, validator and
config; `_Seen` keeps them and compares them by identity on every later call instead of
re-hashing. And objects outside the class, which its `tp_version_tag` (the key of the codec's
caches) does not follow: the module globals each reviewed function reads, each one's code,
defaults and closure cells, the metaclass's `__call__` (`Dep`); the review records them
(`_function_deps`, `_call_dep`) and `watch` registers them with the codec's watched set
(`fast_serde._native.watch`, watch.rs), which compares them once per document and makes every
codec decide again when one changed. `watch_call` does the same for a verdict `_purity` reads
by rule.

Imports nothing of the package but, inside `watch`, `fast_serde._native`; `_verified` imports it.
"""

from __future__ import annotations

import sys
import types
import weakref
from typing import Any

# What a verdict rests on outside its class's own attributes, as `(kind, holder, key, value)`:
# "item" (the module dict `holder` maps `key` to `value`), "code" / "defaults" / "kwdefaults"
# (the function `holder`'s `__code__`, `__defaults__`, `__kwdefaults__`), "cell" (closure cell
# number `key` of the function `holder` holds `value`), "call" (the metaclass `holder`'s `__call__` resolves to
# `value`), "class" (the class `holder`'s own attributes and its bases': followed by its
# `tp_version_tag`; `value` is `holder`). The codec watches them (`fast_serde._native.watch`, watch.rs): when one is another
# object, every codec drops its trust decisions and memo, once per document.
Dep = tuple[str, Any, Any, Any]
_MISSING = object()


# The names that change how pydantic validates, restores or dumps a model. Each class of the
# reviewed chain defines only those the table lists (`__init__`); the others must be BaseModel's.
_WATCHED = (
    "__init__",
    "__new__",
    "__setattr__",
    "__getattr__",
    "__getattribute__",
    "__delattr__",
    "__setstate__",
    "__getstate__",
    "__copy__",
    "__deepcopy__",
    "__eq__",
    "model_post_init",
    "model_dump",
    "model_construct",
    "model_validate",
    "__get_pydantic_core_schema__",
    "__pydantic_init_subclass__",
    "__class_getitem__",
)
# Decorator categories of pydantic's DecoratorInfos: only model validators are reviewed.
_DECORATOR_KINDS = (
    "validators",
    "field_validators",
    "root_validators",
    "field_serializers",
    "model_serializers",
    "model_validators",
    "computed_fields",
)


def _lookup(module: types.ModuleType, qualname: str | None) -> Any:
    """What `module.<qualname>` names now (None where a part is missing)."""
    obj: Any = module
    for part in (qualname or "").split("."):
        obj = getattr(obj, part, None)
    return obj


class _Seen:
    """The objects a verdict was decided on, compared by identity on every later call instead of
    re-hashing: the module attribute, every watched attribute of the class chain, the pydantic
    decorators' functions, the core schema and validator, the config, and the verdict's `deps`
    (each module global a reviewed function reads, each one's code, defaults and closure cells,
    the metaclass's `__call__`). Weak references where the object allows them (a function
    replaced and freed cannot match a new one at its address); the schema and validator, which
    cannot be weakly referenced and hold the class, by id while the class lives; the config by
    value."""

    def __init__(self, cls: type, deps: list[Dep]) -> None:
        self.refs = tuple(_ref(o) for o in _watched_objects(cls))
        self.deps = tuple((kind, _hold(holder), key, _same(v)) for kind, holder, key, v in deps)
        self.config = dict(getattr(cls, "model_config", {}))

    def matches(self, cls: type) -> list[Dep] | None:
        """The deps as they are now, when every object is the one the verdict was decided on;
        else None."""
        objs = _watched_objects(cls)
        if not (
            len(objs) == len(self.refs)
            and all(r(o) for r, o in zip(self.refs, objs))
            and dict(getattr(cls, "model_config", {})) == self.config
        ):
            return None
        deps: list[Dep] = []
        for kind, hold, key, ref in self.deps:
            holder = hold()
            if holder is None:
                return None
            value = _dep_value(kind, holder, key)
            if not ref(value):
                return None
            deps.append((kind, holder, key, value))
        return deps


def _dep_value(kind: str, holder: Any, key: Any) -> Any:
    if kind == "item":
        return holder.get(key, _MISSING)
    if kind == "code":
        return holder.__code__
    if kind == "defaults":
        return holder.__defaults__
    if kind == "kwdefaults":
        return holder.__kwdefaults__
    if kind == "cell":
        cells = holder.__closure__ or ()
        try:
            return cells[key].cell_contents
        except (IndexError, ValueError):  # no such cell, or an empty one
            return _MISSING
    if kind == "call":
        return _resolved_call(holder)
    if kind == "class":  # the codec follows its tag; the verdict on the class that reads it holds
        return holder
    raise ValueError(kind)


def _resolved_call(meta: type) -> Any:
    """What `meta.__call__` resolves to through the metaclass's MRO (no descriptor run)."""
    for k in meta.__mro__:
        if "__call__" in vars(k):
            return vars(k)["__call__"]
    return None


def _call_dep(meta: type) -> Dep:
    return ("call", meta, None, _resolved_call(meta))


def _function_deps(func: types.FunctionType, deps: list[Dep]) -> None:
    """What running `func` rests on besides its globals: its code, defaults, and the contents of
    its closure cells (a filled one: a reviewed member's only closure is `__class__`)."""
    deps.append(("code", func, None, func.__code__))
    deps.append(("defaults", func, None, func.__defaults__))
    deps.append(("kwdefaults", func, None, func.__kwdefaults__))
    for i, cell in enumerate(func.__closure__ or ()):
        try:
            deps.append(("cell", func, i, cell.cell_contents))
        except ValueError:
            pass


def _hold(obj: Any) -> Any:
    """A callable giving `obj` back (None once it died): weakly held when it allows it (a
    function, a class), else strongly (a module dict)."""
    try:
        return weakref.ref(obj)
    except TypeError:
        return lambda: obj


def _same(obj: Any) -> Any:
    """A predicate `p(x)`: x is obj, held weakly when obj allows it, else strongly (a defaults
    tuple, None: an id alone could match a new object at a freed one's address)."""
    try:
        r = weakref.ref(obj)
    except TypeError:
        return lambda x: x is obj
    return lambda x: x is not None and r() is x  # a dead referent matches nothing


def watch(deps: list[Dep]) -> None:
    """Have the codec watch `deps` (`fast_serde._native.watch`): a change to one of them is seen
    before the next document that uses a cached verdict."""
    if deps:
        from fast_serde import _native

        _native.watch(deps)


def watch_call(meta: type) -> None:
    """Watch the metaclass `meta`'s `__call__`, which a verdict read by rule rests on
    (`_purity.constructs_plainly`: `cls(**kwargs)` runs it before any `__init__`)."""
    watch([_call_dep(meta)])


def _ref(obj: Any) -> Any:
    """A predicate `p(x)`: x is obj (weakly held when obj allows it)."""
    if obj is None:
        return lambda x: x is None
    try:
        r = weakref.ref(obj)
    except TypeError:
        ident = id(obj)
        return lambda x: id(x) == ident
    return lambda x: x is not None and r() is x


def _watched_objects(cls: type) -> list[Any]:
    home = sys.modules.get(cls.__module__)
    objs: list[Any] = [_lookup(home, cls.__qualname__) if home is not None else None]
    for k in cls.__mro__:
        objs.append(k)
        objs.extend(vars(k).get(name) for name in _WATCHED)
    objs.append(type(cls))
    decorators = getattr(cls, "__pydantic_decorators__", None)
    for kind in _DECORATOR_KINDS:
        for var, dec in getattr(decorators, kind, {}).items():
            objs.append(getattr(dec.func, "__func__", dec.func))
            # The class attribute of that name (a classmethod is watched through its function).
            for k in cls.__mro__:
                v = vars(k).get(var)
                objs.append(getattr(v, "__func__", v))
    objs.append(getattr(cls, "__pydantic_core_schema__", None))
    objs.append(getattr(cls, "__pydantic_validator__", None))
    return objs
