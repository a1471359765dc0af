"""What the installed langgraph-checkpoint does, named per feature: the one place where fast-serde
knows how its releases differ.

FastSerializer is verified byte for byte and object for object against every release in
`VERIFIED` (each in its own venv: `make test-releases`, scripts/test_releases.py). Read from the
releases themselves (their jsonplus.py, _msgpack.py and types.py), they differ only here:

| feature (name below)      | since | before                                                     |
|---------------------------|-------|------------------------------------------------------------|
| msgpack allowlist         | 4.0.1 | 4.0.0 and 2.x/3.x have none: importing fast_serde.langgraph raises ImportError (`MINIMUM`) |
| allowlist warnings once per (module, name) | 4.0.3 | logged every time (4.0.1 with another text): taken from the parent's own `_check_allowed` (`check_allowed`) |
| `DELTA_SNAPSHOT` (ext 7)  | 4.1.0 | no `_DeltaSnapshot`; ext 7 reads as None                   |
| `SEND_TIMEOUT`            | 4.1.0 | `Send` written as `(node, arg)`, read as `Send(*args)`     |
| `reconstruction_fallback` | 4.3.0 | ext 0-3 that cannot be built read as None, silently        |
| `json_reader` (`_msgpack_ext_hook_to_json`) | 4.0.1 | (same on every release but `Send`, built by `Send(*args)` before 4.1.0 and handed to the hook itself on all) |

Each feature is detected from the installed module (not from the version number), so a release
that drops or renames one is not misread. Releases outside `VERIFIED` are checked at first use
against the installed parent by _probe, which falls back to the parent's own path for
whatever differs.
"""

from __future__ import annotations

import functools
import importlib
import re
import sys
import types
import weakref
from importlib import metadata
from typing import Any, Callable

# The oldest release with the msgpack allowlist (`allowed_msgpack_modules`, `_msgpack`,
# `event_hooks`), which FastSerializer's security model is built on.
MINIMUM = "4.0.1"

# Every release whose JsonPlusSerializer fast-serde is tested against (the whole release matrix).
VERIFIED = (
    "4.0.1",
    "4.0.2",
    "4.0.3",
    "4.1.0",
    "4.1.1",
    "4.2.0",
    "4.3.0",
    "4.3.1",
    "4.3.2",
)


def version_key(v: str) -> tuple[int, ...]:
    """`"4.3.2" -> (4, 3, 2)`; a pre-release or local suffix is ignored (`"5.0.0rc1" -> (5, 0, 0)`)."""
    parts = []
    for piece in v.split("."):
        m = re.match(r"\d+", piece)
        if m is None:
            break
        parts.append(int(m.group()))
        if m.end() != len(piece):
            break
    return tuple(parts)


def _installed_version() -> str | None:
    try:
        return metadata.version("langgraph-checkpoint")
    except metadata.PackageNotFoundError:
        return None


VERSION = _installed_version()


def _require() -> None:
    """Raise a clear ImportError for a release without the msgpack allowlist."""
    if VERSION is None:
        # Importable without metadata (a source checkout)? Then its modules decide below.
        try:
            importlib.import_module("langgraph.checkpoint.serde.jsonplus")
        except ImportError as exc:
            raise ImportError(
                "fast_serde.langgraph needs langgraph-checkpoint >= "
                f"{MINIMUM}: pip install 'fast-serde[langgraph]'"
            ) from exc
    elif version_key(VERSION) < version_key(MINIMUM):
        raise ImportError(
            f"fast_serde.langgraph needs langgraph-checkpoint >= {MINIMUM} (the first release with "
            f"the msgpack allowlist); langgraph-checkpoint {VERSION} is installed"
        )
    try:
        importlib.import_module("langgraph.checkpoint.serde._msgpack")
        importlib.import_module("langgraph.checkpoint.serde.event_hooks")
    except ImportError as exc:
        raise ImportError(
            f"fast_serde.langgraph needs langgraph-checkpoint >= {MINIMUM} (the msgpack "
            f"allowlist); the installed langgraph-checkpoint {VERSION or '(unknown version)'} "
            f"has no {exc.name}"
        ) from exc


_require()

from langgraph.checkpoint.serde import jsonplus as _jsonplus  # noqa: E402
from langgraph.checkpoint.serde import types as _lg_types  # noqa: E402

VERIFIED_RELEASE = VERSION in VERIFIED

# --- the encoder ---------------------------------------------------------------------------

# `_DeltaSnapshot` (ext 7), or None where the release has none (nothing is then written as ext 7).
DELTA_SNAPSHOT: type | None = getattr(_lg_types, "_DeltaSnapshot", None)

# Whether `Send` writes a set `timeout` as a third positional argument (as the walker does); where
# not, Send objects take the parent's own path (`_plans.encode_plan`).
SEND_TIMEOUT = hasattr(_jsonplus, "_send_from_args")

# --- the decoder ---------------------------------------------------------------------------


def _delta_is_none(value: Any) -> None:
    return None


# Ext 7's reader: the class (its value is the payload), or one that reads as None, as the parent's
# hook reads every code it does not know.
read_delta_snapshot: Callable[[Any], Any] = (
    DELTA_SNAPSHOT if DELTA_SNAPSHOT is not None else _delta_is_none
)


def _none_fallback(tup: Any, exc: BaseException) -> None:
    return None


# Ext 0-3 whose object cannot be built: the parent's `_reconstruction_fallback(tup, exc)` (a
# one-time warning, then the payload's argument), or None as before 4.3.
reconstruction_fallback: Callable[[Any, BaseException], Any] = getattr(
    _jsonplus, "_reconstruction_fallback", _none_fallback
)


def _send_positional(args: Any) -> Any:
    # Before 4.1 the parent builds Send as every ext 1 class: import, then `cls(*args)`.
    return getattr(importlib.import_module("langgraph.types"), "Send")(*args)


# Ext 1 `langgraph.types.Send` from its positional arguments, as the parent builds it.
send_from_args: Callable[[Any], Any] = getattr(_jsonplus, "_send_from_args", _send_positional)


def _parent_checks(hook: Any) -> tuple[Callable[..., bool], Callable[..., bool]] | None:
    """The parent's own `_check_allowed(module, name)` and `_check_allowed_method(module, name,
    method)`, the closures its `_create_msgpack_ext_hook(allowed)` builds around the allowlist
    (the same events, warning texts and de-duplication on every release)."""
    code = getattr(hook, "__code__", None)
    cells = getattr(hook, "__closure__", None)
    if code is None or cells is None:
        return None
    named = dict(zip(code.co_freevars, cells))
    try:
        found = named["_check_allowed"].cell_contents, named["_check_allowed_method"].cell_contents
    except (KeyError, ValueError):
        return None
    return found if all(callable(f) for f in found) else None


_create_hook = getattr(_jsonplus, "_create_msgpack_ext_hook", None)
_default_checks = _parent_checks(_create_hook(None)) if callable(_create_hook) else None

# Whether the allowlist decision can be taken from the parent itself; where not (an unknown
# release built otherwise), FastSerializer reads through the parent (_probe).
PARENT_CHECKS = _default_checks is not None

# id(allowlist) -> (allowlist, its check): the allowlist object is held, so its id stays its own.
_checks_by_allowlist: dict[int, tuple[Any, Callable[..., bool]]] = {}
_CHECKS_MAX = 64  # past it the table starts afresh (each check is rebuilt on demand)
# The same for checks set by `remember_allowlist`: never dropped by that bound, only by `forget`.
_pinned: dict[int, tuple[Any, Callable[..., bool]]] = {}


def check_allowed(allowed: Any, module: str, name: str) -> bool:
    """The parent's `_check_allowed(module, name)` for the normalised allowlist `allowed` (True,
    None or a set of keys): True if allowed; emits the parent's events and warnings."""
    hit = _pinned.get(id(allowed))
    if hit is None or hit[0] is not allowed:
        hit = _checks_by_allowlist.get(id(allowed))
    if hit is None or hit[0] is not allowed:
        checks = _parent_checks(_create_hook(allowed))  # type: ignore[misc]
        if checks is None:  # pragma: no cover - PARENT_CHECKS was True at import
            raise RuntimeError("langgraph-checkpoint's ext hook has no _check_allowed")
        if len(_checks_by_allowlist) >= _CHECKS_MAX:
            _checks_by_allowlist.clear()
        hit = (allowed, checks[0])
        _checks_by_allowlist[id(allowed)] = hit
    return hit[1](module, name)


def clear() -> None:
    """Forget the allowlist checks built from the parent and the readers found for LangGraph
    Server's JSON hooks (`FastSerializer.clear_cache`); the checks `remember_allowlist` pinned
    are not a cache and stay."""
    global _json_last
    _checks_by_allowlist.clear()
    _json_readers.clear()
    _json_last = _JSON_NONE
    _inmem_version.cache_clear()


def check_allowed_method(module: str, name: str, method: str) -> bool:
    """The parent's `_check_allowed_method`: only `SAFE_MSGPACK_METHODS`, else its event and
    warning, and False."""
    return _default_checks[1](module, name, method)  # type: ignore[index]


def remember_allowlist(allowed: Any, check: Callable[..., bool]) -> None:
    """Make `check` the allowlist check of the allowlist object `allowed` until
    `forget_allowlist(allowed)` (_probe's silent blocker for its own serializers)."""
    _pinned[id(allowed)] = (allowed, check)


def forget_allowlist(allowed: Any) -> None:
    hit = _pinned.get(id(allowed))
    if hit is not None and hit[0] is allowed:
        del _pinned[id(allowed)]


# --- LangGraph Server's JSON reads ---------------------------------------------------------

# `_msgpack_ext_hook_to_json`, read on every release in VERIFIED: the same function but for how
# ext 1 `Send` is built (`Send(*tup[2])` before 4.1.0, `_send_from_args` since), which the native
# reader leaves to the hook itself (langgraph/json.rs).
_JSON_HOOK: Any = getattr(_jsonplus, "_msgpack_ext_hook_to_json", None) if VERIFIED_RELEASE else None

# `langgraph_runtime_inmem.checkpoint`'s `_delta_aware_hook(code, data)`, read in these releases:
# ext 7 is `_DeltaSnapshot(unpackb(data, ext_hook=itself, option=OPT_NON_STR_KEYS))`, every other
# code `_inner_hook(code, data)`.
INMEM_VERIFIED = frozenset({"0.36.7"})
_INMEM_MODULE = "langgraph_runtime_inmem.checkpoint"
_WRAPPER_CELLS = frozenset({"EXT_DELTA_SNAPSHOT", "_DeltaSnapshot", "_delta_aware_hook", "_inner_hook"})
_json_readers: weakref.WeakKeyDictionary[Any, tuple[Any, Any] | None] = weakref.WeakKeyDictionary()
_JSON_NONE: tuple[Any, tuple[Any, Any] | None] = (object(), None)  # no hook seen yet
_json_last = _JSON_NONE  # (hook, json_reader(hook))


@functools.cache
def _inmem_version() -> str | None:
    try:
        return metadata.version("langgraph-runtime-inmem")
    except metadata.PackageNotFoundError:
        return None


def _runtime_code(code: Any) -> bool:
    """Whether `code` is the code object of the runtime's own `_delta_aware_hook`: a constant
    (nested at any depth) of a function of the imported `langgraph_runtime_inmem.checkpoint`.
    A function with its names and cells but other code (a patched copy, a forgery) is not."""
    module = sys.modules.get(_INMEM_MODULE)
    if module is None:
        return False
    stack = [
        f.__code__ for f in vars(module).values() if isinstance(f, types.FunctionType)
    ]
    while stack:
        const = stack.pop()
        if const is code:
            return True
        stack.extend(c for c in const.co_consts if isinstance(c, types.CodeType))
    return False


def _wrapped_delta(hook: Any) -> Any:
    """`_DeltaSnapshot` when `hook` is the in-memory runtime's `_delta_aware_hook` around
    `_msgpack_ext_hook_to_json` on a verified runtime release (its own code object, its cells
    holding these very objects), else None."""
    code = getattr(hook, "__code__", None)
    cells = getattr(hook, "__closure__", None)
    if (
        DELTA_SNAPSHOT is None
        or code is None
        or cells is None
        or getattr(hook, "__module__", None) != _INMEM_MODULE
        or not getattr(hook, "__qualname__", "").endswith("._delta_aware_hook")
        or frozenset(code.co_freevars) != _WRAPPER_CELLS
        or _inmem_version() not in INMEM_VERIFIED
        or not _runtime_code(code)
    ):
        return None
    try:
        free = {name: cell.cell_contents for name, cell in zip(code.co_freevars, cells)}
    except ValueError:  # an empty cell
        return None
    ok = (
        free["_inner_hook"] is _JSON_HOOK
        and free["_delta_aware_hook"] is hook
        and free["_DeltaSnapshot"] is DELTA_SNAPSHOT
        and type(free["EXT_DELTA_SNAPSHOT"]) is int
        and free["EXT_DELTA_SNAPSHOT"] == 7
    )
    return DELTA_SNAPSHOT if ok else None


def json_reader(hook: Any) -> tuple[Any, Any] | None:
    """The arguments of `LangGraphCodec.loads_json` for an `__unpack_ext_hook__`: `(hook, None)`
    when `hook` is this release's `_msgpack_ext_hook_to_json`, `(hook, _DeltaSnapshot)` when it is
    langgraph_runtime_inmem's `_delta_aware_hook` around it, None for any other hook (the
    parent reads) or on a release outside VERIFIED."""
    global _json_last
    last = _json_last  # the server reads many values with one hook: one `is` answers most calls
    if last[0] is hook:
        return last[1]
    if _JSON_HOOK is None:
        return None
    if hook is _JSON_HOOK:
        return (hook, None)
    try:
        found = _json_readers[hook]
    except (KeyError, TypeError):  # not seen, or not weak-referenceable
        delta = _wrapped_delta(hook)
        found = (hook, delta) if delta is not None else None
        try:
            _json_readers[hook] = found
        except TypeError:
            pass
    else:
        if found is not None and found[0] is not hook:
            # The dictionary matched an object equal to a recognised wrapper, not the wrapper:
            # a recognised hook is a function, equal only to itself.
            found = None
    _json_last = (hook, found)
    return found
