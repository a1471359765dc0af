"""Helpers of the LangGraph serializer tests (langgraph_serde/test_*.py): what the installed
langgraph-checkpoint release writes, ``pair``/``check``/``outcome``, MessagePack ext bytes, serde
events and jsonplus warnings, sample values, a subprocess runner.

The tests check FastSerializer against its specification, langgraph's JsonPlusSerializer
(langgraph-checkpoint 4.3). Every check compares FastSerializer with a JsonPlusSerializer built with
the same arguments: ``dumps_typed`` must give the very same ``(tag, bytes)``, each side's
``loads_typed`` must read the other's bytes to the same objects (same types, ``model_fields_set``,
numpy dtype/shape), and the allowlist must construct, block, log and emit events exactly as the
parent does.

Known differences that are fast-serde bugs are marked ``xfail(strict=True)`` with the reason;
test_regressions.py holds differences found while writing these tests, fixed since.
Deliberate differences (documented): trailing bytes after the msgpack value raise
``fast_serde.DecodeError`` (the parent ignores them); more than MAX_DEPTH (255) levels in one
payload raise DecodeError (ormsgpack reads deeper input, which the parent never writes); errors
are ``fast_serde.EncodeError`` / ``DecodeError`` (subclasses of the parent's ``TypeError`` /
``ValueError``); a KeyboardInterrupt (any BaseException that is not an Exception) raised by user
code propagates unchanged, where the parent's ormsgpack turns it into ValueError / TypeError or a
nested value's fallback (test_base_exceptions.py).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import pathlib
import re
import subprocess
import sys
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.serde import jsonplus as jsonplus_mod
from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.types import Send

from fast_serde.langgraph import _compat
from fast_serde.langgraph import FastSerializer
from lg_strategies import assert_same


SUPPORT_DIR = pathlib.Path(__file__).resolve().parents[1] / "support"  # lg_models, for subprocesses

# What the installed langgraph-checkpoint release writes (the release matrix runs these tests on each).
_DeltaSnapshot = _compat.DELTA_SNAPSHOT  # None before 4.1
needs_delta = pytest.mark.skipif(_DeltaSnapshot is None, reason="no _DeltaSnapshot before 4.1")
needs_send_timeout = pytest.mark.skipif(
    "timeout" not in __import__("inspect").signature(Send).parameters,
    reason="no Send.timeout in the langgraph that langgraph-checkpoint 4.0 installs with",
)
# The parent's fallback for ext 0-3 that cannot be built: the payload (4.3+) or None (before).
RECONSTRUCTS = hasattr(jsonplus_mod, "_reconstruction_fallback")
# Its allowlist warnings: once per (module, name) (4.0.3+) or every time (before).
WARNS_ONCE = hasattr(jsonplus_mod, "_warn_once")
# Before 4.1, ext 7 is a code the parent reads as None without reading its payload; the native
# reader reads it (a native switch would be needed: crates/ is not changed here).
EXT7_UNKNOWN = (
    "fast-serde difference before 4.1: a malformed ext 7 payload raises DecodeError, the parent reads None"
)
JSONPLUS_LOGGER = "langgraph.checkpoint.serde.jsonplus"

UTC = datetime.timezone.utc
PARIS = ZoneInfo("Europe/Paris")


def pair(**kw: Any) -> tuple[JsonPlusSerializer, FastSerializer]:
    """The parent and FastSerializer, same constructor arguments."""
    return JsonPlusSerializer(**kw), FastSerializer(**kw)


def param_id(value: Any) -> str:
    """A parametrized test's id: ``repr(value)`` with each memoryview's address (``<memory at
    0x...>``) written as ``memoryview``, so that every process collects the same ids (pytest-xdist
    requires it; ``--lf`` and ``-k`` rely on it)."""
    return re.sub(r"<memory at 0x[0-9a-f]+>", "memoryview", repr(value))


def ext(code: int, payload: bytes) -> bytes:
    """A MessagePack ext value (any code, including negative ones) around ``payload``."""
    n = len(payload)
    t = (code & 0xFF).to_bytes(1, "big")
    fixed = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}
    if n in fixed:
        return bytes([fixed[n]]) + t + payload
    if n < 256:
        return b"\xc7" + bytes([n]) + t + payload
    if n < 65536:
        return b"\xc8" + n.to_bytes(2, "big") + t + payload
    return b"\xc9" + n.to_bytes(4, "big") + t + payload


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    """``("ok", result)`` or ``("raise", exception)``."""
    try:
        return "ok", fn(*args)
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome
        return "raise", exc


_SAME = object()  # the loaded value must equal the original value (assert_same)
_PARENT = object()  # only compare with the parent (its own round trip changes the value)


def check(value: Any, expect: Any = _SAME, *, fast_kw: dict[str, Any] | None = None, **kw: Any) -> tuple[str, bytes]:
    """Byte equality and cross-reading with the parent; returns the parent's ``(tag, bytes)``.

    ``kw`` goes to both constructors, ``fast_kw`` (e.g. ``validate_models=False``) to fast's only.
    """
    j, f = JsonPlusSerializer(**kw), FastSerializer(**kw, **(fast_kw or {}))
    tj = j.dumps_typed(value)
    tf = f.dumps_typed(value)
    assert tf[0] == tj[0], (tf[0], tj[0])
    assert bytes(tf[1]) == bytes(tj[1]), f"bytes differ:\n fast  ={tf[1]!r}\n parent={tj[1]!r}"
    from_parent_bytes = f.loads_typed(tj)  # fast reads the parent's bytes
    from_fast_bytes = j.loads_typed(tf)  # the parent reads fast's bytes
    assert_same(from_parent_bytes, from_fast_bytes)
    assert_same(f.loads_typed(tf), j.loads_typed(tj))
    if expect is _SAME:
        assert_same(from_parent_bytes, value, fields_set=False)
    elif expect is not _PARENT:
        assert_same(from_parent_bytes, expect, fields_set=False)
    return tj


@contextlib.contextmanager
def serde_events() -> Any:
    events: list[dict[str, Any]] = []
    unregister = register_serde_event_listener(lambda e: events.append(dict(e)))
    try:
        yield events
    finally:
        unregister()


def forget_warnings(*keys: tuple[str, str]) -> None:
    """Forget the parent's once-per-process warnings so that both sides log them.

    (All of them: a crafted payload may name any (module, name).) ``keys`` documents which.
    """
    for name in (
        "_warned_unregistered_types",  # 4.0.3+ (before, every warning is logged)
        "_warned_blocked_types",  # 4.0.3+
        "_warned_unreconstructable_types",  # 4.3+
    ):
        getattr(jsonplus_mod, name, set()).clear()


def run_logged(
    caplog: pytest.LogCaptureFixture, serde: Any, data: tuple[str, bytes], keys: list[tuple[str, str]]
) -> tuple[tuple[str, Any], list[dict[str, Any]], list[tuple[int, str]]]:
    """Load ``data`` with ``serde``: (outcome, serde events, jsonplus log records)."""
    forget_warnings(*keys)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=JSONPLUS_LOGGER), serde_events() as events:
        out = outcome(serde.loads_typed, data)
    records = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == JSONPLUS_LOGGER]
    return out, events, records


def assert_same_outcome(a: tuple[str, Any], b: tuple[str, Any]) -> None:
    """``a`` (fast) and ``b`` (parent) both returned equal values, or both raised."""
    assert a[0] == b[0], f"fast {a!r} vs parent {b!r}"
    if a[0] == "ok":
        assert_same(a[1], b[1])


DT = datetime.datetime(2024, 5, 17, 13, 45, 30)
DT_US = datetime.datetime(2024, 5, 17, 13, 45, 30, 123456)


AI_FULL = AIMessage(
    content=[{"type": "text", "text": "let me compute"}],
    id="ai-1",
    name="assistant",
    tool_calls=[
        {"name": "calculator", "args": {"a": 1, "op": "+", "b": [2.5, None]}, "id": "call_1", "type": "tool_call"},
        {"name": "lookup", "args": {}, "id": "call_2", "type": "tool_call"},
    ],
    invalid_tool_calls=[
        {"name": "bad", "args": "{not json", "id": "call_3", "error": "parse", "type": "invalid_tool_call"}
    ],
    usage_metadata={
        "input_tokens": 12,
        "output_tokens": 30,
        "total_tokens": 42,
        "input_token_details": {"cache_read": 3},
        "output_token_details": {"reasoning": 7},
    },
    response_metadata={"model_name": "scripted-1", "finish_reason": "tool_calls", "logprobs": None, "seed": 2**40},
    additional_kwargs={"refusal": None, "nested": {"k": [1.5, -0.0, float("inf")], "b": b"\x00\xff"}},
)


def _run_py(script: str, env_extra: dict[str, str], cwd: pathlib.Path) -> dict[str, Any]:
    env = dict(os.environ)
    env.update(env_extra)
    env["PYTHONPATH"] = os.pathsep.join([str(SUPPORT_DIR), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])
