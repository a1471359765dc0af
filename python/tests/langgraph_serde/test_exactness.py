"""Regression tests for the differences a red-team pass found between FastSerializer and
JsonPlusSerializer (issue 11: tuple keys, trusted restore under an allowlist, TypedDict fields,
surrogate keys, shadowed extras, per-object `_msgpack_default` checks, crafted payloads).

Each test compares with the installed JsonPlusSerializer, byte for byte and object for object;
each failed before its fix. Class caches (kept-alive and stale classes) are in test_caches.py.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime
import enum
import logging
import sys
import uuid
import zoneinfo
from decimal import Decimal
from typing import Any, Iterator, NamedTuple, Optional

import ormsgpack
import pydantic
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import NotRequired, TypedDict

import fast_serde
from fast_serde.langgraph import FastSerializer
from lg_strategies import assert_same

THIS = __name__


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome
        return "raise", exc


@contextlib.contextmanager
def importable(cls: type) -> Iterator[None]:
    """``cls`` (made inside a test) importable from this module, as the parent's reads need."""
    sys.modules[THIS].__dict__[cls.__name__] = cls
    try:
        yield
    finally:
        del sys.modules[THIS].__dict__[cls.__name__]


def same_as_parent(value: Any, **kw: Any) -> bytes | None:
    """Bytes equal to the parent's (or both raise a TypeError), and both cross-reads equal.
    Returns the bytes (None when both raised)."""
    j, f = JsonPlusSerializer(**kw), FastSerializer(**kw)
    tj, tf = outcome(j.dumps_typed, value), outcome(f.dumps_typed, value)
    if tj[0] == "raise":
        assert tf[0] == "raise", f"parent raised {tj[1]!r}, fast wrote {tf[1]!r}"
        assert isinstance(tj[1], TypeError) and isinstance(tf[1], TypeError), (tj, tf)
        return None
    assert tf == tj, f"\n fast  ={tf!r}\n parent={tj!r}"
    assert_same(f.loads_typed(tj[1]), j.loads_typed(tj[1]))
    assert_same(f.loads_typed(tf[1]), j.loads_typed(tf[1]))
    return tj[1][1]


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


# --- 3. TypedDict fields: model_dump() keeps only declared keys, in declared order -----------


class Inner(TypedDict):
    x: int


class TD(TypedDict):
    a: int
    b: NotRequired[Inner]


class OpenTD(TypedDict):
    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    a: int
    inner: NotRequired[TD]


class HasTD(BaseModel):
    td: TD
    many: list[TD] = []
    maybe: Optional[TD] = None
    by_key: dict[str, TD] = {}
    open: Optional[OpenTD] = None


def _typed_dict_cases() -> list[HasTD]:
    out = []
    s = HasTD(td={"a": 1})
    s.td["b_undeclared"] = 2  # type: ignore[typeddict-unknown-key]
    out.append(s)
    s = HasTD(td={"a": 1, "b": {"x": 1}})
    s.td["b"]["y"] = 5  # type: ignore[typeddict-unknown-key]
    out.append(s)
    s = HasTD(td={"a": 1}, many=[{"a": 1}, {"a": 2}])
    s.many[1]["zz"] = 0  # type: ignore[typeddict-unknown-key]
    out.append(s)
    s = HasTD(td={"a": 1}, maybe={"a": 3})
    s.maybe["q"] = 1  # type: ignore[index,typeddict-unknown-key]
    out.append(s)
    s = HasTD(td={"a": 1}, by_key={"k": {"a": 3}})
    s.by_key["k"]["q"] = 1  # type: ignore[typeddict-unknown-key]
    out.append(s)
    s = HasTD(td={"a": 1})
    object.__setattr__(s, "td", {"b": {"x": 1}, "a": 2})  # declared keys out of order
    out.append(s)
    s = HasTD(td={"a": 1}, open={"a": 1, "extra": 2, "inner": {"a": 1}})
    s.open["inner"]["undeclared"] = 1  # type: ignore[index]
    out.append(s)
    s = HasTD(td={"a": 1}, open={"a": 1})
    s.open["later"] = {"k": [1]}  # type: ignore[index] - extra="allow": written as it is
    out.append(s)
    out.append(HasTD(td={"a": 1, "b": {"x": 2}}, many=[{"a": 5}], maybe=None))  # plain
    return out


@pytest.mark.parametrize("value", _typed_dict_cases(), ids=lambda v: repr(v)[:60])
def test_typed_dict_fields_like_model_dump(value: HasTD) -> None:
    same_as_parent(value)


def test_langchain_tool_calls_with_an_undeclared_key() -> None:
    from langchain_core.messages import AIMessage

    m = AIMessage(content="", tool_calls=[{"name": "f", "args": {"a": 1}, "id": "1"}])
    m.tool_calls[0]["extra"] = {"k": 1}  # type: ignore[typeddict-unknown-key]
    same_as_parent(m)
    same_as_parent({"messages": [m, AIMessage(content="x", usage_metadata={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3})]})


# --- 6. extra="allow" with a validation alias, or an edited __pydantic_extra__ ---------------


class Aliased(BaseModel):
    model_config = ConfigDict(extra="allow")
    a: int = Field(0, validation_alias="A")


def test_extra_shadowing_a_field_is_written_once() -> None:
    v = Aliased(a=1)  # "a" is not the alias: it becomes an extra, beside the field a=0
    assert v.__dict__ == {"a": 0} and v.__pydantic_extra__ == {"a": 1}
    same_as_parent(v)
    w = Aliased(A=5)
    w.__pydantic_extra__["a"] = 7  # type: ignore[index]
    same_as_parent(w)
    same_as_parent(Aliased(A=5, b=6))  # a real extra beside: still the fast path's bytes


# --- 7. checks `_msgpack_default` makes per object ------------------------------------------


@dataclasses.dataclass(frozen=True)
class FrozenDC:
    x: int


@dataclasses.dataclass
class WithNode:
    node: str
    y: int = 0


class MyError(ValueError):
    pass


class Looked:
    """A class whose attribute lookup answers per instance."""

    def __init__(self, send: bool) -> None:
        self._send = send

    def __getattr__(self, name: str) -> Any:
        if self._send and name in ("node", "arg"):
            return name
        raise AttributeError(name)


def _per_object_sequences() -> list[Any]:
    def exc_with_send_attrs() -> list[Any]:
        e = ValueError("x")
        e.node, e.arg = "n", {"k": 1}  # type: ignore[attr-defined]
        return [ValueError("plain"), e, ValueError("plain again")]

    def frozen_with_send_attrs() -> list[Any]:
        d = FrozenDC(2)
        object.__setattr__(d, "node", "n")
        object.__setattr__(d, "arg", [1])
        return [FrozenDC(1), d, FrozenDC(3)]

    def only_node() -> list[Any]:
        e = MyError("y")
        e.node = "n"  # type: ignore[attr-defined]
        return [MyError("a"), e]

    def unhashable_then_hashable() -> list[Any]:
        a, b = MyError("1"), MyError("2")
        a.node, a.arg = "n", 1  # type: ignore[attr-defined]
        b.node, b.arg, b.__hash__ = "n", 1, None  # type: ignore[attr-defined,method-assign]
        return [a, b]

    def dataclass_field_node() -> list[Any]:
        w = WithNode("m")
        w.arg = 5  # type: ignore[attr-defined]
        return [WithNode("n"), w, WithNode("o")]

    def custom_getattr() -> list[Any]:
        return [Looked(False), Looked(True), Looked(False)]

    def model_dump_attr() -> list[Any]:
        e = MyError("z")
        e.model_dump = lambda: {"a": 1}  # type: ignore[attr-defined]
        return [MyError("q"), e]

    return [
        pytest.param(exc_with_send_attrs, id="exception-node-arg"),
        pytest.param(frozen_with_send_attrs, id="frozen-dataclass-node-arg"),
        pytest.param(only_node, id="exception-node-only"),
        pytest.param(unhashable_then_hashable, id="hash-none"),
        pytest.param(dataclass_field_node, id="dataclass-node-field-then-arg"),
        pytest.param(custom_getattr, id="custom-getattr"),
        pytest.param(model_dump_attr, id="exception-model_dump"),
    ]


@pytest.mark.parametrize("make", _per_object_sequences())
@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_per_object_checks_of_msgpack_default(make: Any, order: str) -> None:
    values = make()
    if order == "reverse":
        values = values[::-1]
    for v in values:  # one FastSerializer: the class plan is cached across the sequence
        same_as_parent(v)
        same_as_parent({"wrapped": [v]})


# --- 2. validate_models=False under every allowlist mode -----------------------------------


class OptTuple(BaseModel):
    t: Optional[tuple] = None


class Plain(BaseModel):
    s: str = ""
    n: Optional[int] = None
    tags: list[str] = []
    meta: dict[str, Any] = {}
    kind: Any = None


class WithNested(BaseModel):
    p: Plain = Plain()
    q: Optional[Plain] = None


class Stripped(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    s: str = ""


ALLOW_MODES = ["permissive", "explicit", "strict"]


def allow_kw(mode: str, *classes: type) -> dict[str, Any]:
    if mode == "permissive":
        return {}
    if mode == "strict":
        return {"allowed_msgpack_modules": None}
    return {"allowed_msgpack_modules": [(c.__module__, c.__name__) for c in classes]}


TRUSTED_SEQUENCES = [
    pytest.param(lambda: [OptTuple(), OptTuple(t=(1, 2)), OptTuple(t=())], id="optional-tuple"),
    pytest.param(
        lambda: [Plain(s="a"), Plain.model_construct(s=5), Plain.model_construct(n=True), Plain.model_construct(tags=("x",))],
        id="plain-then-coerced",
    ),
    pytest.param(
        lambda: [WithNested(), WithNested.model_construct(p={"s": "dict"}), WithNested(q=Plain(n=1))],
        id="nested-model-then-dict",
    ),
    pytest.param(lambda: [Stripped(s="a"), Stripped.model_construct(s="  b ")], id="config-strip"),
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic serializer warnings on both sides
@pytest.mark.parametrize("mode", ALLOW_MODES)
@pytest.mark.parametrize("make", TRUSTED_SEQUENCES)
def test_trusted_restore_is_validation_under_every_allowlist(make: Any, mode: str) -> None:
    kw = allow_kw(mode, OptTuple, Plain, WithNested, Stripped)
    j = JsonPlusSerializer(**kw)
    f = FastSerializer(validate_models=False, **kw)
    for _ in range(2):
        for value in make():
            data = j.dumps_typed(value)
            assert_same(f.loads_typed(data), j.loads_typed(data))


def test_trusted_rule_is_read_from_the_schema() -> None:
    from fast_serde.langgraph._trusted import trusted_model

    assert trusted_model(Plain) is not None
    assert trusted_model(WithNested) is not None
    assert trusted_model(OptTuple) is None  # a tuple is built from the decoded list
    assert trusted_model(Stripped) is None  # a config that changes exact-type strs
    from langchain_core.messages import AIMessage, AIMessageChunk

    # Model validators: validated, unless the verified table of LangChain's message classes
    # proves that validating the class's own model_dump() gives it back (test_verified.py).
    assert trusted_model(AIMessage) is not None
    assert trusted_model(AIMessageChunk) is None


# --- 9. crafted payloads ----------------------------------------------------------------------


class Counted:
    calls = 0

    def __init__(self, x: Any = None) -> None:
        Counted.calls += 1
        self.x = x

    def __eq__(self, other: object) -> bool:
        return type(other) is Counted and other.x == self.x


def _trailing_chain(levels: int) -> bytes:
    blob = ormsgpack.packb(None)
    head = b"\x93" + ormsgpack.packb(THIS) + ormsgpack.packb("Counted")
    for _ in range(levels):
        blob = ormsgpack.packb(ormsgpack.Ext(0, head + blob + b"\xc0"))  # one trailing byte
    return blob


def test_trailing_bytes_in_payloads_build_each_object_once() -> None:
    data = _trailing_chain(300)
    events: list[Any] = []
    unregister = register_serde_event_listener(events.append)
    counts = []
    try:
        logging.disable(logging.WARNING)
        for serde in (JsonPlusSerializer(), FastSerializer()):
            Counted.calls, events[:] = 0, []
            loaded = serde.loads_typed(("msgpack", data))
            counts.append((Counted.calls, len(events), loaded))
    finally:
        logging.disable(logging.NOTSET)
        unregister()
    (jc, je, jl), (fc, fe, fl) = counts
    assert (fc, fe) == (jc, je) == (300, 300)
    assert fl == jl


UNUSUAL_PAYLOADS = [
    pytest.param(0, [THIS, "Counted", 1, "extra"], id="four-items-code0"),
    pytest.param(0, ["abc"], id="one-item"),
    pytest.param(0, "ab" + "c", id="str-payload"),
    pytest.param(1, [THIS, "Counted", [1], None], id="four-items-code1"),
    pytest.param(2, {"a": 1}, id="dict-payload"),
    pytest.param(3, ["datetime", "datetime", "2024-01-02", 5], id="method-not-str"),
    pytest.param(3, ["datetime", "datetime", "2024-01-02"], id="method-missing"),
    pytest.param(5, None, id="v2-nil"),
    pytest.param(5, ["lg_models", "Address", {"city": "x"}], id="v2-three-items"),
    pytest.param(5, [1, 2, 3, 4], id="v2-int-names"),
    pytest.param(4, ["lg_models", "V1Model", {"name": "n"}, "x"], id="v1-four-items"),
    pytest.param(0, [["list"], "name", 1], id="unhashable-module"),
]


@pytest.mark.parametrize(("code", "payload"), UNUSUAL_PAYLOADS)
@pytest.mark.parametrize("mode", ALLOW_MODES)
def test_unusual_payloads_never_reach_ormsgpack(code: int, payload: Any, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = ormsgpack.packb([ormsgpack.Ext(code, ormsgpack.packb(payload)), 1])
    kw = allow_kw(mode, Counted)
    logging.disable(logging.WARNING)
    try:
        expected = outcome(JsonPlusSerializer(**kw).loads_typed, ("msgpack", data))
        f = FastSerializer(**kw)
        # The native reader answers alone: ormsgpack is never handed the payload.
        monkeypatch.setattr(ormsgpack, "unpackb", _forbidden)
        got = outcome(f.loads_typed, ("msgpack", data))
    finally:
        logging.disable(logging.NOTSET)
    assert got[0] == expected[0], (got, expected)
    if got[0] == "ok":
        assert_same(got[1], expected[1])


def _forbidden(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("ormsgpack.unpackb called")


@pytest.mark.parametrize("value", [1 << 128, -5, (1 << 200) + 7, (1 << 128) - 1, 0])
def test_uuid_with_an_int_out_of_range(value: int) -> None:
    u = uuid.UUID(int=1)
    object.__setattr__(u, "int", value)
    same_as_parent(u)
    same_as_parent({"u": [u]})


def test_deep_ext_chains_documented_limit() -> None:
    """JsonPlusSerializer's depth for nested ext values follows the interpreter's recursion limit
    (and ends in a crash when it is raised far enough); fast-serde writes up to MAX_TOTAL_DEPTH
    levels of containers in all and refuses deeper with EncodeError (docs/format.md)."""

    @dataclasses.dataclass
    class Node:
        child: Any = None

    sys.modules[THIS].Node = Node  # type: ignore[attr-defined]
    chain: Any = None
    for _ in range(fast_serde.MAX_TOTAL_DEPTH):
        chain = Node(chain)
    with pytest.raises(fast_serde.EncodeError):
        FastSerializer().dumps_typed(chain)
    chain = None
    for _ in range(200):
        chain = Node(chain)
    same_as_parent(chain)


# --- found by the differential search (test_differential.py) -------------------------------


class YearDate(datetime.date):
    @property
    def year(self) -> int:  # type: ignore[override]
        return 1999


class DaysDelta(datetime.timedelta):
    @property
    def days(self) -> int:  # type: ignore[override]
        return 5


class HourTime(datetime.time):
    @property
    def hour(self) -> int:  # type: ignore[override]
        return 9


class PlainDate(datetime.date):
    pass


class NT(NamedTuple):
    a: int
    b: int = 2


class NTIter(NT):
    def __iter__(self) -> Any:
        return iter((7, 8))


@pytest.mark.parametrize(
    "value",
    [
        YearDate(2024, 1, 2),
        DaysDelta(1),
        HourTime(1, 2),
        PlainDate(2024, 1, 2),
        NTIter(1),
        NT(1),
    ],
    ids=lambda v: type(v).__name__,
)
def test_subclasses_that_redefine_what_the_parent_reads(value: Any) -> None:
    same_as_parent(value)
    same_as_parent({"v": [value, value]})


def test_writing_an_exception_does_not_create_its_dict() -> None:
    """An exception's `__dict__` is made on first access, and its existence shows in its pickle."""
    import pickle

    for value in ([ValueError("x"), object()], [MyError("y"), object()]):
        j, f = JsonPlusSerializer(pickle_fallback=True), FastSerializer(pickle_fallback=True)
        assert f.dumps_typed(value) == j.dumps_typed(value)
    e, e_parent = MyError("z"), MyError("z")
    FastSerializer().dumps_typed({"e": e})
    JsonPlusSerializer().dumps_typed({"e": e_parent})
    # The parent leaves the dict uncreated on 3.10/3.11 and creates it on 3.12+ (its SendProtocol
    # check reads members with inspect.getattr_static): the walker does the same.
    assert pickle.dumps(e) == pickle.dumps(e_parent)
    e.node, e.arg = "n", 1  # type: ignore[attr-defined]  # still honoured per object
    same_as_parent(e)


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


# --- classes patched after their first object was written (docs/findings.md, N4) --------------


def _patched_after_first() -> list[Any]:
    def dataclass_gets_model_dump() -> tuple[type, Any]:
        @dataclasses.dataclass
        class PD:
            x: int = 1

        return PD, lambda: setattr(PD, "model_dump", lambda self: {"md": 1})

    def namedtuple_gets_asdict() -> tuple[type, Any]:
        class NTP(NamedTuple):
            a: int = 0

        return NTP, lambda: setattr(NTP, "_asdict", lambda self: {"z": 9})

    def model_gets_model_dump() -> tuple[type, Any]:
        class MP(BaseModel):
            a: int = 0

        return MP, lambda: setattr(MP, "model_dump", lambda self, **k: {"patched": 1})

    def frozen_gets_send_attrs() -> tuple[type, Any]:
        @dataclasses.dataclass(frozen=True)
        class CP:
            x: int = 1

        def patch() -> None:
            CP.node, CP.arg = "n", 1  # type: ignore[attr-defined]

        return CP, patch

    def date_gets_a_property() -> tuple[type, Any]:
        class DP(datetime.date):
            pass

        return DP, lambda: setattr(DP, "year", property(lambda self: 1999))

    def base_class_patched() -> tuple[type, Any]:
        @dataclasses.dataclass
        class Base:
            x: int = 1

        @dataclasses.dataclass
        class Child(Base):
            y: int = 2

        return Child, lambda: setattr(Base, "get_secret_value", lambda self: "s")

    def exception_gets_getattr() -> tuple[type, Any]:
        class GE(Exception):
            pass

        def getattr_(self: Any, name: str) -> Any:
            if name in ("node", "arg"):
                return name  # hasattr(obj, "node") is now True: the parent's SendProtocol branch
            raise AttributeError(name)

        return GE, lambda: setattr(GE, "__getattr__", getattr_)

    return [
        pytest.param(exception_gets_getattr, id="exception-__getattr__"),
        pytest.param(dataclass_gets_model_dump, id="dataclass-model_dump"),
        pytest.param(namedtuple_gets_asdict, id="namedtuple-_asdict"),
        pytest.param(model_gets_model_dump, id="model-model_dump"),
        pytest.param(frozen_gets_send_attrs, id="frozen-node-arg"),
        pytest.param(date_gets_a_property, id="date-subclass-property"),
        pytest.param(base_class_patched, id="base-class-patched"),
    ]


@pytest.mark.parametrize("make", _patched_after_first())
def test_a_class_patched_after_its_first_object(make: Any) -> None:
    cls, patch = make()
    with importable(cls):
        value = cls(2024, 1, 2) if issubclass(cls, datetime.date) else cls()
        f = FastSerializer()
        assert f.dumps_typed(value) == JsonPlusSerializer().dumps_typed(value)  # plan cached
        patch()
        j = JsonPlusSerializer()
        assert f.dumps_typed(value) == j.dumps_typed(value)
        same_as_parent({"v": [value]})


# --- a lookup is custom by the type's tp_getattro slot, not by a name in its __dict__ ---------


class _Getattr:
    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


class _Getattribute:
    def __getattribute__(self, name: str) -> Any:
        return object.__getattribute__(self, name)


class _GenericAgain:
    __getattribute__ = object.__getattribute__  # CPython puts the generic slot back


class _DequeSub(collections.deque):
    pass


class _DecimalSub(Decimal):
    pass


@pytest.mark.parametrize(
    "cls, custom",
    [
        (_Getattr, True),
        (type("GetattrChild", (_Getattr,), {}), True),
        (_Getattribute, True),
        (type("DequeWithGetattr", (collections.deque, _Getattr), {}), True),
        (_GenericAgain, False),
        (collections.deque, False),
        (_DequeSub, False),
        (Decimal, False),
        (_DecimalSub, False),
        (zoneinfo.ZoneInfo, False),
        (datetime.datetime, False),
        (uuid.UUID, False),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v),
)
def test_custom_attribute_lookup_is_read_from_the_type_slot(cls: type, custom: bool) -> None:
    """deque, ZoneInfo (3.12+) and Decimal (3.13) are heap types whose __dict__ lists a
    `__getattribute__` wrapper of the generic lookup: no custom lookup, so the walker writes them
    itself on every Python. A class answering `hasattr` in its own code is decided per object."""
    from fast_serde.langgraph import _plans

    assert _plans._custom_getattr(cls) is custom


# --- what the class answers per object, its lookup generic all the same ---------------------


def _answered_per_object() -> list[Any]:
    """Classes whose lookup is generic but whose instances answer `_msgpack_default`'s probes
    (or `obj.__class__`, or `dataclasses.fields(obj)`) differently: `make()` gives the class and
    a function making a second object (after a change, if any), which does not follow the
    first object's branch."""

    def property_dict() -> tuple[type, Any, Any]:
        class PropDeque(collections.deque):
            @property
            def dict(self) -> Any:
                if len(self) > 1:
                    return lambda: {"n": len(self)}
                raise AttributeError("dict")

        return PropDeque, PropDeque([1]), lambda: PropDeque([1, 2])

    def property_model_dump() -> tuple[type, Any, Any]:
        @dataclasses.dataclass
        class PropDC:
            x: int

            @property
            def model_dump(self) -> Any:
                if self.x:
                    return lambda **kw: {"x": self.x}
                raise AttributeError("model_dump")

        return PropDC, PropDC(0), lambda: PropDC(1)

    def slot_get_secret_value() -> tuple[type, Any, Any]:
        class SlotDecimal(Decimal):
            __slots__ = ("get_secret_value",)

        def second() -> Any:
            b = SlotDecimal("2")
            b.get_secret_value = lambda: "s"  # the slot, unset on the first object
            return b

        return SlotDecimal, SlotDecimal("1"), second

    def cached_property_dict() -> tuple[type, Any, Any]:
        import functools

        class CachedDate(datetime.date):
            @functools.cached_property
            def dict(self) -> Any:
                return (lambda: {"d": self.day}) if self.day > 1 else None

        return CachedDate, CachedDate(2020, 1, 1), lambda: CachedDate(2020, 1, 2)

    def class_property() -> tuple[type, Any, Any]:
        class Masked(collections.deque):
            __class__ = property(lambda self: collections.deque if self else Masked)  # type: ignore[assignment]

        return Masked, Masked(), lambda: Masked([1])

    def dataclass_fields_of_one_object() -> tuple[type, Any, Any]:
        @dataclasses.dataclass
        class OwnFields:
            x: int

        def second() -> Any:
            b = OwnFields(2)
            b.__dict__["__dataclass_fields__"] = {}  # dataclasses.fields(b) reads it: no field
            return b

        return OwnFields, OwnFields(1), second

    def attribute_becomes_callable() -> tuple[type, Any, Any]:
        class Attr:
            pass

        class Holder(uuid.UUID):
            dict = Attr()  # not callable: the UUID branch

        def second() -> Any:
            # `Attr` gains __call__, Holder's tag unchanged: callable(obj.dict) is now True.
            Attr.__call__ = lambda self: {"u": 1}  # type: ignore[attr-defined]
            return Holder(int=2)

        return Holder, Holder(int=1), second

    return [
        pytest.param(property_dict, id="property-dict"),
        pytest.param(property_model_dump, id="property-model_dump"),
        pytest.param(slot_get_secret_value, id="slot-get_secret_value"),
        pytest.param(cached_property_dict, id="cached_property-dict"),
        pytest.param(class_property, id="__class__-property"),
        pytest.param(dataclass_fields_of_one_object, id="instance-__dataclass_fields__"),
        pytest.param(attribute_becomes_callable, id="attribute-gains-__call__"),
    ]


@pytest.mark.parametrize("make", _answered_per_object())
def test_a_class_whose_objects_answer_the_probes_differently(make: Any) -> None:
    """A class attribute that is a property, a slot, a cached_property, a `__class__` override
    or a value whose callability may change (and an instance's own `__dataclass_fields__`) lets
    objects of one class take different branches of `_msgpack_default`: the first object's plan
    must not decide the second's. Each object is written by the same serializer, in turn."""
    cls, first, make_second = make()
    with importable(cls):
        f, j = FastSerializer(), JsonPlusSerializer()
        assert f.dumps_typed(first) == j.dumps_typed(first)
        second = make_second()
        assert f.dumps_typed(second) == j.dumps_typed(second)
        assert f.dumps_typed(first) == j.dumps_typed(first)
        same_as_parent({"v": [first, second]})


def test_a_class_modified_while_its_plan_is_decided() -> None:
    """`encode_plan` runs Python code (here a metaclass's `__mro__`, read after the lookup check;
    another thread could do the same) that gives the class a `__getattr__` and a new
    `tp_version_tag`: the plan decided before the change is not cached under the new tag, so the
    next object follows the class as it is."""

    def getattr_(self: Any, name: str) -> Any:
        if name == "dict":
            return lambda: {"hijacked": 1}
        raise AttributeError(name)

    class Meta(type):
        armed = False

        @property
        def __mro__(cls) -> tuple[type, ...]:  # type: ignore[override]
            mro = type.__dict__["__mro__"].__get__(cls)
            # Past `_custom_getattr`: `_class_answers_fixed` reads the MRO last (in `_owner`).
            if Meta.armed and sys._getframe(2).f_code.co_name == "_class_answers_fixed":
                Meta.armed = False
                cls.__getattr__ = getattr_  # type: ignore[attr-defined]
                getattr(cls, "_a_lookup_assigns_a_new_tag", None)
            return mro

    @dataclasses.dataclass
    class Hooked(metaclass=Meta):
        x: int

    with importable(Hooked):
        f = FastSerializer()
        Meta.armed = True
        f.dumps_typed(Hooked(1))  # decided while the class changes
        assert not Meta.armed
        value = Hooked(2)
        assert f.dumps_typed(value) == JsonPlusSerializer().dumps_typed(value)
        assert b"hijacked" in f.dumps_typed(value)[1]


@pytest.mark.parametrize(
    "value, kind",
    [
        (collections.deque([1, "a"]), "ITER_ARG"),
        (_DequeSub([2]), "ITER_ARG"),
        (Decimal("2.50"), "STR_ARG"),
        (_DecimalSub("-0"), "STR_ARG"),
        (zoneinfo.ZoneInfo("UTC"), "ATTR_ARG"),
    ],
    ids=repr,
)
def test_heap_builtins_are_written_natively(value: Any, kind: str) -> None:
    from fast_serde.langgraph import _plans

    assert _plans.plan_kind(value) == getattr(_plans, kind)
    same_as_parent(value)
    same_as_parent({"v": [value, value]})
