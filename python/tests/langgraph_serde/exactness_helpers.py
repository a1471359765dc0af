"""What the test_exactness_*.py files share: ``same_as_parent``, the byte-for-byte and
cross-read comparison with the installed JsonPlusSerializer.

The test_exactness_*.py files hold the regression tests of the differences red-team passes found
between FastSerializer and JsonPlusSerializer (issue 11: tuple keys, trusted restore under an
allowlist, TypedDict fields, surrogate keys, shadowed extras, per-object `_msgpack_default`
checks, crafted payloads; and later ones), compared byte for byte and object for object; each
failed before its fix. Class caches (kept-alive and stale classes) are in test_caches.py.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde.langgraph import FastSerializer
from lg_strategies import assert_same


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome
        return "raise", exc


def same_as_parent(value: Any, **kw: Any) -> bytes | None:
    """Bytes equal to the parent's (or both raise a TypeError), and both cross-reads equal.
    Returns the bytes (None when both raised)."""
    j, f = JsonPlusSerializer(**kw), FastSerializer(**kw)
    tj, tf = outcome(j.dumps_typed, value), outcome(f.dumps_typed, value)
    if tj[0] == "raise":
        assert tf[0] == "raise", f"parent raised {tj[1]!r}, fast wrote {tf[1]!r}"
        assert isinstance(tj[1], TypeError) and isinstance(tf[1], TypeError), (tj, tf)
        return None
    assert tf == tj, f"\n fast  ={tf!r}\n parent={tj!r}"
    assert_same(f.loads_typed(tj[1]), j.loads_typed(tj[1]))
    assert_same(f.loads_typed(tf[1]), j.loads_typed(tf[1]))
    return tj[1][1]
