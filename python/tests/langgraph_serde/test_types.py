"""1. Every type of the parent's msgpack path, one table per family: messages, pydantic models,
stdlib types (UUID, Decimal, Path, sets, ipaddress, Enum, ...), datetimes and zones, LangGraph
types, dataclasses, numpy arrays, dict keys, strings, plain values. Each value is written to
JsonPlusSerializer's bytes and read back by both sides to the same objects, in the permissive and
the strict allowlist mode."""

from __future__ import annotations

import collections
import datetime
import decimal
import ipaddress
import pathlib
import re
import uuid
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import ormsgpack
import pydantic
import pytest
from langchain_core.documents import Document
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    HumanMessageChunk,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.store.base import Item
from langgraph.types import Command, Interrupt, Send

import lg_models as M
from lg_helpers import (
    _PARENT,
    _SAME,
    AI_FULL,
    DT,
    DT_US,
    PARIS,
    UTC,
    _DeltaSnapshot,
    check,
    needs_delta,
    needs_send_timeout,
    pair,
)


class LocalNT(NamedTuple):
    a: int
    b: Any = None


def _c_array() -> np.ndarray:
    return np.arange(12, dtype=np.int32).reshape(3, 4)


def _f_array() -> np.ndarray:
    return np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4) / 3)


def _fixed(hours: int = 0, minutes: int = 0, name: str | None = None) -> datetime.timezone:
    off = datetime.timedelta(hours=hours, minutes=minutes)
    return datetime.timezone(off, name) if name else datetime.timezone(off)

MESSAGE_CASES = [
    pytest.param(lambda: SystemMessage("You are terse.", id="sys-1"), _SAME, id="SystemMessage"),
    pytest.param(lambda: HumanMessage("hello", id="h-1", name="ada"), _SAME, id="HumanMessage"),
    pytest.param(
        lambda: HumanMessage(
            content=[{"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}],
            additional_kwargs={"x": (1, 2)},
        ),
        _PARENT,  # the tuple comes back as a list
        id="HumanMessage-multimodal",
    ),
    pytest.param(lambda: AI_FULL, _SAME, id="AIMessage-full"),
    pytest.param(lambda: AIMessage(""), _SAME, id="AIMessage-empty"),
    pytest.param(
        lambda: ToolMessage(content="42", tool_call_id="call_1", name="calculator", artifact={"raw": [4, 2]}, status="error", id="t-1"),
        _SAME,
        id="ToolMessage",
    ),
    pytest.param(
        lambda: AIMessageChunk(
            content="par",
            id="c-1",
            tool_call_chunks=[{"name": "calculator", "args": '{"a": 1', "id": "call_1", "index": 0, "type": "tool_call_chunk"}],
        ),
        _SAME,
        id="AIMessageChunk",
    ),
    pytest.param(lambda: HumanMessageChunk(content="chunk"), _SAME, id="HumanMessageChunk"),
    pytest.param(lambda: RemoveMessage(id="h-1"), _SAME, id="RemoveMessage"),
    pytest.param(lambda: ChatMessage(role="critic", content="meh"), _SAME, id="ChatMessage"),
    pytest.param(lambda: FunctionMessage(name="f", content="out"), _SAME, id="FunctionMessage"),
    pytest.param(
        lambda: [SystemMessage("s"), HumanMessage("q"), AI_FULL, ToolMessage("r", tool_call_id="call_1")],
        _SAME,
        id="message-list",
    ),
    pytest.param(
        lambda: Document(page_content="Checkpoints form a chain.", metadata={"source": "a.txt", "page": 3, "score": 0.5}, id="d-1"),
        _SAME,
        id="Document",
    ),
]

PYDANTIC_CASES = [
    pytest.param(lambda: M.Address(city="Lyon"), _SAME, id="model-defaults-not-set"),
    pytest.param(lambda: M.Profile(name="ada"), _PARENT, id="model-only-required-set"),
    pytest.param(
        lambda: M.Profile(name="ada", age=36, tags=["a", "b"], address=M.Address(city="London", zip=None, lines=["1 St"]), meta={"k": [1, {"z": None}]}),
        _SAME,
        id="model-nested",
    ),
    pytest.param(
        lambda: M.Rich(id=uuid.UUID(int=7), when=DT_US.replace(tzinfo=UTC), day=datetime.date(2020, 2, 29), amount=decimal.Decimal("1.10"), tags={"x", "y"}, color=M.Color.BLUE, level=M.Level.HIGH, mood=M.Mood.SAD, span=datetime.timedelta(days=-1, microseconds=5), anything={"deep": [uuid.UUID(int=1), DT]}),
        _PARENT,  # tuple Color value comes back through validation
        id="model-rich-fields",
    ),
    pytest.param(lambda: M.WithSerializer(when=DT_US, count=5), _PARENT, id="model-field_serializer"),
    pytest.param(lambda: M.WithComputed(first="Ada", last="Lovelace"), _SAME, id="model-computed_field"),
    pytest.param(lambda: M.ForbidComputed(a=2), _PARENT, id="model-forbid-computed-model_construct"),
    pytest.param(lambda: M.ExtraAllow(known=1, extra_str="x", extra_nested={"a": [1, M.Address(city="c")]}), _PARENT, id="model-extra-allow"),
    pytest.param(lambda: M.Secretive(user="u", password=pydantic.SecretStr("hunter2"), token=pydantic.SecretBytes(b"\x00tok")), _SAME, id="model-SecretStr"),
    pytest.param(lambda: {"secret": pydantic.SecretStr("s3")}, _SAME, id="bare-SecretStr"),
    pytest.param(lambda: M.Aliased(userName="x"), _PARENT, id="model-alias-model_construct"),
    pytest.param(lambda: M.AliasedPopulate(userName="x"), _SAME, id="model-alias-populate_by_name"),
    pytest.param(lambda: M.StrictInt(n=3), _PARENT, id="model-strict-model_construct"),
    pytest.param(lambda: M.WithPrivate(a=3), _SAME, id="model-private-attr"),
    pytest.param(lambda: M.WithExclude(a=3, b="not-written"), _PARENT, id="model-field-exclude"),
    pytest.param(lambda: M.IntList([1, 2, 3]), _PARENT, id="RootModel"),
    pytest.param(lambda: M.Box[int](item=5), _PARENT, id="generic-model-unimportable-name"),
    pytest.param(lambda: M.Outer.Inner(v=3), _PARENT, id="nested-class-model-unimportable"),
    pytest.param(lambda: M.Tree(label="a", children=[M.Tree(label="b", children=[M.Tree(label="c")])]), _SAME, id="model-recursive"),
    pytest.param(lambda: M.AnyModel(value=M.Point(1, 2), note="dc-inside-any"), _PARENT, id="model-any-dataclass"),
    pytest.param(lambda: M.V1Model(name="v1", values=[1, 2], inner=M.V1Inner(x=3)), _SAME, id="pydantic-v1"),
    pytest.param(lambda: [M.V1Inner(), M.V1Model(name="only")], _SAME, id="pydantic-v1-defaults"),
]

STDLIB_CASES = [
    pytest.param(lambda: LocalNT(1, {"b": [LocalNT(2)]}), _SAME, id="namedtuple-typing"),
    pytest.param(lambda: M.CPair(a=1, b=M.Pair("l", "r")), _SAME, id="namedtuple-collections"),
    pytest.param(lambda: pathlib.Path("/tmp/a b/é.txt"), _SAME, id="Path-absolute"),
    pytest.param(lambda: pathlib.Path("rel/x"), _SAME, id="Path-relative"),
    pytest.param(lambda: re.compile(r"^(\d+)-[a-z]*$", re.IGNORECASE | re.MULTILINE), _SAME, id="re-str"),
    pytest.param(lambda: re.compile(rb"\x00+"), _SAME, id="re-bytes"),
    pytest.param(lambda: uuid.UUID("12345678-1234-5678-1234-567812345678"), _SAME, id="UUID"),
    pytest.param(lambda: [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.uuid4()], _SAME, id="UUID-extremes"),
    pytest.param(lambda: [decimal.Decimal("1.10"), decimal.Decimal("-0"), decimal.Decimal("1E+100"), decimal.Decimal("NaN"), decimal.Decimal("-Infinity")], _SAME, id="Decimal"),
    pytest.param(lambda: {1, "a", None, (1, 2)}, _PARENT, id="set"),
    pytest.param(lambda: frozenset({b"x", 2.5}), _SAME, id="frozenset"),
    pytest.param(lambda: collections.deque([1, [2], {"a": 3}]), _SAME, id="deque"),
    pytest.param(lambda: set(), _SAME, id="set-empty"),
    pytest.param(
        lambda: [ipaddress.IPv4Address("10.1.2.3"), ipaddress.IPv4Interface("10.1.2.3/24"), ipaddress.IPv4Network("10.1.0.0/16"), ipaddress.IPv6Address("::1"), ipaddress.IPv6Interface("fe80::1/64"), ipaddress.IPv6Network("2001:db8::/32")],
        _SAME,
        id="ipaddress",
    ),
    pytest.param(lambda: [M.Color.RED, M.Color.GREEN, M.Level.HIGH, M.Mood.SAD, M.Perm.R | M.Perm.W], _SAME, id="Enum-IntEnum-StrEnum-Flag"),
    pytest.param(lambda: M.Color.BLUE, _PARENT, id="Enum-tuple-value"),
    pytest.param(lambda: ValueError("bad input"), "ValueError('bad input')", id="exception"),
    pytest.param(lambda: {"err": M.CustomError(3, "boom")}, {"err": "CustomError(3, 'boom')"}, id="exception-custom"),
]

DATETIME_CASES = [
    pytest.param(lambda: DT, _SAME, id="datetime-naive-us0"),
    pytest.param(lambda: DT_US, _SAME, id="datetime-naive-us"),
    pytest.param(lambda: DT.replace(tzinfo=UTC), _SAME, id="datetime-utc"),
    pytest.param(lambda: DT_US.replace(tzinfo=UTC), _SAME, id="datetime-utc-us"),
    pytest.param(lambda: DT.replace(tzinfo=_fixed(0, name="UTC")), DT.replace(tzinfo=UTC), id="datetime-named-zero-offset"),
    pytest.param(lambda: DT_US.replace(tzinfo=_fixed(5, 30)), _SAME, id="datetime-plus-0530"),
    pytest.param(lambda: DT.replace(tzinfo=_fixed(-9, -30)), _SAME, id="datetime-minus-0930"),
    pytest.param(lambda: DT.replace(tzinfo=datetime.timezone(datetime.timedelta(seconds=5))), _SAME, id="datetime-seconds-offset"),
    pytest.param(lambda: DT.replace(tzinfo=PARIS), DT.replace(tzinfo=_fixed(2)), id="datetime-paris-summer"),
    pytest.param(lambda: DT_US.replace(month=1, tzinfo=PARIS), DT_US.replace(month=1, tzinfo=_fixed(1)), id="datetime-paris-winter-us"),
    pytest.param(lambda: datetime.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=PARIS), datetime.datetime(2024, 10, 27, 2, 30, tzinfo=_fixed(1)), id="datetime-paris-fold"),
    pytest.param(lambda: [datetime.datetime.min, datetime.datetime.max, datetime.datetime(1, 1, 1, 0, 0, 0, 1)], _SAME, id="datetime-extremes"),
    pytest.param(lambda: [datetime.timedelta(0), datetime.timedelta(days=-1, seconds=5, microseconds=7), datetime.timedelta.max, datetime.timedelta.min], _SAME, id="timedelta"),
    pytest.param(lambda: [datetime.date(2024, 2, 29), datetime.date.min, datetime.date.max], _SAME, id="date"),
    pytest.param(lambda: [datetime.time(0), datetime.time(23, 59, 59, 999999), datetime.time(12, 0, fold=1)], _SAME, id="time-naive"),
    pytest.param(lambda: [datetime.time(12, 30, tzinfo=UTC), datetime.time(1, 2, 3, 4, tzinfo=_fixed(-3))], _SAME, id="time-tz"),
    pytest.param(lambda: datetime.time(8, 0, tzinfo=PARIS), _SAME, id="time-zoneinfo"),
    pytest.param(lambda: [UTC, _fixed(5, 30), _fixed(-1, name="Azores")], _SAME, id="timezone"),
    pytest.param(lambda: [PARIS, ZoneInfo("UTC"), ZoneInfo("America/New_York")], _SAME, id="ZoneInfo"),
]

LANGGRAPH_CASES = [
    pytest.param(lambda: Send("node", {"a": 1, "msgs": [HumanMessage("x")]}), _SAME, id="Send"),
    pytest.param(lambda: Send("node", M.Profile(name="p"), timeout=2.5), _PARENT, id="Send-timeout-model", marks=needs_send_timeout),
    pytest.param(lambda: [Send("a", 1), Send("b", Send("c", None))], _SAME, id="Send-nested"),
    pytest.param(lambda: Interrupt(value={"question": "ok?"}, id="int-1"), _SAME, id="Interrupt"),
    pytest.param(lambda: Command(goto=Send("n", 1), update={"k": [1]}, resume="yes"), _PARENT, id="Command"),
    pytest.param(
        lambda: Item(value={"a": [1, 2]}, key="k1", namespace=("users", "u1"), created_at=DT.replace(tzinfo=UTC), updated_at=DT_US),
        _SAME,
        id="store-Item",
    ),
    pytest.param(lambda: _DeltaSnapshot([HumanMessage("a"), {"k": uuid.UUID(int=3)}]), _SAME, id="DeltaSnapshot", marks=needs_delta),
    pytest.param(lambda: {"snap": _DeltaSnapshot(None)}, _SAME, id="DeltaSnapshot-None", marks=needs_delta),
]

DATACLASS_CASES = [
    pytest.param(lambda: M.Point(1, -2, "p"), _SAME, id="dataclass"),
    pytest.param(lambda: M.SlotPoint(0.5, float("-inf")), _SAME, id="dataclass-slots"),
    pytest.param(lambda: M.Frozen("k", (1, 2)), _PARENT, id="dataclass-frozen"),
    pytest.param(lambda: M.Segment(M.Point(0, 0), M.Point(3, 4), [M.SlotPoint(1.0, 2.0), {"x": M.Point(5, 6)}]), _SAME, id="dataclass-nested"),
    pytest.param(lambda: M.InitFalse(1), _PARENT, id="dataclass-init-false"),
]

NUMPY_CASES = [
    pytest.param(_c_array, _SAME, id="np-C-int32"),
    pytest.param(_f_array, _SAME, id="np-F-float64"),
    pytest.param(lambda: _c_array()[::2, 1::2], _SAME, id="np-noncontiguous-slice"),
    pytest.param(lambda: _f_array()[:, 1:], _SAME, id="np-F-slice"),
    pytest.param(lambda: np.arange(10, dtype=">i4")[::3], _SAME, id="np-bigendian-strided"),
    pytest.param(lambda: np.array([True, False, True]), _SAME, id="np-bool"),
    pytest.param(lambda: np.array([1 + 2j, -1j], dtype=np.complex64), _SAME, id="np-complex64"),
    pytest.param(lambda: np.array([np.nan, -0.0, np.inf], dtype=np.float32), _SAME, id="np-float32-special"),
    pytest.param(lambda: np.array(["ab", "cde"]), _SAME, id="np-unicode"),
    pytest.param(lambda: np.array(3.5), _SAME, id="np-0d"),
    pytest.param(lambda: np.zeros((0, 3), dtype=np.uint16), _SAME, id="np-empty"),
    pytest.param(lambda: {"a": [np.ones((2, 2, 2), dtype=np.int8)], "m": M.AnyModel(value=np.arange(3))}, _PARENT, id="np-nested"),
]

KEY_CASES = [
    pytest.param(lambda: {1: "a", -(2**63): "b", 2**64 - 1: "c"}, _SAME, id="keys-int"),
    pytest.param(lambda: {(1, "a", (None, 2.5)): 1, (): 2}, _SAME, id="keys-tuple"),
    pytest.param(lambda: {None: 1, "None": 2}, _SAME, id="keys-None"),
    pytest.param(lambda: {1.5: 1, -0.0: 2, float("inf"): 3}, _SAME, id="keys-float"),
    pytest.param(lambda: {True: 1, False: 2}, _SAME, id="keys-bool"),
    pytest.param(lambda: {b"\x00": 1, b"": 2}, _SAME, id="keys-bytes"),
    pytest.param(lambda: {datetime.date(2024, 1, 2): 1, "x": {datetime.date(1, 1, 1): 2}}, {"2024-01-02": 1, "x": {"0001-01-01": 2}}, id="keys-date"),
    pytest.param(lambda: {DT: 1, DT_US.replace(tzinfo=UTC): 2}, _PARENT, id="keys-datetime"),
    pytest.param(lambda: {uuid.UUID(int=1): [uuid.UUID(int=2)]}, {"00000000-0000-0000-0000-000000000001": [uuid.UUID(int=2)]}, id="keys-UUID"),
    pytest.param(lambda: {M.Color.RED: 1, M.Mood.SAD: 2, M.Level.HIGH: 3}, {1: 1, "sad": 2, 10: 3}, id="keys-Enum"),
    pytest.param(lambda: {"k": {M.Color.GREEN: M.Color.GREEN}, 7: M.Point(1, 2)}, _PARENT, id="keys-Enum-nested-with-values"),
    pytest.param(lambda: {1: 1, "1": 2, 1.0 + 1e-9: 3, (1,): 4, b"1": 5}, _SAME, id="keys-mixed"),
]

STR_CASES = [
    pytest.param(lambda: "a\ud800b", "a?b", id="lone-surrogate"),
    pytest.param(lambda: ["\udfff", {"k": "x\ud83dy"}, M.Address(city="\ud800")], _PARENT, id="lone-surrogates-nested"),
    pytest.param(lambda: "\U0001f600 é \x00", _SAME, id="astral-and-nul"),
]

PLAIN_CASES = [
    pytest.param(lambda: {"a": 1, "b": [1.5, None, True], "c": {"d": b"x"}}, _SAME, id="plain"),
    pytest.param(lambda: (1, (2, [3])), [1, [2, [3]]], id="tuple-to-list"),
    pytest.param(lambda: [0, -1, 127, 128, -32, -33, 2**31, -(2**31) - 1, 2**63, -(2**63)], _SAME, id="int-boundaries"),
    pytest.param(lambda: [float("nan"), -0.0, 1e308, 5e-324], _SAME, id="floats"),
    pytest.param(lambda: "x" * 70000, _SAME, id="str-long"),
    pytest.param(lambda: [b"\x00" * 300, bytearray(b"ba"), memoryview(b"mv")], [b"\x00" * 300, b"ba", b"mv"], id="binaries-nested"),
    pytest.param(lambda: {}, _SAME, id="empty-dict"),
    pytest.param(lambda: [], _SAME, id="empty-list"),
    pytest.param(lambda: 0, _SAME, id="zero"),
    pytest.param(lambda: "", _SAME, id="empty-str"),
    pytest.param(lambda: False, _SAME, id="false"),
]


def _mixed() -> dict[str, Any]:
    return {
        "messages": [SystemMessage("s"), HumanMessage("q", id="1"), AI_FULL],
        "profile": M.Profile(name="ada", address=M.Address(city="Paris"), meta={"when": DT_US.replace(tzinfo=PARIS)}),
        "points": (M.Point(1, 2), M.SlotPoint(1.0, 2.0), LocalNT(1, M.Color.RED)),
        "sends": [Send("tool", {"args": {uuid.UUID(int=9): {1, 2}}})],
        7: {None: [datetime.date(2024, 1, 1), datetime.time(1, 2, tzinfo=UTC)]},
        (1, "t"): collections.deque([decimal.Decimal("3.14"), ipaddress.IPv4Address("1.2.3.4")]),
        "arr": np.arange(6, dtype=np.int16).reshape(2, 3)[:, ::2],
        **({"snap": _DeltaSnapshot({"docs": [Document(page_content="d")]})} if _DeltaSnapshot else {}),
        "item": Item(value={"v": M.Rich(id=uuid.UUID(int=1), when=DT, day=datetime.date(2024, 1, 1), amount=decimal.Decimal(1))}, key="k", namespace=("n",), created_at=DT, updated_at=DT),
        "misc": [pathlib.Path("/x"), re.compile("a+"), frozenset({M.Mood.HAPPY}), ValueError("e"), M.V1Model(name="n"), "\ud800"],
        "deep": [[[[{"k": [M.AnyModel(value={"x": [M.Point(0, 0), uuid.UUID(int=5)]})]}]]]],
        "np_in_model": M.AnyModel(value=np.ones(2)),
    }


MIXED_CASES = [pytest.param(_mixed, _PARENT, id="deeply-mixed")]

ALL_CASES = (
    MESSAGE_CASES + PYDANTIC_CASES + STDLIB_CASES + DATETIME_CASES + LANGGRAPH_CASES
    + DATACLASS_CASES + NUMPY_CASES + KEY_CASES + STR_CASES + PLAIN_CASES + MIXED_CASES
)


@pytest.mark.parametrize(("factory", "expect"), ALL_CASES)
def test_bytes_identical_and_cross_read(factory: Any, expect: Any) -> None:
    check(factory(), expect)


@pytest.mark.parametrize(("factory", "expect"), ALL_CASES)
def test_same_in_strict_mode(factory: Any, expect: Any) -> None:
    """With ``allowed_msgpack_modules=None`` the blocked types come back as the parent's raw payloads."""
    check(factory(), _PARENT, allowed_msgpack_modules=None)


def test_cases_cover_all_ext_codes() -> None:
    """The case list above writes every ext code of the parent's format (0..7)."""
    seen: set[int] = set()

    def hook(code: int, data: bytes) -> None:
        seen.add(code)
        ormsgpack.unpackb(data, ext_hook=hook, option=ormsgpack.OPT_NON_STR_KEYS)

    for p in ALL_CASES:
        if any(m in p.marks and m.args[0] for m in (needs_delta, needs_send_timeout)):
            continue
        _, data = JsonPlusSerializer().dumps_typed(p.values[0]())
        ormsgpack.unpackb(data, ext_hook=hook, option=ormsgpack.OPT_NON_STR_KEYS)
    assert seen == set(range(8 if _DeltaSnapshot else 7))


def test_model_fields_set_after_round_trip() -> None:
    """Explicit check on ``model_fields_set`` (the parent rebuilds with every dumped field)."""
    j, f = pair()
    v = M.Profile(name="ada")
    data = j.dumps_typed(v)
    rj, rf = j.loads_typed(data), f.loads_typed(data)
    assert rf.model_fields_set == rj.model_fields_set == set(M.Profile.model_fields)
    extra = M.ExtraAllow(known=1, surprise=[1])
    data = j.dumps_typed(extra)
    assert f.loads_typed(data).model_extra == j.loads_typed(data).model_extra == {"surprise": [1]}


def test_numpy_arrays_equal_dtype_shape_and_order() -> None:
    j, f = pair()
    for arr in (_c_array(), _f_array(), _c_array()[::2, 1::2], _f_array()[1:, :], np.arange(5, dtype="<u8")):
        data = j.dumps_typed(arr)
        assert f.dumps_typed(arr) == data
        rj, rf = j.loads_typed(data), f.loads_typed(data)
        assert rf.dtype == rj.dtype == arr.dtype
        assert rf.shape == rj.shape == arr.shape
        assert rf.flags.f_contiguous == rj.flags.f_contiguous
        assert np.array_equal(rf, arr) and np.array_equal(rj, arr)


def test_datetime_subclasses_and_uuid_subclass_written_by_parent_code() -> None:
    class MyDT(datetime.datetime):
        pass

    class MyUUID(uuid.UUID):
        pass

    class MyInt(int):
        pass

    class MyStr(str):
        pass

    class MyDict(dict):
        pass

    class MyList(list):
        pass

    v = [MyDT(2024, 1, 1, tzinfo=UTC), MyUUID(int=3), MyInt(4), MyStr("s"), MyDict(a=1), MyList([1]), {MyInt(1): 1, MyStr("k"): 2}]
    j, f = pair()
    assert f.dumps_typed(v) == j.dumps_typed(v)
