"""2. Property tests: generated rich values in every allowlist mode, hand-made ext payloads, and
the parent's bytes with one byte changed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer, _msgpack_enc

import fast_serde
from fast_serde.langgraph import FastSerializer
import lg_models as M
import oracles  # fuzz/python (conftest.py): the reference-crash guard
from lg_helpers import _PARENT, check, ext, outcome, pair
from lg_strategies import assert_same, rich_values


_MODES = [
    {},
    {"allowed_msgpack_modules": None},
    {"allowed_msgpack_modules": M.GRAPH_ALLOWLIST + [("lg_models", "Rich"), ("lg_models", "AnyModel")]},
]


@settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(value=rich_values, mode=st.sampled_from(_MODES), validate=st.booleans())
def test_property_rich_values(value: Any, mode: dict[str, Any], validate: bool) -> None:
    check(value, _PARENT, fast_kw={"validate_models": validate}, **mode)


_CRAFT_TARGETS = [
    ("uuid", "UUID"), ("datetime", "timedelta"), ("datetime", "datetime"), ("datetime", "date"),
    ("datetime", "time"), ("builtins", "set"), ("builtins", "frozenset"), ("collections", "deque"),
    ("decimal", "Decimal"), ("pathlib", "Path"), ("re", "compile"), ("zoneinfo", "ZoneInfo"),
    ("langgraph.types", "Send"), ("langgraph.store.base", "Item"),
    ("langchain_core.messages.human", "HumanMessage"), ("lg_models", "Point"), ("lg_models", "Address"),
    ("lg_models", "Color"), ("lg_models", "V1Inner"), ("lg_models", "IntList"), ("no_such_module_xyz", "X"),
    ("lg_models", "NoSuchName"),
]
_craft_args = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["", "a", "0" * 32, "2024-01-01", "Europe/Paris", "1.5", "content", "city", "x", "y"]),
        st.binary(max_size=4),
    ),
    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.sampled_from(["x", "y", "city", "content", "a"]), c, max_size=3)),
    max_leaves=6,
)


@st.composite
def crafted_ext(draw: st.DrawFn) -> bytes:
    code = draw(st.integers(0, 7))
    module, name = draw(st.sampled_from(_CRAFT_TARGETS))
    items: list[Any] = [module, name, draw(_craft_args)]
    tail = draw(st.sampled_from([[], ["fromisoformat"], ["model_validate_json"], ["__call__"], [5], ["x", "y"]]))
    items = (items + tail)[: draw(st.integers(0, len(items) + len(tail)))]
    payload = _msgpack_enc(tuple(items)) if draw(st.booleans()) else _msgpack_enc(items[2] if len(items) > 2 else items)
    return ext(code, payload)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the parent's pydantic v1 cls.construct
@settings(max_examples=300, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.lists(crafted_ext(), min_size=1, max_size=3), mode=st.sampled_from([{}, {"allowed_msgpack_modules": None}]))
def test_property_crafted_ext_payloads(data: list[bytes], mode: dict[str, Any]) -> None:
    """Hand-made ext payloads (right and wrong shapes, safe and unknown classes): same values,
    or both raise (fast: DecodeError). Events are compared in the allowlist tests. Derandomized,
    as every test handing the parent crafted input: the same examples every run."""
    raw = b"\x90"[:0] + bytes([0x90 + len(data)]) + b"".join(data)
    j, f = pair(**mode)
    pj = outcome(j.loads_typed, ("msgpack", raw))
    pf = outcome(f.loads_typed, ("msgpack", raw))
    assert pf[0] == pj[0], f"fast {pf!r} vs parent {pj!r}"
    if pj[0] == "ok":
        assert_same(pf[1], pj[1])
    else:
        assert isinstance(pf[1], fast_serde.DecodeError), pf


def _compare_mutant(j: JsonPlusSerializer, f: FastSerializer, mutated: bytes) -> None:
    """Both reject ``mutated`` (fast: DecodeError), or both read the same value; the one
    deliberate difference, trailing bytes, is allowed only when fast's error says so. An input
    the installed ormsgpack is known to crash on (``oracles.reference_would_crash``: before 1.13,
    Python 3.10's 1.12.2) is not handed to the parent: fast must read it or raise DecodeError."""
    if oracles.reference_would_crash(mutated):
        pf = outcome(f.loads_typed, ("msgpack", mutated))
        assert pf[0] == "ok" or isinstance(pf[1], fast_serde.DecodeError), f"fast raised {pf[1]!r}"
        return
    pj = outcome(j.loads_typed, ("msgpack", mutated))
    pf = outcome(f.loads_typed, ("msgpack", mutated))
    if pj[0] == "raise":
        assert pf[0] == "raise", f"parent raised {pj[1]!r}, fast returned {pf[1]!r}"
        assert isinstance(pf[1], fast_serde.DecodeError), f"fast raised {pf[1]!r}, parent {pj[1]!r}"
    elif pf[0] == "raise":
        assert isinstance(pf[1], fast_serde.DecodeError) and "trailing" in str(pf[1]), (
            f"fast raised {pf[1]!r}, parent returned {pj[1]!r}"
        )
    else:
        assert_same(pf[1], pj[1])


@settings(max_examples=250, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=rich_values, data=st.data())
def test_property_parent_bytes_mutated(value: Any, data: st.DataObject) -> None:
    """Set a byte of the parent's encoding to any value: both reject it, or both read the same
    value (``_compare_mutant``). Strict mode so that a mutated (module, name) can only reach
    SAFE_MSGPACK_TYPES. Derandomized: the same mutants every run."""
    j, f = pair(allowed_msgpack_modules=None)
    tag, raw = j.dumps_typed(value)
    if tag != "msgpack" or not raw:
        return
    i = data.draw(st.integers(0, len(raw) - 1), label="index")
    b = data.draw(st.integers(0, 255), label="byte")
    _compare_mutant(j, f, raw[:i] + bytes([b]) + raw[i + 1 :])


def test_mutant_that_crashes_ormsgpack_1_12_is_kept_from_the_parent() -> None:
    """A mutant test_property_parent_bytes_mutated draws now and then: the parent's bytes of
    ``[Pair(None)]`` with byte 0 set to 0xdd, an array32 header declaring 0xc71e0293 items before
    a readable first item. ormsgpack 1.12.2 (Python 3.10's) segfaults on it wherever a list that
    long (26 GiB of pointers) cannot be allocated: it stores the first item into the missing
    list, and the whole pytest process dies. On that ormsgpack the guard keeps it from the parent;
    on a newer one the parent is compared."""
    j, f = pair(allowed_msgpack_modules=None)
    _, raw = j.dumps_typed([M.Pair(None)])
    mutated = b"\xdd" + raw[1:]
    assert mutated[:5] == b"\xdd\xc7\x1e\x02\x93"  # the declared length, then a readable item
    assert oracles.reference_would_crash(mutated) is oracles.ORMSGPACK_CRASHES_ON_HUGE_ARRAYS
    with pytest.raises(fast_serde.DecodeError):
        f.loads_typed(("msgpack", mutated))
    _compare_mutant(j, f, mutated)
