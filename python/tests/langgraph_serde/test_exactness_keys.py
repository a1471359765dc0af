"""FastSerializer against JsonPlusSerializer: dict keys (tuple keys item by item, surrogate
keys, extras under a non-str key).

Each test compares with the installed JsonPlusSerializer and failed before its fix.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import uuid
from decimal import Decimal
from typing import Any, NamedTuple

import ormsgpack
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel, ConfigDict

import fast_serde
from exactness_helpers import outcome, same_as_parent
from fast_serde.langgraph import FastSerializer
from lg_strategies import assert_same


# --- 1. tuple dict keys: items written as ormsgpack writes keys --------------------------


class Color(enum.Enum):
    RED = 1
    BLUE = "blue"


class StrColor(str, enum.Enum):
    GREEN = "green"


class MyStr(str):
    pass


class MyInt(int):
    pass


class MyFloat(float):
    pass


class MyTuple(tuple):
    pass


class MyDate(datetime.date):
    pass


class MyUUID(uuid.UUID):
    pass


@dataclasses.dataclass(frozen=True)
class FrozenPoint:
    x: int


class Pair(NamedTuple):
    a: int
    b: int


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)
    a: int = 1


TUPLE_KEYS_WRITTEN = [
    pytest.param((datetime.date(2024, 1, 2), "u1"), id="date"),
    pytest.param(("k", uuid.UUID(int=1)), id="uuid"),
    pytest.param((Color.RED, 1), id="enum-int"),
    pytest.param((Color.BLUE,), id="enum-str"),
    pytest.param((StrColor.GREEN, 2), id="str-enum"),
    pytest.param((datetime.datetime(2024, 1, 2, 3, 4, 5, 6),), id="datetime-naive"),
    pytest.param((datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc),), id="datetime-utc"),
    pytest.param((datetime.time(1, 2, 3),), id="time"),
    pytest.param((("a", datetime.date(2020, 5, 6)), 1), id="nested-tuple-date"),
    pytest.param((MyStr("s"), MyInt(3)), id="str-and-int-subclasses"),
    pytest.param(("\ud800",), id="surrogate-in-tuple"),
    pytest.param((MyStr("\udfff"),), id="surrogate-subclass-in-tuple"),
    pytest.param((b"ab", None, True, 1.5), id="scalars"),
]

TUPLE_KEYS_REFUSED = [
    pytest.param((FrozenPoint(1),), id="dataclass"),
    pytest.param((Decimal("1.5"),), id="decimal"),
    pytest.param((frozenset({1}),), id="frozenset"),
    pytest.param((Pair(1, 2),), id="namedtuple"),
    pytest.param((Frozen(),), id="model"),
    pytest.param((MyDate(2024, 1, 2),), id="date-subclass"),
    pytest.param((MyUUID(int=5),), id="uuid-subclass"),
    pytest.param((MyFloat(1.5),), id="float-subclass"),
    pytest.param((MyTuple((1,)),), id="tuple-subclass"),
]


@pytest.mark.parametrize("key", TUPLE_KEYS_WRITTEN)
def test_tuple_key_items_written_as_keys(key: tuple[Any, ...]) -> None:
    value = {key: 3, "plain": [key]}
    data = same_as_parent(value)
    assert data is not None
    f = FastSerializer()
    assert_same(f.loads_typed(("msgpack", data)), JsonPlusSerializer().loads_typed(("msgpack", data)))


@pytest.mark.parametrize("key", TUPLE_KEYS_REFUSED)
@pytest.mark.parametrize("pickle_fallback", [False, True])
def test_tuple_key_items_the_parent_refuses(key: tuple[Any, ...], pickle_fallback: bool) -> None:
    value = {key: 1}
    j, f = JsonPlusSerializer(pickle_fallback=pickle_fallback), FastSerializer(pickle_fallback=pickle_fallback)
    tj, tf = outcome(j.dumps_typed, value), outcome(f.dumps_typed, value)
    if pickle_fallback:
        assert tj[0] == tf[0] == "ok" and tj[1][0] == tf[1][0] == "pickle"
        assert f.loads_typed(tf[1]) == j.loads_typed(tj[1])
    else:
        assert tj[0] == tf[0] == "raise"
        assert isinstance(tf[1], TypeError) and isinstance(tj[1], TypeError)


class Counts(BaseModel):
    counts: dict[Any, int]


def test_tuple_keys_inside_a_model_and_a_graph() -> None:
    model = Counts(counts={(datetime.date(2024, 1, 2), "u1"): 3, (Color.RED, 1): 4})
    data = same_as_parent(model)
    loaded = FastSerializer().loads_typed(("msgpack", data))
    assert isinstance(loaded, Counts)  # it used to load as None on both sides

    from langgraph.graph import StateGraph
    from typing_extensions import TypedDict as TD

    class State(TD):
        counts: dict

    def node(state: State) -> dict:
        return {"counts": {(datetime.date(2024, 1, 2), "u1"): 1}}

    graph = StateGraph(State).add_node("n", node).set_entry_point("n").set_finish_point("n")
    results = []
    for serde in (JsonPlusSerializer(), FastSerializer()):
        app = graph.compile(checkpointer=InMemorySaver(serde=serde))
        cfg = {"configurable": {"thread_id": "t"}}
        app.invoke({"counts": {}}, cfg)
        results.append(app.get_state(cfg).values)
    assert results[0] == results[1] == {"counts": {("2024-01-02", "u1"): 1}}


def test_plain_dumps_tuple_keys_documented_difference() -> None:
    """`fast_serde.dumps` writes exactly what ormsgpack writes for plain keys, and refuses a
    datetime inside a tuple key that ormsgpack writes as text (README: where dumps differs)."""
    opt = ormsgpack.OPT_NON_STR_KEYS | ormsgpack.OPT_REPLACE_SURROGATES
    for key in [(1, "a", b"b", None, 1.5), (MyStr("\ud800"),), MyStr("\ud800"), (Color.RED,)]:
        assert fast_serde.dumps({key: 1}) == ormsgpack.packb({key: 1}, option=opt)
    with pytest.raises(fast_serde.EncodeError):
        fast_serde.dumps({(datetime.date(2024, 1, 2),): 1})


# --- 5. a str-subclass key with a lone surrogate -------------------------------------------


def test_str_subclass_key_with_lone_surrogate() -> None:
    assert same_as_parent({MyStr("\ud800"): 1}) == JsonPlusSerializer().dumps_typed({MyStr("\ud800"): 1})[1]
    # An exact str key with a lone surrogate: both refuse it (a TypeError).
    assert same_as_parent({"\ud800": 1}) is None


class OpenExtra(BaseModel):
    model_config = ConfigDict(extra="allow")
    a: int = 0


@pytest.mark.parametrize("key", [5, ("t", 1), None])
@pytest.mark.parametrize("pickle_fallback", [False, True])
def test_extras_under_a_non_str_key(key: Any, pickle_fallback: bool) -> None:
    o = OpenExtra(a=1, z=1)
    o.__pydantic_extra__[key] = "v"  # type: ignore[index]
    j, f = JsonPlusSerializer(pickle_fallback=pickle_fallback), FastSerializer(pickle_fallback=pickle_fallback)
    tj, tf = outcome(j.dumps_typed, o), outcome(f.dumps_typed, o)
    assert tj[0] == tf[0]
    if tj[0] == "ok":
        assert tj[1][0] == tf[1][0]
        if tj[1][0] == "msgpack":
            assert tj[1] == tf[1]
    else:
        assert isinstance(tj[1], TypeError) and isinstance(tf[1], TypeError)
