"""Run-time classes and hypothesis strategies for the differential test (test_differential.py).

Every class built here lives in one real, importable module object, ``fs_diff_generated``
(registered in ``sys.modules``): JsonPlusSerializer and FastSerializer find it with
``importlib.import_module(module)`` + ``getattr(module, name)``, exactly as they find a user's
class. Class names are unique per build (``M12``, ``E13``, ...) unless a test redefines a name on
purpose.

A *generated type* (``Gen``) is an annotation usable in a pydantic field or a dataclass field, a
strategy of values of that type, and the classes it needs (for ``allowed_msgpack_modules``).

Known issues (issue 11, being fixed in parallel) are kept out of the generator by the filters in
``KNOWN_ISSUE_FILTERS``: each filter is named, says what it keeps out, and is consulted with
``filtered(name)`` at the one place that would generate the known case. Delete a name from the
dict when its fix lands (or run with ``FAST_SERDE_DIFF_UNFILTER=name1,name2`` / ``=all`` to see
the generator find it). The narrow regression tests of test_differential.py (``xfail(strict=True)``)
prove each known issue is still detected.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import datetime
import decimal
import enum
import itertools
import os
import sys
import types
import uuid
from typing import Annotated as typing_Annotated
from typing import Any, Generic, NamedTuple, Optional, TypeVar, Union
from typing import ClassVar as typing_ClassVar
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

# --- known-issue filters -------------------------------------------------------------------

#: name -> what it keeps out of the generator (issue 11 section). Delete an entry when its fix
#: lands; the generator then produces the case again (and the matching xfail test turns XPASS).
KNOWN_ISSUE_FILTERS: dict[str, str] = {
    # Every issue this search found is fixed (issue 11 #1-#8, docs/findings.md N1-N7): none is kept out.
    # Add `"name": "what it keeps out"` here, and `filtered("name")` where the generator would
    # make it, for a newly found difference until its fix lands.
}
_unfilter = {s.strip() for s in os.environ.get("FAST_SERDE_DIFF_UNFILTER", "").split(",") if s.strip()}
ACTIVE_FILTERS = frozenset() if "all" in _unfilter else frozenset(KNOWN_ISSUE_FILTERS) - _unfilter


def filtered(name: str) -> bool:
    """True while the known issue ``name`` is kept out of the generator."""
    assert name in KNOWN_ISSUE_FILTERS or name not in ACTIVE_FILTERS, name
    return name in ACTIVE_FILTERS


# --- the module the classes live in -----------------------------------------------------------

MODULE_NAME = "fs_diff_generated"
GEN = types.ModuleType(MODULE_NAME, "Classes built at run time by python/tests/differential/diff_gen.py.")
sys.modules[MODULE_NAME] = GEN
_counter = itertools.count()


def fresh_name(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


_registered: list[str] = []  # names registered since the last forget_generated()


def register(cls: Any, name: str | None = None, *, top_level: bool = True) -> Any:
    """Put ``cls`` into the generated module under its ``__name__`` (or ``name``)."""
    try:
        cls.__module__ = MODULE_NAME
    except (AttributeError, TypeError):
        pass
    if top_level:
        setattr(GEN, name or cls.__name__, cls)
        _registered.append(name or cls.__name__)
    return cls


def rename(cls: Any, name: str) -> Any:
    """Give ``cls`` another name and bind it under that name (redefinition tests)."""
    cls.__name__ = name
    cls.__qualname__ = name
    return register(cls)


def forget_generated() -> None:
    """Unbind the classes registered since the module was imported or last forgotten, so that
    they can be collected (the fixed ones built at import time stay)."""
    for name in _registered:
        GEN.__dict__.pop(name, None)
    _registered.clear()


def classes_built() -> int:
    """How many classes (fresh names) this process has built so far."""
    return int(repr(_counter)[6:-1])  # itertools.count's repr is count(N): N is the next name


def allow_key(cls: Any) -> tuple[str, str]:
    return (cls.__module__, cls.__name__)


# --- value strategies ---------------------------------------------------------------------------

I64_EDGES = [0, 1, -1, 127, 128, -32, -33, 255, 256, 65535, 65536, 2**31, 2**32, 2**63 - 1, 2**63, 2**64 - 1, -(2**63)]
ints = st.one_of(st.integers(-300, 300), st.sampled_from(I64_EDGES))
big_ints = st.sampled_from([2**64, -(2**63) - 1, 2**100])
floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, -0.0, 1.5, float("inf"), float("-inf"), float("nan"), 1e300]),
)
key_chars = st.characters(exclude_categories=("Cs",))
key_text = st.text(key_chars, max_size=6)
surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
surrogate_text = st.builds(lambda a, s, b: a + s + b, st.text(key_chars, max_size=2), surrogate, st.text(st.one_of(key_chars, surrogate), max_size=2))
texts = st.one_of(key_text, st.text(max_size=12), surrogate_text)
tzs = st.one_of(
    st.none(),
    st.just(datetime.timezone.utc),
    st.integers(-14 * 60, 14 * 60).map(lambda m: datetime.timezone(datetime.timedelta(minutes=m))),
    st.sampled_from([__import__("zoneinfo").ZoneInfo("Europe/Paris")]),
)
datetimes = st.datetimes(timezones=tzs)
dates = st.dates()
times = st.times(timezones=st.one_of(st.none(), st.just(datetime.timezone.utc)))
uuids = st.uuids()
decimals = st.decimals(allow_nan=False, allow_infinity=False, places=3)
timedeltas = st.timedeltas()


# --- enums ----------------------------------------------------------------------------------------


@st.composite
def enum_class(draw: st.DrawFn) -> type:
    """An Enum of a random kind (Enum with mixed values, IntEnum, StrEnum, str/int mixins, Flag,
    IntFlag), possibly nested in another class (``__qualname__`` ``Outer.E``, ``__name__`` ``E``)."""
    kinds = ["enum", "int", "strenum", "str-mixin", "int-mixin", "flag", "intflag", "float-mixin"]
    if not hasattr(enum, "StrEnum"):  # 3.11+; the str mixin covers str values on 3.10
        kinds.remove("strenum")
    kind = draw(st.sampled_from(kinds))
    name = fresh_name("E")
    n = draw(st.integers(1, 3))
    if kind == "enum":
        pool = [1, "a", (1, 2), 2.5, None, b"x", "b", 0, True]
        vals = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n, unique_by=repr))
        cls = enum.Enum(name, [(f"M{i}", v) for i, v in enumerate(vals)], module=MODULE_NAME)
    elif kind == "int":
        vals = draw(st.lists(ints, min_size=n, max_size=n, unique=True))
        cls = enum.IntEnum(name, [(f"M{i}", v) for i, v in enumerate(vals)], module=MODULE_NAME)
    elif kind == "strenum":
        vals = draw(st.lists(key_text, min_size=n, max_size=n, unique=True))
        cls = enum.StrEnum(name, [(f"M{i}", v) for i, v in enumerate(vals)], module=MODULE_NAME)
    elif kind == "str-mixin":
        vals = draw(st.lists(key_text, min_size=n, max_size=n, unique=True))
        cls = enum.Enum(name, [(f"M{i}", v) for i, v in enumerate(vals)], type=str, module=MODULE_NAME)
    elif kind == "int-mixin":
        vals = draw(st.lists(st.integers(-5, 300), min_size=n, max_size=n, unique=True))
        cls = enum.Enum(name, [(f"M{i}", v) for i, v in enumerate(vals)], type=int, module=MODULE_NAME)
    elif kind == "float-mixin":
        vals = draw(st.lists(st.sampled_from([0.5, 1.0, -2.25, 1e10]), min_size=n, max_size=n, unique=True))
        cls = enum.Enum(name, [(f"M{i}", v) for i, v in enumerate(vals)], type=float, module=MODULE_NAME)
    else:
        base = enum.Flag if kind == "flag" else enum.IntFlag
        cls = base(name, [(f"F{i}", 1 << i) for i in range(n)], module=MODULE_NAME)
    nested = draw(st.sampled_from(["top", "top", "nested-registered", "nested-unregistered"]))
    if nested == "top":
        cls.__qualname__ = name
        register(cls)
    else:
        outer = type(fresh_name("Outer"), (), {"__module__": MODULE_NAME})
        setattr(outer, name, cls)
        cls.__qualname__ = f"{outer.__name__}.{name}"
        register(outer)
        register(cls, top_level=nested == "nested-registered")
    return cls


def enum_members(cls: type) -> st.SearchStrategy[Any]:
    members = list(cls)
    if issubclass(cls, enum.Flag):
        # combinations of flags too (F0|F1), and the empty flag
        return st.lists(st.sampled_from(members), max_size=len(members)).map(
            lambda ms: _or_flags(cls, ms)
        )
    return st.sampled_from(members)


def _or_flags(cls: Any, ms: list[Any]) -> Any:
    out = cls(0)
    for m in ms:
        out |= m
    return out


# --- subclasses of the built-ins ----------------------------------------------------------------


def _builtin_subclass(base: type, prefix: str) -> type:
    cls = type(fresh_name(prefix), (base,), {"__module__": MODULE_NAME})
    return register(cls)


# Created once (their instances may be shared across examples); more are made per example.
class DStr(str):
    pass


class DInt(int):
    pass


class DFloat(float):
    pass


class DTuple(tuple):
    pass


class DList(list):
    pass


class DDict(dict):
    pass


class DDatetime(datetime.datetime):
    pass


class DDate(datetime.date):
    pass


class DUUID(uuid.UUID):
    pass


class DDecimal(decimal.Decimal):
    pass


class DSet(set):
    pass


for _c in (DStr, DInt, DFloat, DTuple, DList, DDict, DDatetime, DDate, DUUID, DDecimal, DSet):
    register(_c)


def _accessor_override(base: type, attr: str, value: Any) -> type:
    """A subclass of ``base`` whose ``attr`` is a property returning ``value``."""
    return register(type(fresh_name(f"Ov{base.__name__}"), (base,), {"__module__": MODULE_NAME, attr: property(lambda self: value)}))


#: (base, accessors JsonPlus reads, a builder from a plain instance)
_ACCESSORS = [
    (datetime.date, ["year", "month", "day"], lambda c, d: c(d.year, d.month, d.day)),
    (datetime.timedelta, ["days", "seconds", "microseconds"], lambda c, t: c(t.days, t.seconds, t.microseconds)),
    (datetime.time, ["hour", "minute", "second", "microsecond", "tzinfo", "fold"], lambda c, t: c(t.hour, t.minute, t.second, t.microsecond, t.tzinfo, fold=t.fold)),
    (datetime.datetime, ["year", "hour", "tzinfo"], lambda c, d: c(d.year, d.month, d.day, d.hour, tzinfo=d.tzinfo)),
    (uuid.UUID, ["hex"], lambda c, u: c(int=u.int)),
    (decimal.Decimal, ["real"], lambda c, x: c(x)),
]
_ACCESSOR_SOURCES = {datetime.date: dates, datetime.timedelta: timedeltas, datetime.time: times, datetime.datetime: datetimes, uuid.UUID: uuids, decimal.Decimal: decimals}
_ACCESSOR_VALUES = {"year": 1999, "month": 12, "day": 31, "days": 5, "seconds": 7, "microseconds": 9, "hour": 9, "minute": 8,
                    "second": 7, "microsecond": 6, "tzinfo": None, "fold": 1, "int": 5, "hex": "0" * 32, "real": 1}


@st.composite
def overridden_accessor_values(draw: st.DrawFn) -> Any:
    """Instances of subclasses of date/time/timedelta/datetime/UUID/Decimal that override an
    accessor JsonPlus may read (N1 in docs/findings.md)."""
    choices = _ACCESSORS
    if filtered("overridden-accessors"):  # datetime (isoformat), UUID (.hex read by both) agree
        choices = [c for c in _ACCESSORS if c[0] not in (datetime.date, datetime.timedelta, datetime.time)]
    base, attrs, build = draw(st.sampled_from(choices))
    attr = draw(st.sampled_from(attrs))
    cls = _accessor_override(base, attr, _ACCESSOR_VALUES[attr])
    return build(cls, draw(_ACCESSOR_SOURCES[base]))


def builtin_subclass_values(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Instances of subclasses of str, int, float, tuple, list, dict, datetime, date, UUID,
    Decimal, set; sometimes with instance attributes (``__dict__`` entries)."""
    plain = st.one_of(
        texts.map(DStr),
        ints.map(DInt),
        floats.map(DFloat),
        st.lists(children, max_size=3).map(DTuple),
        st.lists(children, max_size=3).map(DList),
        st.dictionaries(key_text, children, max_size=3).map(DDict),
        datetimes.map(lambda d: DDatetime(d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond, d.tzinfo, fold=d.fold)),
        dates.map(lambda d: DDate(d.year, d.month, d.day)),
        uuids.map(lambda u: DUUID(int=u.int)),
        decimals.map(DDecimal),
        st.sets(st.integers(0, 9), max_size=3).map(DSet),
        st.builds(lambda s: _builtin_subclass(str, "S")(s), key_text),
        st.builds(lambda i: _builtin_subclass(int, "I")(i), ints),
        overridden_accessor_values(),
    )
    return st.one_of(plain, st.builds(_with_attrs, plain, st.dictionaries(st.sampled_from(["x", "node", "arg", "value", "_fields"]), st.integers(0, 3), max_size=2)))


def _with_attrs(obj: Any, attrs: dict[str, Any]) -> Any:
    for k, v in attrs.items():
        try:
            setattr(obj, k, v)
        except (AttributeError, TypeError):
            pass
    return obj


# --- dict keys ---------------------------------------------------------------------------------------

key_scalars = st.one_of(key_text, ints, st.none(), st.booleans(), floats.filter(lambda f: f == f), st.binary(max_size=4))


def rich_key_items(enum_pool: list[type]) -> st.SearchStrategy[Any]:
    """Items JsonPlus writes as text in a key (date, datetime, time, UUID, Enum) and items it
    refuses in a key (Decimal, frozenset, dataclass, namedtuple, model, subclasses)."""
    s = [dates, datetimes, times, uuids, decimals, st.frozensets(st.integers(0, 3), max_size=2),
         key_text.map(DStr), ints.map(DInt), uuids.map(lambda u: DUUID(int=u.int)),
         datetimes.map(lambda d: DDatetime(d.year, d.month, d.day, tzinfo=d.tzinfo)),
         st.builds(_KeyPoint, st.integers(0, 3)), st.builds(_KeyNT, st.integers(0, 3)),
         surrogate_text]
    if enum_pool:
        s.append(st.sampled_from(enum_pool).flatmap(enum_members))
    return st.one_of(*s)


@dataclasses.dataclass(frozen=True)
class _KeyPoint:
    x: int


class _KeyNT(NamedTuple):
    a: int


register(_KeyPoint)
register(_KeyNT)


def dict_keys(enum_pool: list[type]) -> st.SearchStrategy[Any]:
    """Dict keys of every type: plain scalars, rich singletons (date, UUID, Enum, str/int
    subclasses, ...), lone-surrogate strs and str subclasses, and tuples of all of these."""
    str_sub_key = key_text.map(DStr)
    if not filtered("str-subclass-surrogate-key"):
        str_sub_key = st.one_of(str_sub_key, surrogate_text.map(DStr))
    singles = [key_scalars, key_scalars, dates, datetimes, times, uuids, decimals, str_sub_key,
               ints.map(DInt), surrogate_text, st.frozensets(st.integers(0, 3), max_size=2),
               st.builds(_KeyPoint, st.integers(0, 3))]
    if enum_pool:
        singles.append(st.sampled_from(enum_pool).flatmap(enum_members))
    tuple_items = key_scalars
    if not filtered("tuple-key-rich-item"):
        tuple_items = st.one_of(key_scalars, rich_key_items(enum_pool))
    tuples = st.recursive(
        st.lists(tuple_items, max_size=3).map(tuple),
        lambda inner: st.lists(st.one_of(tuple_items, inner), max_size=3).map(tuple),
        max_leaves=5,
    )
    return st.one_of(*singles, tuples)


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


def _memo_filtered(name: str = "rootmodel-memo-dict") -> bool:
    """N6 and N7 apply only to a FastSerializer with main's memo of validated models."""
    from fast_serde.langgraph import FastSerializer

    return filtered(name) and hasattr(FastSerializer, "memo_stats")


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
        "root-model": lambda: draw(leaf) if _memo_filtered() else draw(root_model_gen(depth)),
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


# --- LangChain messages and langgraph types (SAFE_MSGPACK_TYPES) -----------------------------------


def _set_unvalidated(obj: Any, changes: dict[str, Any]) -> Any:
    for k, v in changes.items():
        object.__setattr__(obj, k, v)
    return obj


@st.composite
def safe_type_values(draw: st.DrawFn) -> Any:
    """LangChain messages (content str / list of blocks, tool calls, metadata, ids), Document,
    langgraph Send / Interrupt / Command; some edited after validation (the parent re-validates
    them on load: validate_models=False must give the same)."""
    from langchain_core.documents import Document
    from langchain_core.messages import AIMessage, AIMessageChunk, ChatMessage, HumanMessage, RemoveMessage, SystemMessage, ToolMessage
    from langgraph.types import Command, Interrupt, Send

    content = st.one_of(texts, st.lists(st.one_of(key_text, st.fixed_dictionaries({"type": st.just("text"), "text": key_text})), max_size=2))
    meta = st.dictionaries(key_text, st.one_of(ints, key_text, st.lists(ints, max_size=2).map(tuple), st.none()), max_size=2)
    ids = st.one_of(st.none(), key_text)
    tool_call = st.fixed_dictionaries({"name": key_text, "args": st.dictionaries(key_text, ints, max_size=2), "id": ids}, optional={"type": st.just("tool_call")})
    kind = draw(st.sampled_from(["human", "ai", "ai-chunk", "system", "tool", "chat", "remove", "document", "send", "interrupt", "command"]))
    if kind == "human":
        obj = HumanMessage(content=draw(content), id=draw(ids), additional_kwargs=draw(meta), response_metadata=draw(meta))
    elif kind in ("ai", "ai-chunk"):
        cls = AIMessage if kind == "ai" else AIMessageChunk
        obj = cls(content=draw(content), id=draw(ids), tool_calls=draw(st.lists(tool_call, max_size=2)),
                  usage_metadata=draw(st.one_of(st.none(), st.builds(lambda a, b: {"input_tokens": a, "output_tokens": b, "total_tokens": a + b}, st.integers(0, 9), st.integers(0, 9)))))
    elif kind == "system":
        obj = SystemMessage(content=draw(content), name=draw(ids))
    elif kind == "tool":
        obj = ToolMessage(content=draw(content), tool_call_id=draw(key_text), artifact=draw(st.one_of(st.none(), meta)), status=draw(st.sampled_from(["success", "error"])))
    elif kind == "chat":
        obj = ChatMessage(content=draw(content), role=draw(key_text))
    elif kind == "remove":
        obj = RemoveMessage(id=draw(key_text))
    elif kind == "document":
        obj = Document(page_content=draw(texts), metadata=draw(meta), id=draw(ids))
    elif kind == "send":
        return Send(draw(key_text), draw(meta))
    elif kind == "interrupt":
        return Interrupt(value=draw(meta), id=draw(key_text))
    else:
        return Command(update=draw(meta), goto=draw(st.one_of(key_text, st.lists(key_text, max_size=2))))
    if draw(st.integers(0, 3)) == 0:
        # unvalidated edits: wrong types the parent's validation coerces or rejects on load
        field = draw(st.sampled_from(["id", "content", "name", "additional_kwargs", "tool_calls", "metadata", "status",
                                      "tool_call_id", "usage_metadata", "invalid_tool_calls", "type", "role"]))
        if field in type(obj).model_fields:
            _set_unvalidated(obj, {field: draw(st.one_of(ints, st.lists(key_text, max_size=2).map(tuple), st.none(), st.just([{"name": "f", "args": {}, "id": None}]),
                                                         floats, uuids, st.binary(max_size=2), key_text.map(DStr)))})
    return obj


#: values validation coerces, rejects or keeps only for the exact type: what a hand-made or
#: edited payload may hold where a message field expects a str, list or dict
COERCED = st.one_of(
    ints, big_ints, floats, uuids, st.booleans(), st.none(), st.binary(max_size=3),
    st.lists(key_text, max_size=2).map(tuple), key_text.map(DStr),
    st.dictionaries(key_text, ints, max_size=2).map(DDict), st.just([]), st.just({}), st.just(""),
)
MESSAGE_PAYLOAD_CLASSES = [DStr, DDict]

#: raw tool calls as OpenAI writes them in additional_kwargs (what AIMessage's validator parses)
_RAW_TOOL_CALLS = st.lists(st.fixed_dictionaries(
    {"id": key_text, "type": st.just("function"),
     "function": st.fixed_dictionaries({"name": key_text, "arguments": st.sampled_from(["{}", '{"a": 1}', "{bad", "[1]"])})}),
    min_size=1, max_size=2)


def _edit_payload(draw: st.DrawFn, payload: dict[str, Any]) -> str:
    """One edit of a message payload (a dict in model_dump() order), as a hand-made or hostile
    writer could make it; returns its label."""
    names = list(payload)
    edit = draw(st.sampled_from([
        "coerce-field", "coerce-field", "drop-field", "extra-field", "move-field-last", "other-type",
        "content-items", "ak-keys", *(["tool-call", "tool-call", "tool-call", "usage", "raw-tool-calls", "raw-tool-calls"] if "tool_calls" in payload else []),
    ]), label="edit")
    if edit == "coerce-field":
        payload[draw(st.sampled_from(names))] = draw(COERCED, label="coerced value")
    elif edit == "drop-field":
        del payload[draw(st.sampled_from(names))]
    elif edit == "extra-field":
        payload[draw(st.sampled_from(["zz", "content_blocks", "tool_call_chunks", "lc"]))] = draw(st.one_of(key_text, ints, st.none()))
    elif edit == "move-field-last":
        name = draw(st.sampled_from(names))
        payload[name] = payload.pop(name)
    elif edit == "other-type":
        payload["type"] = draw(st.sampled_from(["human", "ai", "tool", "remove", "chat", "system", "AIMessageChunk", "HumanMessageChunk"]))
    elif edit == "tool-call" and isinstance(payload.get("tool_calls"), list):
        calls = payload["tool_calls"]
        if not calls:
            calls.append({"name": "f", "args": {}, "id": None, "type": "tool_call"})
        tc = calls[draw(st.integers(0, len(calls) - 1))]
        what = draw(st.sampled_from(["id", "name", "args", "drop-type", "extras", "index", "reorder", "args-key"]))
        if what in ("id", "name", "args"):
            tc[what] = draw(COERCED)
        elif what == "drop-type":
            tc.pop("type", None)
        elif what in ("extras", "index"):
            tc[what] = draw(st.one_of(ints, st.dictionaries(key_text, ints, max_size=1)))
        elif what == "reorder":
            tc["name"] = tc.pop("name")
        else:
            tc["args"] = {**tc.get("args", {}), draw(st.one_of(ints, uuids)): 1} if isinstance(tc.get("args"), dict) else tc.get("args")
    elif edit == "usage" and payload.get("usage_metadata"):
        usage = payload["usage_metadata"]
        what = draw(st.sampled_from(["value", "extra-first", "extra-last", "drop", "details"]))
        if what == "value":
            usage[draw(st.sampled_from(list(usage)))] = draw(st.one_of(st.booleans(), floats, key_text, big_ints))
        elif what == "extra-first":
            payload["usage_metadata"] = {"zz": 1, **usage}
        elif what == "extra-last":
            usage["zz"] = draw(st.one_of(ints, key_text))
        elif what == "drop":
            usage.pop(draw(st.sampled_from(list(usage))))
        else:
            usage["input_token_details"] = draw(st.dictionaries(st.sampled_from(["audio", "cache_read", "cache_creation", "eph"]), st.one_of(ints, st.booleans()), max_size=3))
    elif edit == "raw-tool-calls" and isinstance(payload.get("additional_kwargs"), dict):
        payload["additional_kwargs"]["tool_calls"] = draw(_RAW_TOOL_CALLS)
        if draw(st.booleans()):  # no tool call fields set: the validator parses the raw calls
            payload.update({k: [] for k in ("tool_calls", "invalid_tool_calls") if k in payload})
    elif edit == "content-items":
        payload["content"] = draw(st.lists(st.one_of(key_text, COERCED, st.dictionaries(key_text, ints, max_size=1)), max_size=3))
    elif edit == "ak-keys" and isinstance(payload.get("additional_kwargs"), dict):
        payload["additional_kwargs"][draw(st.one_of(ints, st.booleans(), st.none(), st.binary(max_size=2)))] = 1
    return edit


@st.composite
def message_payloads(draw: st.DrawFn) -> bytes:
    """An ext 5 document of a LangChain message class (the verified table's, chunks included):
    the ``model_dump()`` of a validated message, then 0-3 edits (``_edit_payload``): values
    validation coerces (int/float/UUID ids and tool_call_ids, bytes, tuples where lists go,
    subclasses of str and dict, None where none is allowed), missing and extra keys, fields out
    of order, another class's ``type``, tool calls and usage metadata of other shapes, raw tool
    calls in additional_kwargs. Written as JsonPlusSerializer's encoder writes ext 5 (its
    ``_msgpack_enc`` of ``(module, name, payload, "model_validate_json")``)."""
    import ormsgpack
    from langchain_core import messages as lcm
    from langgraph.checkpoint.serde.jsonplus import _msgpack_enc

    cls = draw(st.sampled_from([
        lcm.HumanMessage, lcm.AIMessage, lcm.AIMessage, lcm.AIMessage, lcm.AIMessage, lcm.SystemMessage, lcm.ToolMessage, lcm.ChatMessage,
        lcm.FunctionMessage, lcm.RemoveMessage, lcm.HumanMessageChunk, lcm.AIMessageChunk, lcm.ToolMessageChunk,
    ]), label="class")
    content = st.one_of(texts, st.lists(st.one_of(key_text, st.fixed_dictionaries({"type": st.just("text"), "text": key_text})), max_size=2))
    ids = st.one_of(st.none(), key_text)
    kw: dict[str, Any] = {"content": draw(content), "id": draw(ids), "additional_kwargs": draw(st.dictionaries(key_text, ints, max_size=2))}
    if issubclass(cls, lcm.AIMessage):
        kw["tool_calls"] = draw(st.lists(st.fixed_dictionaries({"name": key_text, "args": st.dictionaries(key_text, ints, max_size=2), "id": ids}), max_size=2))
        kw["invalid_tool_calls"] = draw(st.lists(st.fixed_dictionaries({"name": ids, "args": ids, "id": ids, "error": ids}), max_size=1))
        kw["usage_metadata"] = draw(st.one_of(st.none(), st.builds(
            lambda a, b, d: {"input_tokens": a, "output_tokens": b, "total_tokens": a + b, **d},
            st.integers(0, 9), st.integers(0, 9),
            st.one_of(st.just({}), st.just({"input_token_details": {"cache_read": 1}}), st.just({"output_token_details": {"reasoning": 2, "eph": 1}})))))
    if issubclass(cls, lcm.ToolMessage):
        kw.update(tool_call_id=draw(key_text), artifact=draw(st.one_of(st.none(), ints)), status=draw(st.sampled_from(["success", "error"])))
    if cls is lcm.ChatMessage:
        kw["role"] = draw(key_text)
    if cls is lcm.FunctionMessage:
        kw["name"] = draw(key_text)
    if cls is lcm.RemoveMessage:
        kw = {"id": draw(key_text)}
    payload = cls(**kw).model_dump()
    for _ in range(draw(st.integers(0, 3))):
        event(f"message payload edit: {_edit_payload(draw, payload)}")
    try:
        inner = _msgpack_enc([cls.__module__, cls.__name__, payload, "model_validate_json"])
    except TypeError:  # a value no MessagePack writer takes (an int past 64 bits)
        reject()
    return ormsgpack.packb(ormsgpack.Ext(5, inner))


# --- exceptions, Send-shaped objects, instance attributes --------------------------------------------


@st.composite
def exception_gen(draw: st.DrawFn) -> Gen:
    base = draw(st.sampled_from([Exception, ValueError, KeyError, RuntimeError]))
    cls = register(type(fresh_name("X"), (base,), {"__module__": MODULE_NAME}))
    return Gen(cls, st.lists(st.one_of(ints, key_text), max_size=2).map(lambda a: cls(*a)), [cls], None, False, cls.__name__)


#: Attributes that steer `_msgpack_default` when an instance carries them (issue 11 #7 and the
#: hasattr probes of its branches).
STEERING_ATTRS = ["node", "arg", "timeout", "model_dump", "get_secret_value", "dict", "_asdict", "value"]


def steer(obj: Any, attrs: list[str], payload: Any) -> Any:
    """Give ``obj`` instance attributes after its class was first written (object.__setattr__,
    so frozen dataclasses take them too). Callables return ``payload``."""
    if filtered("node-arg-after-first") and {"node", "arg"} <= set(attrs) and (
        isinstance(obj, BaseException) or _is_frozen_dc(obj)
    ):
        attrs = [a for a in attrs if a != "arg"]
    for a in attrs:
        v: Any = payload
        if a in ("model_dump", "get_secret_value", "dict", "_asdict"):
            v = (lambda p=payload: p) if a != "_asdict" else (lambda p=payload: {"p": p})
        try:
            object.__setattr__(obj, a, v)
        except (AttributeError, TypeError):
            pass
    return obj


def _is_frozen_dc(obj: Any) -> bool:
    params = getattr(type(obj), "__dataclass_params__", None)
    return bool(params and params.frozen)


# --- classes patched after their first object was written ----------------------------------------

#: name -> (applies to an instance of the class?, patch(cls) -> undo()). JsonPlus decides per
#: object, from the class as it is now.
def _patch_attr(name: str, value: Any) -> Any:
    def patch(cls: type) -> Any:
        had = name in vars(cls)
        old = vars(cls).get(name)
        setattr(cls, name, value)

        def undo() -> None:
            if had:
                setattr(cls, name, old)
            else:
                delattr(cls, name)

        return undo

    return patch


def _patch_dataclass_fields(cls: type) -> Any:
    old = cls.__dataclass_fields__  # type: ignore[attr-defined]
    cls.__dataclass_fields__ = {k: v for k, v in list(old.items())[:-1]}  # type: ignore[attr-defined]
    return lambda: setattr(cls, "__dataclass_fields__", old)


def _patch_model_config(cls: type) -> Any:
    """``model_config`` changed and ``model_rebuild(force=True)``: validation now upper-cases strs."""
    old = dict(cls.model_config)  # type: ignore[attr-defined]
    cls.model_config["str_to_upper"] = True  # type: ignore[attr-defined]
    cls.model_rebuild(force=True)  # type: ignore[attr-defined]

    def undo() -> None:
        cls.model_config.clear()  # type: ignore[attr-defined]
        cls.model_config.update(old)  # type: ignore[attr-defined]
        cls.model_rebuild(force=True)  # type: ignore[attr-defined]

    return undo


def _patch_init(cls: type) -> Any:
    """``__init__`` replaced: JsonPlus's ``cls(**kwargs)`` runs it on every load."""
    orig = cls.__dict__.get("__init__")

    def __init__(self: Any, **kw: Any) -> None:
        BaseModel.__init__(self, **kw)
        object.__setattr__(self, "__pydantic_fields_set__", set())

    cls.__init__ = __init__  # type: ignore[misc]
    return lambda: setattr(cls, "__init__", orig) if orig is not None else delattr(cls, "__init__")


CLASS_PATCHES: dict[str, tuple[Any, Any]] = {
    "model-config-rebuild": (lambda o: isinstance(o, BaseModel), _patch_model_config),
    "__init__": (lambda o: isinstance(o, BaseModel), _patch_init),
    "model_dump": (lambda o: True, _patch_attr("model_dump", lambda self, **kw: {"patched": 1})),
    "get_secret_value": (lambda o: not isinstance(o, BaseModel), _patch_attr("get_secret_value", lambda self: "secret")),
    "dict": (lambda o: not isinstance(o, BaseModel), _patch_attr("dict", lambda self: {"v1": 1})),
    "_asdict": (lambda o: not isinstance(o, BaseModel), _patch_attr("_asdict", lambda self: {"nt": 1})),
    "node+arg": (lambda o: True, lambda cls: _chain(_patch_attr("node", "n")(cls), _patch_attr("arg", 1)(cls))),
    "__repr__": (lambda o: isinstance(o, BaseException), _patch_attr("__repr__", lambda self: "patched-repr")),
    "dataclass-fields": (lambda o: dataclasses.is_dataclass(o) and len(dataclasses.fields(o)) > 0, _patch_dataclass_fields),
    "year-property": (lambda o: isinstance(o, datetime.date) and not isinstance(o, datetime.datetime), _patch_attr("year", property(lambda self: 1999))),
    "__str__": (lambda o: isinstance(o, decimal.Decimal), _patch_attr("__str__", lambda self: "7")),
}
#: the patches FastSerializer follows today (N4 covers the others)
CLASS_PATCHES_AGREEING = ["__repr__", "__str__"]


def _chain(*undos: Any) -> Any:
    return lambda: [u() for u in reversed(undos)]


#: the patches that change how a payload is read (N7: main's memo keeps serving the old result)
DECODE_PATCHES = ["model-config-rebuild", "__init__"]


def class_patch_names() -> list[str]:
    names = CLASS_PATCHES_AGREEING + DECODE_PATCHES if filtered("class-patched-after-first") else list(CLASS_PATCHES)
    if _memo_filtered("memo-class-patched"):
        names = [n for n in names if n not in DECODE_PATCHES]
    return names


# --- whole values --------------------------------------------------------------------------------------


def containers(children: st.SearchStrategy[Any], keys: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(key_text, children, max_size=3),
        st.dictionaries(keys, children, max_size=3),
    )


_registered.clear()  # the fixed classes above stay bound


# --- classes the memo of validated models must tell apart (issue 19) ------------------------------

#: what a generated validator reads besides its payload; memo_loads flips it between loads
MEMO_SWITCH = {"on": False}
#: one object every instance of a class with a sharing default_factory holds
MEMO_SHARED: list[int] = [7]

#: the behaviours memo_model_gen mixes into a model. An opted-in class (``__fast_serde_memo__``)
#: only gets the honest ones: its validation depends on the payload alone.
MEMO_BEHAVIOURS = ["reads-global", "slots-post-init", "aliasing-post-init", "class-counter", "default-factory",
                   "shared-factory", "private-default", "mutable-default"]  # fmt: skip
MEMO_HONEST = ["aliasing-post-init", "default-factory", "private-default", "mutable-default"]


def _memo_reads_global(cls: Any, v: str) -> str:
    return v + "!" if MEMO_SWITCH["on"] else v


def _memo_counter_validator(cls: Any, data: Any) -> Any:
    cls.loaded += 1  # a ClassVar changed on every validation (a new tp_version_tag each time)
    return data


@st.composite
def memo_model_gen(draw: st.DrawFn) -> Gen:
    """A pydantic model with plain fields (what a memo template holds) and some of
    ``MEMO_BEHAVIOURS``: validators reading ``MEMO_SWITCH``, ``__slots__`` filled by
    ``model_post_init``, a post-init aliasing a field (``self._view = self.items``), a
    ``ClassVar`` counter bumped by a model validator, default factories (fresh or shared), private
    and mutable defaults; sometimes opted in (honest behaviours only)."""
    opted_in = draw(st.booleans())
    pool = MEMO_HONEST if opted_in else MEMO_BEHAVIOURS
    main = draw(st.sampled_from([*pool, "plain"]), label="behaviour")  # each one often, alone
    kinds = [k for k in pool if k == main or draw(st.booleans(), label=k)]
    ns: dict[str, Any] = {"__module__": MODULE_NAME, "__annotations__": {"text": str, "items": list[str], "n": int}}
    ns["n"] = 0
    if opted_in:
        ns["__fast_serde_memo__"] = True
    post: list[Any] = []
    if "reads-global" in kinds:
        ns["_g"] = field_validator("text")(classmethod(_memo_reads_global))
    if "slots-post-init" in kinds:
        ns["__slots__"] = ("_seen",)
        post.append(lambda self: object.__setattr__(self, "_seen", [self.text, MEMO_SWITCH["on"]]))
    if "aliasing-post-init" in kinds:
        ns["_view"] = pydantic.PrivateAttr(default=None)
        post.append(lambda self: setattr(self, "_view", self.items))
    if "class-counter" in kinds:
        ns["__annotations__"]["loaded"] = typing_ClassVar[int]
        ns["loaded"] = 0
        ns["_c"] = pydantic.model_validator(mode="before")(classmethod(_memo_counter_validator))
    if "default-factory" in kinds:
        ns["__annotations__"]["tags"] = list[str]
        ns["tags"] = Field(default_factory=list)
    if "shared-factory" in kinds:
        ns["__annotations__"]["shared"] = list[int]
        ns["shared"] = Field(default_factory=lambda: MEMO_SHARED)
    if "private-default" in kinds:
        ns["_p"] = pydantic.PrivateAttr(default=draw(st.sampled_from([0, "p", (1, "x"), [1], {"k": [2]}])))
    if "mutable-default" in kinds:
        ns["__annotations__"]["opts"] = dict[str, int]
        ns["opts"] = {"a": 1}
    if post:
        def model_post_init(self: Any, context: Any, _post: list[Any] = post) -> None:
            for p in _post:
                p(self)

        ns["model_post_init"] = model_post_init
    cls = register(type(fresh_name("Memo"), (BaseModel,), ns))
    texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)
    values = st.builds(lambda t, it, n, drop: cls(text=t, items=it, n=n) if not drop else cls(text=t, items=it),
                       texts, st.lists(texts, max_size=3), st.integers(-5, 5), st.booleans())  # fmt: skip
    return Gen(cls, values, [cls], None, False, "memo:" + ",".join(sorted(kinds)) + (" opted-in" if opted_in else ""))
