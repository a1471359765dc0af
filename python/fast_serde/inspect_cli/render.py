"""What ``fast-serde inspect`` prints: the thread and history tables, a checkpoint as JSON.

:func:`checkpoint_document` reads one checkpoint through the store's stock saver and returns it
as JSON-ready data; :func:`jsonable` is how each stored value is written (see its docstring and
the command's ``--help`` epilog). Errors are one line on stderr (:func:`print_error`).
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import datetime as dt
import decimal
import enum
import ipaddress
import json
import math
import re
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

from .args import PROG
from .errors import InspectError, one_line, unknown_thread
from .sizes import Sizes
from .stores import HistoryRow, Store, ThreadRow, as_step

__all__ = [
    "checkpoint_document",
    "jsonable",
    "print_document",
    "print_error",
    "print_history",
    "print_json",
    "print_sizes",
    "print_threads",
]

ROOT = "(root)"
"""How the tables show the root graph's namespace (``checkpoint_ns == ""``); JSON has ``""``."""


def print_error(message: str) -> None:
    """Print ``message`` as the one line ``fast-serde inspect: error: ...`` on stderr."""
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)


def print_document(document: dict[str, Any]) -> None:
    """Print ``document`` (from :func:`checkpoint_document`) as indented JSON on stdout."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    sys.stdout.flush()


def print_json(data: Any) -> None:
    """Print ``data`` (lists and dicts of str, int, float, None) as indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    sys.stdout.flush()


def print_threads(rows: list[ThreadRow], ns: str | None) -> None:
    """Print the thread listing of namespace ``ns`` (None: every namespace) as a table, or
    "no threads", on stdout."""
    if not rows:
        print(f"no threads in namespace {ns!r}" if ns else "no threads")
        return
    print(
        _table(
            ("thread", "namespace", "checkpoints", "latest checkpoint", "step", "last checkpoint (UTC)"),
            [
                (
                    r.thread_id, r.checkpoint_ns or ROOT, str(r.checkpoints),
                    r.latest_checkpoint_id, _opt(r.latest_step), _opt(r.last_checkpoint_at),
                )
                for r in rows
            ],
            right={2, 4},
        )
    )


def print_sizes(sizes: Sizes) -> None:
    """Print :func:`fast_serde.inspect_cli.sizes.measure`'s result as two tables on stdout:
    per thread and namespace, then per channel (bytes)."""
    if not sizes.threads:
        print("no threads")
        return
    print(
        _table(
            ("thread", "namespace", "values", "stored", "zstd frames", "msgpack", "with zstd",
             "saving", "unread"),
            [
                (
                    r.thread_id, r.checkpoint_ns or ROOT, str(r.values), str(r.stored),
                    str(r.compressed), str(r.msgpack), str(r.with_zstd),
                    _percent(r.stored - r.with_zstd, r.stored), str(r.unread),
                )
                for r in sizes.threads
            ],
            right=set(range(2, 9)),
        )
    )
    print()
    print(
        _table(
            ("thread", "namespace", "channel", "values", "msgpack", "with zstd", "saving"),
            [
                (
                    r.thread_id, r.checkpoint_ns or ROOT, r.channel, str(r.values),
                    str(r.msgpack), str(r.with_zstd), _percent(r.msgpack - r.with_zstd, r.msgpack),
                )
                for r in sizes.channels
            ],
            right=set(range(3, 7)),
        )
    )


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def print_history(rows: list[HistoryRow]) -> None:
    """Print a thread's checkpoints, one table row each, on stdout."""
    print(
        _table(
            ("checkpoint", "step", "source", "bytes", "writes"),
            [
                (r.checkpoint_id, _opt(r.step), _opt(r.source), str(r.nbytes), str(r.writes))
                for r in rows
            ],
            right={1, 3, 4},
        )
    )


def _opt(value: object) -> str:
    return "-" if value is None else str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = []
    for row in (header, *rows):
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def checkpoint_document(
    store: Store, thread_id: str, ns: str = "", checkpoint_id: str | None = None
) -> dict[str, Any]:
    """Read one checkpoint through ``store.saver.get_tuple`` and return it as JSON-ready data.

    Args:
        store: from :func:`open_store`.
        thread_id: the thread (str).
        ns: the checkpoint namespace (str, ``""`` for the root graph).
        checkpoint_id: a checkpoint id (str), or None for the thread's latest.

    Returns:
        dict with ``thread_id``, ``checkpoint_ns``, ``checkpoint_id``, ``parent_checkpoint_id``
        (str or None), ``ts`` (ISO 8601 str), ``step`` (int or None), ``source`` (str or None),
        ``channel_values`` (dict: channel -> :func:`jsonable` value) and ``pending_writes``
        (list of ``{"task_id", "channel", "value"}``).

    Raises:
        InspectError: unknown thread or checkpoint, or a checkpoint that cannot be decoded.
    """
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    try:
        found = store.saver.get_tuple({"configurable": configurable})
    except (ValueError, TypeError, NotImplementedError, KeyError) as exc:
        which = checkpoint_id or "latest checkpoint"
        raise InspectError(
            f"cannot decode {which} of thread {thread_id!r}: {type(exc).__name__}: {exc}"
        ) from exc
    if found is None:
        if checkpoint_id is not None and store.history(thread_id, ns):
            raise InspectError(f"unknown checkpoint {checkpoint_id!r} in thread {thread_id!r}")
        raise InspectError(unknown_thread(thread_id, ns))

    checkpoint = found.checkpoint
    parent = (found.parent_config or {}).get("configurable", {}).get("checkpoint_id")
    metadata = found.metadata or {}
    source = metadata.get("source")
    return {
        "thread_id": thread_id,
        "checkpoint_ns": ns,
        "checkpoint_id": found.config["configurable"]["checkpoint_id"],
        "parent_checkpoint_id": parent,
        "ts": checkpoint.get("ts"),
        "step": as_step(metadata.get("step")),
        "source": source if isinstance(source, str) else None,
        "channel_values": jsonable(checkpoint.get("channel_values", {})),
        "pending_writes": [
            {"task_id": task_id, "channel": channel, "value": jsonable(value)}
            for task_id, channel, value in (found.pending_writes or [])
        ],
    }


try:  # a DeltaChannel snapshot stored in channel_values (langgraph-checkpoint >= 4.1)
    from langgraph.checkpoint.serde.types import _DeltaSnapshot
except ImportError:  # pragma: no cover - older langgraph-checkpoint
    _DeltaSnapshot = None  # type: ignore[assignment,misc]

_IP_TYPES = (
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    ipaddress.IPv4Network,
    ipaddress.IPv6Network,
    ipaddress.IPv4Interface,
    ipaddress.IPv6Interface,
)


def jsonable(value: Any) -> Any:
    """``value`` as data that ``json.dumps(..., allow_nan=False)`` writes, readably.

    None, bool, int and str are kept; a float is kept unless NaN or infinite (then ``"nan"``,
    ``"inf"``, ``"-inf"``); bytes, bytearray and memoryview become standard base64 (str);
    Enum members their value; datetime, date and time ``isoformat()``; timedelta its seconds
    (float); UUID, Decimal, paths, IP addresses, tzinfo their ``str()``; compiled patterns
    their pattern; pydantic models (LangChain messages among them, with their ``type``) their
    ``model_dump()`` (v1: ``dict()``); dataclasses and named tuples a dict of their fields;
    LangGraph's ``_DeltaSnapshot`` its value; mappings a dict (non-str keys as JSON text:
    ``1`` -> ``"1"``, ``None`` -> ``"null"``, ``(1, 2)`` -> ``"[1, 2]"``); sets and frozensets
    a sorted list; other sequences a list; objects with ``tolist()`` (numpy) that; anything
    else its ``repr()``. Raises RecursionError only for values nested past the interpreter's
    recursion limit.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else repr(float(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (uuid.UUID, decimal.Decimal, PurePath, dt.tzinfo, *_IP_TYPES)):
        return str(value)
    if isinstance(value, re.Pattern):
        return jsonable(value.pattern)
    if _DeltaSnapshot is not None and isinstance(value, _DeltaSnapshot):
        return jsonable(value.value)
    if not isinstance(value, type):
        model_dump = getattr(value, "model_dump", None)
        if callable(model_dump):
            return jsonable(model_dump())
        if hasattr(type(value), "__fields__") and callable(getattr(value, "dict", None)):
            return jsonable(value.dict())  # pydantic v1
        if dataclasses.is_dataclass(value):
            return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {str(f): jsonable(item) for f, item in zip(value._fields, value)}
    if isinstance(value, Mapping):
        return {_json_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(item) for item in value), key=_sort_key)
    if isinstance(value, (list, tuple, collections.deque, Sequence)):
        return [jsonable(item) for item in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and not isinstance(value, type):
        return jsonable(tolist())
    return repr(value)


def _json_key(key: Any) -> str:
    if isinstance(key, str) and not isinstance(key, enum.Enum):
        return str(key)
    converted = jsonable(key)
    return converted if isinstance(converted, str) else json.dumps(converted, sort_keys=True)


def _sort_key(item: Any) -> tuple[int, Any]:
    if isinstance(item, (int, float)) and not isinstance(item, bool):
        return (0, item)
    return (1, json.dumps(item, sort_keys=True))
