"""A simulated langgraph-checkpoint release fast-serde has never seen (run by test_releases.py).

    python future_release.py SCENARIO

patches the installed JsonPlusSerializer's module as SCENARIO says, before fast_serde is
imported, and makes fast_serde take the installed release for "4.9.0" (outside its verified
list). Then it builds FastSerializer three times and prints, as JSON: the warnings it raised, the
probe's verdict, and per value whether FastSerializer wrote exactly the patched parent's bytes and
read both sides' bytes to the parent's objects, and whether the patch changed the parent's bytes
at all (so a scenario that patches nothing cannot pass for one that works).
"""

from __future__ import annotations

import decimal
import enum
import json
import sys
import warnings
from typing import Any
from zoneinfo import ZoneInfo

import ormsgpack
from langgraph.checkpoint.serde import jsonplus

FAKE_VERSION = "4.9.0"
ORIGINAL_DEFAULT = jsonplus._msgpack_default
ORIGINAL_OPTION = jsonplus._option
ORIGINAL_HOOK = jsonplus._create_msgpack_ext_hook


class Outer:
    class Mood(enum.Enum):  # __qualname__ "Outer.Mood", __name__ "Mood"
        HAPPY = "happy"


Mood = Outer.Mood


class Plain(enum.Enum):
    ONE = 1


def enum_by_qualname(obj: Any) -> Any:
    """Enum members written under their class's `__qualname__` (asked for upstream)."""
    if isinstance(obj, enum.Enum):
        cls = type(obj)
        payload = jsonplus._msgpack_enc((cls.__module__, cls.__qualname__, obj.value))
        return ormsgpack.Ext(jsonplus.EXT_CONSTRUCTOR_SINGLE_ARG, payload)
    return ORIGINAL_DEFAULT(obj)


EXT_DECIMAL = 8


def decimal_ext(obj: Any) -> Any:
    """A new ext code: Decimal written as ext 8 around its text."""
    if isinstance(obj, decimal.Decimal):
        return ormsgpack.Ext(EXT_DECIMAL, str(obj).encode())
    return ORIGINAL_DEFAULT(obj)


def _parent_hook(allowed: Any) -> tuple[Any, Any, Any]:
    """The installed parent's ext hook for `allowed`, with its `_check_allowed` and
    `_check_allowed_method` (the closures every 4.x release builds it around): a simulated hook
    keeps both in its own closure, as a real release would, so the probe can take them."""
    inner = ORIGINAL_HOOK(allowed)
    cells = dict(zip(inner.__code__.co_freevars, inner.__closure__ or ()))
    return inner, cells["_check_allowed"].cell_contents, cells["_check_allowed_method"].cell_contents


def hook_with_decimal(allowed: Any) -> Any:
    inner, _check_allowed, _check_allowed_method = _parent_hook(allowed)

    def ext_hook(code: int, data: bytes) -> Any:
        if code == EXT_DECIMAL:
            return decimal.Decimal(data.decode())
        if code in (0, 1, 2, 4, 5) and not (_check_allowed and _check_allowed_method):
            return None  # (never: keeps both checks in the closure)
        return inner(code, data)

    return ext_hook


def hook_blocking_to_none(allowed: Any) -> Any:
    """A changed allowlist outcome: a blocked class reads as None (not as its payload)."""
    inner, _check_allowed, _check_allowed_method = _parent_hook(allowed)

    def ext_hook(code: int, data: bytes) -> Any:
        if code in (0, 1, 2, 4, 5):
            tup = ormsgpack.unpackb(data, ext_hook=ext_hook, option=ormsgpack.OPT_NON_STR_KEYS)
            if not _check_allowed(tup[0], tup[1]):
                return None
        elif code == 3 and not _check_allowed_method:  # (never: keeps it in the closure)
            return None
        return inner(code, data)

    return ext_hook


def apply(scenario: str) -> None:
    if scenario == "enum_qualname":
        jsonplus._msgpack_default = enum_by_qualname
    elif scenario == "new_ext_code":
        jsonplus._msgpack_default = decimal_ext
        jsonplus.EXT_DECIMAL = EXT_DECIMAL
        jsonplus._create_msgpack_ext_hook = hook_with_decimal
    elif scenario == "blocked_reads_none":
        jsonplus._create_msgpack_ext_hook = hook_blocking_to_none
    elif scenario == "option_flag":
        # Enum members written by ormsgpack itself (their value), not through the default hook.
        jsonplus._option = ORIGINAL_OPTION & ~ormsgpack.OPT_PASSTHROUGH_ENUM
    elif scenario != "unchanged":
        raise SystemExit(f"unknown scenario {scenario}")


def values() -> dict[str, Any]:
    return {
        "nested enum": Mood.HAPPY,
        "enum in a list": [Plain.ONE, {"k": Mood.HAPPY}],
        "zoneinfo": ZoneInfo("UTC"),
        "decimal": decimal.Decimal("2.50"),
        "decimals in a dict": {"a": [decimal.Decimal("1"), decimal.Decimal("-0.1")]},
        "unsorted dict": {"b": 1, "a": {"d": 2, "c": 3}},
        "plain": [1, "x", 2.5, None, b"b"],
    }


def main() -> None:
    scenario = sys.argv[1]
    unpatched = {k: jsonplus.JsonPlusSerializer().dumps_typed(v) for k, v in values().items()}
    strict = jsonplus.JsonPlusSerializer(allowed_msgpack_modules=None)
    unpatched_strict = {k: repr(strict.loads_typed(b)) for k, b in unpatched.items()}
    apply(scenario)

    from fast_serde.langgraph import _compat

    _compat.VERSION = FAKE_VERSION
    _compat.VERIFIED_RELEASE = False

    from fast_serde.langgraph import _plans, _probe
    from fast_serde.langgraph import FastSerializer

    # Whether the walker's plan for a Decimal is its own (STR_ARG) on this Python, 3.13's heap
    # type decimal.Decimal included.
    decimal_native = _plans.plan_kind(decimal.Decimal("1")) == _plans.STR_ARG

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sers = [FastSerializer() for _ in range(3)]
    fast = sers[-1]
    parent = jsonplus.JsonPlusSerializer()
    strict_fast = FastSerializer(allowed_msgpack_modules=None)
    strict_parent = jsonplus.JsonPlusSerializer(allowed_msgpack_modules=None)
    results = {}
    for name, value in values().items():
        theirs, ours = parent.dumps_typed(value), fast.dumps_typed(value)
        strict_read = repr(strict_parent.loads_typed(theirs))
        results[name] = {
            "strict_reads_equal": repr(strict_fast.loads_typed(theirs)) == strict_read,
            "patch_changed_strict_read": strict_read != unpatched_strict[name],
            "bytes_equal": theirs == ours,
            "patch_changed_bytes": theirs != unpatched[name],
            "fast_reads_parent": repr(fast.loads_typed(theirs)) == repr(parent.loads_typed(theirs)),
            "parent_reads_fast": repr(parent.loads_typed(ours)) == repr(parent.loads_typed(theirs)),
            "read_back": repr(fast.loads_typed(ours)),
        }
    v = _probe.verdict(FastSerializer)
    print(
        json.dumps(
            {
                "warnings": [str(w.message) for w in caught if w.category is RuntimeWarning],
                "verdict": {
                    "dumps": v.dumps,
                    "loads": v.loads,
                    "kinds": sorted(_probe._KIND_NAMES[k] for k in v.kinds),
                    "seconds": v.seconds,
                },
                "values": results,
                "decimal_native": decimal_native,
            }
        )
    )


if __name__ == "__main__":
    main()
