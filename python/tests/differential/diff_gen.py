"""Generated types for the differential test (test_differential.py). A *generated type* (``Gen``)
is an annotation usable in a pydantic field or a dataclass field, a strategy of values of that
type, and the classes it needs (for ``allowed_msgpack_modules``). Fields, models, dataclasses,
named tuples, TypedDicts, generics and root models are built from one another, hence one module;
the values they start from, and the module their classes live in, are in diff_values.py."""

from __future__ import annotations

import collections
import copy
import dataclasses
import datetime
import decimal
import enum
import uuid
from typing import Annotated as typing_Annotated
from typing import Any, Generic, NamedTuple, Optional, TypeVar, Union
from typing import Literal as typing_Literal

import pydantic
import pydantic.dataclasses
from hypothesis import event, reject
from hypothesis import strategies as st
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_serializer,
    field_validator,
    model_serializer,
)
from typing_extensions import TypedDict

from diff_values import (
    MODULE_NAME,
    DFloat,
    DInt,
    DStr,
    big_ints,
    dates,
    datetimes,
    decimals,
    enum_class,
    enum_members,
    filtered,
    floats,
    fresh_name,
    ints,
    key_text,
    memo_filtered,
    register,
    safe_type_values,
    texts,
    timedeltas,
    times,
    uuids,
)

# --- generated types ------------------------------------------------------------------------------


@dataclasses.dataclass
class Gen:
    """An annotation, a strategy of its values, and the classes that must be importable/allowed."""

    ann: Any
    values: st.SearchStrategy[Any]
    classes: list[type] = dataclasses.field(default_factory=list)
    #: values that are not valid for the annotation but serializable (for model_construct /
    #: assignment without validation: the parent re-validates on load, trusted mode must match)
    wrong: st.SearchStrategy[Any] | None = None
    hashable: bool = False
    label: str = ""


def _leaf(ann: Any, values: st.SearchStrategy[Any], wrong: Any = None, hashable: bool = True, label: str = "") -> Gen:
    return Gen(ann, values, [], wrong, hashable, label or getattr(ann, "__name__", repr(ann)))


LEAVES = [
    _leaf(int, ints, st.one_of(st.sampled_from(["7", 1.0, True]), big_ints)),
    _leaf(str, texts, st.sampled_from([5, b"x"])),
    _leaf(float, floats, st.sampled_from([1, "2.5", True])),
    _leaf(bool, st.booleans(), st.sampled_from([1, 0, "yes"])),
    _leaf(bytes, st.binary(max_size=6), st.sampled_from(["str", bytearray(b"ba")])),
    _leaf(datetime.datetime, datetimes, st.sampled_from(["2024-01-02T03:04:05", 0])),
    _leaf(datetime.date, dates, st.sampled_from(["2024-01-02", datetime.datetime(2024, 1, 2)])),
    _leaf(datetime.time, times, st.sampled_from(["10:11:12"])),
    _leaf(uuid.UUID, uuids, st.sampled_from(["12345678123456781234567812345678", str(uuid.UUID(int=5))])),
    _leaf(decimal.Decimal, decimals, st.sampled_from(["1.5", 2, 2.5])),
    _leaf(datetime.timedelta, timedeltas, st.sampled_from([1.5, "PT1S"])),
    _leaf(type(None), st.none(), None, label="None"),
]

def _any_values() -> st.SearchStrategy[Any]:
    """What an ``Any`` field may hold: plain and rich leaves, subclasses of the built-ins, sets,
    instances of fixed models / dataclasses / namedtuples / enums (model_dump converts some of
    them: nested models and dataclasses become dicts), exceptions, Send."""
    from langgraph.types import Send

    leaf = st.one_of(
        ints, texts, floats, st.none(), st.booleans(), st.binary(max_size=3), dates, datetimes, times, uuids,
        decimals, timedeltas, st.sets(st.integers(0, 5), max_size=3), st.frozensets(key_text, max_size=2),
        st.builds(lambda xs: collections.deque(xs), st.lists(ints, max_size=2)),
        st.sampled_from(list(AnyColor)), st.builds(AnyPoint, ints, texts), st.builds(AnyNT, ints),
        st.builds(AnyModel, a=ints, b=st.one_of(st.none(), texts)), st.builds(AnyPDC, ints),
        st.builds(lambda a: ValueError(a), key_text), st.builds(Send, key_text, ints),
        key_text.map(DStr), ints.map(DInt), floats.map(DFloat), safe_type_values(),
    )
    return st.recursive(leaf, lambda c: st.one_of(st.lists(c, max_size=2), st.lists(c, max_size=2).map(tuple), st.dictionaries(key_text, c, max_size=2)), max_leaves=4)


class AnyColor(enum.Enum):
    RED = 1
    BLUE = "b"


@dataclasses.dataclass
class AnyPoint:
    x: Any = 0
    label: Any = ""


class AnyNT(NamedTuple):
    a: Any


class AnyModel(BaseModel):
    a: Any = 0
    b: Optional[str] = None


@pydantic.dataclasses.dataclass
class AnyPDC:
    n: int = 0


for _c in (AnyColor, AnyPoint, AnyNT, AnyModel, AnyPDC):
    register(_c)

ANY = Gen(Any, st.deferred(_any_values), [AnyColor, AnyPoint, AnyNT, AnyModel, AnyPDC, DStr, DInt, DFloat], None, False, "Any")


def _wrap_optional(g: Gen) -> Gen:
    return Gen(Optional[g.ann], st.one_of(st.none(), g.values), g.classes, g.wrong, g.hashable, f"Optional[{g.label}]")


def _list_of(g: Gen) -> Gen:
    wrong = st.lists(g.values, max_size=3).map(tuple)
    return Gen(list[g.ann], st.lists(g.values, max_size=3), g.classes, wrong, False, f"list[{g.label}]")


def _tuple_var(g: Gen) -> Gen:
    wrong = st.lists(g.values, max_size=3)  # a list where a tuple was declared
    return Gen(tuple[g.ann, ...], st.lists(g.values, max_size=3).map(tuple), g.classes, wrong, g.hashable, f"tuple[{g.label}, ...]")


def _tuple_fixed(a: Gen, b: Gen) -> Gen:
    wrong = st.tuples(a.values, b.values).map(list)
    return Gen(tuple[a.ann, b.ann], st.tuples(a.values, b.values), a.classes + b.classes, wrong, a.hashable and b.hashable, f"tuple[{a.label}, {b.label}]")


def _bare_tuple(g: Gen) -> Gen:
    """``Optional[tuple]`` / ``tuple``: the trusted-mode coercion case of issue 11 #2."""
    return Gen(Optional[tuple], st.one_of(st.none(), st.lists(g.values, max_size=3).map(tuple)), g.classes, st.lists(ints, max_size=2), False, "Optional[tuple]")


def _set_of(hashable: Gen, frozen: bool) -> Gen:
    t = frozenset if frozen else set
    strat = st.frozensets(hashable.values, max_size=3) if frozen else st.sets(hashable.values, max_size=3)
    wrong = st.lists(hashable.values, max_size=3)
    return Gen(t[hashable.ann], strat, hashable.classes, wrong, frozen, f"{t.__name__}[{hashable.label}]")


def _dict_of(key: Gen, g: Gen) -> Gen:
    return Gen(dict[key.ann, g.ann], st.dictionaries(key.values, g.values, max_size=3), key.classes + g.classes, None, False, f"dict[{key.label}, {g.label}]")


def _union(a: Gen, b: Gen) -> Gen:
    return Gen(Union[a.ann, b.ann], st.one_of(a.values, b.values), a.classes + b.classes, None, a.hashable and b.hashable, f"Union[{a.label}, {b.label}]")


def _enum_gen(cls: type) -> Gen:
    return Gen(cls, enum_members(cls), [cls], st.sampled_from([m.value for m in cls]), True, cls.__name__)


@st.composite
def typeddict_gen(draw: st.DrawFn, depth: int) -> Gen:
    name = fresh_name("TD")
    n = draw(st.integers(1, 3))
    fields = {f"k{i}": draw(field_gen(depth + 1)) for i in range(n)}
    total = draw(st.booleans())
    td = TypedDict(name, {k: g.ann for k, g in fields.items()}, total=total)  # type: ignore[operator]
    td.__module__ = MODULE_NAME
    register(td)
    classes = [c for g in fields.values() for c in g.classes]

    @st.composite
    def values(draw2: st.DrawFn) -> dict[str, Any]:
        out = {}
        for k, g in fields.items():
            if total or draw2(st.booleans()):
                out[k] = draw2(g.values)
        if not filtered("typeddict-undeclared-key") and draw2(st.integers(0, 3)) == 0:
            out[draw2(st.sampled_from(["zz", "extra", "k9"]))] = draw2(ints)
        return out

    return Gen(td, values(), classes, None, False, name)


def _dc_fields(draw: st.DrawFn, depth: int, n: int) -> dict[str, Gen]:
    return {f"f{i}": draw(field_gen(depth + 1)) for i in range(n)}


@st.composite
def dataclass_gen(draw: st.DrawFn, depth: int = 0) -> Gen:
    """A dataclass with random options: slots, frozen, eq, an InitVar with __post_init__, an
    init=False field, kw_only, defaults; fields of generated types."""
    name = fresh_name("D")
    n = draw(st.integers(0, 3))
    fields = _dc_fields(draw, depth, n)
    slots = draw(st.booleans())
    frozen = draw(st.booleans())
    kw_only = draw(st.booleans())
    initvar = draw(st.booleans())
    init_false = draw(st.integers(0, 4)) == 0
    ann: dict[str, Any] = {k: g.ann for k, g in fields.items()}
    ns: dict[str, Any] = {"__module__": MODULE_NAME, "__qualname__": name, "__annotations__": ann}
    defaults = {}
    for k, g in fields.items():
        if draw(st.integers(0, 3)) == 0:
            defaults[k] = draw(g.values)
            d = defaults[k]
            ns[k] = dataclasses.field(default_factory=lambda d=d: copy.deepcopy(d))
    if not kw_only:  # non-default after default is an error unless kw_only
        seen_default = False
        for k in list(fields):
            if k in ns:
                seen_default = True
            elif seen_default:
                d = draw(fields[k].values)
                ns[k] = dataclasses.field(default_factory=lambda d=d: copy.deepcopy(d))
    if initvar:
        ann["iv"] = dataclasses.InitVar[int]
        ns["iv"] = 0

        def __post_init__(self: Any, iv: int) -> None:
            object.__setattr__(self, "_seen_iv", iv) if not slots else None

        ns["__post_init__"] = __post_init__
    if init_false:
        ann["nf"] = int
        ns["nf"] = dataclasses.field(init=False, default=7)
    cls = dataclasses.dataclass(slots=slots, frozen=frozen, kw_only=kw_only)(type(name, (), ns))
    register(cls)
    classes = [cls] + [c for g in fields.values() for c in g.classes]

    @st.composite
    def values(draw2: st.DrawFn) -> Any:
        kw = {k: draw2(g.values) for k, g in fields.items() if k not in ns or draw2(st.booleans())}
        if initvar and draw2(st.booleans()):
            kw["iv"] = draw2(st.integers(0, 3))
        return cls(**kw)

    return Gen(cls, values(), classes, None, frozen and not initvar and all(g.hashable for g in fields.values()), name)


@st.composite
def namedtuple_gen(draw: st.DrawFn, depth: int = 0) -> Gen:
    """collections.namedtuple (with defaults) or typing.NamedTuple (annotated)."""
    name = fresh_name("NT")
    n = draw(st.integers(1, 3))
    fields = _dc_fields(draw, depth, n)
    if draw(st.integers(0, 5)) == 0 and not filtered("namedtuple-iter-override"):
        # a subclass of a NamedTuple overriding __iter__ (N2): _asdict() iterates
        base = NamedTuple(name + "Base", [(k, g.ann) for k, g in fields.items()])  # type: ignore[misc]
        base.__module__ = MODULE_NAME
        register(base)
        cls = type(name, (base,), {"__module__": MODULE_NAME, "__iter__": lambda self: iter(tuple.__getitem__(self, slice(None, None, -1)))})
    elif draw(st.booleans()):
        ndef = draw(st.integers(0, n))
        defaults = [draw(g.values) for g in list(fields.values())[n - ndef:]]
        cls = collections.namedtuple(name, list(fields), defaults=defaults, module=MODULE_NAME)
    else:
        cls = NamedTuple(name, [(k, g.ann) for k, g in fields.items()])  # type: ignore[misc]
        cls.__module__ = MODULE_NAME
    register(cls)
    classes = [cls] + [c for g in fields.values() for c in g.classes]
    return Gen(cls, st.tuples(*[g.values for g in fields.values()]).map(lambda t: cls(*t)), classes, None, all(g.hashable for g in fields.values()), name)


T = TypeVar("T")


class GBox(BaseModel, Generic[T]):
    item: T
    note: str = ""


register(GBox)


@st.composite
def generic_gen(draw: st.DrawFn, depth: int = 0) -> Gen:
    """``GBox[T]``: a parametrized generic model (``__name__`` ``GBox[int]``), registered in the
    module under that name or not (then neither side can import it)."""
    inner = draw(field_gen(depth + 1))
    try:
        cls = GBox[inner.ann]
    except Exception:  # noqa: BLE001 - an annotation pydantic does not parametrize with
        cls = GBox[int]
        inner = LEAVES[0]
    if draw(st.booleans()):
        register(cls)
    return Gen(cls, st.builds(lambda v, n: cls(item=v, note=n), inner.values, key_text), [cls, *inner.classes], None, False, cls.__name__)


# --- pydantic models ---------------------------------------------------------------------------------

_SER_KINDS = ["plain-str", "plain-same", "wrap-same", "wrap-dict", "json-only"]


@st.composite
def model_gen(draw: st.DrawFn, depth: int = 0) -> Gen:
    """A pydantic v2 model built at run time (``type()`` with annotations) from random
    combinations of: alias, serialization_alias, validation_alias (str / AliasChoices), exclude,
    field_serializer (plain / wrap / json-only), model_serializer (plain / wrap), computed
    fields, extra (allow / ignore / forbid), populate_by_name, serialize_by_alias, frozen,
    strict, defaults, private attributes, field validators; fields of every generated type."""
    name = fresh_name("M")
    n = draw(st.integers(0, 4))
    fields = {f"f{i}": draw(field_gen(depth + 1)) for i in range(n)}
    extra = draw(st.sampled_from([None, "allow", "ignore", "forbid"]))
    config: dict[str, Any] = {}
    if extra:
        config["extra"] = extra
    for opt in ("populate_by_name", "serialize_by_alias", "frozen", "arbitrary_types_allowed"):
        if draw(st.integers(0, 4)) == 0:
            config[opt] = True
    if draw(st.integers(0, 9)) == 0:
        config["strict"] = True
    ann: dict[str, Any] = {}
    ns: dict[str, Any] = {"__module__": MODULE_NAME, "__qualname__": name, "__annotations__": ann}
    if config:
        ns["model_config"] = ConfigDict(**config)
    # how each field is given to the constructor: its name, its alias, or its validation alias
    init_key: dict[str, list[str]] = {}
    has_default: dict[str, bool] = {}
    for k, g in fields.items():
        ann[k] = g.ann
        fkw: dict[str, Any] = {}
        alias_kind = draw(st.sampled_from(["none", "none", "alias", "ser", "val", "val-choices", "ser+val"]))
        keys = [k]
        if alias_kind == "alias":
            fkw["alias"] = f"A_{k}"
            keys = [f"A_{k}"] + ([k] if config.get("populate_by_name") else [])
        elif alias_kind == "ser":
            fkw["serialization_alias"] = f"S_{k}"
        elif alias_kind == "val":
            fkw["validation_alias"] = f"V_{k}"
            keys = [f"V_{k}"] + ([k] if config.get("populate_by_name") else [])
        elif alias_kind == "val-choices":
            fkw["validation_alias"] = AliasChoices(f"V_{k}", k)
        elif alias_kind == "ser+val":
            fkw["serialization_alias"] = f"S_{k}"
            fkw["validation_alias"] = f"V_{k}"
            keys = [f"V_{k}"] + ([k] if config.get("populate_by_name") else [])
        init_key[k] = keys
        if draw(st.integers(0, 5)) == 0:
            fkw["exclude"] = True
        has_default[k] = draw(st.booleans())
        if has_default[k]:
            d = draw(g.values)
            fkw["default_factory"] = lambda d=d: copy.deepcopy(d)
        ns[k] = Field(**fkw)
        ser = draw(st.sampled_from([None] * 10 + _SER_KINDS))
        if ser is not None:
            ns[f"_ser_{k}"] = _make_field_serializer(k, ser)
        if draw(st.integers(0, 8)) == 0 and g.ann is str:
            ns[f"_val_{k}"] = field_validator(k)(classmethod(_upper))
    if draw(st.integers(0, 5)) == 0:
        ns["cf"] = computed_field(property(_make_computed(list(fields))))
    if draw(st.integers(0, 7)) == 0:
        ns["_priv"] = pydantic.PrivateAttr(default=draw(st.sampled_from([0, "p", None])))
    msr = draw(st.sampled_from([None] * 8 + ["plain", "wrap"]))
    if msr == "plain":
        ns["_msr"] = model_serializer(mode="plain")(_plain_model_serializer)
    elif msr == "wrap":
        ns["_msr"] = model_serializer(mode="wrap")(_wrap_model_serializer)
    try:
        cls = type(name, (BaseModel,), ns)
    except (pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError, TypeError) as exc:
        # a combination pydantic refuses (e.g. init=False dataclass field under extra='allow')
        event(f"model refused by pydantic: {type(exc).__name__}")
        reject()
    register(cls)
    classes = [cls] + [c for g in fields.values() for c in g.classes]
    allow = extra == "allow"

    @st.composite
    def values(draw2: st.DrawFn) -> Any:
        how = draw2(st.sampled_from(["validate"] * 5 + ["construct", "mutate"]))
        kw: dict[str, Any] = {}
        by_name: dict[str, Any] = {}
        for k, g in fields.items():
            if has_default[k] and draw2(st.booleans()):
                continue  # left to its default: not in model_fields_set
            v = draw2(g.values)
            kw[draw2(st.sampled_from(init_key[k]))] = v
            by_name[k] = v
        if allow and draw2(st.booleans()):
            extra_keys = ["x1", "x2", "Ex"]
            if not filtered("validation-alias-extra-allow"):
                extra_keys += list(fields)  # a field's name where a validation alias is needed
            for ek in draw2(st.lists(st.sampled_from(extra_keys), max_size=2, unique=True)):
                if ek not in kw:
                    kw[ek] = draw2(st.one_of(ints, key_text, st.none(), dates))
        if how == "construct":
            obj = cls.model_construct(**by_name, **{k: v for k, v in kw.items() if k.startswith(("x", "E"))})
        else:
            try:
                obj = cls(**kw)
            except pydantic.ValidationError:
                obj = cls.model_construct(**by_name)
            if how == "mutate" and fields:
                k = draw2(st.sampled_from(list(fields)))
                g = fields[k]
                if g.wrong is not None:
                    object.__setattr__(obj, k, draw2(g.wrong))
        if filtered("validation-alias-extra-allow") and obj.__pydantic_extra__ and set(obj.__pydantic_extra__) & set(fields):
            obj = cls.model_construct(**by_name)
        edit = draw2(st.sampled_from([None] * 8 + list(MODEL_EDITS)))
        if edit is not None:
            MODEL_EDITS[edit](obj, draw2(st.one_of(ints, key_text, st.none())))
            event(f"model edit: {edit}{' (extras)' if obj.__pydantic_extra__ is not None else ''}")
        return obj

    if draw(st.integers(0, 4)) == 0:
        # a subclass: new defaulted field, maybe its own config, computed field or model_dump
        sub_ns: dict[str, Any] = {"__module__": MODULE_NAME, "__qualname__": name + "Sub", "__annotations__": {"g": int}, "g": 0}
        twist = draw(st.sampled_from(["plain", "config", "computed", "model_dump", "dict-attr"]))
        if twist == "config":
            sub_ns["model_config"] = ConfigDict(extra=draw(st.sampled_from(["allow", "ignore", "forbid"])), serialize_by_alias=draw(st.booleans()))
        elif twist == "computed":
            sub_ns["sub_cf"] = computed_field(property(_make_computed(["g"])))
        elif twist == "model_dump":
            sub_ns["model_dump"] = _custom_model_dump
        elif twist == "dict-attr":
            sub_ns["__getattr__"] = _getattr_fallback
        try:
            sub = type(name + "Sub", (cls,), sub_ns)
        except (pydantic.PydanticUserError, TypeError):
            reject()
        register(sub)
        base_values = values()
        sub_values = base_values.map(lambda o: _as_subclass(sub, o))
        return Gen(sub, sub_values, [sub, *classes], None, False, sub.__name__)
    return Gen(cls, values(), classes, None, False, name)


def _custom_model_dump(self: Any, **kw: Any) -> dict[str, Any]:
    return {"custom": True, **BaseModel.model_dump(self, **kw)}


def _getattr_fallback(self: Any, item: str) -> Any:
    if item.startswith("__"):
        raise AttributeError(item)
    return BaseModel.__getattr__(self, item)


def _as_subclass(sub: type, obj: Any) -> Any:
    """An instance of ``sub`` carrying ``obj``'s state (what validation of its data would give,
    or the same unvalidated state for constructed / edited objects)."""
    new = sub.__new__(sub)
    state = obj.__getstate__()
    state["__dict__"] = {**state["__dict__"], "g": 1}
    state["__pydantic_fields_set__"] = set(state["__pydantic_fields_set__"]) | {"g"}
    if sub.model_config.get("extra") != "allow":
        state["__pydantic_extra__"] = None
    elif state.get("__pydantic_extra__") is None:
        state["__pydantic_extra__"] = {}
    if sub.__private_attributes__ and not state.get("__pydantic_private__"):
        state["__pydantic_private__"] = {k: v.get_default() for k, v in sub.__private_attributes__.items()}
    new.__setstate__(state)
    return new


def _edit_reorder(obj: Any, v: Any) -> None:
    d = obj.__dict__
    if d:
        k = next(iter(d))
        d[k] = d.pop(k)


def _edit_extra_attr(obj: Any, v: Any) -> None:
    object.__setattr__(obj, "zz_attr", v)  # in __dict__ but not a field: model_dump ignores it


def _edit_extras(obj: Any, v: Any) -> None:
    if obj.__pydantic_extra__ is not None:
        obj.__pydantic_extra__["edited"] = v


def _edit_extras_key(obj: Any, v: Any) -> None:
    """An extra under a non-str key (int, tuple): model_dump() raises TypeError (N5)."""
    if obj.__pydantic_extra__ is not None and not filtered("extras-non-str-key"):
        obj.__pydantic_extra__[(1, "t") if isinstance(v, str) else 5] = v


def _edit_fields_set(obj: Any, v: Any) -> None:
    obj.__pydantic_fields_set__ = set()


def _edit_del_field(obj: Any, v: Any) -> None:
    if obj.__dict__:
        del obj.__dict__[next(iter(obj.__dict__))]


#: edits of a model instance after construction, none of which pydantic validates
MODEL_EDITS = {"reorder-dict": _edit_reorder, "non-field-attr": _edit_extra_attr, "edit-extras": _edit_extras, "extras-key": _edit_extras_key,
               "clear-fields-set": _edit_fields_set, "delete-field": _edit_del_field}


def _upper(cls: Any, v: str) -> str:
    return v.upper() + "!"


def _make_field_serializer(field: str, kind: str) -> Any:
    if kind == "plain-str":
        def ser(self: Any, v: Any) -> str:
            return repr(v)
        return field_serializer(field)(ser)
    if kind == "plain-same":
        def ser2(self: Any, v: Any) -> Any:
            return v
        return field_serializer(field)(ser2)
    if kind == "wrap-same":
        def ser3(self: Any, v: Any, handler: Any) -> Any:
            return handler(v)
        return field_serializer(field, mode="wrap")(ser3)
    if kind == "wrap-dict":
        def ser4(self: Any, v: Any, handler: Any) -> Any:
            return {"w": handler(v)}
        return field_serializer(field, mode="wrap")(ser4)

    def ser5(self: Any, v: Any) -> Any:
        return "json"
    return field_serializer(field, when_used="json")(ser5)


def _make_computed(names: list[str]) -> Any:
    def cf(self: Any) -> int:
        return len(names)

    cf.__annotations__ = {"return": int}
    return cf


def _plain_model_serializer(self: Any) -> dict[str, Any]:
    return {"plain": type(self).__name__, **{k: getattr(self, k) for k in type(self).model_fields}}


def _wrap_model_serializer(self: Any, handler: Any) -> Any:
    out = handler(self)
    if isinstance(out, dict):
        out["wrapped"] = True
    return out


# --- fields ----------------------------------------------------------------------------------------------

MAX_DEPTH = 2


@st.composite
def field_gen(draw: st.DrawFn, depth: int = 0) -> Gen:
    """A generated type for a field: a leaf, a container of generated types, or (above
    MAX_DEPTH) a leaf only."""
    leaf = st.sampled_from(LEAVES)
    if depth >= MAX_DEPTH:
        return draw(st.one_of(leaf, st.just(ANY)))
    hashable_leaf = st.sampled_from([g for g in LEAVES if g.hashable and g.ann is not float])  # no NaN keys
    kind = draw(st.sampled_from(
        ["leaf"] * 6 + ["any", "optional", "list", "tuple-var", "tuple-fixed", "bare-tuple", "set", "frozenset",
                        "dict", "dict-key", "union", "enum", "typeddict", "dataclass", "model", "namedtuple", "generic",
                        "pydantic-dataclass", "root-model", "discriminated", "annotated-ser", "literal"]
    ))
    sub = field_gen(depth + 1)
    if kind == "dict-key":
        item = hashable_leaf
        if filtered("tuple-key-rich-item"):
            item = st.sampled_from([g for g in LEAVES if g.ann in (int, str, bool, bytes, type(None))])
        return _dict_of(draw(st.one_of(hashable_leaf, st.builds(_tuple_fixed, item, item))), draw(sub))
    build = {
        "leaf": lambda: draw(leaf),
        "any": lambda: ANY,
        "optional": lambda: _wrap_optional(draw(sub)),
        "list": lambda: _list_of(draw(sub)),
        "tuple-var": lambda: _tuple_var(draw(sub)),
        "tuple-fixed": lambda: _tuple_fixed(draw(sub), draw(sub)),
        "bare-tuple": lambda: _bare_tuple(draw(leaf)),
        "set": lambda: _set_of(draw(hashable_leaf), False),
        "frozenset": lambda: _set_of(draw(hashable_leaf), True),
        "dict": lambda: _dict_of(LEAVES[1], draw(sub)),
        "union": lambda: _union(draw(sub), draw(sub)),
        "enum": lambda: _enum_gen(draw(enum_class())),
        "typeddict": lambda: draw(typeddict_gen(depth)),
        "dataclass": lambda: draw(dataclass_gen(depth)),
        "model": lambda: draw(model_gen(depth)),
        "namedtuple": lambda: draw(namedtuple_gen(depth)),
        "generic": lambda: draw(generic_gen(depth)),
        "pydantic-dataclass": lambda: draw(pydantic_dataclass_gen(depth)),
        "root-model": lambda: draw(leaf) if memo_filtered() else draw(root_model_gen(depth)),
        "discriminated": lambda: draw(discriminated_gen()),
        "annotated-ser": lambda: draw(annotated_ser_gen(depth)),
        "literal": lambda: draw(literal_gen()),
    }
    return build[kind]()


@st.composite
def pydantic_dataclass_gen(draw: st.DrawFn, depth: int = 0) -> Gen:
    """A pydantic dataclass (validated on construction; ext 2 like any dataclass)."""
    name = fresh_name("PD")
    fields = _dc_fields(draw, depth, draw(st.integers(0, 3)))
    ns: dict[str, Any] = {"__module__": MODULE_NAME, "__qualname__": name, "__annotations__": {k: g.ann for k, g in fields.items()}}
    config = ConfigDict(extra=draw(st.sampled_from(["ignore", "forbid", "allow"])))
    try:
        cls = pydantic.dataclasses.dataclass(frozen=draw(st.booleans()), config=config)(type(name, (), ns))
    except (pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError, TypeError):
        reject()
    register(cls)
    classes = [cls] + [c for g in fields.values() for c in g.classes]

    def build(vals: tuple[Any, ...]) -> Any:
        try:
            return cls(*vals)
        except pydantic.ValidationError:
            reject()

    return Gen(cls, st.tuples(*[g.values for g in fields.values()]).map(build), classes, None, False, name)


@st.composite
def root_model_gen(draw: st.DrawFn, depth: int = 0) -> Gen:
    """``RootModel[T]`` subclasses (model_dump() is the root value, not a dict)."""
    inner = draw(field_gen(depth + 1))
    name = fresh_name("Root")
    try:
        cls = register(type(name, (pydantic.RootModel[inner.ann],), {"__module__": MODULE_NAME, "__qualname__": name}))
    except (pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError, TypeError):
        reject()

    def build(v: Any) -> Any:
        try:
            return cls(v)
        except pydantic.ValidationError:
            reject()

    return Gen(cls, inner.values.map(build), [cls, *inner.classes], None, False, name)


@st.composite
def discriminated_gen(draw: st.DrawFn) -> Gen:
    """``Annotated[Union[A, B], Field(discriminator="kind")]`` over two generated models."""
    tags = ["a", "b"]
    members = []
    for tag in tags:
        name = fresh_name("Tag")
        ns = {"__module__": MODULE_NAME, "__qualname__": name, "__annotations__": {"kind": typing_Literal[tag], "v": Optional[int]}, "kind": tag, "v": None}
        members.append(register(type(name, (BaseModel,), ns)))
    ann = typing_Annotated[Union[members[0], members[1]], Field(discriminator="kind")]
    values = st.builds(lambda i, v: members[i](v=v), st.integers(0, 1), st.one_of(st.none(), ints))
    return Gen(ann, values, members, None, False, "discriminated")


@st.composite
def annotated_ser_gen(draw: st.DrawFn, depth: int = 0) -> Gen:
    """A field type with a serializer in its annotation (PlainSerializer / WrapSerializer /
    SerializeAsAny)."""
    inner = draw(st.sampled_from(LEAVES))
    kind = draw(st.sampled_from(["plain", "wrap", "as-any"]))
    if kind == "plain":
        ann = typing_Annotated[inner.ann, pydantic.PlainSerializer(lambda v: repr(v), return_type=str)]
    elif kind == "wrap":
        ann = typing_Annotated[inner.ann, pydantic.WrapSerializer(lambda v, h: [h(v)])]
    else:
        ann = pydantic.SerializeAsAny[inner.ann]
    return Gen(ann, inner.values, [], None, False, f"{kind}[{inner.label}]")


@st.composite
def literal_gen(draw: st.DrawFn) -> Gen:
    lits = draw(st.lists(st.one_of(st.integers(-3, 3), key_text, st.booleans()), min_size=1, max_size=3, unique_by=lambda x: (type(x), x)))
    return Gen(typing_Literal[tuple(lits)], st.sampled_from(lits), [], None, True, "Literal")
