"""Process-wide counters of the work ``FastSerializer`` did: how many values it wrote and read
natively, how many it handed back to JsonPlusSerializer's own code, and (opt-in) the time spent
inside.

Read them with :func:`fast_serde.langgraph.stats`; they count every ``FastSerializer`` of the
process (the stock savers' shared one after ``install()``, LangGraph Server's serializer, and any
created by hand), from import or from the last :func:`reset_stats`.

Cost: counting is one ``next()`` on an ``itertools.count`` per call (atomic under the GIL, about
10 ns); timing, when switched on, adds two ``perf_counter_ns()`` calls and a lock (about 0.3 µs per
call on the benchmark machine), which is why it is off unless asked for.
"""

from __future__ import annotations

import functools
import itertools
import threading
from time import perf_counter_ns
from typing import Any, Callable, TypeVar

from fast_serde.langgraph import _compat, _compression

__all__ = ["stats", "reset_stats", "counted_dumps", "counted_loads"]

# The tags loads_typed reads natively (a zstd frame holds a "msgpack" document).
_NATIVE_TAGS = frozenset({"msgpack", _compression.TAG})

_F = TypeVar("_F", bound=Callable[..., Any])

_NAMES = ("dumps", "dumps_fallback", "loads", "loads_fallback")

_lock = threading.Lock()
# One itertools.count per counter: `next(counter)` is a single C call, so concurrent calls never
# lose a count. `stats()` reads a counter with `next()` too and subtracts its own reads.
_counters = {name: itertools.count() for name in _NAMES}
_reads = dict.fromkeys(_NAMES, 0)  # next() calls made by stats() itself, per counter
_base = dict.fromkeys(_NAMES, 0)  # values at the last reset_stats()
_dumps_native = _counters["dumps"]
_dumps_fallback = _counters["dumps_fallback"]
_loads_native = _counters["loads"]
_loads_fallback = _counters["loads_fallback"]

_timing = False
_ns = [0, 0]  # dumps, loads: nanoseconds inside the calls while timing (under _lock)


def _read(name: str) -> int:
    # Caller holds _lock. next() returns the number of earlier next() calls: counted calls plus
    # this function's earlier reads.
    value = next(_counters[name]) - _reads[name]
    _reads[name] += 1
    return value


def stats() -> dict[str, Any]:
    """The counters of every ``FastSerializer`` in this process since import or :func:`reset_stats`.

    Returns:
        A new dict with these keys:

        * ``"dumps"`` (int): ``dumps_typed`` calls answered natively (MessagePack written by the
          Rust walker, or the ``null``/``bytes``/``bytearray`` tags).
        * ``"dumps_fallback"`` (int): ``dumps_typed`` calls that did not end in native bytes: the
          value was not MessagePack-serializable, so the call returned ``("pickle", ...)``
          (``pickle_fallback=True``) or raised (LangGraph Server then writes it with cloudpickle),
          or, on an unverified release whose probe found other bytes, JsonPlusSerializer wrote it.
        * ``"loads"`` (int): ``loads_typed`` calls on ``"msgpack"`` (or ``"msgpack-zstd"``)
          data, read natively.
        * ``"loads_fallback"`` (int): ``loads_typed`` calls handed to JsonPlusSerializer's own code:
          other tags (``null``, ``bytes``, ``json``, ``pickle``), a serializer built with an
          ``__unpack_ext_hook__`` other than ``_msgpack_ext_hook_to_json`` (which LangGraph
          Server's state and history endpoints use, read natively), or, on an
          unverified release whose probe found other objects, every read.
        * ``"timing"`` (bool): whether the two next keys are being measured
          (``reset_stats(timing=True)``).
        * ``"dumps_seconds"``, ``"loads_seconds"`` (float): wall-clock seconds spent inside those
          calls while timing was on, summed over threads (``time.perf_counter_ns``); 0.0 when it
          never was.
    """
    with _lock:
        out: dict[str, Any] = {name: _read(name) - _base[name] for name in _NAMES}
        out["timing"] = _timing
        out["dumps_seconds"] = _ns[0] / 1e9
        out["loads_seconds"] = _ns[1] / 1e9
    return out


def reset_stats(*, timing: bool = False) -> None:
    """Set every counter of :func:`stats` back to zero, and switch timing on or off.

    Args:
        timing: ``True`` measures ``dumps_seconds``/``loads_seconds`` from now on (about 0.3 µs
            more per call); ``False`` (default) stops measuring.

    Returns:
        None. Thread-safe; a call running concurrently is counted before or after the reset.
    """
    global _timing
    with _lock:
        for name in _NAMES:
            _base[name] = _read(name)
        _ns[0] = _ns[1] = 0
        _timing = bool(timing)


def counted_dumps(method: _F) -> _F:
    """Decorate ``FastSerializer.dumps_typed``: count the call (a ``"pickle"`` result, an
    exception, or a serializer whose probe sent every write to the parent counts as a fallback)
    and, while timing, its time. Results and exceptions pass through unchanged."""

    @functools.wraps(method)
    def dumps_typed(self: Any, obj: Any) -> tuple[str, bytes]:
        start = perf_counter_ns() if _timing else 0
        try:
            result = method(self, obj)
        except BaseException:
            next(_dumps_fallback)
            raise
        finally:
            if start:
                _add(0, perf_counter_ns() - start)
        native = self._native.dumps and result[0] != "pickle"
        next(_dumps_native if native else _dumps_fallback)
        return result

    return dumps_typed  # type: ignore[return-value]


def counted_loads(method: _F) -> _F:
    """Decorate ``FastSerializer.loads_typed``: count the call as native when it reads
    ``"msgpack"`` data without a custom ext hook (or with ``_msgpack_ext_hook_to_json``,
    ``_compat.json_reader``) on a release the probe let read natively (the
    condition under which ``loads_typed`` runs the native reader), else as a fallback, and, while timing, its time. Results and exceptions
    pass through unchanged."""

    @functools.wraps(method)
    def loads_typed(self: Any, data: tuple[str, bytes]) -> Any:
        start = perf_counter_ns() if _timing else 0
        try:
            return method(self, data)
        finally:
            if start:
                _add(1, perf_counter_ns() - start)
            next(_loads_native if _reads_natively(self, data) else _loads_fallback)

    return loads_typed  # type: ignore[return-value]


def _add(slot: int, elapsed: int) -> None:
    with _lock:
        _ns[slot] += elapsed


def _reads_natively(serializer: Any, data: Any) -> bool:
    # Checked after the call, so that a malformed ``data`` raises what loads_typed raises.
    try:
        return (
            data[0] in _NATIVE_TAGS
            and serializer._native.loads
            and (
                not serializer._custom_unpack_ext_hook
                or _compat.json_reader(serializer._unpack_ext_hook) is not None
            )
        )
    except Exception:
        return False
