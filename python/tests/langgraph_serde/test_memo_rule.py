"""The memo of validated models serves a class only when the class proves that validation depends
on the payload alone (fast_serde.langgraph._purity.memo_model), never because runs agreed.

Issue 19's findings 1-5, each reproduced against JsonPlusSerializer object for object (every
load, before and after the memo would have served it), and the rule's verdict per class shape.
Each finding's test failed on d58e4dc (a memo that trusted two agreeing validations).
"""

from __future__ import annotations

import datetime
import enum
import gc
import os
import subprocess
import sys
import textwrap
import tracemalloc
from typing import Annotated, Any, ClassVar, Literal, Union

import pydantic
import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel, Field

from fast_serde.langgraph import FastSerializer
from fast_serde.langgraph._purity import memo_model
from lg_strategies import assert_same

LOADS = 6  # mark, keep a template, then four loads a memo hit would serve


def loads_agree(value: Any, *, loads: int = LOADS, **kw: Any) -> tuple[list[Any], list[Any]]:
    """Load `value`'s JsonPlus bytes `loads` times with both serializers; every pair the same."""
    j, f = JsonPlusSerializer(**kw), FastSerializer(**kw)
    data = j.dumps_typed(value)
    got, ref = [], []
    for _ in range(loads):
        g, r = f.loads_typed(data), j.loads_typed(data)
        assert_same(g, r)
        got.append(g)
        ref.append(r)
    return got, ref


# --- finding 1: state outside pydantic's four slots -------------------------------------------


class Slotted(BaseModel):
    __slots__ = ("_seen",)
    text: str

    def model_post_init(self, context: Any) -> None:
        object.__setattr__(self, "_seen", self.text.upper())


MODE = {"value": 0}


class NewState(BaseModel):
    __slots__ = ("_born",)
    text: str

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        obj = super().__new__(cls)
        object.__setattr__(obj, "_born", MODE["value"])
        return obj


class _CallMeta(type(BaseModel)):  # type: ignore[misc]
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        obj = super().__call__(*args, **kwargs)
        object.__setattr__(obj, "__pydantic_private__", {"_by_meta": MODE["value"]})
        return obj


class MetaCalled(BaseModel, metaclass=_CallMeta):
    text: str


def test_slot_state_set_by_post_init_survives_every_load() -> None:
    got, _ = loads_agree(Slotted(text="hi"))
    assert [g._seen for g in got] == ["HI"] * LOADS


@pytest.mark.parametrize("cls", [NewState, MetaCalled])
def test_state_from_new_and_metaclass_call_is_made_on_every_load(cls: type) -> None:
    j, f = JsonPlusSerializer(), FastSerializer()
    data = j.dumps_typed(cls(text="hi"))

    def state(obj: Any) -> Any:
        return obj._born if cls is NewState else obj.__pydantic_private__

    for value in (0, 1):
        MODE["value"] = value
        try:
            for _ in range(LOADS):
                got, ref = f.loads_typed(data), j.loads_typed(data)
                assert_same(got, ref)
                assert state(got) == state(ref)
        finally:
            MODE["value"] = 0


# --- finding 2: identity inside one object ----------------------------------------------------


class Aliased(BaseModel):
    items: list[str]
    _view: Any = pydantic.PrivateAttr(default=None)

    def model_post_init(self, context: Any) -> None:
        self._view = self.items


SHARED: list[int] = []


class SharedDefault(BaseModel):
    a: list[int] = Field(default_factory=lambda: SHARED)
    b: int = 0


class DeclaredAliased(BaseModel):
    """Opts in (its validation depends on the payload alone); aliasing must still be rebuilt."""

    __fast_serde_memo__ = True
    items: list[str]
    pair: dict[str, Any] = {}
    _view: Any = pydantic.PrivateAttr(default=None)

    def model_post_init(self, context: Any) -> None:
        self._view = self.items
        self.pair["again"] = self.items


def test_aliasing_made_by_post_init_is_kept() -> None:
    got, _ = loads_agree(Aliased(items=["a", "b"]))
    assert all(g._view is g.items for g in got)


def _ext5(cls: type, kwargs: dict[str, Any]) -> tuple[str, bytes]:
    """JsonPlusSerializer's ext 5 for `cls` with these kwargs (a payload that omits fields)."""
    import ormsgpack

    payload = ormsgpack.packb((cls.__module__, cls.__qualname__, kwargs, "model_validate_json"))
    return "msgpack", ormsgpack.packb(ormsgpack.Ext(5, payload))


def test_a_shared_default_factory_result_stays_shared() -> None:
    j, f = JsonPlusSerializer(), FastSerializer()
    data = _ext5(SharedDefault, {"b": 2})
    for _ in range(LOADS):
        got, ref = f.loads_typed(data), j.loads_typed(data)
        assert_same(got, ref)
        assert got.a is SHARED and ref.a is SHARED


def test_an_opted_in_class_gets_its_identity_graph_back_on_hits() -> None:
    f = FastSerializer()
    data = JsonPlusSerializer().dumps_typed(DeclaredAliased(items=["x"]))
    loaded = [f.loads_typed(data) for _ in range(LOADS)]
    assert f.memo_stats()["hits"] == LOADS - 2  # served, and still aliased
    assert all(g._view is g.items and g.pair["again"] is g.items for g in loaded)
    assert_same(loaded[-1], JsonPlusSerializer().loads_typed(data))
    loaded[-1].items.append("mutated")
    assert f.loads_typed(data).items == ["x"]



class NestedTree(BaseModel):
    """Admitted by rule; its state is a tree (no container reached twice), which hits copy
    without an identity map: each dict copied whole and each list sliced, containers replaced."""

    tree: dict[str, list[dict[str, list[int]]]]
    pairs: list[tuple[list[int], str]]
    flat: dict[str, Any]


def test_a_tree_state_is_copied_anew_at_every_depth_on_hits() -> None:
    j, f = JsonPlusSerializer(), FastSerializer()
    value = NestedTree(
        tree={"a": [{"x": [1, 2]}, {"y": []}], "b": []},
        pairs=[([3], "p"), ([], "q")],
        flat={"s": "t", "n": None, "i": 7, "l": [{"deep": [["z"]]}]},
    )
    data = j.dumps_typed(value)
    loaded = [f.loads_typed(data) for _ in range(LOADS)]
    assert f.memo_stats()["hits"] == LOADS - 2
    for got in loaded:
        assert_same(got, j.loads_typed(data))
    first, last = loaded[-2], loaded[-1]
    assert first.tree["a"][0]["x"] is not last.tree["a"][0]["x"]
    assert first.pairs[0][0] is not last.pairs[0][0]
    assert first.flat["l"][0]["deep"][0] is not last.flat["l"][0]["deep"][0]
    last.tree["a"][0]["x"].append(9)
    last.pairs[0][0].append(9)
    last.flat["l"][0]["deep"][0].append("mutated")
    last.flat["new"] = 1
    assert_same(f.loads_typed(data), j.loads_typed(data))
    assert_same(first, j.loads_typed(data))

# --- finding 3: validation that reads outside the payload -------------------------------------

SWITCH = {"upper": False}


class ReadsGlobal(BaseModel):
    text: str

    @pydantic.field_validator("text")
    @classmethod
    def _maybe_upper(cls, v: str) -> str:
        return v.upper() if SWITCH["upper"] else v


class PastOnly(BaseModel):
    when: pydantic.PastDate


def test_a_validator_reading_a_global_follows_it() -> None:
    j, f = JsonPlusSerializer(), FastSerializer()
    data = j.dumps_typed(ReadsGlobal(text="hi"))
    for _ in range(LOADS):
        assert_same(f.loads_typed(data), j.loads_typed(data))
    SWITCH["upper"] = True
    try:
        for _ in range(3):
            got, ref = f.loads_typed(data), j.loads_typed(data)
            assert_same(got, ref)
            assert got.text == "HI"
    finally:
        SWITCH["upper"] = False
    assert f.memo_stats()["hits"] == 0


def test_a_field_checked_against_the_clock_is_validated_every_time() -> None:
    assert not memo_model(PastOnly)


# --- finding 4: the budget counts what templates hold -----------------------------------------


class Bag(BaseModel):
    __fast_serde_memo__ = True
    data: Any


def _shape(kind: str, i: int) -> Any:
    if kind == "small containers":
        return [{"k": [i, {}]} for _ in range(40)]
    if kind == "long list":
        return list(range(i, i + 400))
    nested: Any = [i]
    for _ in range(60):
        nested = [nested, {}]
    return nested


@pytest.mark.parametrize("kind", ["small containers", "long list", "deep tree"])
def test_the_budget_counts_at_least_the_python_memory_templates_hold(kind: str) -> None:
    """tracemalloc sees every Python allocation: what the kept templates hold (memory left
    allocated with the memo on, less with it off) never exceeds what the memo charges."""
    j = JsonPlusSerializer()
    blobs = [j.dumps_typed(Bag(data=_shape(kind, i))) for i in range(150)]
    held = {}
    for budget in (0, 64 << 20):
        f = FastSerializer(memo_bytes=budget)
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        for data in blobs:
            f.loads_typed(data)
            f.loads_typed(data)  # the second sight keeps a template
        gc.collect()
        held[budget] = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        stats = f.memo_stats()
        if budget:
            assert stats["fills"] == len(blobs)
            # The table of first sights is Rust memory, outside tracemalloc's view.
            assert 0 < stats["marks"] < stats["bytes"]
            charged = stats["bytes"] - stats["marks"]
        del f
    kept = held[64 << 20] - held[0]
    assert 0 < kept <= charged, (kept, charged)
    assert charged <= 4 * kept + 150 * 2048  # and not wildly more (payloads, overhead)


_RSS_SCRIPT = textwrap.dedent(
    """
    import gc, sys
    from typing import Any
    from pydantic import BaseModel
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from fast_serde.langgraph import FastSerializer

    class Bag(BaseModel):
        __fast_serde_memo__ = True
        data: Any

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    budget = int(sys.argv[1])
    j = JsonPlusSerializer()
    f = FastSerializer(memo_bytes=budget)
    gc.collect()
    before = rss()
    for i in range(4000):
        data = j.dumps_typed(Bag(data=[{"k": [i, {}], "s": str(i)} for _ in range(30)]))
        f.loads_typed(data)
        f.loads_typed(data)
    gc.collect()
    print(rss() - before, f.memo_stats()["bytes"])
    """
)


def test_rss_growth_stays_within_twice_the_budget() -> None:
    """A stream of distinct payloads of many small containers, each kept: the process's RSS grows
    by at most twice the budget more than the same loads without the memo."""
    budget = 8 << 20
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    growth = {}
    for b in (0, budget):
        out = subprocess.run(
            [sys.executable, "-c", _RSS_SCRIPT, str(b)], capture_output=True, text=True, env=env, check=True
        )
        growth[b] = int(out.stdout.split()[0])
        charged = int(out.stdout.split()[1])
        assert charged <= b
    assert growth[budget] - growth[0] <= 2 * budget, growth


# --- finding 5: a class that modifies itself --------------------------------------------------


class Counting(BaseModel):
    loads: ClassVar[int] = 0
    text: str

    def model_post_init(self, context: Any) -> None:
        type(self).loads += 1  # a new tp_version_tag on every validation


class CountingDeclared(BaseModel):
    """Declares payload-only validation, yet modifies its class on every validation."""

    __fast_serde_memo__ = True
    loads: ClassVar[int] = 0
    text: str

    @pydantic.model_validator(mode="after")
    def _count(self) -> "CountingDeclared":
        type(self).loads += 1
        return self


class Plain(BaseModel):
    text: str
    n: int = 0


@pytest.mark.parametrize("cls", [Counting, CountingDeclared])
def test_a_self_modifying_class_leaves_other_entries_alone(cls: type) -> None:
    j, f = JsonPlusSerializer(), FastSerializer()
    plain = [j.dumps_typed(Plain(text=str(i), n=i)) for i in range(500)]
    for data in plain:
        f.loads_typed(data)
        f.loads_typed(data)
    entries = f.memo_stats()["entries"]
    assert entries == 500
    data = j.dumps_typed(cls(text="x"))
    for _ in range(LOADS):
        assert_same(f.loads_typed(data), j.loads_typed(data))
    assert f.memo_stats()["entries"] <= entries + 1
    assert sum(f.loads_typed(d).n for d in plain) == sum(range(500))
    assert f.memo_stats()["hits"] >= 500


# --- the rule, per class shape ----------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"

    @classmethod
    def _missing_(cls, value: object) -> Any:
        return cls.RED


class Inner(BaseModel):
    x: int

    @pydantic.field_validator("x")
    @classmethod
    def _x(cls, v: int) -> int:
        return v


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"


class OptedIn(BaseModel):
    __fast_serde_memo__ = True
    a: int

    @pydantic.field_validator("a")
    @classmethod
    def _a(cls, v: int) -> int:
        return v


class OptedInChild(OptedIn):
    b: str = ""


class OptedOut(BaseModel):
    __fast_serde_memo__ = False
    a: int


class OptedOutChild(OptedOut):
    __fast_serde_memo__ = True


def _model(**fields: Any) -> type:
    return pydantic.create_model("Shape", **fields)


class WithInit(BaseModel):
    a: int

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)


class WithPrivateDefault(BaseModel):
    a: int
    _p: int = 3


class WithPrivateList(BaseModel):
    a: int
    _p: list = []


class WithPrivateFactory(BaseModel):
    a: int
    _p: list = pydantic.PrivateAttr(default_factory=list)


class Rooted(pydantic.RootModel[list[int]]):
    pass


PURE_CASES: list[tuple[str, Any, bool]] = [
    ("plain fields", _model(a=(int, ...), b=(str, "x"), c=(list[dict[str, Any]], ...)), True),
    ("immutable defaults", _model(a=(int, 1), b=(tuple[str, ...], ("x",)), c=(Any, None)), True),
    ("a mutable default (the memo keeps payloads that set it)", _model(a=(list[int], [])), True),
    ("default_factory=list", _model(a=(list, Field(default_factory=list))), True),
    ("a lambda factory", _model(a=(list, Field(default_factory=lambda: []))), False),
    ("datetime and uuid fields", _model(a=(datetime.datetime, ...), b=(Union[int, str], 0)), True),
    ("an AfterValidator", _model(a=(Annotated[int, pydantic.AfterValidator(lambda v: v)], 0)), False),
    ("a nested model with a validator", _model(a=(Inner, ...)), False),
    ("a nested plain model", _model(a=(Plain, ...)), True),
    ("an Enum with _missing_", _model(a=(Color, Color.RED)), False),
    ("a callable discriminator", _model(a=(Annotated[Union[Annotated[Cat, pydantic.Tag("cat")], Annotated[Dog, pydantic.Tag("dog")]], pydantic.Discriminator(lambda v: "cat")], ...)), False),
    ("PastDate", PastOnly, False),
    ("a field validator", ReadsGlobal, False),
    ("model_post_init", Counting, False),
    ("__slots__", Slotted, False),
    ("__new__", NewState, False),
    ("a metaclass __call__", MetaCalled, False),
    ("__init__", WithInit, False),
    ("a private attribute with a default", WithPrivateDefault, True),
    ("a private attribute with a factory", WithPrivateFactory, False),
    ("a private attribute with a mutable default", WithPrivateList, False),
    ("a RootModel", Rooted, False),
    ("opted in", OptedIn, True),
    ("a subclass of an opted-in class (not inherited)", OptedInChild, False),
    ("opted out", OptedOut, False),
    ("opted in below an opt-out", OptedOutChild, False),
    ("not a model", dict, False),
]


@pytest.mark.parametrize(("label", "cls", "expected"), PURE_CASES, ids=[c[0] for c in PURE_CASES])
def test_the_rule_reads_the_class(label: str, cls: Any, expected: bool) -> None:
    assert memo_model(cls) is expected


def test_a_class_given_a_validator_later_is_decided_again() -> None:
    j, f = JsonPlusSerializer(), FastSerializer()
    data = j.dumps_typed(Plain(text="a"))
    for _ in range(4):
        f.loads_typed(data)
    assert f.memo_stats()["hits"] == 2
    original = Plain.__init__

    def __init__(self: Any, **kw: Any) -> None:
        kw["text"] = kw["text"] + "!"
        original(self, **kw)

    Plain.__init__ = __init__  # type: ignore[method-assign]
    try:
        assert not memo_model(Plain)
        for _ in range(3):
            got, ref = f.loads_typed(data), j.loads_typed(data)
            assert_same(got, ref)
            assert got.text == "a!"
    finally:
        Plain.__init__ = original  # type: ignore[method-assign]
