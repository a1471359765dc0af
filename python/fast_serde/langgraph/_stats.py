"""Process-wide counters of the work ``FastSerializer`` did: how many values it wrote and read
natively, how many it handed back to JsonPlusSerializer's own code, and (opt-in) the time spent
inside.

Read them with :func:`fast_serde.langgraph.stats`; they count every ``FastSerializer`` of the
process (the stock savers' shared one after ``install()``, LangGraph Server's serializer, and any
created by hand), from import or from the last :func:`reset_stats`.

Cost: the counters are atomics in the native module (crates/fast-serde-core/src/langgraph/
typed.rs), added to by FastSerializer's native ``dumps_typed``/``loads_typed`` themselves (one
relaxed atomic add, a few ns) and by its Python methods through ``_native.typed_count``. Timing,
when switched on, adds two clock reads per call (natively, or ``perf_counter_ns()`` on the
Python paths), which is why it is off unless asked for.
"""

from __future__ import annotations

import functools
import threading
from time import perf_counter_ns
from typing import Any, Callable, TypeVar

from fast_serde import _native
from fast_serde.langgraph import _compat, _compression

__all__ = ["stats", "reset_stats", "counted_dumps", "counted_loads"]

# The tags loads_typed reads natively (a zstd frame holds a "msgpack" document) and those it
# answers without reading anything.
_NATIVE_TAGS = frozenset({"msgpack", _compression.TAG})
_PLAIN_TAGS = frozenset({"null", "bytes", "bytearray"})

_F = TypeVar("_F", bound=Callable[..., Any])

_NAMES = ("dumps", "dumps_fallback", "loads", "loads_fallback")
_DUMPS, _DUMPS_FALLBACK, _LOADS, _LOADS_FALLBACK = range(4)

_lock = threading.Lock()
# The native counters' values at the last reset_stats(): the four of _NAMES, then the
# nanoseconds of dumps and of loads (_native.typed_counts()).
_base: tuple[int, ...] = _native.typed_counts()
_count = _native.typed_count
_timing = False


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
        * ``"loads"`` (int): ``loads_typed`` calls answered by FastSerializer itself:
          ``"msgpack"`` (or ``"msgpack-zstd"``) data read natively, and the ``"null"``,
          ``"bytes"`` and ``"bytearray"`` tags.
        * ``"loads_fallback"`` (int): ``loads_typed`` calls handed to JsonPlusSerializer's own code:
          other tags (``json``, ``pickle``, an unknown tag, malformed ``data``), a serializer
          built with an ``__unpack_ext_hook__`` other than ``_msgpack_ext_hook_to_json`` (which
          LangGraph Server's state and history endpoints use, read natively), or, on an
          unverified release whose probe found other objects, every read.
        * ``"timing"`` (bool): whether the two next keys are being measured
          (``reset_stats(timing=True)``).
        * ``"dumps_seconds"``, ``"loads_seconds"`` (float): wall-clock seconds spent inside those
          calls while timing was on, summed over threads (``time.perf_counter_ns``); 0.0 when it
          never was.
    """
    with _lock:
        now = _native.typed_counts()
        out: dict[str, Any] = {name: now[i] - _base[i] for i, name in enumerate(_NAMES)}
        out["timing"] = _timing
        out["dumps_seconds"] = (now[4] - _base[4]) / 1e9
        out["loads_seconds"] = (now[5] - _base[5]) / 1e9
    return out


def reset_stats(*, timing: bool = False) -> None:
    """Set every counter of :func:`stats` back to zero, and switch timing on or off.

    Args:
        timing: ``True`` measures ``dumps_seconds``/``loads_seconds`` from now on (two clock
            reads more per call); ``False`` (default) stops measuring.

    Returns:
        None. Thread-safe; a call running concurrently is counted before or after the reset.
    """
    global _timing, _base
    with _lock:
        _timing = bool(timing)
        _native.typed_timing(_timing)
        _base = _native.typed_counts()


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
            _count(_DUMPS_FALLBACK)
            raise
        finally:
            if start:
                _native.typed_time(0, perf_counter_ns() - start)
        native = self._native.dumps and result[0] != "pickle"
        _count(_DUMPS if native else _DUMPS_FALLBACK)
        return result

    return dumps_typed  # type: ignore[return-value]


def counted_loads(method: _F) -> _F:
    """Decorate ``FastSerializer.loads_typed`` (its Python path: subclasses, a custom ext hook,
    the inputs the native method hands back): count the call as native when FastSerializer
    answers it itself — ``"msgpack"``/``"msgpack-zstd"`` data without a custom ext hook (or with
    ``_msgpack_ext_hook_to_json``, ``_compat.json_reader``), or a ``"null"``/``"bytes"``/
    ``"bytearray"`` tag — on a release the probe let read natively, else as a fallback, and,
    while timing, its time. Results and exceptions pass through unchanged."""

    @functools.wraps(method)
    def loads_typed(self: Any, data: tuple[str, bytes]) -> Any:
        start = perf_counter_ns() if _timing else 0
        try:
            return method(self, data)
        finally:
            if start:
                _native.typed_time(1, perf_counter_ns() - start)
            _count(_LOADS if _reads_natively(self, data) else _LOADS_FALLBACK)

    return loads_typed  # type: ignore[return-value]


def _reads_natively(serializer: Any, data: Any) -> bool:
    # Checked after the call, so that a malformed ``data`` raises what loads_typed raises.
    try:
        tag = data[0]
        if not serializer._native.loads:
            return False
        return tag in _PLAIN_TAGS or (
            tag in _NATIVE_TAGS
            and (
                not serializer._custom_unpack_ext_hook
                or _compat.json_reader(serializer._unpack_ext_hook) is not None
            )
        )
    except Exception:
        return False
