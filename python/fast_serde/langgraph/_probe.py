"""The release probe: on a langgraph-checkpoint release outside `_compat.VERIFIED`, FastSerializer
proves itself against the installed JsonPlusSerializer before it goes native.

`verdict(FastSerializer)` runs once per process, at the first FastSerializer construction (on a
verified release it only returns `NATIVE`). For every branch of the parent's `_msgpack_default`
(one value of each class it tells apart, so every plan kind of `_plans` and ext codes 0-7) and
plain data, it compares, on the installed parent:

- the bytes: FastSerializer's native `dumps_typed` with the parent's;
- the cross-reads: the parent's bytes read by both, and FastSerializer's bytes (where equal) read
  by the parent, compared by exact type and value;
- the allowlist outcomes: the same bytes read with the class allowed explicitly (the serde events
  both emit are counted, per object and per class) and blocked (the parent's own blocked branch,
  its check made silent so that no event reaches an application's listeners);
- statically: the parent's `_option` and its `EXT_*` codes with those the walker knows.

Whatever differs then takes the parent's own path: a plan kind whose bytes differ is written by the
parent's `_msgpack_enc` (`_plans.reject_kinds`); plain data, `_option` or anything unknown to
the walker: every `dumps_typed` goes to the parent; any read that differs, or a new ext code:
every `loads_typed` goes to the parent. One `RuntimeWarning` names the version and what fell back.
While it runs, no plan is cached (`_plans.probing`), so no class keeps a native plan the verdict
rejects. The probe's log records (about its own classes) are kept from the parent's logger.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import sys
import threading
import time as _time
import warnings
from typing import Any

import ormsgpack

from fast_serde import _native
from fast_serde.langgraph import _compat, _plans

__all__ = ["Verdict", "NATIVE", "verdict", "run"]


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What FastSerializer does natively on the installed release."""

    dumps: bool = True  # False: every dumps_typed is the parent's
    loads: bool = True  # False: every loads_typed (msgpack) is the parent's
    kinds: frozenset[int] = frozenset()  # plan kinds written by the parent's _msgpack_enc
    problems: tuple[str, ...] = ()  # what differed, for the warning
    seconds: float = 0.0  # how long the probe took (0 when it did not run)


NATIVE = Verdict()

# The ormsgpack options and ext codes the walker and the reader implement (jsonplus 4.x).
KNOWN_OPTION = (
    ormsgpack.OPT_NON_STR_KEYS
    | ormsgpack.OPT_PASSTHROUGH_DATACLASS
    | ormsgpack.OPT_PASSTHROUGH_DATETIME
    | ormsgpack.OPT_PASSTHROUGH_ENUM
    | ormsgpack.OPT_PASSTHROUGH_UUID
    | ormsgpack.OPT_REPLACE_SURROGATES
)
KNOWN_EXT_CODES = frozenset(range(8))

# Plan kind -> its name, for the warning (the walker's own table, `_native.PLAN_KINDS`).
_KIND_NAMES = {kind: name for name, kind in _native.PLAN_KINDS.items()}


# --- comparing what two readers built --------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Exact type and value, recursively (numpy arrays by dtype, shape and items; pydantic models
    by value and fields set; exceptions by type and args)."""
    if type(a) is not type(b):
        return False
    np = sys.modules.get("numpy")
    if np is not None and isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and not hasattr(a, "_fields"):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, BaseException):
        return a.args == b.args
    if hasattr(a, "model_fields_set"):
        if a.model_fields_set != b.model_fields_set:
            return False
    try:
        return bool(a == b)
    except Exception:
        return False


# --- running it --------------------------------------------------------------------------------


_lock = threading.RLock()
_verdict: Verdict | None = None
_running = False
_JSONPLUS_LOGGER = "langgraph.checkpoint.serde.jsonplus"


_VALUES_MODULE = "fast_serde.langgraph._probe_values"


class _OwnRecords(logging.Filter):
    """Keeps the parent's log records about the probe's own classes out of the application's logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:
            return True
        return _VALUES_MODULE not in text


def verdict(serializer: type) -> Verdict:
    """The process's verdict, probing first if the release is not verified (once per process).

    Args:
        serializer: the ``FastSerializer`` class, whose first construction asks (the probe builds
            instances of it to compare with the parent).
    """
    global _verdict, _running
    if _verdict is not None:
        return _verdict
    with _lock:
        if _verdict is not None:
            return _verdict
        if _running:  # the probe's own serializers: native, as measured
            return NATIVE
        if _compat.VERIFIED_RELEASE:
            _verdict = NATIVE
            return _verdict
        _running = True
        try:
            v = run(serializer)
        except Exception as exc:  # a release the probe cannot even drive: the parent for all
            v = Verdict(False, False, problems=(f"every write and read (the probe failed: {exc!r})",))
        finally:
            _running = False
        apply(v)
        _verdict = v
        return v


def apply(v: Verdict) -> None:
    """Make `v` the process's verdict for the plans (the kinds written by the parent) and warn."""
    _plans.reject_kinds(v.kinds)
    if v.problems:
        warnings.warn(
            f"fast-serde: langgraph-checkpoint {_compat.VERSION} is not a release fast-serde is "
            f"verified against ({_compat.VERIFIED[0]} to {_compat.VERIFIED[-1]}); it differs "
            f"from JsonPlusSerializer there, so JsonPlusSerializer's own code is used for: "
            + "; ".join(v.problems),
            RuntimeWarning,
            stacklevel=4,
        )


def run(serializer: type) -> Verdict:
    """Probe the installed parent now (whatever the version) with instances of `serializer` (the
    ``FastSerializer`` class) and return the verdict; changes no state of the process except the
    parent's once-per-process warning sets (probe keys only)."""
    started = _time.perf_counter()
    jsonplus = importlib.import_module("langgraph.checkpoint.serde.jsonplus")
    logger = logging.getLogger(_JSONPLUS_LOGGER)
    own = _OwnRecords()
    logger.addFilter(own)
    try:
        with _plans.probing():
            dumps, loads, kinds, problems = _compare(jsonplus, serializer)
    finally:
        logger.removeFilter(own)
    return Verdict(dumps, loads, frozenset(kinds), tuple(problems), _time.perf_counter() - started)


def _compare(jsonplus: Any, fast_cls: type) -> tuple[bool, bool, set[int], list[str]]:
    from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener

    dumps = loads = True
    kinds: set[int] = set()
    problems: list[str] = []
    option = getattr(jsonplus, "_option", None)
    if option != KNOWN_OPTION:
        dumps = False
        problems.append(f"every write (its ormsgpack option is {option!r})")
    codes = {
        v for k, v in vars(jsonplus).items() if k.startswith("EXT_") and isinstance(v, int)
    }
    if not codes <= KNOWN_EXT_CODES:
        loads = False
        problems.append(f"every read (ext codes {sorted(codes - KNOWN_EXT_CODES)} are new)")
    if not _compat.PARENT_CHECKS:
        loads = False
        problems.append("every read (its ext hook has no _check_allowed to take the allowlist from)")

    # Imported only when a probe runs (its pydantic models and values cost at import).
    from fast_serde.langgraph import _probe_values

    values = _probe_values.values()
    if not any(_kind(v) == _plans.SEND for _, v in values):
        kinds.add(_plans.SEND)  # langgraph not imported yet: Send objects take the parent's path
    allow = sorted({(type(v).__module__, n) for _, v in values for n in _names(v)})
    parent = jsonplus.JsonPlusSerializer(allowed_msgpack_modules=allow)
    fast = fast_cls(allowed_msgpack_modules=allow)
    pairs = [(parent, fast, "allowed")]
    blocking = _blocking_pair(jsonplus, fast_cls)
    if blocking is not None:
        pairs.append((*blocking, "blocked"))
    events: list[dict[str, Any]] = []
    misread: list[str] = []

    def listen(e: Any) -> None:
        if str(e.get("module", "")).startswith(_VALUES_MODULE):
            events.append(dict(e))

    unregister = register_serde_event_listener(listen)
    try:
        for label, value in values:
            kind = _kind(value)
            where = f"{label} ({_KIND_NAMES.get(kind, 'plain')})"
            theirs = _outcome(parent.dumps_typed, value)
            ours = _outcome(fast.dumps_typed, value)
            if not _same_outcome(ours, theirs, exact_bytes=True):
                if kind is None or kind == _plans.FALLBACK:
                    dumps = False
                    problems.append(f"every write ({label} is written otherwise)")
                else:
                    kinds.add(kind)
                    problems.append(f"writing {where}")
            if theirs[0] != "ok":
                continue
            blobs = [theirs[1]] + ([ours[1]] if ours[0] == "ok" and ours[1] != theirs[1] else [])
            for blob in blobs:
                for j, f, mode in pairs:
                    # Twice each: the second read meets whatever the first one cached.
                    n0 = len(events)
                    a, a2 = _outcome(j.loads_typed, blob), _outcome(j.loads_typed, blob)
                    n1 = len(events)
                    b, b2 = _outcome(f.loads_typed, blob), _outcome(f.loads_typed, blob)
                    n2 = len(events)
                    if not (_same_outcome(b, a) and _same_outcome(b2, a2) and n2 - n1 == n1 - n0):
                        misread.append(f"{where}, {mode}")
    finally:
        unregister()
        if blocking is not None:
            _compat.forget_allowlist(blocking[1]._allowed_msgpack_modules)
    if misread and loads:
        misread = _dedupe(misread)
        more = f" and {len(misread) - 1} more" if len(misread) > 1 else ""
        problems.append(f"every read ({misread[0]}{more} read otherwise)")
    loads = loads and not misread
    return dumps, loads, kinds, _dedupe(problems)


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _names(value: Any) -> tuple[str, ...]:
    cls = type(value)
    return tuple({cls.__name__, cls.__qualname__})


def _kind(value: Any) -> int | None:
    """The value's plan kind, or None for data the walker writes without a plan."""
    if type(value) in _PLAIN:
        return None
    return _plans.plan_kind(value)


_PLAIN = frozenset({dict, list, tuple, str, int, float, bool, type(None), bytes, bytearray})


def _blocking_pair(jsonplus: Any, fast_cls: Any) -> tuple[Any, Any] | None:
    """A parent and a FastSerializer whose allowlist blocks every probe class, each through the
    parent's own ext hook with its `_check_allowed` made silent (same decision, no event, no
    warning), so that the blocked branch is compared without reaching anyone's listeners. None
    when the parent's hook has no such check (every read is the parent's then)."""
    if not _compat.PARENT_CHECKS:
        return None
    allow = [(_VALUES_MODULE, "_nothing_")]
    parent = jsonplus.JsonPlusSerializer(allowed_msgpack_modules=allow)
    fast = fast_cls(allowed_msgpack_modules=allow)
    safe = importlib.import_module("langgraph.checkpoint.serde._msgpack").SAFE_MSGPACK_TYPES
    keys = set(allow)

    def silent(module: str, name: str) -> bool:
        return (module, name) in safe or (module, name) in keys

    hook = jsonplus._create_msgpack_ext_hook(parent._allowed_msgpack_modules)
    cells = dict(zip(hook.__code__.co_freevars, hook.__closure__ or ()))
    if "_check_allowed" not in cells:
        return None
    cells["_check_allowed"].cell_contents = silent  # this hook's own cell: no one else's
    parent._unpack_ext_hook = hook
    _compat.remember_allowlist(fast._allowed_msgpack_modules, silent)
    return parent, fast


def _outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome
        return "raise", type(exc)


def _same_outcome(a: tuple[str, Any], b: tuple[str, Any], exact_bytes: bool = False) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "raise":
        return True  # both raise (fast-serde's own error types subclass the parent's bases)
    if exact_bytes:
        return a[1][0] == b[1][0] and bytes(a[1][1]) == bytes(b[1][1])
    return same(a[1], b[1])
