"""The constants Python shares with the Rust core are read from ``fast_serde._native``, which
exports them from their one definition (crates/fast-serde-core/src/langgraph/kinds/, ext.rs,
codec.rs): the plan kinds and flags of ``_plans``, the ext codes, the ``resolve`` answers."""

from __future__ import annotations

import pytest

pytest.importorskip("langgraph.checkpoint.serde.jsonplus")

from langgraph.checkpoint.serde import jsonplus  # noqa: E402

from fast_serde import _native  # noqa: E402
from fast_serde.langgraph import _plans  # noqa: E402
from fast_serde.langgraph import _serializer as lg  # noqa: E402

# The two kinds without an ext, then each family of crates/fast-serde-core/src/langgraph/kinds/
# in the order of its `families!` list.
KIND_NAMES = (
    "FALLBACK REPR PYDANTIC_V2 PYDANTIC_V2_DICT PYDANTIC_V1 SECRET STR_ARG HEX ITER_ARG ATTR_ARG "
    "PATH PATTERN INITARGS NAMEDTUPLE ATTRS_KW DATETIME TIMEDELTA DATE TIME SEND DELTA_SNAPSHOT"
).split()


def test_plan_kinds_are_the_rust_enum():
    assert list(_native.PLAN_KINDS) == KIND_NAMES
    assert list(_native.PLAN_KINDS.values()) == list(range(len(KIND_NAMES)))
    for name, value in _native.PLAN_KINDS.items():
        assert getattr(_plans, name) == value, name


def test_plan_flags_are_the_rust_flags():
    assert _native.PLAN_FLAGS == {"CHECK_INSTANCE": 1, "ONCE": 2}
    assert (_plans.CHECK_INSTANCE, _plans.ONCE) == (1, 2)


def test_ext_codes_are_jsonplus_codes():
    assert _native.EXT_CODES == {
        name: getattr(jsonplus, "EXT_" + name) for name in _native.EXT_CODES
    }
    assert sorted(_native.EXT_CODES.values()) == list(range(8))


def test_resolved_answers_and_memo_budget():
    assert (
        lg._RESOLVED_CACHE,
        lg._RESOLVED_ONCE,
        lg._RESOLVED_BLOCKED,
        lg._RESOLVED_FIXED,
    ) == (0, 1, 2, 3)
    assert (_native.RESOLVED_CACHE, _native.RESOLVED_BLOCKED) == (0, 2)
    assert lg.DEFAULT_MEMO_BYTES == _native.DEFAULT_MEMO_BYTES == 64 << 20


def test_unknown_plan_kind_is_an_error_not_a_panic():
    with pytest.raises(ValueError, match="unknown plan kind 200"):
        _native.PlanSpec(200)
    with pytest.raises(ValueError, match="unknown plan flags"):
        _native.PlanSpec(_plans.FALLBACK, flags=4)
    with pytest.raises(TypeError):
        _native.PlanSpec(_plans.ATTRS_KW, fields="ab")  # a str is no sequence of names here


def test_an_answer_that_is_no_plan_spec_is_an_error_not_a_panic(monkeypatch):
    """The positional tuple `encode_plan` once answered is refused with an EncodeError."""

    class Odd:
        pass

    def encode_plan(obj):
        return (_plans.ATTRS_KW, (), 0, (), (), ())

    monkeypatch.setattr(_plans, "encode_plan", encode_plan)
    serde = lg.FastSerializer()
    with pytest.raises(_native.EncodeError, match="not a _native.PlanSpec"):
        serde.dumps_typed({"x": Odd()})


def test_plan_spec_fields_read_back():
    spec = _native.PlanSpec(
        _plans.ATTRS_KW,
        fields=["a", "b"],
        flags=_plans.CHECK_INSTANCE,
        steer_any=("dict",),
        steer_all=("arg", "node"),
    )
    assert (spec.kind, spec.fields, spec.flags, spec.guards) == (_plans.ATTRS_KW, ("a", "b"), _plans.CHECK_INSTANCE, ())
    assert (spec.steer_any, spec.steer_all) == (("dict",), ("arg", "node"))
    once = spec.with_flags(spec.flags | _plans.ONCE)
    assert once.flags == _plans.CHECK_INSTANCE | _plans.ONCE
    assert (once.kind, once.fields, once.steer_any, once.steer_all) == (spec.kind, spec.fields, spec.steer_any, spec.steer_all)
    with pytest.raises(AttributeError):
        spec.kind = _plans.FALLBACK  # frozen
