"""The release probe's values (_probe): one per class that langgraph-checkpoint's
`_msgpack_default` tells apart, and plain data. Imported only when a probe runs; its classes are
importable by name, as the parent's reader imports them.
"""

from __future__ import annotations

import dataclasses
import decimal
import enum
import ipaddress
import pathlib
import re
import sys
import uuid
import warnings
from collections import deque
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, NamedTuple

import pydantic

from fast_serde.langgraph import _compat

class Holder:
    """Holds a nested Enum, so that its `__qualname__` differs from its `__name__`."""

    class Color(enum.Enum):
        RED = "red"


Color = Holder.Color  # importable by its `__name__` too


class Point(NamedTuple):
    x: int
    y: str = "y"


@dataclasses.dataclass
class Data:
    a: int
    b: list[Any] = dataclasses.field(default_factory=list)


class ProbeSend:
    """A `SendProtocol` that is not `langgraph.types.Send` (built back by the generic path)."""

    def __init__(self, node: str, arg: Any) -> None:
        self.node = node
        self.arg = arg

    def __hash__(self) -> int:
        return hash(self.node)

    def __eq__(self, other: object) -> bool:
        return type(other) is ProbeSend and (self.node, self.arg) == (other.node, other.arg)

    def __repr__(self) -> str:
        return f"ProbeSend({self.node!r}, {self.arg!r})"


def values() -> list[tuple[str, Any]]:
    """`(label, value)` for every probe; built anew per run (nothing shared with callers)."""
    out: list[tuple[str, Any]] = [
        ("plain", {"s": "x", "i": -5, "u": 2**64 - 1, "f": 1.5, "t": True, "n": None, "b": b"\0"}),
        ("plain keys", {1: "int", 2.5: "float", None: "none", True: "bool", ("t", 1): "tuple"}),
        ("plain nested", [[1, (2, 3)], {"k": [bytearray(b"ba"), memoryview(b"mv")]}, "\ud800"]),
        ("Enum", Color.RED),
        ("NamedTuple", Point(1, "z")),
        ("dataclass", Data(1, [2])),
        ("SendProtocol", ProbeSend("node", {"a": 1})),
        ("Path", pathlib.Path("/tmp/probe")),
        ("Pattern", re.compile("a+b", re.I)),
        ("UUID", uuid.UUID(int=0x1234567890ABCDEF)),
        ("Decimal", decimal.Decimal("1.50")),
        ("set", {1, 2, 3}),
        ("frozenset", frozenset({"a"})),
        ("deque", deque([1, 2])),
        ("IPv4Address", ipaddress.IPv4Address("10.1.2.3")),
        ("IPv4Interface", ipaddress.IPv4Interface("10.1.2.3/24")),
        ("IPv4Network", ipaddress.IPv4Network("10.1.0.0/16")),
        ("IPv6Address", ipaddress.IPv6Address("::1")),
        ("IPv6Interface", ipaddress.IPv6Interface("::1/64")),
        ("IPv6Network", ipaddress.IPv6Network("fe80::/64")),
        ("datetime", datetime(2024, 1, 2, 3, 4, 5, 6)),
        ("datetime tz", datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=2)))),
        ("timedelta", timedelta(days=1, seconds=2, microseconds=3)),
        ("date", date(2024, 1, 2)),
        ("time", time(1, 2, 3, 4, tzinfo=timezone.utc)),
        ("timezone", timezone(timedelta(hours=-3), "X")),
        ("exception", ValueError("probe")),
        ("SecretStr", pydantic.SecretStr("secret")),
        ("model", _Model(a=1, b="x")),
        ("model serializer", _SerModel(a=2)),
    ]
    try:
        from zoneinfo import ZoneInfo

        out.append(("ZoneInfo", ZoneInfo("UTC")))
    except Exception:  # no time zone data: no ZoneInfo can be written here either
        pass
    from langchain_core.messages import AIMessage, HumanMessage

    out.append(("message", HumanMessage(content="hi", id="1")))
    out.append(("message tool calls", AIMessage(content="", tool_calls=[_TOOL_CALL])))
    from langgraph.store.base import Item

    stamp = datetime(2024, 1, 2, tzinfo=timezone.utc)
    out.append(("Item", Item(value={"v": 1}, key="k", namespace=("a",), created_at=stamp,
                             updated_at=stamp)))
    if _compat.DELTA_SNAPSHOT is not None:
        out.append(("_DeltaSnapshot", _compat.DELTA_SNAPSHOT({"k": [1]})))
    send = sys.modules.get("langgraph.types")  # importing langgraph costs half a second
    if send is not None:
        out.append(("Send", send.Send("node", {"a": 1})))
        try:
            out.append(("Send timeout", send.Send("node", 1, timeout=5)))
        except TypeError:  # a langgraph without Send.timeout
            pass
    try:
        import numpy  # a quarter of a second when not imported yet; only on unverified releases

        out.append(("numpy", numpy.arange(6, dtype=numpy.int32).reshape(2, 3)))
    except ImportError:
        pass
    if _V1Model is not None:
        out.append(("pydantic v1", _V1Model(a=3)))
    return out


_TOOL_CALL = {"name": "f", "args": {"x": 1}, "id": "c1", "type": "tool_call"}


class _Model(pydantic.BaseModel):
    a: int
    b: str = "b"


class _SerModel(pydantic.BaseModel):
    a: int

    @pydantic.field_serializer("a")
    def _twice(self, v: int) -> int:
        return v * 2


_V1Model: Any = None
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pydantic.v1 as _pv1

    class _V1Model(_pv1.BaseModel):  # type: ignore[no-redef]
        a: int

except Exception:  # no pydantic.v1 (a Python it does not support): no v1 model can be written
    pass
