"""Differential search: FastSerializer against JsonPlusSerializer on generated classes and values.

Hypothesis builds classes at run time (diff_gen.py, diff_values.py, diff_objects.py: pydantic models over aliases, serializers,
computed fields, extra modes, TypedDict/dataclass/Enum/tuple/set/Optional/Union/generic fields;
dataclasses, enums of every kind, namedtuples, subclasses of the built-ins, dict keys of every
type) in the importable module ``fs_diff_generated``, and values of them, written in sequences
(several objects of one class in a row, each read five times). diff_check.Checker compares every
value with JsonPlusSerializer — bytes, reads both ways, raised exception types — for both
``validate_models`` values and the three allowlist modes, and the tag of ``pickle_fallback=True``.
Classes the memo of validated models must serve exactly or not at all (diff_objects.memo_model_gen)
are each loaded at least six times, a global their validators read flipped after the memo's hits
begin, every load compared with JsonPlusSerializer's (diff_check.check_memo_loads).

Bounded and seeded by default (``derandomize=True``: the same examples every run; under a minute
on two cores, as part of ``make test``). ``FAST_SERDE_DIFF_EXAMPLES=N`` raises every test's
``max_examples`` and draws fresh examples (``--hypothesis-seed`` fixes them): ``make fuzz`` runs
that, one process per property (scripts/fuzz.sh). The count of examples run is printed at the end
of the pytest run (conftest.py).

Known discrepancies (issue 11 and docs/findings.md) are kept out of the generator by the named filters
of diff_values.KNOWN_ISSUE_FILTERS; each has a narrow ``xfail(strict=True)`` regression test in
test_diff_known.py. Each property also unbinds its classes after every example and counts them
(printed at the end of the run).
"""

from __future__ import annotations

import datetime
import decimal
import functools
import importlib
import logging
import os
import time
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import diff_gen as G
import diff_objects as O
import diff_values as V
from diff_check import MEMO_READS, Checker, Discrepancy, Stats, check_memo_loads, run_sequence, short

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

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        Stats.examples += 1
        try:
            return fn(*args, **kwargs)
        finally:
            V.forget_generated()  # the example's classes may be collected (issue 11 #4 permitting)
            Stats.classes = V.classes_built()

    return wrapper


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


@diff_settings(350)
@given(data=st.data())
@counted
def test_fields_differential(data: st.DataObject) -> None:
    """Any generated type at the top level: dataclasses (slots, frozen, InitVar, init=False),
    namedtuples, enums of every kind, TypedDicts, generics, containers, unions."""
    run_generated(data, G.field_gen(), 3)


@diff_settings(200)
@given(values=st.lists(V.safe_type_values(), min_size=1, max_size=5))
@counted
def test_safe_types_differential(values: list[Any]) -> None:
    """LangChain messages, Document, Send, Interrupt, Command (langgraph's SAFE_MSGPACK_TYPES,
    allowed in strict mode too): sequences of them, some edited after validation."""
    run_sequence([], values)


@diff_settings(250)
@given(blobs=st.lists(V.message_payloads(), min_size=1, max_size=4))
@counted
def test_message_payloads_differential(blobs: list[bytes]) -> None:
    """Issue 19: ext 5 documents of LangChain message classes, each a validated message's
    ``model_dump()`` with edits an encoder never makes (values validation coerces, missing, extra
    and reordered keys, another class's ``type``, tool calls and usage of other shapes, raw tool
    calls in additional_kwargs; diff_values.message_payloads), read in a row by one Checker: with
    ``validate_models=False`` a payload is restored only where validation would return it
    unchanged, so every read is JsonPlusSerializer's, type for type, fields set, extras and
    private state included."""
    checker = Checker(V.MESSAGE_PAYLOAD_CLASSES)
    for blob in blobs:
        checker.check_bytes(blob)


@diff_settings(150)
@given(data=st.data())
@counted
def test_dict_keys_differential(data: st.DataObject) -> None:
    """Dict keys of every type (tuples of rich items, subclasses, surrogates, enums), bare and
    inside a model's Any / dict[Any, int] field."""
    enums = [data.draw(V.enum_class(), label="enum") for _ in range(data.draw(st.integers(0, 2)))]
    keys = V.dict_keys(enums)
    leaf = st.one_of(V.ints, V.key_text, st.none())
    value = data.draw(st.recursive(st.dictionaries(keys, leaf, max_size=4), lambda c: V.containers(c, keys), max_leaves=6), label="value")
    holder = V.register(type(V.fresh_name("K"), (pydantic.BaseModel,), {"__module__": V.MODULE_NAME, "__annotations__": {"counts": dict[Any, Any], "any": Any}, "any": None}))
    values = [value, holder.model_construct(counts=value if isinstance(value, dict) else {}, any=value)]
    run_sequence(enums + [holder, V.DStr, V.DInt, V.DUUID, V.DDatetime, V._KeyPoint, V._KeyNT], values)


@diff_settings(200)
@given(data=st.data())
@counted
def test_builtin_subclasses_differential(data: st.DataObject) -> None:
    """Subclasses of str, int, float, tuple, list, dict, datetime, date, UUID, Decimal, set (some
    with instance attributes), bare and in containers; unserializable values among them."""
    leaf = st.one_of(V.builtin_subclass_values(st.one_of(V.ints, V.key_text)), V.overridden_accessor_values(), V.ints, V.texts, V.big_ints,
                     st.builds(object), st.just(print), st.binary(max_size=3).map(bytearray))
    value = data.draw(st.recursive(leaf, lambda c: V.containers(c, V.key_scalars), max_leaves=6), label="value")
    classes = [getattr(V, n) for n in ("DStr", "DInt", "DFloat", "DTuple", "DList", "DDict", "DDatetime", "DDate", "DUUID", "DDecimal", "DSet")]
    run_sequence(classes, [value, value])


@st.composite
def steerable(draw: st.DrawFn) -> G.Gen:
    return draw(st.one_of(G.dataclass_gen(), G.model_gen(), O.exception_gen(), G.namedtuple_gen()))


@diff_settings(200)
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
        attrs = data.draw(st.lists(st.sampled_from(O.STEERING_ATTRS), min_size=1, max_size=3, unique=True), label="attrs")
        payload = data.draw(st.one_of(V.ints, V.key_text, st.dictionaries(V.key_text, V.ints, max_size=2)), label="payload")
        checker.check(O.steer(obj, attrs, payload), f"with {attrs}")
        checker.check(data.draw(g.values), "plain again")


@st.composite
def patchable(draw: st.DrawFn) -> G.Gen:
    """A fresh class whose objects a class patch may steer."""
    dd = V.register(type(V.fresh_name("DD"), (datetime.date,), {"__module__": V.MODULE_NAME}))
    dec = V.register(type(V.fresh_name("Dec"), (decimal.Decimal,), {"__module__": V.MODULE_NAME}))
    return draw(st.one_of(
        G.dataclass_gen(), G.model_gen(), O.exception_gen(), G.namedtuple_gen(),
        st.just(G.Gen(dd, V.dates.map(lambda d: dd(d.year, d.month, d.day)), [dd])),
        st.just(G.Gen(dec, V.decimals.map(dec), [dec])),
    ))


@diff_settings(100)
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
    names = [n for n in O.class_patch_names() if O.CLASS_PATCHES[n][0](first)]
    names += [n for n in names if n in O.DECODE_PATCHES] * 3  # models: the memo's patches more often
    if not names:
        return
    name = data.draw(st.sampled_from(names), label="patch")
    undo = O.CLASS_PATCHES[name][1](g.ann)
    try:
        checker.check(first, f"the first object again, class patched: {name}")  # same payload
        checker.check(data.draw(g.values), f"class patched: {name}")
    finally:
        undo()
    checker.check(first, "the first object again, patch undone")
    checker.check(data.draw(g.values), "patch undone")


@diff_settings(80)
@given(data=st.data())
@counted
def test_redefined_classes_differential(data: st.DataObject) -> None:
    """A class name rebound to another class between calls (a notebook cell run again, a hot
    reload), or deleted from its module: both must read the class the module names now (or, when
    it names none, give back the payload as JsonPlus does)."""
    maker = data.draw(st.sampled_from([G.model_gen, G.dataclass_gen, G.namedtuple_gen, G.pydantic_dataclass_gen, lambda: V.enum_class().map(G._enum_gen)]), label="kind")
    name = V.fresh_name("R")
    g1 = data.draw(maker())
    V.rename(g1.ann, name)
    checker = Checker(g1.classes)
    for v in data.draw(st.lists(g1.values, min_size=1, max_size=2)):
        checker.check(v, "old class")
    for _ in range(data.draw(st.integers(1, 2))):
        action = data.draw(st.sampled_from(["redefine", "redefine", "delete"]), label="action")
        if action == "delete":
            delattr(V.GEN, name)
            g2 = g1
        else:
            g2 = data.draw(maker())
            V.rename(g2.ann, name)
        if V.filtered("stale-class-after-redefine"):
            checker.refresh_fast()
        for v in data.draw(st.lists(g2.values, min_size=1, max_size=2)):
            checker.check(v, f"after {action}")
        if action == "delete":
            setattr(V.GEN, name, g1.ann)


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


def test_checker_catches_objects_shared_between_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A read handing out an object it handed out before (a memo that does not copy)."""
    checker = Checker([])
    f = checker.fast[("permissive", True)]
    shared = [1, [2]]
    monkeypatch.setattr(f, "loads_typed", lambda d: shared)
    with pytest.raises(Discrepancy, match=r"read #2"):
        checker.check([1, [2]])


def test_checker_catches_objects_shared_within_a_read(monkeypatch: pytest.MonkeyPatch) -> None:
    checker = Checker([])
    f = checker.fast[("permissive", True)]
    monkeypatch.setattr(f, "loads_typed", lambda d: (lambda x: [x, x])([1]))
    with pytest.raises(Discrepancy, match="shares mutable objects"):
        checker.check([[1], [1]])


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
    cls = V.register(type(V.fresh_name("M"), (pydantic.BaseModel,), {"__module__": V.MODULE_NAME, "__annotations__": {"a": int}, "a": 0}))
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
    mod = importlib.import_module(V.MODULE_NAME)
    assert getattr(mod, g.ann.__name__) is g.ann


@diff_settings(60)
@given(data=st.data())
@counted
def test_memo_classes_differential(data: st.DataObject) -> None:
    """Issue 19: classes the memo of validated models must serve exactly or not at all
    (diff_objects.memo_model_gen: validators reading a global flipped between loads, slots filled by
    model_post_init, aliasing post-inits, ClassVar counters, default factories, private and
    mutable defaults, honest opt-ins), each payload loaded at least MEMO_READS times."""
    g = data.draw(O.memo_model_gen(), label="class")
    for value in data.draw(st.lists(g.values, min_size=1, max_size=2), label="values"):
        # flipped after the memo has kept a template and served it (loads 3-4), then drawn
        start = data.draw(st.booleans(), label="switch")
        tail = data.draw(st.lists(st.booleans(), max_size=2), label="switch tail")
        switches = [start] * (MEMO_READS - 2) + [not start] * 2 + tail
        check_memo_loads(g.classes, value, switches, O.MEMO_SWITCH, f"{g.label}: {short(value)}")
