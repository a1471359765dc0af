"""``fast_serde.inspect_cli.jsonable`` (how values are shown as JSON) and ``--version``."""

from __future__ import annotations

import collections
import datetime as dt
import ipaddress
import json
import math
import re
import uuid
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.serde.types import _DeltaSnapshot

from fast_serde.inspect_cli import jsonable

from cli_helpers import Color


# --- jsonable ------------------------------------------------------------------------------


class _NT(NamedTuple):
    a: int
    b: str


class _V1Model:  # stands in for a pydantic v1 model: __fields__ and dict()
    __fields__ = {"x": None}

    def dict(self) -> dict[str, Any]:
        return {"x": b"\x01"}


class _Opaque:
    def __repr__(self) -> str:
        return "<opaque 7>"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (7, 7),
        (2**70, 2**70),
        (1.25, 1.25),
        (math.nan, "nan"),
        (-math.inf, "-inf"),
        ("tëxt", "tëxt"),
        (b"\xfb\xff", "+/8="),  # standard alphabet, not URL-safe
        (bytearray(b"ab"), "YWI="),
        (memoryview(b"ab"), "YWI="),
        (dt.date(2024, 2, 29), "2024-02-29"),
        (dt.time(12, 30, 1), "12:30:01"),
        (dt.timedelta(minutes=1, microseconds=500000), 60.5),
        (ZoneInfo("Europe/Paris"), "Europe/Paris"),
        (ipaddress.ip_address("::1"), "::1"),
        (ipaddress.ip_network("10.0.0.0/8"), "10.0.0.0/8"),
        (re.compile(r"a+b", re.I), "a+b"),
        (frozenset({3, 1, 2}), [1, 2, 3]),
        ({10, 9, "b", "a"}, [9, 10, "a", "b"]),
        (collections.deque([1, (2, 3)]), [1, [2, 3]]),
        (_NT(1, "x"), {"a": 1, "b": "x"}),
        (_DeltaSnapshot([1, 2]), [1, 2]),
        ({1: "a", None: "b", (1, 2): "c", uuid.UUID(int=1): "d", Color.RED: "e"},
         {"1": "a", "null": "b", "[1, 2]": "c", "00000000-0000-0000-0000-000000000001": "d", "red": "e"}),
        (_V1Model(), {"x": "AQ=="}),
        (_Opaque(), "<opaque 7>"),
        (HumanMessage(content="hi", id="m1"),
         {"content": "hi", "additional_kwargs": {}, "response_metadata": {}, "type": "human",
          "name": None, "id": "m1"}),
    ],
    ids=lambda v: type(v).__name__,
)
def test_jsonable(value, expected):
    result = jsonable(value)
    assert result == expected
    json.dumps(result, allow_nan=False)


def test_jsonable_numpy_array():
    np = pytest.importorskip("numpy")
    assert jsonable(np.arange(4, dtype=np.int32).reshape(2, 2)) == [[0, 1], [2, 3]]


def test_version_prints_the_installed_version(capsys):
    import fast_serde
    from fast_serde.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"fast-serde {fast_serde.__version__} (")
    assert fast_serde.__version__ != "0.0.0"  # the installed metadata's version
