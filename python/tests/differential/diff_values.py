"""Values for the differential test (test_differential.py), and the module its classes live in.

Every class built at run time (here, in diff_gen.py and diff_objects.py) lives in one real,
importable module object, ``fs_diff_generated`` (registered in ``sys.modules``):
JsonPlusSerializer and FastSerializer find it with ``importlib.import_module(module)`` +
``getattr(module, name)``, exactly as they find a user's class. Class names are unique per build
(``M12``, ``E13``, ...) unless a test redefines a name on purpose.

Known issues are kept out of the generator by the filters in ``KNOWN_ISSUE_FILTERS``: each
filter is named, says what it keeps out, and is consulted with ``filtered(name)`` at the one
place that would generate the known case. Delete a name from the dict when its fix lands (or run
with ``FAST_SERDE_DIFF_UNFILTER=name1,name2`` / ``=all`` to see the generator find it). The
narrow regression tests of test_diff_known.py (``xfail(strict=True)``) prove each known issue is
still detected.

Here too: the hypothesis strategies of plain values, Enum classes, subclasses of the built-ins,
dict keys, LangChain messages and langgraph types (SAFE_MSGPACK_TYPES), message payloads, and
whole values (containers).
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import itertools
import os
import sys
import types
import uuid
from typing import Any, NamedTuple

from hypothesis import event, reject
from hypothesis import strategies as st

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


def memo_filtered(name: str = "rootmodel-memo-dict") -> bool:
    """N6 and N7 apply only to a FastSerializer with main's memo of validated models."""
    from fast_serde.langgraph import FastSerializer

    return filtered(name) and hasattr(FastSerializer, "memo_stats")


# --- the module the classes live in -----------------------------------------------------------

MODULE_NAME = "fs_diff_generated"
GEN = types.ModuleType(MODULE_NAME, "Classes built at run time by the differential test (diff_*.py).")
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


# --- whole values --------------------------------------------------------------------------------------


def containers(children: st.SearchStrategy[Any], keys: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(key_text, children, max_size=3),
        st.dictionaries(keys, children, max_size=3),
    )


_registered.clear()  # the fixed classes above stay bound
