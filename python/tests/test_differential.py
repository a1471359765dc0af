"""Differential search: FastSerializer against JsonPlusSerializer on generated classes and values.

Hypothesis builds classes at run time (diff_gen.py: pydantic models over aliases, serializers,
computed fields, extra modes, TypedDict/dataclass/Enum/tuple/set/Optional/Union/generic fields;
dataclasses, enums of every kind, namedtuples, subclasses of the built-ins, dict keys of every
type) in the importable module ``fs_diff_generated``, and values of them, written in sequences
(several objects of one class in a row, each read three times). diff_check.Checker compares every
value with JsonPlusSerializer — bytes, reads both ways, raised exception types — for both
``validate_models`` values and the three allowlist modes, and the tag of ``pickle_fallback=True``.

Bounded and seeded by default (``derandomize=True``: the same examples every run; about a minute
on two cores, as part of ``make test``). ``FAST_SERDE_DIFF_EXAMPLES=N`` raises every test's
``max_examples`` and draws fresh examples (``--hypothesis-seed`` fixes them): ``make fuzz`` runs
that. The count of examples run is printed at the end of the pytest run (conftest.py).

Known issues of issue 11 are kept out of the generator by diff_gen.KNOWN_ISSUE_FILTERS; each has
a narrow ``xfail(strict=True)`` regression test at the end of this file.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import gc
import importlib
import logging
import os
import sys
import textwrap
import time
import uuid
import weakref
from typing import Any, NamedTuple, Optional

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from typing_extensions import TypedDict

import diff_gen as G
from diff_check import Checker, Discrepancy, Stats
from fast_serde.langgraph import FastSerializer

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),  # pydantic serializer warnings (both sides)
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

EXAMPLES = int(os.environ.get("FAST_SERDE_DIFF_EXAMPLES", "0") or 0)


def diff_settings(bounded: int) -> settings:
    """``bounded`` examples, derandomized (``make test``); FAST_SERDE_DIFF_EXAMPLES for long runs."""
    return settings(
        max_examples=EXAMPLES or bounded,
        derandomize=not EXAMPLES,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(autouse=True)
def _quiet_and_timed():
    lg = logging.getLogger("langgraph")
    old = lg.level
    lg.setLevel(logging.CRITICAL)
    t0 = time.perf_counter()
    yield
    Stats.seconds += time.perf_counter() - t0
    lg.setLevel(old)


def counted(fn: Any) -> Any:
    """Count the examples a property test body ran (for the closing summary)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        Stats.examples += 1
        return fn(*args, **kwargs)

    return wrapper


def run_sequence(classes: list[type], values: list[Any]) -> Checker:
    checker = Checker(classes)
    for i, v in enumerate(values):
        checker.check(v, f"{i + 1} of {len(values)}")
    return checker


@st.composite
def sequence_of(draw: st.DrawFn, gens: list[G.Gen], *, min_size: int = 1, max_size: int = 5) -> list[Any]:
    """Several objects of the generated classes in a row (the same class again and again), some
    wrapped in a list / dict / tuple with others."""
    out = []
    for _ in range(draw(st.integers(min_size, max_size))):
        g = draw(st.sampled_from(gens))
        v = draw(g.values)
        wrap = draw(st.sampled_from(["bare"] * 4 + ["list", "dict", "tuple"]))
        if wrap == "list":
            v = [v, draw(g.values)]
        elif wrap == "dict":
            v = {"state": v, "n": 1}
        elif wrap == "tuple":
            v = (v,)
        out.append(v)
    return out


def _classes(gens: list[G.Gen]) -> list[type]:
    return [c for g in gens for c in g.classes]


# --- the property tests -------------------------------------------------------------------------


def run_generated(data: st.DataObject, types: st.SearchStrategy[G.Gen], most: int) -> None:
    """Draw 1..most generated types, then a sequence of their values, and check it."""
    gens = [data.draw(types, label="type") for _ in range(data.draw(st.integers(1, most)))]
    run_sequence(_classes(gens), data.draw(sequence_of(gens), label="values"))


@diff_settings(300)
@given(data=st.data())
@counted
def test_models_differential(data: st.DataObject) -> None:
    """Run-time pydantic models (every option of diff_gen.model_gen), sequences of objects."""
    run_generated(data, G.model_gen(), 2)


@diff_settings(400)
@given(data=st.data())
@counted
def test_fields_differential(data: st.DataObject) -> None:
    """Any generated type at the top level: dataclasses (slots, frozen, InitVar, init=False),
    namedtuples, enums of every kind, TypedDicts, generics, containers, unions."""
    run_generated(data, G.field_gen(), 3)


@diff_settings(150)
@given(values=st.lists(G.safe_type_values(), min_size=1, max_size=5))
@counted
def test_safe_types_differential(values: list[Any]) -> None:
    """LangChain messages, Document, Send, Interrupt, Command (langgraph's SAFE_MSGPACK_TYPES,
    allowed in strict mode too): sequences of them, some edited after validation."""
    run_sequence([], values)


@diff_settings(120)
@given(data=st.data())
@counted
def test_dict_keys_differential(data: st.DataObject) -> None:
    """Dict keys of every type (tuples of rich items, subclasses, surrogates, enums), bare and
    inside a model's Any / dict[Any, int] field."""
    enums = [data.draw(G.enum_class(), label="enum") for _ in range(data.draw(st.integers(0, 2)))]
    keys = G.dict_keys(enums)
    leaf = st.one_of(G.ints, G.key_text, st.none())
    value = data.draw(st.recursive(st.dictionaries(keys, leaf, max_size=4), lambda c: G.containers(c, keys), max_leaves=6), label="value")
    holder = G.register(type(G.fresh_name("K"), (pydantic.BaseModel,), {"__module__": G.MODULE_NAME, "__annotations__": {"counts": dict[Any, Any], "any": Any}, "any": None}))
    values = [value, holder.model_construct(counts=value if isinstance(value, dict) else {}, any=value)]
    run_sequence(enums + [holder, G.DStr, G.DInt, G.DUUID, G.DDatetime, G._KeyPoint, G._KeyNT], values)


@diff_settings(100)
@given(data=st.data())
@counted
def test_builtin_subclasses_differential(data: st.DataObject) -> None:
    """Subclasses of str, int, float, tuple, list, dict, datetime, date, UUID, Decimal, set (some
    with instance attributes), bare and in containers; unserializable values among them."""
    leaf = st.one_of(G.builtin_subclass_values(st.one_of(G.ints, G.key_text)), G.ints, G.texts, G.big_ints,
                     st.builds(object), st.just(print), st.binary(max_size=3).map(bytearray))
    value = data.draw(st.recursive(leaf, lambda c: G.containers(c, G.key_scalars), max_leaves=6), label="value")
    classes = [getattr(G, n) for n in ("DStr", "DInt", "DFloat", "DTuple", "DList", "DDict", "DDatetime", "DDate", "DUUID", "DDecimal", "DSet")]
    run_sequence(classes, [value, value])


@st.composite
def steerable(draw: st.DrawFn) -> G.Gen:
    return draw(st.one_of(G.dataclass_gen(), G.model_gen(), G.exception_gen(), G.namedtuple_gen()))


@diff_settings(120)
@given(data=st.data())
@counted
def test_instance_attributes_after_first_differential(data: st.DataObject) -> None:
    """A first object of a class is written, then objects of it given instance attributes that
    steer ``_msgpack_default`` (node/arg, model_dump, get_secret_value, dict, _asdict, ...), then
    plain objects again: each is decided per object by JsonPlus."""
    g = data.draw(steerable(), label="class")
    checker = Checker(g.classes)
    checker.check(data.draw(g.values), "first, plain")
    for i in range(data.draw(st.integers(1, 3))):
        obj = data.draw(g.values)
        attrs = data.draw(st.lists(st.sampled_from(G.STEERING_ATTRS), min_size=1, max_size=3, unique=True), label="attrs")
        payload = data.draw(st.one_of(G.ints, G.key_text, st.dictionaries(G.key_text, G.ints, max_size=2)), label="payload")
        checker.check(G.steer(obj, attrs, payload), f"with {attrs}")
        checker.check(data.draw(g.values), "plain again")


@st.composite
def patchable(draw: st.DrawFn) -> G.Gen:
    """A fresh class whose objects a class patch may steer."""
    dd = G.register(type(G.fresh_name("DD"), (datetime.date,), {"__module__": G.MODULE_NAME}))
    dec = G.register(type(G.fresh_name("Dec"), (decimal.Decimal,), {"__module__": G.MODULE_NAME}))
    return draw(st.one_of(
        G.dataclass_gen(), G.model_gen(), G.exception_gen(), G.namedtuple_gen(),
        st.just(G.Gen(dd, G.dates.map(lambda d: dd(d.year, d.month, d.day)), [dd])),
        st.just(G.Gen(dec, G.decimals.map(dec), [dec])),
    ))


@diff_settings(120)
@given(data=st.data())
@counted
def test_class_patched_after_first_differential(data: st.DataObject) -> None:
    """A class is written, then patched (a method or attribute JsonPlus probes set on the class,
    its dataclass fields changed), written again, then restored and written again: JsonPlus
    looks at the class as it is for every object."""
    g = data.draw(patchable(), label="class")
    checker = Checker(g.classes)
    first = data.draw(g.values)
    checker.check(first, "before the patch")
    names = [n for n in G.class_patch_names() if G.CLASS_PATCHES[n][0](first)]
    if not names:
        return
    name = data.draw(st.sampled_from(names), label="patch")
    undo = G.CLASS_PATCHES[name][1](g.ann)
    try:
        checker.check(data.draw(g.values), f"class patched: {name}")
    finally:
        undo()
    checker.check(data.draw(g.values), "patch undone")


def _rename(cls: Any, name: str) -> Any:
    cls.__name__ = name
    cls.__qualname__ = name
    setattr(G.GEN, name, cls)
    return cls


@diff_settings(80)
@given(data=st.data())
@counted
def test_redefined_classes_differential(data: st.DataObject) -> None:
    """A class name rebound to another class between calls (a notebook cell run again, a hot
    reload), or deleted from its module: both must read the class the module names now (or, when
    it names none, give back the payload as JsonPlus does)."""
    maker = data.draw(st.sampled_from([G.model_gen, G.dataclass_gen, G.namedtuple_gen, G.pydantic_dataclass_gen, lambda: G.enum_class().map(G._enum_gen)]), label="kind")
    name = G.fresh_name("R")
    g1 = data.draw(maker())
    _rename(g1.ann, name)
    checker = Checker(g1.classes)
    for v in data.draw(st.lists(g1.values, min_size=1, max_size=2)):
        checker.check(v, "old class")
    for _ in range(data.draw(st.integers(1, 2))):
        action = data.draw(st.sampled_from(["redefine", "redefine", "delete"]), label="action")
        if action == "delete":
            delattr(G.GEN, name)
            g2 = g1
        else:
            g2 = data.draw(maker())
            _rename(g2.ann, name)
        if G.filtered("stale-class-after-redefine"):
            checker.refresh_fast()
        for v in data.draw(st.lists(g2.values, min_size=1, max_size=2)):
            checker.check(v, f"after {action}")
        if action == "delete":
            setattr(G.GEN, name, g1.ann)


# --- the oracle can fail -------------------------------------------------------------------------


def test_checker_catches_different_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    checker = Checker([])
    monkeypatch.setattr(checker.fast[("strict", True)], "dumps_typed", lambda v: ("msgpack", b"\xc0"))
    with pytest.raises(Discrepancy, match="bytes differ"):
        checker.check({"a": 1})


def test_checker_catches_a_different_object_on_a_later_read(monkeypatch: pytest.MonkeyPatch) -> None:
    checker = Checker([])
    f = checker.fast[("permissive", False)]
    real = f.loads_typed
    calls = iter([0, 1, 2])
    monkeypatch.setattr(f, "loads_typed", lambda d: real(d) if next(calls) < 1 else [9])
    with pytest.raises(Discrepancy, match=r"read #2"):
        checker.check((1, 2))


def test_checker_catches_one_side_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    checker = Checker([])

    def boom(v: Any) -> Any:
        raise TypeError("no")

    monkeypatch.setattr(checker.fast[("permissive", True)], "dumps_typed", boom)
    with pytest.raises(Discrepancy, match="dumps_typed differs"):
        checker.check([1])
    # both raising a TypeError is agreement
    monkeypatch.setattr(checker.fast[("permissive", False)], "dumps_typed", boom)
    monkeypatch.setattr(checker.parents["permissive"], "dumps_typed", boom)
    checker.check([1])


def test_checker_compares_model_fields_set() -> None:
    cls = G.register(type(G.fresh_name("M"), (pydantic.BaseModel,), {"__module__": G.MODULE_NAME, "__annotations__": {"a": int}, "a": 0}))
    checker = Checker([cls])
    checker.check(cls(a=1))
    got, expected = cls.model_construct(a=1), cls(a=1)
    got.__pydantic_fields_set__ = set()
    from diff_check import _same_outcome

    with pytest.raises(Discrepancy, match="model_fields_set"):
        _same_outcome(("ok", got), ("ok", expected), "x")


@settings(max_examples=5, derandomize=True, database=None, deadline=None)
@given(g=G.model_gen())
def test_generated_classes_are_importable(g: G.Gen) -> None:
    mod = importlib.import_module(G.MODULE_NAME)
    assert getattr(mod, g.ann.__name__) is g.ann


# --- known issues (issue 11): narrow regressions, xfail until fixed -------------------------------
#
# Each reproduces one known discrepancy through the same Checker. When its fix lands the test
# XPASSes (strict: the run fails) — then delete the xfail mark here AND the matching entry of
# diff_gen.KNOWN_ISSUE_FILTERS.


def _known(name: str) -> Any:
    return pytest.mark.xfail(strict=True, raises=Discrepancy, reason=f"known issue {name}: {G.KNOWN_ISSUE_FILTERS[name]}")


class KColor(enum.Enum):
    RED = "red"


class KTD(TypedDict):
    a: int


class KWithTD(pydantic.BaseModel):
    td: KTD


class KOptTuple(pydantic.BaseModel):
    t: Optional[tuple] = None


class KAliasAllow(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")
    a: int = pydantic.Field(0, validation_alias="A")


@dataclasses.dataclass(frozen=True)
class KFrozen:
    x: int = 0


class KError(Exception):
    pass


class KStr(str):
    pass


K_CLASSES = [KColor, KWithTD, KOptTuple, KAliasAllow, KFrozen, KError, KStr]


@_known("tuple-key-rich-item")
@pytest.mark.parametrize(
    "key",
    [(datetime.date(2024, 1, 2), "u1"), ("k", uuid.UUID(int=1)), (KColor.RED, 1), (datetime.time(1, 2), 0),
     (datetime.datetime(2024, 1, 2, 3, 4, 5), 1)],
    ids=["date", "uuid", "enum", "time", "datetime"],
)
def test_known_tuple_key_rich_item(key: Any) -> None:
    Checker(K_CLASSES).check({key: 3})


@_known("trusted-allowlist-cache")
def test_known_trusted_allowlist_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(G, "ACTIVE_FILTERS", G.ACTIVE_FILTERS - {"trusted-allowlist-cache"})
    run_sequence(K_CLASSES, [KOptTuple(), KOptTuple(t=(1, 2))])


@_known("trusted-allowlist-cache")
def test_known_trusted_safe_type_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for a SAFE_MSGPACK_TYPES class in the permissive default mode."""
    from langchain_core.messages import HumanMessage

    monkeypatch.setattr(G, "ACTIVE_FILTERS", G.ACTIVE_FILTERS - {"trusted-allowlist-cache"})
    later = HumanMessage(content="y")
    object.__setattr__(later, "id", 5)  # the parent's validation makes it "5"
    run_sequence([], [HumanMessage(content="x", id="1"), later])


@_known("typeddict-undeclared-key")
def test_known_typeddict_undeclared_key() -> None:
    s = KWithTD(td={"a": 1})
    s.td["b"] = 2  # type: ignore[typeddict-unknown-key]
    Checker(K_CLASSES).check(s)


@_known("str-subclass-surrogate-key")
def test_known_str_subclass_surrogate_key() -> None:
    Checker(K_CLASSES).check({KStr("\ud800"): 1})


@_known("validation-alias-extra-allow")
def test_known_validation_alias_extra_allow() -> None:
    Checker(K_CLASSES).check(KAliasAllow(a=1))


@_known("node-arg-after-first")
@pytest.mark.parametrize("kind", ["exception", "frozen-dataclass"])
def test_known_node_arg_after_first(kind: str) -> None:
    make = (lambda: KError("plain")) if kind == "exception" else KFrozen
    checker = Checker(K_CLASSES)
    checker.check(make())
    obj = make()
    object.__setattr__(obj, "node", "n")
    object.__setattr__(obj, "arg", {"x": 1})
    checker.check(obj)


@_known("stale-class-after-redefine")
def test_known_stale_class_after_redefine(monkeypatch: pytest.MonkeyPatch) -> None:
    name = G.fresh_name("Stale")
    old = _rename(type(name, (pydantic.BaseModel,), {"__module__": G.MODULE_NAME, "__annotations__": {"a": int}, "a": 0}), name)
    checker = Checker([old])
    checker.check(old(a=1))
    new = _rename(type(name, (pydantic.BaseModel,), {"__module__": G.MODULE_NAME, "__annotations__": {"a": int}, "a": 0}), name)
    checker.check(new(a=2))


@_known("stale-class-after-redefine")
def test_known_stale_class_after_reload(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """importlib.reload of a real module file (what `langgraph dev` hot reload does)."""
    mod_name = f"fs_diff_reload_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{mod_name}.py").write_text(textwrap.dedent("""
        import pydantic
        class State(pydantic.BaseModel):
            a: int = 0
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module(mod_name)
    try:
        checker = Checker([mod.State])
        checker.check(mod.State(a=1))
        mod = importlib.reload(mod)
        checker.check(mod.State(a=2))
    finally:
        sys.modules.pop(mod_name, None)


class NDate(datetime.date):
    @property
    def year(self) -> int:
        return 1999


class NDelta(datetime.timedelta):
    @property
    def days(self) -> int:
        return 5


class NTime(datetime.time):
    @property
    def hour(self) -> int:
        return 9


class NPair(NamedTuple):
    a: int
    b: int = 2


class NPairIter(NPair):
    def __iter__(self) -> Any:
        return iter((7, 8))


N_CLASSES = [NDate, NDelta, NTime, NPair, NPairIter]


@_known("overridden-accessors")
@pytest.mark.parametrize("make", [lambda: NDate(2024, 1, 2), lambda: NDelta(1), lambda: NTime(1, 2)], ids=["date-year", "timedelta-days", "time-hour"])
def test_known_overridden_accessors(make: Any) -> None:
    Checker(N_CLASSES).check(make())


@_known("namedtuple-iter-override")
def test_known_namedtuple_iter_override() -> None:
    Checker(N_CLASSES).check(NPairIter(1))


@dataclasses.dataclass
class NPoint:
    x: int = 1


@dataclasses.dataclass(frozen=True)
class NFrozenPoint:
    x: int = 1


@_known("class-patched-after-first")
@pytest.mark.parametrize("patch", ["model_dump", "get_secret_value", "dict", "_asdict", "dataclass-fields", "node+arg"])
def test_known_class_patched_after_first(patch: str) -> None:
    cls = NFrozenPoint if patch == "node+arg" else NPoint  # JsonPlus: Send-shaped for a frozen one
    checker = Checker([cls])
    checker.check(cls())
    undo = G.CLASS_PATCHES[patch][1](cls)
    try:
        checker.check(cls())
    finally:
        undo()


@_known("exception-dict-materialized")
def test_known_exception_dict_materialized(monkeypatch: pytest.MonkeyPatch) -> None:
    """pickle_fallback=True on a value holding an exception and something unserializable."""
    monkeypatch.setattr(G, "ACTIVE_FILTERS", G.ACTIVE_FILTERS - {"exception-dict-materialized"})
    Checker([]).check([ValueError("x"), object()])


@pytest.mark.xfail(strict=True, reason="known issue #4: FastSerializer's class caches keep every class alive")
def test_known_classes_kept_alive() -> None:
    """A class written and read once by FastSerializer must be collectable, as with JsonPlus."""
    refs = []
    f = FastSerializer(allowed_msgpack_modules=None)
    for _ in range(20):
        name = G.fresh_name("Gone")
        cls = G.register(type(name, (pydantic.BaseModel,), {"__module__": G.MODULE_NAME, "__annotations__": {"a": int}, "a": 0}))
        f.loads_typed(f.dumps_typed(cls(a=1)))
        FastSerializer(allowed_msgpack_modules=[(G.MODULE_NAME, name)]).loads_typed(f.dumps_typed(cls(a=1)))
        refs.append(weakref.ref(cls))
        delattr(G.GEN, name)
        del cls
    gc.collect()
    assert sum(r() is not None for r in refs) == 0, "classes kept alive"


def test_parent_collects_dynamic_classes() -> None:
    """The control of the test above: JsonPlusSerializer keeps none of them."""
    refs = []
    j = JsonPlusSerializer()
    for _ in range(20):
        name = G.fresh_name("Gone")
        cls = G.register(type(name, (pydantic.BaseModel,), {"__module__": G.MODULE_NAME, "__annotations__": {"a": int}, "a": 0}))
        j.loads_typed(j.dumps_typed(cls(a=1)))
        refs.append(weakref.ref(cls))
        delattr(G.GEN, name)
        del cls
    gc.collect()
    assert sum(r() is not None for r in refs) == 0
